//! `doctor`: checks a deployment's database and says what is wrong — the connection, migrations,
//! whether the request path's statements run on this schema, whether every bucket's credentials
//! decrypt with `CREDENTIALS_ENCRYPTION_KEY`, and whether each bucket answers a signed `HEAD`.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::db::{now_ms, Db};
use super::output::{error_messages, Output};
use super::secrets::{vault_key, ENCRYPTION_KEY_VAR};
use crate::sigv4::{Expiry, HeadBucket, Presign as _, SigningTime};
use crate::storage::{signable, Signable};
use crate::store::{doctor, migrate};

#[derive(Args)]
pub(super) struct DoctorArgs {
    /// Seconds to wait for each bucket's answer
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
}

/// One finding.
#[derive(Serialize)]
struct Check {
    /// What was checked: `migrations`, `schema`, `encryption key`, `buckets`, or
    /// `bucket <id> credentials` / `bucket <id> HEAD`.
    check: String,
    ok: bool,
    /// What was found, or what is wrong and what to do.
    detail: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    database: String,
    server_version: String,
    /// The TLS version, or null for an unencrypted connection.
    tls: Option<String>,
}

fn joined(e: &anyhow::Error) -> String {
    error_messages(e).join(": ")
}

impl DoctorArgs {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        let client = db.connect().await?;
        let now = now_ms()?;
        let session = doctor::session(&client).await.context("could not read the session")?;
        let mut checks = Vec::new();
        let mut check = |check: String, result: Result<String, String>| {
            let (ok, detail) = match result {
                Ok(d) => (true, d),
                Err(d) => (false, d),
            };
            checks.push(Check { check, ok, detail });
        };

        check("migrations".into(), migrations(&client).await);

        let failures: Vec<String> = doctor::probe_request_path(&client, now)
            .await
            .into_iter()
            .filter_map(|(name, r)| r.err().map(|e| format!("{name}: {}", joined(&e.into()))))
            .collect();
        check(
            "schema".into(),
            if failures.is_empty() {
                Ok("the request path's statements run on this schema".into())
            } else {
                Err(format!("{}; run `carcosa-edge migrate`", failures.join("; ")))
            },
        );

        match (vault_key(), doctor::buckets(&client).await) {
            (_, Err(e)) => check("buckets".into(), Err(joined(&e.into()))),
            (Err(e), Ok(buckets)) => check(
                "encryption key".into(),
                Err(format!("{}; {} bucket(s) not checked", joined(&e), buckets.len())),
            ),
            (Ok(vault), Ok(buckets)) => {
                check("buckets".into(), Ok(format!("{} bucket(s)", buckets.len())));
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(self.timeout))
                    .build()
                    .context("could not start an HTTP client")?;
                for b in &buckets {
                    let id = &b.row.id;
                    match signable(&b.row, &vault) {
                        Err(e) => check(
                            format!("bucket {id} credentials"),
                            Err(format!(
                                "{}: is {ENCRYPTION_KEY_VAR} the key they were stored with?",
                                joined(&e.into())
                            )),
                        ),
                        Ok(s) => {
                            check(
                                format!("bucket {id} credentials"),
                                Ok(format!("'{}' decrypts with {ENCRYPTION_KEY_VAR}", b.name)),
                            );
                            check(format!("bucket {id} HEAD"), head(&http, &s, now).await);
                        }
                    }
                }
            }
        }

        let problems: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
        let ok = problems.is_empty();
        let mut text = format!(
            "database {} on PostgreSQL {}, {}\n",
            session.database,
            session.server_version,
            session
                .tls_version
                .as_deref()
                .map_or_else(|| "NOT encrypted".to_owned(), |v| format!("encrypted ({v})"))
        );
        for c in &checks {
            text.push_str(&format!(
                "{} {}: {}\n",
                if c.ok { "ok  " } else { "FAIL" },
                c.check,
                c.detail
            ));
        }
        text.push_str(&if ok {
            "no problems found".to_owned()
        } else {
            format!("{} problem(s)", problems.len())
        });
        let connection = Connection {
            database: session.database,
            server_version: session.server_version,
            tls: session.tls_version,
        };
        let problems: Vec<String> = problems.iter().map(|c| format!("{}: {}", c.check, c.detail)).collect();
        Ok(Output::new(
            text,
            &json!({ "ok": ok, "connection": connection, "checks": checks, "problems": problems }),
        )?
        .failing(!ok))
    }
}

async fn migrations(client: &tokio_postgres::Client) -> Result<String, String> {
    let list = migrate::status(client)
        .await
        .map_err(|e| joined(&anyhow::Error::new(e).context("could not read the migration status")))?;
    let pending: Vec<String> = list
        .iter()
        .filter(|m| m.applied_at_ms.is_none())
        .map(|m| format!("{:04} {}", m.version, m.name))
        .collect();
    if pending.is_empty() {
        Ok(format!("all {} applied", list.len()))
    } else {
        Err(format!(
            "{} of {} pending ({}): run `carcosa-edge migrate`",
            pending.len(),
            list.len(),
            pending.join(", ")
        ))
    }
}

/// A signed `HEAD` of the bucket: 200 means it exists and the credentials may use it.
async fn head(http: &reqwest::Client, s: &Signable, now_ms: i64) -> Result<String, String> {
    let at = SigningTime::from_unix(now_ms / 1000).map_err(|e| e.to_string())?;
    let expiry = Expiry::from_secs(300).map_err(|e| e.to_string())?;
    let presigned = HeadBucket::new(&s.bucket, &s.credentials)
        .presign_uncached(at, expiry)
        .map_err(|e| e.to_string())?;
    let mut request = http.head(&presigned.url);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    let where_ = s.bucket.bucket_url();
    // The URL carries the signature: errors are shown without it.
    let answer = request
        .send()
        .await
        .map_err(|e| format!("{where_} is unreachable: {}", joined(&e.without_url().into())))?;
    match answer.status().as_u16() {
        200 => Ok(format!("{where_} answered 200")),
        301 | 400 => Err(format!(
            "{where_} answered {}: wrong region or endpoint?",
            answer.status().as_u16()
        )),
        401 | 403 => Err(format!(
            "{where_} answered {}: the credentials were refused (or may not use this bucket)",
            answer.status().as_u16()
        )),
        404 => Err(format!("{where_} answered 404: no such bucket")),
        other => Err(format!("{where_} answered {other}")),
    }
}
