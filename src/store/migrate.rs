//! Schema migrations: the plain SQL files in `migrations/`, compiled into the
//! binary and applied in order.
//!
//! Migrations run against live databases (beside a running Carcosa API), so
//! nothing here may block the API's reads and writes for longer than a short
//! lock timeout. A migration file is a list of steps, each started by a marker
//! line (a file without markers is one transaction step):
//!
//! - `-- step: transaction` — its own short transaction, with `SET LOCAL`
//!   [`MigrateOptions::lock_timeout_ms`] and
//!   [`MigrateOptions::statement_timeout_ms`]. For statements that take locks
//!   which block reads or writes (`ALTER TABLE … ADD COLUMN`, a foreign key
//!   added `NOT VALID`): the lock is given up after the timeout instead of
//!   queueing the API behind it, and the step is retried with backoff.
//! - `-- step: online` — one statement outside any transaction and without
//!   timeouts (`CREATE INDEX CONCURRENTLY`, `VALIDATE CONSTRAINT`): it takes
//!   only locks that reads and writes do not wait for, so it may take as long
//!   as the table needs. An index it builds is checked first: a valid one is
//!   skipped, an INVALID one (left by an interrupted build) is dropped
//!   concurrently and rebuilt.
//!
//! A migration is recorded in `"_carcosa_edge_migrations"` (with the SHA-256
//! of its SQL) after its last step. Every step is idempotent, so a run that
//! was interrupted (Ctrl-C, lost connection) resumes by running the
//! unrecorded migration again. A migration of a single transaction step
//! that fails leaves the database as it was. A recorded migration whose file
//! has since changed stops the run, unless the recorded text is one of the
//! migration's [`Migration::former_checksums`].
//!
//! Runners serialise on a session-level advisory lock, taken with
//! `pg_try_advisory_lock` and a pause between tries: a runner blocked inside
//! `pg_advisory_lock` would hold a snapshot that the other runner's
//! `CREATE INDEX CONCURRENTLY` waits for, a deadlock.
//!
//! Every migration is idempotent (`IF NOT EXISTS`, catalog checks), so the same
//! files also adopt a database that the upstream Carcosa tooling (Prisma)
//! created: existing tables, indexes and constraints are left as they are, and
//! only what is missing is added. Prisma's own `_prisma_migrations` table is
//! never touched.
//!
//! Architecture invariant: this module uses only the `tokio_postgres::Client`
//! API (no runtime, no clock, no filesystem), so it runs natively and in the
//! Worker alike; the pauses between retries are `pg_sleep` on the server.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, IsolationLevel};

/// One migration: a version, a short name and the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Position in the sequence; versions are strictly increasing.
    pub version: i32,
    /// Short name, the file name without the version prefix and extension.
    pub name: &'static str,
    /// The SQL: steps separated by marker lines (see the module docs).
    pub sql: &'static str,
    /// [`Migration::checksum`]s of earlier texts of this migration that leave
    /// the same schema (it was split into online steps); a database that
    /// recorded one of them is up to date.
    pub former_checksums: &'static [&'static str],
}

/// How a [`Step`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Its own transaction, with a lock timeout and a statement timeout.
    Transaction,
    /// One statement outside any transaction, without timeouts.
    Online,
}

/// One step of a [`Migration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// How it runs.
    pub kind: StepKind,
    /// Its SQL (run with the simple query protocol).
    pub sql: &'static str,
}

const TRANSACTION_MARKER: &str = "-- step: transaction";
const ONLINE_MARKER: &str = "-- step: online";

