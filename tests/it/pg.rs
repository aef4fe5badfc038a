//! PostgreSQL for tests: one freshly created database per test.
//!
//! The server comes from `CARCOSA_TEST_DATABASE_URL`, an admin connection URL
//! (for example `postgres://postgres:postgres@127.0.0.1:54329/postgres`) that may
//! create databases. `scripts/test` starts a server and sets it. A missing or
//! unreachable server fails the test; it never skips.

use carcosa_edge::store::migrate::{migrate, MigrationReport};
use tokio_postgres::{Client, NoTls};

/// Environment variable holding the admin connection URL.
pub const DATABASE_URL_VAR: &str = "CARCOSA_TEST_DATABASE_URL";

/// A database created for one test. Dropped (best effort) when this value is
/// dropped, unless the test is panicking, in which case it is kept for
/// inspection and its name printed.
pub struct TestDb {
    /// A connection to the test database.
    pub client: Client,
    /// Connection URL of the test database (same server and credentials as the
    /// admin URL).
    pub url: String,
    /// Name of the test database, `carcosa_test_<16 hex digits>`.
    pub name: String,
    admin_url: String,
}

impl TestDb {
    /// Opens another connection to this database.
    pub async fn connect(&self) -> Client {
        connect(&self.url).await
    }
}

/// A new database with every migration applied.
pub async fn fresh_db() -> TestDb {
    let mut db = empty_db().await;
    let report = migrated(&mut db.client).await;
    assert!(!report.adopted, "a new database cannot be adopted");
    db
}

/// A new, empty database (no migrations applied).
pub async fn empty_db() -> TestDb {
    let admin_url = admin_url();
    let admin = connect_admin(&admin_url).await;
    let name = format!("carcosa_test_{}", random_hex(8));
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e:?}"));
    let url = with_dbname(&admin_url, &name);
    let client = connect(&url).await;
    TestDb {
        client,
        url,
        name,
        admin_url,
    }
}

/// Runs the migrations, panicking on error.
pub async fn migrated(client: &mut Client) -> MigrationReport {
    migrate(client)
        .await
        .unwrap_or_else(|e| panic!("migrate failed: {e} ({e:?})"))
}

/// The admin URL from [`DATABASE_URL_VAR`]; panics with instructions if unset.
pub fn admin_url() -> String {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{DATABASE_URL_VAR} is not set. The integration tests need a real PostgreSQL: \
             run them with `scripts/test` (which starts one and sets the variable), or set \
             {DATABASE_URL_VAR}=postgres://postgres:postgres@127.0.0.1:54329/postgres \
             to an admin URL of a server you started."
        ),
    }
}

/// Connects to `url` and drives the connection on a tokio task.
pub async fn connect(url: &str) -> Client {
    match tokio_postgres::connect(url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                // The error, if any, surfaces on the client's next query.
                let _ = connection.await;
            });
            client
        }
        Err(e) => panic!("cannot connect to {}: {e}", redact(url)),
    }
}

async fn connect_admin(admin_url: &str) -> Client {
    match tokio_postgres::connect(admin_url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
        Err(e) => panic!(
            "cannot reach the test PostgreSQL at {} ({DATABASE_URL_VAR}): {e}. \
             Run the tests with `scripts/test`, which starts the server, or start one \
             and point {DATABASE_URL_VAR} at it.",
            redact(admin_url)
        ),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping test database {} for inspection", self.name);
            return;
        }
        // Drop needs async IO; do it on a private runtime on another thread, so
        // it works whether or not this thread is inside a runtime. FORCE ends
        // this value's own connection and any other still open.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, connection)) = tokio_postgres::connect(&admin_url, NoTls).await {
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).expect("OS random number generator");
    hex::encode(buf)
}

/// `url` with its database name replaced by `dbname`. Accepts both URL
/// (`postgres://…/db?…`) and key=value (`host=… dbname=…`) forms.
fn with_dbname(url: &str, dbname: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // key=value form: a later dbname overrides an earlier one.
        return format!("{url} dbname={dbname}");
    };
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_start = scheme_end + 3;
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{dbname}{query}")
}

/// `url` with any password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            if let Some(colon) = rest[..at].find(':') {
                return format!("{}{}:***{}", &url[..scheme_end + 3], &rest[..colon], &rest[at..]);
            }
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn with_dbname_replaces_the_path() {
    assert_eq!(
        with_dbname("postgres://u:p@h:5432/postgres", "x"),
        "postgres://u:p@h:5432/x"
    );
    assert_eq!(
        with_dbname("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
    assert_eq!(with_dbname("postgresql://h", "x"), "postgresql://h/x");
    assert_eq!(
        with_dbname("host=h user=u dbname=postgres", "x"),
        "host=h user=u dbname=postgres dbname=x"
    );
    assert_eq!(redact("postgres://u:secret@h:1/db"), "postgres://u:***@h:1/db");
    assert_eq!(redact("host=h password=secret"), "host=h password=***");
}
