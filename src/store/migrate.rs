//! Schema migrations: the plain SQL files in `migrations/`, compiled into the
//! binary and applied in order.
//!
//! [`migrate`] runs everything in one transaction under a transaction-scoped
//! advisory lock, so concurrent runners serialise and a failure leaves the
//! database exactly as it was. Applied migrations are recorded in
//! `"_carcosa_edge_migrations"` with the SHA-256 of their SQL; a recorded
//! migration whose file has since changed stops the run.
//!
//! Every migration is idempotent (`IF NOT EXISTS`, catalog checks), so the same
//! files also adopt a database that the upstream Carcosa tooling (Prisma)
//! created: existing tables, indexes and constraints are left as they are, and
//! only what is missing is added. Prisma's own `_prisma_migrations` table is
//! never touched.
//!
//! Architecture invariant: this module uses only the `tokio_postgres::Client`
//! API (no runtime, no clock, no filesystem), so it runs natively and in the
//! Worker alike.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, IsolationLevel};

/// One migration: a version, a short name and the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Position in the sequence; versions are strictly increasing.
    pub version: i32,
    /// Short name, the file name without the version prefix and extension.
    pub name: &'static str,
    /// The SQL, run as one batch (simple query protocol).
    pub sql: &'static str,
}

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
}

/// All migrations, in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "upstream_schema",
        sql: include_str!("../../migrations/0001_upstream_schema.sql"),
    },
    Migration {
        version: 2,
        name: "upstream_missing_indexes",
        sql: include_str!("../../migrations/0002_upstream_missing_indexes.sql"),
    },
    Migration {
        version: 3,
        name: "edge_columns",
        sql: include_str!("../../migrations/0003_edge_columns.sql"),
    },
];

/// Name of the bookkeeping table (unquoted).
pub const MIGRATIONS_TABLE: &str = "_carcosa_edge_migrations";

const MIGRATIONS_TABLE_QUOTED: &str = "\"_carcosa_edge_migrations\"";

/// Key of the transaction-scoped advisory lock held while migrating
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

/// Why migrating failed. Whatever the variant, the transaction was rolled back
/// and the database is unchanged.
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

/// Applies every pending migration, in order, in one transaction.
///
/// Takes `pg_advisory_xact_lock(`[`ADVISORY_LOCK_KEY`]`)` first, so concurrent
/// callers wait for each other and each migration is applied once; creates the
/// bookkeeping table if missing; checks every recorded migration against
/// [`MIGRATIONS`]; then runs and records the pending ones and commits. A second
/// run is a no-op.
///
/// # Errors
///
/// - [`MigrateError::Modified`] / [`MigrateError::Unknown`] if the recorded
///   migrations do not match this build; nothing is applied.
/// - [`MigrateError::Apply`] if a migration's SQL fails (for example, an
///   existing Carcosa database that lacks some upstream migrations).
/// - [`MigrateError::Database`] for any other database error.
///
/// In every error case the transaction is rolled back.
pub async fn migrate(client: &mut Client) -> Result<MigrationReport, MigrateError> {
    // READ COMMITTED regardless of the session default: statements after the
    // lock must see what a concurrent runner committed while we waited.
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await?;

    let row = tx
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
            &[&MIGRATIONS_TABLE_QUOTED, &UPSTREAM_MARKER_TABLE],
        )
        .await?;
    let had_bookkeeping: bool = row.try_get(0)?;
    let had_upstream: bool = row.try_get(1)?;

    tx.batch_execute(CREATE_MIGRATIONS_TABLE).await?;
    let recorded: BTreeMap<i32, String> = tx
        .query(r#"SELECT "version", "checksum" FROM "_carcosa_edge_migrations""#, &[])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;

    check_recorded(&recorded)?;

    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        if recorded.contains_key(&migration.version) {
            continue;
        }
        tx.batch_execute(migration.sql)
            .await
            .map_err(|source| MigrateError::Apply {
                version: migration.version,
                name: migration.name,
                source,
            })?;
        tx.execute(
            r#"INSERT INTO "_carcosa_edge_migrations" ("version", "name", "checksum") VALUES ($1, $2, $3)"#,
            &[&migration.version, &migration.name, &migration.checksum()],
        )
        .await?;
        applied.push(AppliedMigration {
            version: migration.version,
            name: migration.name,
        });
    }

    tx.commit().await?;
    Ok(MigrationReport {
        applied,
        already_applied: recorded.len(),
        adopted: had_upstream && !had_bookkeeping,
    })
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
            Some(m) if m.checksum() != *checksum => {
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
        // migrate() wraps everything in one transaction; a COMMIT inside a file
        // would end it early.
        for m in MIGRATIONS {
            let upper = m.sql.to_ascii_uppercase();
            for word in ["BEGIN;", "COMMIT", "ROLLBACK", "CONCURRENTLY"] {
                assert!(!upper.contains(word), "{} contains {word}", m.name);
            }
        }
    }

    #[test]
    fn checksum_is_sha256_hex_and_ignores_crlf() {
        let lf = Migration {
            version: 1,
            name: "x",
            sql: "SELECT 1;\nSELECT 2;\n",
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