impl Migration {
    /// Lowercase hex SHA-256 of the SQL text, with `\r\n` line endings read as
    /// `\n` so that a checkout's line-ending conversion does not count as a change.
    #[must_use]
    pub fn checksum(&self) -> String {
        let mut hasher = Sha256::new();
        let mut parts = self.sql.split("\r\n");
        if let Some(first) = parts.next() {
            hasher.update(first.as_bytes());
        }
        for part in parts {
            hasher.update(b"\n");
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    /// The steps, in order. Text before the first marker is a transaction
    /// step unless it holds only comments and blank lines.
    #[must_use]
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        let mut kind = StepKind::Transaction;
        let mut start = 0;
        let mut offset = 0;
        for line in self.sql.split_inclusive('\n') {
            let marker = match line.trim() {
                TRANSACTION_MARKER => Some(StepKind::Transaction),
                ONLINE_MARKER => Some(StepKind::Online),
                _ => None,
            };
            if let Some(next) = marker {
                push_step(&mut steps, kind, &self.sql[start..offset]);
                kind = next;
                start = offset + line.len();
            }
            offset += line.len();
        }
        push_step(&mut steps, kind, &self.sql[start..]);
        steps
    }
}

fn push_step(steps: &mut Vec<Step>, kind: StepKind, sql: &'static str) {
    let has_sql = sql.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with("--")
    });
    if has_sql {
        steps.push(Step { kind, sql });
    }
}

/// The name of the index a `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS
/// "name"` statement builds.
fn concurrent_index_name(sql: &str) -> Option<&str> {
    const PREFIX: &str = "INDEX CONCURRENTLY IF NOT EXISTS \"";
    // ASCII upper-casing keeps byte offsets.
    let at = sql.to_ascii_uppercase().find(PREFIX)? + PREFIX.len();
    let len = sql[at..].find('"')?;
    Some(&sql[at..at + len])
}

/// All migrations, in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "upstream_schema",
        sql: include_str!("../../migrations/0001_upstream_schema.sql"),
        former_checksums: &[],
    },
    Migration {
        version: 2,
        name: "upstream_missing_indexes",
        sql: include_str!("../../migrations/0002_upstream_missing_indexes.sql"),
        // Built the same indexes without CONCURRENTLY, in the one transaction.
        former_checksums: &["426493b51e88b50b1435c8083a703e83474f937c9f2cc27eda0693b0590e465d"],
    },
    Migration {
        version: 3,
        name: "edge_columns",
        sql: include_str!("../../migrations/0003_edge_columns.sql"),
        // Added the same columns, validated foreign keys and indexes in one transaction.
        former_checksums: &["323ec1f6280bcb0ce3243ba2f8874879a88219412dee881c6dc7e5cbc6407539"],
    },
    Migration {
        version: 4,
        name: "project_upload_limit",
        sql: include_str!("../../migrations/0004_project_upload_limit.sql"),
        former_checksums: &[],
    },
];

/// Name of the bookkeeping table (unquoted).
pub const MIGRATIONS_TABLE: &str = "_carcosa_edge_migrations";

const MIGRATIONS_TABLE_QUOTED: &str = "\"_carcosa_edge_migrations\"";

/// Key of the session-level advisory lock held while migrating
/// (the ASCII bytes of `"carcosa\x01"`).
pub const ADVISORY_LOCK_KEY: i64 = 0x6361_7263_6f73_6101;

/// A table every Carcosa database has; its presence without the bookkeeping
/// table means the database was created by the upstream tooling.
const UPSTREAM_MARKER_TABLE: &str = "\"Project\"";

const CREATE_MIGRATIONS_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS "_carcosa_edge_migrations" (
    "version" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "checksum" TEXT NOT NULL,
    "appliedAt" TIMESTAMP(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),

    CONSTRAINT "_carcosa_edge_migrations_pkey" PRIMARY KEY ("version")
)"#;

/// Limits for one [`migrate_with`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrateOptions {
    /// How long a transaction step waits for a lock before it gives up and is
    /// retried. While it waits, the API's statements on that table queue
    /// behind it, so this bounds how long a migration can stall the API.
    pub lock_timeout_ms: u32,
    /// How long a transaction step's statement may run (it holds its locks
    /// until it ends).
    pub statement_timeout_ms: u32,
    /// Tries per step before the run fails (lock timeouts and deadlocks are
    /// retried; other errors are not).
    pub max_attempts: u32,
    /// Pause after the first failed try; it doubles after each one.
    pub first_backoff_ms: u32,
    /// Longest pause between tries, and between tries for the advisory lock.
    pub max_backoff_ms: u32,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            lock_timeout_ms: 500,
            statement_timeout_ms: 15_000,
            max_attempts: 30,
            first_backoff_ms: 100,
            max_backoff_ms: 5_000,
        }
    }
}

