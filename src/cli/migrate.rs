//! `migrate`: apply or list schema migrations.

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::db::Db;
use super::output::{time, Output};
use crate::store::migrate::{self, AppliedMigration, MigrationReport, MigrationStatus};
use crate::timestamp::rfc3339;

#[derive(Args)]
pub(super) struct MigrateArgs {
    /// Only list the migrations and whether each is applied
    #[arg(long)]
    status: bool,
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
        let report = migrate::migrate(&mut client)
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
