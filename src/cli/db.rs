//! Connecting to the database, and the clock and randomness commands use.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use tokio_postgres::{Client, NoTls};

/// The database URL, connected to only by commands that need it.
pub(super) struct Db(Option<String>);

impl Db {
    pub(super) const fn new(url: Option<String>) -> Self {
        Self(url)
    }

    pub(super) async fn connect(&self) -> anyhow::Result<Client> {
        let url = self
            .0
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| anyhow!("no database given: pass --database-url or set DATABASE_URL"))?;
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .context("could not connect to the database")?;
        tokio::spawn(async move {
            // A failure surfaces as an error on the next statement.
            let _ = connection.await;
        });
        Ok(client)
    }
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