impl MigrateOptions {
    fn backoff_ms(&self, failed_tries: u32) -> u32 {
        let doubled = self
            .first_backoff_ms
            .saturating_mul(1u32.checked_shl(failed_tries.saturating_sub(1)).unwrap_or(u32::MAX));
        doubled.min(self.max_backoff_ms)
    }
}

/// A migration applied by one [`migrate`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedMigration {
    /// [`Migration::version`].
    pub version: i32,
    /// [`Migration::name`].
    pub name: &'static str,
}

/// What one [`migrate`] run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations applied by this run, in order. Empty when the database was
    /// already up to date.
    pub applied: Vec<AppliedMigration>,
    /// How many migrations were already recorded before this run.
    pub already_applied: usize,
    /// True when the database already held the upstream Carcosa tables but had
    /// never been migrated by this crate (an existing Carcosa database taken over).
    pub adopted: bool,
    /// Steps that were tried again after a lock timeout or a deadlock.
    pub retries: u32,
    /// INVALID indexes (left by an interrupted concurrent build) that were
    /// dropped and built again.
    pub rebuilt_indexes: Vec<String>,
}

impl MigrationReport {
    /// True when nothing was applied.
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.applied.is_empty()
    }
}

/// State of one known migration in a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationStatus {
    /// [`Migration::version`].
    pub version: i32,
    /// [`Migration::name`].
    pub name: &'static str,
    /// When it was applied (`"appliedAt"`, stored in UTC), in Unix milliseconds,
    /// or `None` if it is pending.
    pub applied_at_ms: Option<i64>,
}

