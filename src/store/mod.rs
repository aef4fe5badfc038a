//! Store: every SQL statement the request path runs, as functions over a `tokio_postgres::Client`.
//!
//! The same `Client` type serves the Worker (over a Hyperdrive socket) and native code, so these
//! functions run unchanged in both. Hot-path statements use `query_typed`, which sends parameter
//! types with the statement and so costs one round trip instead of prepare + execute.
//! Nothing here leaves state on a connection for a later statement (no named statements, no
//! session settings, no user-defined types in results): Hyperdrive pools connections per
//! transaction (ARCHITECTURE.md, "Pooled connections").
//!
//! Timestamps are Prisma's `TIMESTAMP(3)` (UTC, no zone); they cross this boundary as Unix
//! milliseconds, and every write passes the caller's clock so that the core stays testable.

/// `$n` (Unix milliseconds) as a Prisma timestamp. Defined before the submodules so they share it.
macro_rules! ts {
    ($n:literal) => {
        concat!("(to_timestamp($", $n, "::float8 / 1000) AT TIME ZONE 'UTC')")
    };
}

pub mod activity;
#[cfg(not(target_arch = "wasm32"))]
pub mod doctor;
pub mod migrate;
#[cfg(not(target_arch = "wasm32"))]
pub mod provision;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

use crate::permission::PermissionSet;
use crate::provider::Provider;
use crate::scope::{BucketRow, ScopeRow, ShareLevel, TeamRow, TenantRow};

/// A statement parameter with its type, for `query_typed`.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or dropped the connection: retry later.
    #[error("the database is unavailable")]
    Unavailable(#[source] tokio_postgres::Error),
    /// No connection could be opened (the message names no credentials).
    #[error("could not connect to the database: {0}")]
    Connect(String),
    /// The database answered with an error.
    #[error("a database statement failed")]
    Query(#[source] tokio_postgres::Error),
    /// A row did not have the shape this code expects (a schema mismatch).
    #[error("a row from the database had an unexpected shape")]
    Shape(#[source] tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        // SQLSTATE classes 08 (connection exception) and 57 (operator intervention: shutdown,
        // cannot connect now) mean "try again later"; so does any error without a server answer.
        let transient = match e.code() {
            Some(code) => code.code().starts_with("08") || code.code().starts_with("57"),
            None => e.as_db_error().is_none(),
        };
        if transient {
            Self::Unavailable(e)
        } else {
            Self::Query(e)
        }
    }
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx).map_err(StoreError::Shape)
}

