//! Listing and deleting a project's files and uploads.
//!
//! - `GET /v1/files`, `GET /v1/uploads` — cursor pagination (`limit`, `cursor`, `tenant`;
//!   files also `prefix`), `DELETE /v1/files?key=…` — one object and its rows.
//! - The upstream SDK's `GET /api/v1/projects/{id}/files` (`tenant`/`tenantId`, `version`, `path`,
//!   `limit`, `offset`), `GET /api/v1/projects/{id}/uploads` and `DELETE /api/v1/projects/{id}/files`
//!   (`{paths, tenantId?}`), with upstream's response shapes. The project in the path must be the
//!   caller's.
//!
//! Listing needs `files:read` (read-only bucket shares may list); deleting needs `files:delete`
//! and write access to the bucket. A tenant-bound upload token sees only its tenant. Deleting
//! removes the object first, with the service's own signed `DeleteObject`, and then its `"File"`
//! rows (the uploads that made them become `deleted`), so a row never outlives a failed delete
//! unnoticed: it stays, and the answer says why. Each deleted key gets a `file.deleted`
//! `"AuditLog"` row, written after the response like every audit row.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth;
use super::query::Query;
use super::{json, signing, ApiError, Deferred};
use crate::ids;
use crate::runtime::Runtime;
use crate::scope::{Authorized, Operation};
use crate::store::activity::AuditEntry;
use crate::store::listing::{self, After, DeletedPath, FileFilter, ListedFile, UploadListing};
use crate::store::FileRow;
use crate::timestamp::rfc3339;

/// Rows per page when the caller does not say.
const DEFAULT_LIMIT: i64 = 50;
/// The most rows one page may hold (upstream's limit too).
const MAX_LIMIT: i64 = 100;
/// Uploads the SDK's `listUploads` answers with: the latest 100, as upstream.
const SDK_UPLOADS: i64 = 100;
/// The most paths one SDK delete may name.
const MAX_DELETE_PATHS: usize = 100;
/// Lifetime of the URL the service signs for its own `DeleteObject`.
const DELETE_EXPIRY_SECS: u32 = 60;

/// A page's continuation: the last row's time and id, opaque to clients.
fn encode_cursor(at_ms: i64, id: &str) -> String {
    format!("{at_ms}.{id}")
}

fn decode_cursor(q: &Query) -> Result<Option<After>, ApiError> {
    let Some(raw) = q.get(&["cursor"]) else { return Ok(None) };
    raw.split_once('.')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
        .filter(|(_, id)| ids::looks_like_id(id))
        .map(|(at_ms, id)| {
            Some(After {
                at_ms,
                id: id.to_owned(),
            })
        })
        .ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor must be a nextCursor this API returned"))
}

/// Authenticates the caller for `op`, naming `tenant`; the scope must be `project_id`'s when given.
async fn scope_for<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    op: Operation,
    tenant: Option<&str>,
    project_id: Option<&str>,
    deferred: &mut Vec<Deferred>,
) -> Result<(Authorized, i64), ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(op)?;
    let tenant = caller.tenant(tenant)?.map(str::to_owned);
    let (scope, now_ms) = auth::authorize(rt, &caller, op, tenant.as_deref(), deferred).await?;
    if project_id.is_some_and(|p| p != scope.project_id) {
        return Err(ApiError::ProjectMismatch);
    }
    Ok((scope, now_ms))
}

/// `GET /v1/files`: `{files, nextCursor}`, newest first.
pub async fn list<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let q = Query::of(req);
    let limit = q.number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let after = decode_cursor(&q)?;
    let (scope, _) = scope_for(rt, req, Operation::List, q.tenant(), None, deferred).await?;
    let filter = FileFilter {
        project_id: &scope.project_id,
        tenant_id: scope.tenant_id.as_deref(),
        path_prefix: q.get(&["prefix"]),
        version: None,
    };
    // One more than asked for says whether another page follows.
    let mut files = listing::files_after(rt.db().await?, &filter, after.as_ref(), limit + 1).await?;
    let next = next_cursor(&mut files, limit, |f| encode_cursor(f.file.uploaded_at_ms, &f.file.id));
    let files: Vec<Value> = files.iter().map(v1_listed_file).collect();
    Ok(json::ok(StatusCode::OK, &json!({ "files": files, "nextCursor": next })))
}

/// `GET /v1/uploads`: `{uploads, nextCursor}`, newest first.
pub async fn list_uploads<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let q = Query::of(req);
    let limit = q.number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let after = decode_cursor(&q)?;
    let (scope, _) = scope_for(rt, req, Operation::List, q.tenant(), None, deferred).await?;
    let db = rt.db().await?;
    let mut uploads = listing::uploads_after(
        db,
        &scope.project_id,
        scope.tenant_id.as_deref(),
        after.as_ref(),
        limit + 1,
    )
    .await?;
    let next = next_cursor(&mut uploads, limit, |u| encode_cursor(u.created_at_ms, &u.id));
    let uploads: Vec<Value> = uploads.iter().map(v1_upload).collect();
    Ok(json::ok(
        StatusCode::OK,
        &json!({ "uploads": uploads, "nextCursor": next }),
    ))
}