/// Why migrating failed. The failing step was rolled back; the steps before
/// it stay, and running [`migrate`] again resumes.
///
/// `Display` never contains SQL text or server messages; the underlying
/// database error, for logs, is available through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A bookkeeping query failed (connection lost, permission denied, ...).
    #[error("database error while migrating")]
    Database(#[from] tokio_postgres::Error),
    /// The SQL of a migration failed.
    #[error("migration {version} ({name}) failed")]
    Apply {
        /// [`Migration::version`].
        version: i32,
        /// [`Migration::name`].
        name: &'static str,
        /// The database's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A migration recorded as applied no longer matches its SQL file.
    #[error("migration {version} was modified after it was applied (checksum mismatch)")]
    Modified {
        /// The version whose checksum differs.
        version: i32,
    },
    /// The database records a migration this build does not know (it was
    /// migrated by a newer build).
    #[error("database has migration {version} applied, which this build does not know")]
    Unknown {
        /// The unknown version.
        version: i32,
    },
}

/// [`migrate_with`] the default [`MigrateOptions`].
///
/// # Errors
///
/// As [`migrate_with`].
pub async fn migrate(client: &mut Client) -> Result<MigrationReport, MigrateError> {
    migrate_with(client, &MigrateOptions::default()).await
}

/// Applies every pending migration, in order, step by step (see the module
/// docs), without blocking the database's other users for longer than
/// [`MigrateOptions::lock_timeout_ms`] at a time.
///
/// Takes the advisory lock [`ADVISORY_LOCK_KEY`] first, so concurrent callers
/// wait for each other and each migration is applied once; checks every
/// recorded migration against [`MIGRATIONS`]; then runs the pending ones and
/// records each after its last step. A second run is a no-op. The session's
/// `lock_timeout` and `statement_timeout` are reset when it returns.
///
/// # Errors
///
/// - [`MigrateError::Modified`] / [`MigrateError::Unknown`] if the recorded
///   migrations do not match this build; nothing is applied.
/// - [`MigrateError::Apply`] if a step's SQL fails, or still meets a lock
///   timeout after [`MigrateOptions::max_attempts`] tries (for example, an
///   existing Carcosa database that lacks some upstream migrations).
/// - [`MigrateError::Database`] for any other database error.
pub async fn migrate_with(client: &mut Client, options: &MigrateOptions) -> Result<MigrationReport, MigrateError> {
    // Online steps run without timeouts; transaction steps set their own.
    client
        .batch_execute("SET lock_timeout = 0; SET statement_timeout = 0")
        .await?;
    lock(client, options).await?;
    let result = apply_pending(client, options).await;
    // Ending the session would release the lock too; do not keep it for the caller.
    let cleanup = client
        .batch_execute(&format!(
            "SELECT pg_advisory_unlock({ADVISORY_LOCK_KEY}); RESET lock_timeout; RESET statement_timeout"
        ))
        .await;
    let report = result?;
    cleanup?;
    Ok(report)
}

async fn lock(client: &Client, options: &MigrateOptions) -> Result<(), MigrateError> {
    let mut tries = 0;
    loop {
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
            .await?
            .try_get(0)?;
        if locked {
            return Ok(());
        }
        tries += 1;
        pause(client, options.backoff_ms(tries)).await?;
    }
}

async fn pause(client: &Client, ms: u32) -> Result<(), tokio_postgres::Error> {
    client
        .execute("SELECT pg_sleep($1)", &[&(f64::from(ms) / 1000.0)])
        .await
        .map(drop)
}

async fn apply_pending(client: &mut Client, options: &MigrateOptions) -> Result<MigrationReport, MigrateError> {
    let row = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
            &[&MIGRATIONS_TABLE_QUOTED, &UPSTREAM_MARKER_TABLE],
        )
        .await?;
    let had_bookkeeping: bool = row.try_get(0)?;
    let had_upstream: bool = row.try_get(1)?;

    let recorded: BTreeMap<i32, String> = if had_bookkeeping {
        client
            .query(r#"SELECT "version", "checksum" FROM "_carcosa_edge_migrations""#, &[])
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?
    } else {
        BTreeMap::new()
    };
    check_recorded(&recorded)?;

    let mut report = MigrationReport {
        applied: Vec::new(),
        already_applied: recorded.len(),
        adopted: had_upstream && !had_bookkeeping,
        retries: 0,
        rebuilt_indexes: Vec::new(),
    };
    for migration in MIGRATIONS {
        if recorded.contains_key(&migration.version) {
            continue;
        }
        for step in migration.steps() {
            run_step(client, options, migration, step, &mut report).await?;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(CREATE_MIGRATIONS_TABLE).await?;
        tx.execute(
            r#"INSERT INTO "_carcosa_edge_migrations" ("version", "name", "checksum") VALUES ($1, $2, $3)"#,
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
        tx.commit().await?;
        report.applied.push(AppliedMigration {
            version: migration.version,
            name: migration.name,
        });
    }
    Ok(report)
}

/// Runs one step, retrying it after lock timeouts and deadlocks.
async fn run_step(
    client: &mut Client,
    options: &MigrateOptions,
    migration: &Migration,
    step: Step,
    report: &mut MigrationReport,
) -> Result<(), MigrateError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = match step.kind {
            StepKind::Transaction => try_transaction_step(client, options, step.sql).await,
            StepKind::Online => try_online_step(client, step.sql, &mut report.rebuilt_indexes).await,
        };
        let Err(source) = result else {
            return Ok(());
        };
        let retryable = matches!(
            source.code(),
            Some(&SqlState::LOCK_NOT_AVAILABLE | &SqlState::T_R_DEADLOCK_DETECTED)
        );
        if !retryable || tries >= options.max_attempts {
            return Err(MigrateError::Apply {
                version: migration.version,
                name: migration.name,
                source,
            });
        }
        report.retries += 1;
        pause(client, options.backoff_ms(tries)).await?;
    }
}

async fn try_transaction_step(
    client: &mut Client,
    options: &MigrateOptions,
    sql: &str,
) -> Result<(), tokio_postgres::Error> {
    // READ COMMITTED regardless of the session default: a step must see what
    // was committed before it, including by the API.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {}",
        options.lock_timeout_ms, options.statement_timeout_ms
    ))
    .await?;
    tx.batch_execute(sql).await?;
    tx.commit().await
}