/// The columns [`scope_row`] reads, in order; shared by every scope query.
///
/// The organisation, the team's share of the bucket and the project's rate limit are scalar
/// subqueries on unique keys (`"Organization".id`, `("bucketId", "teamId")`, `"projectId"`;
/// `LIMIT 1` keeps the statement answering on a database missing one of those constraints, as the
/// join's `LIMIT 1` did). As joins they made eight relations, which PostgreSQL's planner searches
/// exhaustively (`join_collapse_limit` is 8): 5–9 ms of planning per lookup, most of a cold
/// request's time in the database. As subqueries each is planned alone, about 0.5 ms in all.
///
/// The clock column is there for Hyperdrive: it never caches a statement that calls a stable or
/// volatile function (`statement_timestamp()` is stable), so a revoked key or a removed share is
/// seen by the very next lookup, and the isolate's scope cache TTL alone bounds how long a
/// revocation takes.
macro_rules! scope_columns {
    () => {
        r#"k.id, k.permissions, (EXTRACT(EPOCH FROM k."expiresAt") * 1000)::int8,
           p.id, p.slug, p."multiTenant",
           t.id, t.slug,
           (SELECT o.slug FROM "Organization" o WHERE o.id = t."organizationId" LIMIT 1),
           b.id, b.provider, b."bucketName", b.region, b.endpoint,
           b."encryptedAccessKey", b."encryptedSecretKey", b."ownerTeamId",
           (SELECT a."accessLevel" FROM "BucketTeamAccess" a
             WHERE a."bucketId" = b.id AND a."teamId" = p."teamId" LIMIT 1),
           tn.id, tn.slug,
           (EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::int8,
           p."edgeMaxUploadBytes",
           (SELECT rl."uploadsPerMinute" FROM "RateLimitConfig" rl WHERE rl."projectId" = p.id LIMIT 1)"#
    };
}

/// Joins from the key's project to its team (the rest of the scope is read by subqueries in
/// [`scope_columns`]).
macro_rules! scope_joins {
    () => {
        r#"LEFT JOIN "Team" t ON t.id = p."teamId""#
    };
}

const SCOPE_COLUMNS: usize = 23;

/// The columns [`bucket_row`] reads, in order, for a `"Bucket"` aliased `b` (the scope statements
/// list the same ones inside `scope_columns!`).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const BUCKET_ROW_COLUMNS: &str = r#"b.id, b.provider, b."bucketName", b.region, b.endpoint, b."encryptedAccessKey", b."encryptedSecretKey", b."ownerTeamId""#;

/// A bucket as the request path reads it, from [`BUCKET_ROW_COLUMNS`] starting at column `first`.
pub(crate) fn bucket_row(row: &Row, first: usize) -> Result<BucketRow, StoreError> {
    Ok(BucketRow {
        id: get(row, first)?,
        provider: Provider::from_stored(&get::<String>(row, first + 1)?),
        bucket_name: get(row, first + 2)?,
        region: get(row, first + 3)?,
        endpoint: get(row, first + 4)?,
        encrypted_access_key: get(row, first + 5)?,
        encrypted_secret_key: get(row, first + 6)?,
        owner_team_id: get(row, first + 7)?,
    })
}

fn scope_row(row: &Row) -> Result<ScopeRow, StoreError> {
    let permissions: serde_json::Value = get(row, 1)?;
    let team = match (
        get::<Option<String>>(row, 6)?,
        get::<Option<String>>(row, 7)?,
        get::<Option<String>>(row, 8)?,
    ) {
        (Some(id), Some(slug), Some(org_slug)) => Some(TeamRow { id, slug, org_slug }),
        _ => None,
    };
    let tenant = match (get::<Option<String>>(row, 18)?, get::<Option<String>>(row, 19)?) {
        (Some(id), Some(slug)) => Some(TenantRow { id, slug }),
        _ => None,
    };
    Ok(ScopeRow {
        key_id: get(row, 0)?,
        permissions: PermissionSet::from_json(&permissions),
        key_expires_at_ms: get(row, 2)?,
        project_id: get(row, 3)?,
        project_slug: get(row, 4)?,
        multi_tenant: get(row, 5)?,
        team,
        bucket: bucket_row(row, 9)?,
        share_level: get::<Option<String>>(row, 17)?
            .as_deref()
            .and_then(ShareLevel::from_stored),
        tenant,
        // A stored value below 1 (the column has no CHECK) allows nothing but empty files.
        max_upload_bytes: get::<Option<i64>>(row, 21)?.map(|v| u64::try_from(v).unwrap_or(0)),
        uploads_per_minute: get(row, 22)?,
    })
}

/// How a request names its API key: by the SHA-256 hex of the key itself, or (for upload tokens)
/// by the key's id and project. `Debug` redacts the hash.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// `"ApiKey"."keyHash"`.
    Hash(&'a str),
    /// `"ApiKey"."id"` within `"projectId"`.
    Id {
        /// The key's id.
        key_id: &'a str,
        /// Its project's id.
        project_id: &'a str,
    },
}

impl std::fmt::Debug for KeyRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hash(_) => f.write_str("Hash(<redacted>)"),
            Self::Id { key_id, project_id } => write!(f, "Id({key_id}, {project_id})"),
        }
    }
}

/// `WHERE` conditions selecting a live key by [`KeyRef`]; `$1` is the hash or id, `$3` the project.
macro_rules! key_where {
    (hash) => {
        r#" WHERE k."keyHash" = $1 AND k."revokedAt" IS NULL LIMIT 1"#
    };
    (id) => {
        r#" WHERE k.id = $1 AND k."projectId" = $3 AND k."revokedAt" IS NULL LIMIT 1"#
    };
}

