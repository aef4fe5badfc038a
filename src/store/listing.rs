//! Listing and deleting a project's files and uploads: the SQL behind `GET /v1/files`,
//! `GET /v1/uploads`, `DELETE /v1/files` and the upstream SDK's equivalents.
//!
//! Every statement is bounded by project (and, when one is given, tenant), so a caller never sees
//! another project's rows. Newest first; ties on the timestamp are broken by id so that pages
//! never skip or repeat a row.

use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

use super::{file_row, get, FileRow, Param, StoreError};

/// Which of a project's files to list.
#[derive(Debug, Clone, Copy)]
pub struct FileFilter<'a> {
    /// `"File"."projectId"`.
    pub project_id: &'a str,
    /// Only this tenant's files (`"Tenant"."id"`), or all of the project's.
    pub tenant_id: Option<&'a str>,
    /// Only files whose key starts with this.
    pub path_prefix: Option<&'a str>,
    /// Only this `"File"."version"`.
    pub version: Option<&'a str>,
}

/// A listed `"File"` and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedFile {
    /// The row.
    pub file: FileRow,
    /// `"File"."version"`.
    pub version: String,
}

fn listed_file(row: &Row) -> Result<ListedFile, StoreError> {
    Ok(ListedFile {
        file: file_row(row)?,
        version: get(row, 8)?,
    })
}

/// Where a page starts: after the row with this timestamp (Unix ms) and id, in listing order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// The previous page's last row's time.
    pub at_ms: i64,
    /// The previous page's last row's id.
    pub id: String,
}

/// The `WHERE` of the file listings: `$1` project, `$2` tenant, `$3` key prefix, `$4` version.
macro_rules! file_filter {
    () => {
        r#" f."projectId" = $1 AND ($2::text IS NULL OR f."tenantId" = $2)
            AND ($3::text IS NULL OR starts_with(f.path, $3)) AND ($4::text IS NULL OR f.version = $4)"#
    };
}

/// `$n` (Unix milliseconds) as a `TIMESTAMP(3)`, in exact integer arithmetic (a float division
/// could land a microsecond off and make the keyset comparison skip a row).
macro_rules! ms_timestamp {
    ($n:literal) => {
        concat!("(TIMESTAMP 'epoch' + $", $n, "::int8 * INTERVAL '1 millisecond')")
    };
}

fn filter_params<'a>(f: &'a FileFilter<'a>) -> [Param<'a>; 4] {
    [
        (&f.project_id, Type::TEXT),
        (&f.tenant_id, Type::TEXT),
        (&f.path_prefix, Type::TEXT),
        (&f.version, Type::TEXT),
    ]
}

/// One page of files by offset, as the upstream API pages, with the number of files matching.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn files_by_offset(
    client: &Client,
    filter: &FileFilter<'_>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ListedFile>, i64), StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        file_columns!("p"),
        r#", p.version, c.total FROM (SELECT count(*)::int8 AS total FROM "File" f WHERE "#,
        file_filter!(),
        r#") c LEFT JOIN LATERAL (SELECT f.* FROM "File" f WHERE "#,
        file_filter!(),
        r#" ORDER BY f."uploadedAt" DESC, f.id DESC LIMIT $5 OFFSET $6) p ON true"#
    );
    let [a, b, c, d] = filter_params(filter);
    let params: [Param<'_>; 6] = [a, b, c, d, (&limit, Type::INT8), (&offset, Type::INT8)];
    let rows = client.query_typed(SQL, &params).await?;
    let total = match rows.first() {
        Some(row) => get(row, 9)?,
        None => 0,
    };
    let files = rows
        .iter()
        .filter(|row| matches!(row.try_get::<_, Option<String>>(0), Ok(Some(_))))
        .map(listed_file)
        .collect::<Result<_, _>>()?;
    Ok((files, total))
}

/// Up to `limit` files after `after` (from the newest when `None`).
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn files_after(
    client: &Client,
    filter: &FileFilter<'_>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<ListedFile>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        file_columns!("f"),
        r#", f.version FROM "File" f WHERE "#,
        file_filter!(),
        r#" AND ($5::int8 IS NULL OR (f."uploadedAt", f.id) < ("#,
        ms_timestamp!(5),
        r#", $6))
           ORDER BY f."uploadedAt" DESC, f.id DESC LIMIT $7"#
    );
    let at = after.map(|a| a.at_ms);
    let id = after.map(|a| a.id.as_str());
    let [a, b, c, d] = filter_params(filter);
    let params: [Param<'_>; 7] = [a, b, c, d, (&at, Type::INT8), (&id, Type::TEXT), (&limit, Type::INT8)];
    let rows = client.query_typed(SQL, &params).await?;
    rows.iter().map(listed_file).collect()
}

