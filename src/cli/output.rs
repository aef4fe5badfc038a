//! What a command prints: one result as text for people or as one JSON object, and errors.

use std::io::Write as _;
use std::process::ExitCode;

use serde::Serialize;
use serde_json::{json, Value};

use crate::timestamp::rfc3339;

/// What a command prints: the same result as text and as JSON.
pub(super) struct Output {
    json: Value,
    text: String,
    /// Printed like a success, but the exit status is 1 (`doctor` found something wrong).
    failed: bool,
}

impl Output {
    /// A result: `text` for people, `json` (any `Serialize`) for `--json`.
    pub(super) fn new(text: impl Into<String>, json: &impl Serialize) -> anyhow::Result<Self> {
        Ok(Self {
            json: serde_json::to_value(json)?,
            text: text.into(),
            failed: false,
        })
    }

    /// The same result, exiting with status 1 when `failed`.
    pub(super) const fn failing(mut self, failed: bool) -> Self {
        self.failed = failed;
        self
    }
}

/// Prints a command's result on stdout or its error on stderr, and says how to exit.
pub(super) fn print(result: anyhow::Result<Output>, json: bool) -> ExitCode {
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let written = if json {
                writeln!(stdout, "{}", out.json)
            } else {
                writeln!(stdout, "{}", out.text.trim_end())
            };
            if written.and_then(|()| stdout.flush()).is_err() || out.failed {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let messages = error_messages(&e);
            let mut stderr = std::io::stderr().lock();
            let _ = if json {
                let (first, causes) = messages
                    .split_first()
                    .map_or(("error", &[][..]), |(f, c)| (f.as_str(), c));
                writeln!(stderr, "{}", json!({ "error": first, "causes": causes }))
            } else {
                let mut text = format!("error: {}", messages.join("\n  caused by: "));
                text.push('\n');
                stderr.write_all(text.as_bytes())
            };
            ExitCode::FAILURE
        }
    }
}

/// The messages of an error and its causes, without repeats. A database error contributes its
/// message, hint and SQLSTATE but never its `DETAIL`, which can quote row values.
pub(super) fn error_messages(e: &anyhow::Error) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for cause in e.chain() {
        let message = if let Some(db) = cause.downcast_ref::<tokio_postgres::error::DbError>() {
            let mut m = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(hint) = db.hint() {
                m.push_str("; hint: ");
                m.push_str(hint);
            }
            m
        } else if cause
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|pg| pg.as_db_error().is_some())
        {
            // "db error": the server's error, next in the chain, says more.
            continue;
        } else {
            cause.to_string()
        };
        if out.last() != Some(&message) {
            out.push(message);
        }
    }
    out
}

/// A Unix-ms time as RFC 3339, or `none`.
pub(super) fn iso_or(ms: Option<i64>, none: &str) -> String {
    ms.map_or_else(|| none.to_owned(), rfc3339)
}

/// `serialize_with` for Unix-ms times: RFC 3339 strings (`null` when absent).
pub(super) mod time {
    use serde::Serializer;

    use crate::timestamp::rfc3339;

    /// A required time.
    pub(in crate::cli) fn required<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*ms))
    }

    /// An optional time.
    // `&Option`: serde hands `serialize_with` a reference to the field.
    pub(in crate::cli) fn optional<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }
}