/// Runs one of a pair of statements that differ only in [`key_where`]; `$2` is `second`.
async fn query_by_key(
    client: &Client,
    by_hash: &str,
    by_id: &str,
    key: KeyRef<'_>,
    second: Option<&str>,
) -> Result<Vec<Row>, StoreError> {
    let rows = match key {
        KeyRef::Hash(hash) => {
            let params: [Param<'_>; 2] = [(&hash, Type::TEXT), (&second, Type::TEXT)];
            client.query_typed(by_hash, &params).await?
        }
        KeyRef::Id { key_id, project_id } => {
            let params: [Param<'_>; 3] = [(&key_id, Type::TEXT), (&second, Type::TEXT), (&project_id, Type::TEXT)];
            client.query_typed(by_id, &params).await?
        }
    };
    Ok(rows)
}

/// The statement of [`resolve_scope`], up to its `WHERE`.
macro_rules! scope_sql {
    ($by:tt) => {
        concat!(
            "SELECT ",
            scope_columns!(),
            r#" FROM "ApiKey" k
                JOIN "Project" p ON p.id = k."projectId"
                JOIN "Bucket" b ON b.id = p."bucketId" "#,
            scope_joins!(),
            r#" LEFT JOIN "Tenant" tn ON tn."projectId" = p.id AND tn.slug = $2"#,
            key_where!($by)
        )
    };
}

/// Resolves a live key to its whole scope in one statement: key → project → team →
/// organisation → the project's bucket → the team's share of it → the named tenant.
///
/// Returns `None` when no unrevoked key matches. Expiry is left to [`crate::scope`], so that an
/// expired key can be told apart from an unknown one.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn resolve_scope(
    client: &Client,
    key: KeyRef<'_>,
    tenant_slug: Option<&str>,
) -> Result<Option<ScopeRow>, StoreError> {
    let rows = query_by_key(client, scope_sql!(hash), scope_sql!(id), key, tenant_slug).await?;
    rows.first().map(scope_row).transpose()
}

/// An `"Upload"` row as the completion path needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadRow {
    /// `"Upload"."id"`.
    pub id: String,
    /// `initiated`, `completed`, …
    pub status: String,
    /// The object key.
    pub path: String,
    /// The size the caller declared, if any.
    pub size: Option<i64>,
    /// The content type the caller declared, if any.
    pub content_type: Option<String>,
    /// The client's original file name, if recorded.
    pub filename: Option<String>,
    /// Caller metadata recorded at presign time.
    pub metadata: Option<serde_json::Value>,
    /// The `"File"` row written on completion.
    pub file_id: Option<String>,
}

/// The statement of [`resolve_upload`], up to its `WHERE`.
macro_rules! upload_sql {
    ($by:tt) => {
        concat!(
            "SELECT ",
            scope_columns!(),
            r#", u.id, u.status, u.path, u.size, u."contentType", u.filename, u.metadata, u."fileId"
                FROM "ApiKey" k
                JOIN "Project" p ON p.id = k."projectId"
                LEFT JOIN "Upload" u ON u.id = $2 AND u."projectId" = p.id
                JOIN "Bucket" b ON b.id = COALESCE(u."bucketId", p."bucketId") "#,
            scope_joins!(),
            r#" LEFT JOIN "Tenant" tn ON tn.id = u."tenantId""#,
            key_where!($by)
        )
    };
}

/// Resolves a live key and one of its project's uploads in one statement. The bucket is the one
/// the upload was signed for (the project's, for uploads recorded without one), and the tenant is
/// the upload's.
///
/// Returns `None` when the key is unknown or revoked; `Some((scope, None))` when the key is live
/// but its project has no such upload.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn resolve_upload(
    client: &Client,
    key: KeyRef<'_>,
    upload_id: &str,
) -> Result<Option<(ScopeRow, Option<UploadRow>)>, StoreError> {
    let rows = query_by_key(client, upload_sql!(hash), upload_sql!(id), key, Some(upload_id)).await?;
    let Some(row) = rows.first() else { return Ok(None) };
    let scope = scope_row(row)?;
    let c = SCOPE_COLUMNS;
    let upload = match get::<Option<String>>(row, c)? {
        None => None,
        Some(id) => Some(UploadRow {
            id,
            status: get(row, c + 1)?,
            path: get(row, c + 2)?,
            size: get(row, c + 3)?,
            content_type: get(row, c + 4)?,
            filename: get(row, c + 5)?,
            metadata: get(row, c + 6)?,
            file_id: get(row, c + 7)?,
        }),
    };
    Ok(Some((scope, upload)))
}