/// An `"Upload"` row as listings show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadListing {
    /// `"Upload"."id"` (the row id, not the id the presign answer carried).
    pub id: String,
    /// The object key.
    pub path: String,
    /// `initiated`, `completed`, `deleted`, …
    pub status: String,
    /// When it was presigned (Unix ms).
    pub created_at_ms: i64,
    /// The declared size, if any.
    pub size: Option<i64>,
    /// The declared content type, if any.
    pub content_type: Option<String>,
    /// The client's file name, if recorded.
    pub filename: Option<String>,
    /// The tenant, if any.
    pub tenant_id: Option<String>,
    /// The `"File"` written on completion, while it exists.
    pub file_id: Option<String>,
    /// When completed (Unix ms).
    pub completed_at_ms: Option<i64>,
}

fn upload_listing(row: &Row) -> Result<UploadListing, StoreError> {
    Ok(UploadListing {
        id: get(row, 0)?,
        path: get(row, 1)?,
        status: get(row, 2)?,
        created_at_ms: get(row, 3)?,
        size: get(row, 4)?,
        content_type: get(row, 5)?,
        filename: get(row, 6)?,
        tenant_id: get(row, 7)?,
        file_id: get(row, 8)?,
        completed_at_ms: get(row, 9)?,
    })
}

/// Up to `limit` of a project's uploads (one tenant's, when given), newest first, after `after`.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn uploads_after(
    client: &Client,
    project_id: &str,
    tenant_id: Option<&str>,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<UploadListing>, StoreError> {
    const SQL: &str = concat!(
        r#"SELECT u.id, u.path, u.status, (EXTRACT(EPOCH FROM u."createdAt") * 1000)::int8, u.size,
                  u."contentType", u.filename, u."tenantId", u."fileId",
                  (EXTRACT(EPOCH FROM u."completedAt") * 1000)::int8
           FROM "Upload" u
           WHERE u."projectId" = $1 AND ($2::text IS NULL OR u."tenantId" = $2)
             AND ($3::int8 IS NULL OR (u."createdAt", u.id) < ("#,
        ms_timestamp!(3),
        r#", $4))
           ORDER BY u."createdAt" DESC, u.id DESC LIMIT $5"#
    );
    let at = after.map(|a| a.at_ms);
    let id = after.map(|a| a.id.as_str());
    let params: [Param<'_>; 5] = [
        (&project_id, Type::TEXT),
        (&tenant_id, Type::TEXT),
        (&at, Type::INT8),
        (&id, Type::TEXT),
        (&limit, Type::INT8),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    rows.iter().map(upload_listing).collect()
}

/// Which of `paths` name files of the project (and tenant, when given). Each path found is
/// returned once.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn existing_paths(
    client: &Client,
    project_id: &str,
    tenant_id: Option<&str>,
    paths: &[String],
) -> Result<Vec<String>, StoreError> {
    const SQL: &str = r#"SELECT DISTINCT f.path FROM "File" f
        WHERE f."projectId" = $1 AND ($2::text IS NULL OR f."tenantId" = $2) AND f.path = ANY($3)"#;
    let params: [Param<'_>; 3] = [
        (&project_id, Type::TEXT),
        (&tenant_id, Type::TEXT),
        (&paths, Type::TEXT_ARRAY),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    rows.iter().map(|row| get(row, 0)).collect()
}

/// A path whose `"File"` rows [`delete_files`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPath {
    /// `"File"."path"`, the object key.
    pub path: String,
    /// The ids of its rows (one per version), ascending.
    pub file_ids: Vec<String>,
}

/// Deletes the `"File"` rows of `paths` in the project (and tenant, when given), after their
/// objects were deleted, and marks the uploads that made them `deleted`; returns the paths whose
/// rows went, with their ids.
///
/// # Errors
/// [`StoreError`] when the statement fails; then nothing is deleted.
pub async fn delete_files(
    client: &Client,
    project_id: &str,
    tenant_id: Option<&str>,
    paths: &[String],
) -> Result<Vec<DeletedPath>, StoreError> {
    const SQL: &str = r#"WITH f AS (
            DELETE FROM "File" f
            WHERE f."projectId" = $1 AND ($2::text IS NULL OR f."tenantId" = $2) AND f.path = ANY($3)
            RETURNING f.id, f.path
        ), u AS (
            UPDATE "Upload" u SET status = 'deleted'
            WHERE u."projectId" = $1 AND u."fileId" IN (SELECT id FROM f)
            RETURNING u.id
        )
        SELECT path, array_agg(id ORDER BY id) FROM f GROUP BY path ORDER BY path"#;
    let params: [Param<'_>; 3] = [
        (&project_id, Type::TEXT),
        (&tenant_id, Type::TEXT),
        (&paths, Type::TEXT_ARRAY),
    ];
    let rows = client.query_typed(SQL, &params).await?;
    rows.iter()
        .map(|row| {
            Ok(DeletedPath {
                path: get(row, 0)?,
                file_ids: get(row, 1)?,
            })
        })
        .collect()
}