async fn try_online_step(client: &Client, sql: &str, rebuilt: &mut Vec<String>) -> Result<(), tokio_postgres::Error> {
    if let Some(index) = concurrent_index_name(sql) {
        let valid: Option<bool> = client
            .query_opt(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
                &[&index],
            )
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        match valid {
            // Nothing to do, and no lock to take.
            Some(true) => return Ok(()),
            // A concurrent build that was interrupted leaves its index INVALID:
            // ignored by queries, yet still updated by every write.
            Some(false) => {
                let quoted = index.replace('"', "\"\"");
                client
                    .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS \"{quoted}\""))
                    .await?;
                if !rebuilt.iter().any(|r| r == index) {
                    rebuilt.push(index.to_owned());
                }
            }
            None => {}
        }
    }
    client.batch_execute(sql).await
}

/// Lists every known migration with the time it was applied, if it was.
///
/// Read-only: on a database never migrated (no bookkeeping table) every
/// migration is reported pending.
///
/// # Errors
///
/// [`MigrateError::Database`] if a query fails.
pub async fn status(client: &Client) -> Result<Vec<MigrationStatus>, MigrateError> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&MIGRATIONS_TABLE_QUOTED])
        .await?
        .try_get(0)?;
    let applied: BTreeMap<i32, i64> = if exists {
        client
            .query(
                r#"SELECT "version", (EXTRACT(EPOCH FROM "appliedAt") * 1000)::int8 FROM "_carcosa_edge_migrations""#,
                &[],
            )
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?
    } else {
        BTreeMap::new()
    };
    Ok(MIGRATIONS
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name,
            applied_at_ms: applied.get(&m.version).copied(),
        })
        .collect())
}