/// A presigned upload to record.
#[derive(Debug, Clone)]
pub struct NewUpload<'a> {
    /// The new row's id (also a segment of `path`).
    pub id: &'a str,
    /// The project uploading.
    pub project_id: &'a str,
    /// The object key.
    pub path: &'a str,
    /// The declared size, if any.
    pub size: Option<i64>,
    /// The declared content type, if any.
    pub content_type: Option<&'a str>,
    /// The client's original file name.
    pub filename: &'a str,
    /// The tenant uploading, if any.
    pub tenant_id: Option<&'a str>,
    /// The key that asked.
    pub api_key_id: &'a str,
    /// The bucket the URL was signed for.
    pub bucket_id: &'a str,
    /// When the row was made (Unix ms).
    pub created_at_ms: i64,
    /// When the presigned URL expires (Unix ms).
    pub expires_at_ms: i64,
    /// Caller metadata.
    pub metadata: Option<&'a serde_json::Value>,
    /// The S3 multipart upload id, for a multipart upload.
    pub s3_upload_id: Option<&'a str>,
}

/// Records presigned uploads as `initiated`, in one statement however many there are. A row
/// that already exists (recorded by an earlier attempt, or recreated when its upload completed
/// first) is left as it is, so recording is idempotent.
///
/// # Errors
/// [`StoreError`] when the statement fails; then none of `uploads` is recorded.
pub async fn insert_uploads(client: &Client, uploads: &[NewUpload<'_>]) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        r#"INSERT INTO "Upload" (id, "projectId", path, status, "createdAt", size, "contentType", filename,
               "tenantId", "apiKeyId", "bucketId", "expiresAt", metadata, "s3UploadId")
           SELECT id, project, path, 'initiated', "#,
        "(to_timestamp(created::float8 / 1000) AT TIME ZONE 'UTC')",
        r#", size, ctype, filename, tenant, apikey, bucket, "#,
        "(to_timestamp(expires::float8 / 1000) AT TIME ZONE 'UTC')",
        r#", metadata, s3upload
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::int8[], $12::jsonb[], $13::text[])
                AS x(id, project, path, created, size, ctype, filename, tenant, apikey, bucket, expires, metadata,
                     s3upload)
           ON CONFLICT (id) DO NOTHING"#
    );
    if uploads.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&NewUpload<'_>) -> Option<String>| uploads.iter().map(f).collect::<Vec<_>>();
    let ids = column(|u| Some(u.id.to_owned()));
    let projects = column(|u| Some(u.project_id.to_owned()));
    let paths = column(|u| Some(u.path.to_owned()));
    let created: Vec<i64> = uploads.iter().map(|u| u.created_at_ms).collect();
    let sizes: Vec<Option<i64>> = uploads.iter().map(|u| u.size).collect();
    let types = column(|u| u.content_type.map(str::to_owned));
    let names = column(|u| Some(u.filename.to_owned()));
    let tenants = column(|u| u.tenant_id.map(str::to_owned));
    let keys = column(|u| Some(u.api_key_id.to_owned()));
    let buckets = column(|u| Some(u.bucket_id.to_owned()));
    let expires: Vec<i64> = uploads.iter().map(|u| u.expires_at_ms).collect();
    let metadata: Vec<Option<&serde_json::Value>> = uploads.iter().map(|u| u.metadata).collect();
    let s3_uploads = column(|u| u.s3_upload_id.map(str::to_owned));
    let params: [Param<'_>; 13] = [
        (&ids, Type::TEXT_ARRAY),
        (&projects, Type::TEXT_ARRAY),
        (&paths, Type::TEXT_ARRAY),
        (&created, Type::INT8_ARRAY),
        (&sizes, Type::INT8_ARRAY),
        (&types, Type::TEXT_ARRAY),
        (&names, Type::TEXT_ARRAY),
        (&tenants, Type::TEXT_ARRAY),
        (&keys, Type::TEXT_ARRAY),
        (&buckets, Type::TEXT_ARRAY),
        (&expires, Type::INT8_ARRAY),
        (&metadata, Type::JSONB_ARRAY),
        (&s3_uploads, Type::TEXT_ARRAY),
    ];
    client.query_typed(SQL, &params).await?;
    Ok(())
}