/// Cuts `rows` (fetched `limit + 1`) to `limit` and returns the cursor of the next page, if any.
fn next_cursor<T>(rows: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> String) -> Option<String> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(cursor)
}

/// A file as the `/v1` routes show it: a completion's `file`; a listing's rows add `version`.
pub(super) fn v1_file(file: &FileRow) -> Value {
    json!({
        "id": file.id,
        "key": file.path,
        "filename": file.filename,
        "size": file.size,
        "contentType": file.mime_type,
        "tenantId": file.tenant_id,
        "uploadedAt": rfc3339(file.uploaded_at_ms),
        "metadata": file.metadata,
    })
}

fn v1_listed_file(f: &ListedFile) -> Value {
    let mut file = v1_file(&f.file);
    file["version"] = json!(f.version);
    file
}

fn v1_upload(u: &UploadListing) -> Value {
    json!({
        "id": u.id,
        "key": u.path,
        "status": u.status,
        "filename": u.filename,
        "size": u.size,
        "contentType": u.content_type,
        "tenantId": u.tenant_id,
        "fileId": u.file_id,
        "createdAt": rfc3339(u.created_at_ms),
        "completedAt": u.completed_at_ms.map(rfc3339),
    })
}

/// `DELETE /v1/files?key=…[&tenant=…]`: deletes one object and its rows; `{key, deleted: true}`.
pub async fn delete<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let q = Query::of(req);
    let key = q
        .get(&["key"])
        .ok_or_else(|| ApiError::bad_request("invalid_key", "name the file to delete: ?key=…"))?
        .to_owned();
    let (scope, now_ms) = scope_for(rt, req, Operation::Delete, q.tenant(), None, deferred).await?;
    let outcome = delete_keys(rt, &scope, now_ms, std::slice::from_ref(&key), deferred).await?;
    if let Some((_, e)) = outcome.failed.into_iter().next() {
        return Err(e);
    }
    Ok(json::ok(StatusCode::OK, &json!({ "key": key, "deleted": true })))
}

/// What a deletion did.
struct Deleted {
    /// Keys whose object and rows are gone.
    done: Vec<String>,
    /// Keys whose object could not be deleted (their rows stay), and why.
    failed: Vec<(String, ApiError)>,
}

/// Deletes `keys` (each must be a file of the scope) from storage and then their rows; an
/// `"AuditLog"` row for each key whose rows went is written after the response.
async fn delete_keys<R: Runtime>(
    rt: &R,
    scope: &Authorized,
    now_ms: i64,
    keys: &[String],
    deferred: &mut Vec<Deferred>,
) -> Result<Deleted, ApiError> {
    for key in keys {
        scope.prefix.check_key(key)?;
    }
    let db = rt.db().await?;
    let tenant_id = scope.tenant_id.as_deref();
    let found = listing::existing_paths(db, &scope.project_id, tenant_id, keys).await?;
    if let Some(missing) = keys.iter().find(|k| !found.contains(k)) {
        return Err(ApiError::FileNotFound(missing.clone()));
    }

    let signable = signing::signable(rt, &scope.bucket)?;
    let expiry = signing::expiry(rt, Some(DELETE_EXPIRY_SECS))?;
    let mut gone = Vec::new();
    let mut failed = Vec::new();
    for key in keys {
        if gone.contains(key) {
            continue;
        }
        match signing::delete_object(rt, &signable, key, now_ms, expiry).await {
            Ok(()) => gone.push(key.clone()),
            Err(e) => failed.push((key.clone(), e)),
        }
    }
    let deleted = if gone.is_empty() {
        Vec::new()
    } else {
        listing::delete_files(db, &scope.project_id, tenant_id, &gone).await?
    };
    let mut done = Vec::with_capacity(deleted.len());
    for DeletedPath { path, file_ids } in deleted {
        deferred.push(Deferred::Audit(Box::new(AuditEntry {
            project_id: scope.project_id.clone(),
            action: "file.deleted",
            resource: path.clone(),
            details: json!({ "fileIds": file_ids, "apiKeyId": scope.key_id, "tenantId": scope.tenant_id }),
            at_ms: now_ms,
        })));
        done.push(path);
    }
    Ok(Deleted { done, failed })
}

