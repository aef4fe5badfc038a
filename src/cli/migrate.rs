//! `migrate`: apply or list schema migrations.

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::db::Db;
use super::output::{time, Output};
use crate::store::migrate::{self, AppliedMigration, MigrateOptions, MigrationReport, MigrationStatus};
use crate::timestamp::rfc3339;

/// Milliseconds PostgreSQL accepts for a timeout (an `int`); 0 would mean "wait forever".
const TIMEOUT_MS: std::ops::RangeInclusive<i64> = 1..=i32::MAX as i64;

#[derive(Args)]
pub(super) struct MigrateArgs {
    /// Only list the migrations and whether each is applied
    #[arg(long)]
    status: bool,

    /// How long a step waits for a table lock before it gives way and is retried; the API's
    /// statements on that table queue behind it meanwhile
    #[arg(long, value_name = "MS", default_value_t = MigrateOptions::default().lock_timeout_ms,
          value_parser = clap::value_parser!(u32).range(TIMEOUT_MS))]
    lock_timeout_ms: u32,

    /// How long a step's statement may run (it holds its locks until it ends)
    #[arg(long, value_name = "MS", default_value_t = MigrateOptions::default().statement_timeout_ms,
          value_parser = clap::value_parser!(u32).range(TIMEOUT_MS))]
    statement_timeout_ms: u32,

    /// Tries per step before the run fails (lock timeouts and deadlocks are retried, with a
    /// pause from 100 ms doubling to 5 s)
    #[arg(long, value_name = "N", default_value_t = MigrateOptions::default().max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_attempts: u32,
}

/// A migration this run applied.
#[derive(Serialize)]
pub(super) struct Applied {
    version: i32,
    name: &'static str,
}

impl From<&AppliedMigration> for Applied {
    fn from(m: &AppliedMigration) -> Self {
        Self {
            version: m.version,
            name: m.name,
        }
    }
}

/// The migrations a report says were applied.
pub(super) fn applied(report: &MigrationReport) -> Vec<Applied> {
    report.applied.iter().map(Applied::from).collect()
}

/// One known migration and whether the database has it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    version: i32,
    name: &'static str,
    applied: bool,
    #[serde(serialize_with = "time::optional")]
    applied_at: Option<i64>,
}

impl From<&MigrationStatus> for Status {
    fn from(m: &MigrationStatus) -> Self {
        Self {
            version: m.version,
            name: m.name,
            applied: m.applied_at_ms.is_some(),
            applied_at: m.applied_at_ms,
        }
    }
}

impl MigrateArgs {
    pub(super) async fn run(self, db: &Db) -> anyhow::Result<Output> {
        let mut client = db.connect().await?;
        if self.status {
            return status(&client).await;
        }
        let options = MigrateOptions {
            lock_timeout_ms: self.lock_timeout_ms,
            statement_timeout_ms: self.statement_timeout_ms,
            max_attempts: self.max_attempts,
            ..MigrateOptions::default()
        };
        let report = migrate::migrate_with(&mut client, &options)
            .await
            .context("migrating failed; finished steps stay, and running migrate again resumes")?;
        let mut text = String::new();
        if report.adopted {
            text.push_str("adopted an existing Carcosa database\n");
        }
        for index in &report.rebuilt_indexes {
            text.push_str(&format!("rebuilt index {index}, left invalid by an interrupted run\n"));
        }
        for m in &report.applied {
            text.push_str(&format!("applied {:04} {}\n", m.version, m.name));
        }
        if report.is_noop() {
            text.push_str(&format!("up to date ({} migrations applied)", report.already_applied));
        }
        Output::new(
            text,
            &json!({
                "applied": applied(&report), "alreadyApplied": report.already_applied,
                "adopted": report.adopted, "upToDate": report.is_noop(),
            }),
        )
    }
}

async fn status(client: &tokio_postgres::Client) -> anyhow::Result<Output> {
    let list = migrate::status(client)
        .await
        .context("could not read the migration status")?;
    let pending = list.iter().filter(|m| m.applied_at_ms.is_none()).count();
    let mut text = String::new();
    for m in &list {
        let state = m
            .applied_at_ms
            .map_or_else(|| "pending".to_owned(), |t| format!("applied {}", rfc3339(t)));
        text.push_str(&format!("{:>4}  {:<28} {state}\n", m.version, m.name));
    }
    text.push_str(&match pending {
        0 => "up to date".to_owned(),
        n => format!("{n} pending: run `carcosa-edge migrate`"),
    });
    let migrations: Vec<Status> = list.iter().map(Status::from).collect();
    Output::new(text, &json!({ "migrations": migrations, "pending": pending }))
}