/// A `"File"` row.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    /// `"File"."id"`.
    pub id: String,
    /// The object key.
    pub path: String,
    /// The file name (the key's last segment).
    pub filename: String,
    /// Size in bytes, as stored in S3.
    pub size: i64,
    /// Content type, as stored in S3.
    pub mime_type: String,
    /// The tenant, if any.
    pub tenant_id: Option<String>,
    /// When it was recorded (Unix ms).
    pub uploaded_at_ms: i64,
    /// Metadata recorded with it.
    pub metadata: Option<serde_json::Value>,
}

macro_rules! file_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".path, ",
            $t,
            ".filename, ",
            $t,
            ".size, ",
            $t,
            r#"."mimeType", "#,
            $t,
            r#"."tenantId", (EXTRACT(EPOCH FROM "#,
            $t,
            r#"."uploadedAt") * 1000)::int8, "#,
            $t,
            ".metadata"
        )
    };
}

// Declared here, after `file_columns!`, which it uses.
pub mod listing;

fn file_row(row: &Row) -> Result<FileRow, StoreError> {
    Ok(FileRow {
        id: get(row, 0)?,
        path: get(row, 1)?,
        filename: get(row, 2)?,
        size: get(row, 3)?,
        mime_type: get(row, 4)?,
        tenant_id: get(row, 5)?,
        uploaded_at_ms: get(row, 6)?,
        metadata: get(row, 7)?,
    })
}

/// The object as S3 reported it, to record as a `"File"`.
#[derive(Debug, Clone)]
pub struct StoredObject<'a> {
    /// The new `"File"` row's id, used only if this call completes the upload.
    pub file_id: &'a str,
    /// The file name to record.
    pub filename: &'a str,
    /// Size in bytes.
    pub size: i64,
    /// Content type.
    pub mime_type: &'a str,
    /// Metadata to record (caller metadata plus the ETag).
    pub metadata: &'a serde_json::Value,
    /// The time of completion (Unix ms).
    pub now_ms: i64,
}

/// What [`complete_upload`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// This call marked the upload completed and wrote the file.
    Completed(FileRow),
    /// An earlier call did; here is its file.
    AlreadyCompleted(FileRow),
    /// The upload is in a state that cannot complete (for example aborted), or was completed
    /// without a file record.
    NotPending(String),
}

/// Marks an `initiated` upload completed and writes its `"File"` row, exactly once even when
/// called concurrently: the upload row is locked first, so a second caller waits and then finds
/// it completed.
///
/// # Errors
/// [`StoreError`] when a statement fails.
pub async fn complete_upload(
    client: &Client,
    upload_id: &str,
    obj: &StoredObject<'_>,
) -> Result<Completion, StoreError> {
    const SQL: &str = concat!(
        r#"WITH u AS (
               SELECT id, "projectId", "tenantId", path, status, "fileId" FROM "Upload" WHERE id = $1 FOR UPDATE
           ), f AS (
               INSERT INTO "File" (id, "projectId", "tenantId", path, filename, size, "mimeType", version, metadata, "uploadedAt")
               SELECT $2, u."projectId", u."tenantId", u.path, $3, $4, $5, 'v1', $6, "#,
        ts!(7),
        r#" FROM u WHERE u.status = 'initiated'
               RETURNING *
           ), done AS (
               UPDATE "Upload" up SET status = 'completed', "completedAt" = "#,
        ts!(7),
        r#", "fileId" = f.id
               FROM f WHERE up.id = $1
               RETURNING up.id
           )
           SELECT 'new', "#,
        file_columns!("f"),
        r#" FROM f
           UNION ALL
           SELECT u.status, NULL, u."fileId", NULL, NULL, NULL, NULL, NULL, NULL FROM u WHERE NOT EXISTS (SELECT 1 FROM f)"#
    );
    let params: [Param<'_>; 7] = [
        (&upload_id, Type::TEXT),
        (&obj.file_id, Type::TEXT),
        (&obj.filename, Type::TEXT),
        (&obj.size, Type::INT8),
        (&obj.mime_type, Type::TEXT),
        (&obj.metadata, Type::JSONB),
        (&obj.now_ms, Type::INT8),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    let Some(row) = rows.first() else {
        return Ok(Completion::NotPending("missing".to_owned()));
    };
    let tag: String = get(row, 0)?;
    if tag == "new" {
        let file = FileRow {
            id: get(row, 1)?,
            path: get(row, 2)?,
            filename: get(row, 3)?,
            size: get(row, 4)?,
            mime_type: get(row, 5)?,
            tenant_id: get(row, 6)?,
            uploaded_at_ms: get(row, 7)?,
            metadata: get(row, 8)?,
        };
        return Ok(Completion::Completed(file));
    }
    // Not pending: the file (if any) is read in a statement of its own, whose snapshot also sees
    // a completion that committed while this one waited for the row lock.
    let existing: Option<String> = get(row, 2)?;
    match existing {
        Some(file_id) => match get_file(client, &file_id).await? {
            Some(file) => Ok(Completion::AlreadyCompleted(file)),
            None => Ok(Completion::NotPending(tag)),
        },
        None => Ok(Completion::NotPending(tag)),
    }
}

