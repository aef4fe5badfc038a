//! What `carcosa-edge doctor` asks the database: the session, whether the request path's
//! statements run on this schema, and every bucket with its sealed credentials. Native only.

use tokio_postgres::types::Type;
use tokio_postgres::Client;

use super::{
    bucket_row, complete_upload, get, get_file, refuse_upload, resolve_scope, resolve_upload, touch_api_keys, KeyRef,
    StoreError,
};
use super::{Completion, StoredObject, BUCKET_ROW_COLUMNS};
use crate::scope::BucketRow;

/// This connection's server and encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `server_version`.
    pub server_version: String,
    /// `current_database()`.
    pub database: String,
    /// The TLS version when the connection is encrypted (from `pg_stat_ssl`).
    pub tls_version: Option<String>,
}

/// The server, database and encryption of this connection.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn session(client: &Client) -> Result<Session, StoreError> {
    const SQL: &str = r"SELECT current_setting('server_version'), current_database(),
                               (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl)";
    let row = client.query_typed_one(SQL, &[]).await?;
    Ok(Session {
        server_version: get(&row, 0)?,
        database: get(&row, 1)?,
        tls_version: get(&row, 2)?,
    })
}

/// An id no row has (ids are at most 64 characters), for probes that must find nothing.
const NO_SUCH_ID: &str = "carcosa-edge-doctor-probe-0000000000000000000000000000000000000000000";
const NO_SUCH_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Columns the edge's `"Upload"` insert names: that statement cannot run without writing a row,
/// so its columns are checked instead.
const UPLOAD_INSERT_COLUMNS: [&str; 13] = [
    "id",
    "projectId",
    "path",
    "status",
    "createdAt",
    "size",
    "contentType",
    "filename",
    "tenantId",
    "apiKeyId",
    "bucketId",
    "expiresAt",
    "metadata",
];

/// Why a request-path statement cannot run on this schema.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The statement failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Columns a statement names are missing.
    #[error("\"{table}\" lacks column(s) {}", .columns.join(", "))]
    MissingColumns {
        /// The table.
        table: &'static str,
        /// The columns it lacks.
        columns: Vec<String>,
    },
}

/// Runs each request-path statement in a way that reads or changes nothing (ids no row has), so
/// that a schema the edge cannot use shows up here rather than on a request. Returns each
/// statement's name with its error, if any.
pub async fn probe_request_path(client: &Client, now_ms: i64) -> Vec<(&'static str, Result<(), ProbeError>)> {
    let mut out: Vec<(&'static str, Result<(), ProbeError>)> = Vec::new();
    let hash = KeyRef::Hash(NO_SUCH_HASH);
    let scope = resolve_scope(client, hash, Some("t")).await;
    out.push(("resolve_scope", scope.map(drop).map_err(Into::into)));
    let upload = resolve_upload(client, hash, NO_SUCH_ID).await;
    out.push(("resolve_upload", upload.map(drop).map_err(Into::into)));
    out.push((
        "get_file",
        get_file(client, NO_SUCH_ID).await.map(drop).map_err(Into::into),
    ));
    let touched = touch_api_keys(client, &[NO_SUCH_ID.to_owned()], now_ms).await;
    out.push(("touch_api_keys", touched.map_err(Into::into)));
    let nothing = serde_json::Value::Null;
    let obj = StoredObject {
        file_id: NO_SUCH_ID,
        filename: "probe",
        size: 0,
        mime_type: "application/octet-stream",
        metadata: &nothing,
        now_ms,
    };
    out.push((
        "complete_upload",
        // An id no row has: nothing to complete, nothing written.
        complete_upload(client, NO_SUCH_ID, &obj)
            .await
            .map(|_: Completion| ())
            .map_err(Into::into),
    ));
    out.push((
        "refuse_upload",
        refuse_upload(client, NO_SUCH_ID).await.map(drop).map_err(Into::into),
    ));
    out.push(("insert_uploads", upload_columns(client).await));
    out
}

async fn upload_columns(client: &Client) -> Result<(), ProbeError> {
    const SQL: &str = r#"SELECT c FROM unnest($1::text[]) c
                         WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns
                                           WHERE table_schema = current_schema() AND table_name = 'Upload'
                                             AND column_name = c)"#;
    let wanted: Vec<&str> = UPLOAD_INSERT_COLUMNS.to_vec();
    let rows = client
        .query_typed(SQL, &[(&wanted, Type::TEXT_ARRAY)])
        .await
        .map_err(StoreError::from)?;
    let missing: Vec<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_, _>>()?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ProbeError::MissingColumns {
            table: "Upload",
            columns: missing,
        })
    }
}

/// A bucket as stored, credentials sealed, with its display name.
#[derive(Debug, Clone)]
pub struct StoredBucket {
    /// Display name.
    pub name: String,
    /// The row as the request path reads it.
    pub row: BucketRow,
}

/// Every bucket, oldest first, with its sealed credentials.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn buckets(client: &Client) -> Result<Vec<StoredBucket>, StoreError> {
    let sql = format!(r#"SELECT b.name, {BUCKET_ROW_COLUMNS} FROM "Bucket" b ORDER BY b."createdAt", b.id"#);
    let rows = client.query_typed(&sql, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(StoredBucket {
                name: get(r, 0)?,
                row: bucket_row(r, 1)?,
            })
        })
        .collect()
}