/// Checks recorded `(version, checksum)` pairs against [`MIGRATIONS`].
fn check_recorded(recorded: &BTreeMap<i32, String>) -> Result<(), MigrateError> {
    for (&version, checksum) in recorded {
        match MIGRATIONS.iter().find(|m| m.version == version) {
            None => return Err(MigrateError::Unknown { version }),
            Some(m) if m.checksum() != *checksum && !m.former_checksums.contains(&checksum.as_str()) => {
                return Err(MigrateError::Modified { version });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i32::try_from(i).unwrap() + 1, "{}", m.name);
        }
    }

    #[test]
    fn names_are_short_identifiers() {
        for m in MIGRATIONS {
            assert!(!m.name.is_empty());
            assert!(m
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
    }

    #[test]
    fn migrations_do_not_manage_transactions() {
        // The runner opens and ends every transaction; a COMMIT inside a file
        // would end one early.
        for m in MIGRATIONS {
            let upper = m.sql.to_ascii_uppercase();
            for word in ["BEGIN;", "COMMIT", "ROLLBACK"] {
                assert!(!upper.contains(word), "{} contains {word}", m.name);
            }
        }
    }

    #[test]
    fn concurrent_work_happens_only_in_online_steps_of_one_statement() {
        for m in MIGRATIONS {
            for step in m.steps() {
                let upper = step.sql.to_ascii_uppercase();
                match step.kind {
                    StepKind::Transaction => {
                        assert!(!upper.contains("CONCURRENTLY"), "{}: {}", m.name, step.sql);
                        assert!(!upper.contains("VALIDATE CONSTRAINT"), "{}: {}", m.name, step.sql);
                    }
                    StepKind::Online => {
                        // Outside a transaction block a multi-statement string
                        // is still one implicit transaction, which CONCURRENTLY
                        // refuses: one statement (or one DO block) per step.
                        let is_do = upper.trim_start().starts_with("DO $$");
                        let statements = upper.matches(';').count();
                        assert!(is_do || statements == 1, "{}: {}", m.name, step.sql);
                        if upper.contains("CONCURRENTLY") {
                            assert!(concurrent_index_name(step.sql).is_some(), "{}: {}", m.name, step.sql);
                        }
                        // Any other index or constraint work here would run
                        // without a lock timeout.
                        assert!(
                            upper.contains("INDEX CONCURRENTLY") || upper.contains("VALIDATE CONSTRAINT"),
                            "{}: {}",
                            m.name,
                            step.sql
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn steps_split_at_markers() {
        let m = Migration {
            version: 1,
            name: "x",
            sql: "-- intro only\n\n-- step: transaction\nALTER TABLE a ADD COLUMN b INT;\n  -- step: online  \nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"a_b_idx\" ON a(b);\n-- step: online\n-- nothing\n",
            former_checksums: &[],
        };
        let steps = m.steps();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].kind, StepKind::Transaction);
        assert_eq!(steps[0].sql, "ALTER TABLE a ADD COLUMN b INT;\n");
        assert_eq!(steps[1].kind, StepKind::Online);
        assert_eq!(concurrent_index_name(steps[1].sql), Some("a_b_idx"));

        let unmarked = Migration {
            sql: "SELECT 1;\nSELECT 2;\n",
            ..m
        };
        assert_eq!(
            unmarked.steps(),
            [Step {
                kind: StepKind::Transaction,
                sql: "SELECT 1;\nSELECT 2;\n"
            }]
        );
        assert_eq!(MIGRATIONS[0].steps().len(), 1, "the upstream schema is one transaction");
    }

    #[test]
    fn index_names_are_found_whatever_the_case() {
        assert_eq!(
            concurrent_index_name(r#"create unique index concurrently if not exists "X_y_key" on "X"("y");"#),
            Some("X_y_key")
        );
        assert_eq!(concurrent_index_name(r#"CREATE INDEX "X_y_idx" ON "X"("y");"#), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let o = MigrateOptions::default();
        assert_eq!(
            (1..=8).map(|n| o.backoff_ms(n)).collect::<Vec<_>>(),
            [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]
        );
        assert_eq!(o.backoff_ms(u32::MAX), 5_000);
    }

    #[test]
    fn checksum_is_sha256_hex_and_ignores_crlf() {
        let lf = Migration {
            version: 1,
            name: "x",
            sql: "SELECT 1;\nSELECT 2;\n",
            former_checksums: &[],
        };
        let crlf = Migration {
            sql: "SELECT 1;\r\nSELECT 2;\r\n",
            ..lf
        };
        let other = Migration {
            sql: "SELECT 1;\nSELECT 3;\n",
            ..lf
        };
        assert_eq!(lf.checksum().len(), 64);
        assert!(lf.checksum().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(lf.checksum(), crlf.checksum());
        assert_ne!(lf.checksum(), other.checksum());
        let empty = Migration { sql: "", ..lf };
        assert_eq!(
            empty.checksum(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn recorded_checks() {
        let good: BTreeMap<i32, String> = MIGRATIONS.iter().map(|m| (m.version, m.checksum())).collect();
        assert!(check_recorded(&good).is_ok());

        let mut modified = good.clone();
        modified.insert(2, "0".repeat(64));
        assert!(matches!(
            check_recorded(&modified),
            Err(MigrateError::Modified { version: 2 })
        ));

        // A database migrated from an earlier text of the same migration.
        let mut former = good.clone();
        former.insert(3, MIGRATIONS[2].former_checksums[0].to_owned());
        assert!(check_recorded(&former).is_ok());

        let mut unknown = good;
        unknown.insert(9999, String::new());
        assert!(matches!(
            check_recorded(&unknown),
            Err(MigrateError::Unknown { version: 9999 })
        ));
    }

    #[test]
    fn display_never_contains_sql() {
        let e = MigrateError::Modified { version: 1 };
        assert_eq!(
            e.to_string(),
            "migration 1 was modified after it was applied (checksum mismatch)"
        );
    }
}