/// `GET /api/v1/projects/{id}/files`: upstream's `{files, pagination: {total, limit, offset, hasMore}}`.
pub async fn sdk_list<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    project_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let q = Query::of(req);
    let limit = q.number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let offset = q.number("offset", 0, 0, i64::from(i32::MAX))?;
    let (scope, _) = scope_for(rt, req, Operation::List, q.tenant(), Some(project_id), deferred).await?;
    let filter = FileFilter {
        project_id: &scope.project_id,
        tenant_id: scope.tenant_id.as_deref(),
        path_prefix: q.get(&["path"]),
        version: q.get(&["version"]),
    };
    let (files, total) = listing::files_by_offset(rt.db().await?, &filter, limit, offset).await?;
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            let file = &f.file;
            json!({
                "id": file.id,
                "projectId": scope.project_id,
                "tenantId": file.tenant_id,
                "path": file.path,
                "filename": file.filename,
                "size": file.size,
                "mimeType": file.mime_type,
                "version": f.version,
                "metadata": file.metadata,
                "uploadedAt": rfc3339(file.uploaded_at_ms),
            })
        })
        .collect();
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "files": files,
            "pagination": { "total": total, "limit": limit, "offset": offset, "hasMore": offset + limit < total },
        }),
    ))
}

/// `GET /api/v1/projects/{id}/uploads`: upstream's `{uploads}`, the latest 100.
pub async fn sdk_list_uploads<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    project_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let q = Query::of(req);
    let (scope, _) = scope_for(rt, req, Operation::List, q.tenant(), Some(project_id), deferred).await?;
    let db = rt.db().await?;
    let uploads = listing::uploads_after(db, &scope.project_id, scope.tenant_id.as_deref(), None, SDK_UPLOADS).await?;
    let uploads: Vec<Value> = uploads
        .iter()
        .map(|u| {
            json!({
                "id": u.id,
                "projectId": scope.project_id,
                "path": u.path,
                "status": u.status,
                "createdAt": rfc3339(u.created_at_ms),
            })
        })
        .collect();
    Ok(json::ok(StatusCode::OK, &json!({ "uploads": uploads })))
}

/// The body of the SDK's `DELETE /api/v1/projects/{id}/files`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFiles {
    /// The keys (`"File"."path"`) to delete.
    pub paths: Vec<String>,
    /// A tenant's slug, narrowing the scope.
    #[serde(alias = "tenant")]
    pub tenant_id: Option<String>,
}

/// `DELETE /api/v1/projects/{id}/files`: upstream's `{deletedFiles, errors, success}`. Every path
/// must name a file of the scope (else `404`, and nothing is deleted).
pub async fn sdk_delete<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    project_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let body: DeleteFiles = json::parse(req)?;
    if body.paths.is_empty() || body.paths.len() > MAX_DELETE_PATHS {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("paths must name 1 to {MAX_DELETE_PATHS} files"),
        ));
    }
    let (scope, now_ms) = scope_for(
        rt,
        req,
        Operation::Delete,
        body.tenant_id.as_deref(),
        Some(project_id),
        deferred,
    )
    .await?;
    let outcome = delete_keys(rt, &scope, now_ms, &body.paths, deferred).await?;
    if outcome.done.is_empty() {
        if let Some((_, e)) = outcome.failed.into_iter().next() {
            return Err(e);
        }
        return Ok(json::ok(
            StatusCode::OK,
            &json!({ "deletedFiles": [], "errors": [], "success": true }),
        ));
    }
    let errors: Vec<Value> = outcome
        .failed
        .iter()
        .map(|(path, e)| json!({ "path": path, "error": e.code(), "message": e.to_string() }))
        .collect();
    Ok(json::ok(
        StatusCode::OK,
        &json!({ "deletedFiles": outcome.done, "errors": errors, "success": errors.is_empty() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::api::query::parse_for_test as query;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let after = decode_cursor(&query(&format!("cursor={}", encode_cursor(1_700_000_000_123, "cabc")))).unwrap();
        assert_eq!(
            after,
            Some(After {
                at_ms: 1_700_000_000_123,
                id: "cabc".into()
            })
        );
        assert_eq!(decode_cursor(&query("")).unwrap(), None);
        for bad in ["x", "12", "12.", ".cabc", "a.cabc", "12.a%27b", "12.a%20b"] {
            assert_eq!(
                decode_cursor(&query(&format!("cursor={bad}"))).unwrap_err().code(),
                "invalid_cursor",
                "{bad}"
            );
        }
    }

    #[test]
    fn pages_are_cut_with_a_cursor_only_when_more_follow() {
        let mut rows = vec![1, 2, 3];
        assert_eq!(next_cursor(&mut rows, 3, ToString::to_string), None);
        assert_eq!(next_cursor(&mut rows, 2, ToString::to_string), Some("2".into()));
        assert_eq!(rows, [1, 2]);
    }
}
