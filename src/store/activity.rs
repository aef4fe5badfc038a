//! What the upstream dashboard shows about a project's activity: the daily counters in
//! `"UsageDaily"` and the rows of `"AuditLog"`. Written after responses, in batches (see
//! `api::write_deferred`); a lost batch loses counts, never an upload.

use tokio_postgres::types::Type;
use tokio_postgres::Client;

use super::{Param, StoreError};

/// Counts to add to a project's `"UsageDaily"` row for the UTC day of `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    /// `"UsageDaily"."projectId"`.
    pub project_id: String,
    /// When it happened (Unix milliseconds); the row is that day's, midnight UTC.
    pub at_ms: i64,
    /// Uploads started (`"uploads"`; upstream counts an upload when its URL is handed out).
    pub uploads: i32,
    /// Bytes stored by completed uploads (`"bandwidthBytes"`).
    pub bandwidth_bytes: i64,
}

/// One `"AuditLog"` row. The row's user is the project's owner: upstream requires a user, and an
/// API key acts for its project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `"AuditLog"."projectId"`.
    pub project_id: String,
    /// What happened, in upstream's `resource.verb` style (`upload.initialized`, …).
    pub action: &'static str,
    /// What it happened to (an object key, an API key id).
    pub resource: String,
    /// Ids and sizes; never credentials, keys or tokens.
    pub details: serde_json::Value,
    /// When it happened (Unix milliseconds).
    pub at_ms: i64,
}

/// Adds `deltas` to the `"UsageDaily"` rows of their project and day, creating missing rows, in
/// one statement (summed per row first: one statement may not update a row twice).
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn add_usage(client: &Client, deltas: &[UsageDelta]) -> Result<(), StoreError> {
    const SQL: &str = r#"
        INSERT INTO "UsageDaily" ("id", "projectId", "day", "uploads", "bandwidthBytes")
        SELECT gen_random_uuid()::text, project, day, sum(uploads)::int4, sum(bytes)::int8
        FROM (SELECT project, date_trunc('day', to_timestamp(at::float8 / 1000) AT TIME ZONE 'UTC') AS day,
                     uploads, bytes
              FROM UNNEST($1::text[], $2::int8[], $3::int4[], $4::int8[]) AS x(project, at, uploads, bytes)) d
        GROUP BY project, day
        -- A fixed order, so that two batches updating the same rows cannot deadlock.
        ORDER BY project, day
        ON CONFLICT ("projectId", "day") DO UPDATE SET
            "uploads" = "UsageDaily"."uploads" + EXCLUDED."uploads",
            "bandwidthBytes" = "UsageDaily"."bandwidthBytes" + EXCLUDED."bandwidthBytes""#;
    if deltas.is_empty() {
        return Ok(());
    }
    let projects: Vec<&str> = deltas.iter().map(|d| d.project_id.as_str()).collect();
    let at: Vec<i64> = deltas.iter().map(|d| d.at_ms).collect();
    let uploads: Vec<i32> = deltas.iter().map(|d| d.uploads).collect();
    let bytes: Vec<i64> = deltas.iter().map(|d| d.bandwidth_bytes).collect();
    let params: [Param<'_>; 4] = [
        (&projects, Type::TEXT_ARRAY),
        (&at, Type::INT8_ARRAY),
        (&uploads, Type::INT4_ARRAY),
        (&bytes, Type::INT8_ARRAY),
    ];
    client.query_typed(SQL, &params).await?;
    Ok(())
}

/// Inserts `entries` into `"AuditLog"` in one statement. An entry whose project no longer exists
/// is skipped.
///
/// # Errors
/// [`StoreError`] when the statement fails.
pub async fn insert_audit(client: &Client, entries: &[AuditEntry]) -> Result<(), StoreError> {
    const SQL: &str = r#"
        INSERT INTO "AuditLog" ("id", "projectId", "userId", "action", "resource", "details", "createdAt")
        SELECT gen_random_uuid()::text, p."id", p."ownerId", x.action, x.resource, x.details,
               to_timestamp(x.at::float8 / 1000) AT TIME ZONE 'UTC'
        FROM UNNEST($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int8[])
             AS x(project, action, resource, details, at)
        JOIN "Project" p ON p."id" = x.project"#;
    if entries.is_empty() {
        return Ok(());
    }
    let projects: Vec<&str> = entries.iter().map(|e| e.project_id.as_str()).collect();
    let actions: Vec<&str> = entries.iter().map(|e| e.action).collect();
    let resources: Vec<&str> = entries.iter().map(|e| e.resource.as_str()).collect();
    let details: Vec<&serde_json::Value> = entries.iter().map(|e| &e.details).collect();
    let at: Vec<i64> = entries.iter().map(|e| e.at_ms).collect();
    let params: [Param<'_>; 5] = [
        (&projects, Type::TEXT_ARRAY),
        (&actions, Type::TEXT_ARRAY),
        (&resources, Type::TEXT_ARRAY),
        (&details, Type::JSONB_ARRAY),
        (&at, Type::INT8_ARRAY),
    ];
    client.query_typed(SQL, &params).await?;
    Ok(())
}