/// Marks an `initiated` upload `aborted` (its S3 multipart upload was discarded) and returns the
/// status it had: `initiated` when this call aborted it, otherwise what it already was (`None` if
/// there is no such upload). An aborted upload can never complete.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn abort_upload(client: &Client, upload_id: &str) -> Result<Option<String>, StoreError> {
    const SQL: &str = r#"WITH old AS (SELECT id, status FROM "Upload" WHERE id = $1 FOR UPDATE),
           up AS (UPDATE "Upload" u SET status = 'aborted' FROM old
                  WHERE u.id = old.id AND old.status = 'initiated' RETURNING u.id)
           SELECT status FROM old"#;
    let rows = client.query_typed(SQL, &[(&upload_id, Type::TEXT)]).await?;
    rows.first().map(|row| get(row, 0)).transpose()
}

/// Marks an `initiated` upload `refused` (its object was over the project's size limit and has
/// been deleted) and returns the status it had, as [`abort_upload`] does. A refused upload can
/// never complete.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn refuse_upload(client: &Client, upload_id: &str) -> Result<Option<String>, StoreError> {
    const SQL: &str = r#"WITH old AS (SELECT id, status FROM "Upload" WHERE id = $1 FOR UPDATE),
           up AS (UPDATE "Upload" u SET status = 'refused' FROM old
                  WHERE u.id = old.id AND old.status = 'initiated' RETURNING u.id)
           SELECT status FROM old"#;
    let rows = client.query_typed(SQL, &[(&upload_id, Type::TEXT)]).await?;
    rows.first().map(|row| get(row, 0)).transpose()
}

/// One `"File"` row by id.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn get_file(client: &Client, file_id: &str) -> Result<Option<FileRow>, StoreError> {
    const SQL: &str = concat!("SELECT ", file_columns!("f"), r#" FROM "File" f WHERE f.id = $1"#);
    let rows = client.query_typed(SQL, &[(&file_id, Type::TEXT)]).await?;
    rows.first().map(file_row).transpose()
}

/// Sets `"ApiKey"."lastUsedAt"` for each of `key_ids`, at most once a minute per key, so a busy
/// key does not turn every request into a write.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn touch_api_keys(client: &Client, key_ids: &[String], now_ms: i64) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        r#"UPDATE "ApiKey" SET "lastUsedAt" = "#,
        ts!(2),
        r#" WHERE id = ANY($1) AND ("lastUsedAt" IS NULL OR "lastUsedAt" < "#,
        ts!(2),
        " - interval '1 minute')"
    );
    if key_ids.is_empty() {
        return Ok(());
    }
    client
        .query_typed(SQL, &[(&key_ids, Type::TEXT_ARRAY), (&now_ms, Type::INT8)])
        .await?;
    Ok(())
}
