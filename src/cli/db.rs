//! Connecting to the database, and the clock and randomness commands use.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{self, SslMode};

/// The database URL, connected to only by commands that need it.
pub(super) struct Db(Option<String>);

impl Db {
    pub(super) const fn new(url: Option<String>) -> Self {
        Self(url)
    }

    /// Connects with TLS as the URL's `sslmode` says (see [`tls`]), and drives the connection on a
    /// task.
    pub(super) async fn connect(&self) -> anyhow::Result<Client> {
        let url = self
            .0
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| anyhow!("no database given: pass --database-url or set DATABASE_URL"))?;
        let env = |name| std::env::var(name).ok();
        let tls = tls::settings(url, env("PGSSLMODE").as_deref(), env("PGSSLROOTCERT").as_deref())?;
        let mut config: Config = tls
            .conninfo
            .parse()
            .context("the database URL is not a valid PostgreSQL connection string")?;
        config.ssl_mode(tls.mode.postgres());
        // As libpq: a URL without a password takes PGPASSWORD, which keeps it off the command line.
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.as_encoded_bytes());
            }
        }
        let connected = match tls::client_config(&tls)? {
            None => config.connect(NoTls).await.map(|(client, connection)| {
                drive(connection);
                client
            }),
            Some(rustls) => config
                .connect(MakeRustlsConnect::new(rustls))
                .await
                .map(|(client, connection)| {
                    drive(connection);
                    client
                }),
        };
        connected.map_err(|e| {
            // pg_hba.conf said no to a plain connection ("…, no encryption"): say what to do.
            let hint = if tls.mode == SslMode::Disable
                && e.as_db_error().is_some_and(|db| db.message().contains("no encryption"))
            {
                "; the server accepts only encrypted connections: use sslmode=require or stronger".to_owned()
            } else {
                tls::advice(&e).map(|a| format!("; {a}")).unwrap_or_default()
            };
            anyhow::Error::new(e).context(format!(
                "could not connect to the database (sslmode={}){hint}",
                tls.mode
            ))
        })
    }
}

/// Runs a connection until it closes. A failure surfaces as an error on the next statement.
fn drive<F>(connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        let _ = connection.await;
    });
}

pub(super) fn now_ms() -> anyhow::Result<i64> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|e| anyhow!("the system random number generator failed: {e}"))?;
    Ok(buf)
}
