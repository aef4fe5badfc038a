//! Uploads: presign a PUT (`POST /v1/uploads`) and confirm it (`POST /v1/uploads/{id}/complete`).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{self, Caller};
use super::json::{self, Metadata, Text};
use super::{limits, signing, ApiError, Deferred, PendingUpload};
use crate::ids;
use crate::object_key::SafeFileName;
use crate::runtime::{Level, OutboundRequest, Runtime};
use crate::scope::{self, Operation};
use crate::sigv4::{CompleteMultipartUpload, HeadObject, ListParts, PutObject, MAX_PUT_BYTES};
use crate::storage::Signable;
use crate::store::activity::{AuditEntry, UsageDelta};
use crate::store::{self, Completion, FileRow, StoredObject};
use crate::upload_id::{self, UploadTicket};

/// Largest `metadata` object accepted, serialised.
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Longest file name accepted before sanitising (sanitising then shortens it further).
const MAX_RAW_FILENAME_BYTES: usize = 4096;

/// Lifetime of the URL the service signs for its own HEAD on completion.
const HEAD_EXPIRY_SECS: u32 = 60;

/// The body of `POST /v1/uploads`. `fileName` and `tenantId` are accepted as the upstream SDK
/// names them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignUpload {
    /// The client's file name; sanitised into the key's last segment.
    #[serde(alias = "fileName")]
    pub filename: Text,
    /// The content type the client will send; signed, so S3 refuses any other.
    pub content_type: Option<Text>,
    /// The exact size in bytes the client will send; signed, so S3 refuses any other. Over the
    /// project's upload limit, the upload is refused before anything is signed.
    pub size: Option<u64>,
    /// The tenant's slug (multi-tenant projects).
    #[serde(alias = "tenantId")]
    pub tenant: Option<Text>,
    /// Free-form metadata recorded with the upload and its file.
    pub metadata: Option<Metadata>,
    /// URL lifetime in seconds, 1 to 604800.
    pub expires_in: Option<u32>,
}

/// `POST /v1/uploads`: authenticates, resolves scope, records an `initiated` upload and returns a
/// presigned PUT.
pub async fn presign<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(Operation::Upload)?;
    let body: PresignUpload = json::parse(req)?;
    let up = presign_upload(rt, &caller, body, None, Overwrite::Refuse, deferred).await?;
    let headers = headers_json(up.headers);
    Ok(json::ok(
        StatusCode::CREATED,
        &json!({
            "uploadId": up.upload_id,
            "key": up.key,
            "method": "PUT",
            "url": up.url,
            "headers": headers,
            "expiresIn": up.expires_in,
            "expiresAt": crate::timestamp::rfc3339(up.expires_at_ms),
        }),
    ))
}

/// A recorded upload and its presigned PUT.
pub(super) struct PresignedUpload {
    pub upload_id: String,
    pub key: String,
    pub url: String,
    /// Signed headers the client must send.
    pub headers: Vec<(String, String)>,
    pub expires_in: u32,
    pub expires_at_ms: i64,
}

/// Signed headers as the JSON object clients read them from (`{"name": "value"}`).
pub(super) fn headers_json(headers: Vec<(String, String)>) -> Value {
    Value::Object(
        headers
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect(),
    )
}

/// Whether an upload URL may replace an object already at its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Overwrite {
    /// Signs `If-None-Match: *`: once the object exists (the upload completed), the URL is spent.
    /// The client must send the header, as it sends every header in the response's map.
    Refuse,
    /// For clients that send no header but `Content-Type` (the upstream SDK): a second PUT
    /// within the URL's lifetime replaces the object.
    Allow,
}

/// Validates `body`, resolves the caller's scope (which must be `project_id` when given), records
/// the `initiated` upload and presigns its PUT.
pub(super) async fn presign_upload<R: Runtime>(
    rt: &R,
    caller: &Caller,
    body: PresignUpload,
    project_id: Option<&str>,
    overwrite: Overwrite,
    deferred: &mut Vec<Deferred>,
) -> Result<PresignedUpload, ApiError> {
    let filename = validate_filename(&body.filename)?;
    let content_type = body.content_type.as_deref().map(validate_content_type).transpose()?;
    // No project allows more than S3 does: refused before any database work.
    if body.size.is_some_and(|s| s > MAX_PUT_BYTES) {
        return Err(ApiError::FileTooLarge(MAX_PUT_BYTES));
    }
    let metadata = body.metadata.map(|m| Value::Object(m.0));
    if metadata
        .as_ref()
        .is_some_and(|m| m.to_string().len() > MAX_METADATA_BYTES)
    {
        return Err(ApiError::bad_request(
            "invalid_metadata",
            format!("metadata is larger than {MAX_METADATA_BYTES} bytes"),
        ));
    }
    let expiry = signing::expiry(rt, body.expires_in)?;
    let tenant = caller.tenant(body.tenant.as_deref())?;

    let (scope, now_ms) = auth::authorize(rt, caller, Operation::Upload, tenant, deferred).await?;
    if project_id.is_some_and(|p| p != scope.project_id) {
        return Err(ApiError::ProjectMismatch);
    }
    let limit = scope.upload_limit(rt.config().max_upload_bytes);
    if body.size.is_some_and(|s| s > limit) {
        return Err(ApiError::FileTooLarge(limit));
    }
    limits::charge_key(rt, &scope).await?;

    let expiry = signing::capped(expiry, now_ms, caller.expires_at_ms(), scope.key_expires_at_ms)?;
    let row_id = new_id(rt)?;
    let key = scope
        .prefix
        .object_key(&row_id, &filename, rt.config().max_object_key_bytes)?;
    // The client's name as given, for display: the key holds the sanitised one.
    let original_name = crate::object_key::without_format_characters(&body.filename);
    let signable = signing::signable(rt, &scope.bucket)?;
    let mut put = PutObject::new(&signable.bucket, &signable.credentials, &key);
    if let Some(ct) = content_type {
        put = put.content_type(ct);
    }
    if let Some(size) = body.size {
        put = put.content_length(size);
    }
    if overwrite == Overwrite::Refuse {
        put = put.if_none_match("*");
    }
    let presigned = signing::sign(rt, &put, now_ms, expiry)?;
    let expires_at_ms = now_ms + i64::from(expiry.as_secs()) * 1000;

    // The upload is recorded after the response; its id carries the record, so that completing
    // it works even if that write never lands.
    let ticket = UploadTicket {
        row_id,
        project_id: scope.project_id,
        tenant_id: scope.tenant_id,
        key_id: scope.key_id,
        bucket_id: scope.bucket.id,
        object_key: key,
        size: body.size,
        content_type: content_type.map(str::to_owned),
        created_at_ms: now_ms,
        expires_at_ms,
        s3_upload_id: None,
    };
    let upload_id = ticket.encode(&rt.config().upload_ids);
    let key = ticket.object_key.clone();
    deferred.push(Deferred::CountUsage(UsageDelta {
        project_id: ticket.project_id.clone(),
        at_ms: now_ms,
        uploads: 1,
        bandwidth_bytes: 0,
    }));
    deferred.push(Deferred::Audit(Box::new(AuditEntry {
        project_id: ticket.project_id.clone(),
        action: "upload.initialized",
        resource: key.clone(),
        details: serde_json::json!({
            "uploadId": ticket.row_id, "apiKeyId": ticket.key_id, "tenantId": ticket.tenant_id,
            "size": ticket.size, "contentType": ticket.content_type,
        }),
        at_ms: now_ms,
    })));
    deferred.push(Deferred::RecordUpload(Box::new(PendingUpload {
        ticket,
        filename: original_name.trim().to_owned(),
        metadata,
    })));
    Ok(PresignedUpload {
        upload_id,
        key,
        url: presigned.url,
        headers: presigned.headers,
        expires_in: expiry.as_secs(),
        expires_at_ms,
    })
}

/// `POST /v1/uploads/{id}/complete`: checks the object in S3 with the service's own signed HEAD,
/// then marks the upload completed and records its `File`, once. Repeating the call returns the
/// same file.
pub async fn complete<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    upload_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(Operation::Complete)?;
    let file = complete_upload(rt, &caller, upload_id, None, None, deferred).await?;
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "uploadId": upload_id,
            "status": "completed",
            "file": super::files::v1_file(&file),
        }),
    ))
}

/// Completes `upload_id` for the caller (whose project must be `project_id` when given) and
/// returns its file. For a multipart upload, `parts` is the `CompleteMultipartUpload` body: the
/// parts are assembled in S3 first, with the service's own signed request.
pub(super) async fn complete_upload<R: Runtime>(
    rt: &R,
    caller: &Caller,
    upload_id: &str,
    project_id: Option<&str>,
    parts: Option<String>,
    deferred: &mut Vec<Deferred>,
) -> Result<FileRow, ApiError> {
    // Ids this service hands out carry a ticket; plain ids are the upstream API's (or older).
    let ticket = if upload_id.contains('.') {
        Some(UploadTicket::decode(upload_id, &rt.config().upload_ids).map_err(|_| ApiError::UploadNotFound)?)
    } else if ids::looks_like_id(upload_id) {
        None
    } else {
        return Err(ApiError::UploadNotFound);
    };
    let row_id = upload_id::row_id(upload_id);
    let db = rt.db().await?;
    let mut resolved = store::resolve_upload(db, caller.key_ref(), row_id)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    if let (None, Some(ticket)) = (&resolved.1, &ticket) {
        // The row was not written (yet): the deferred write failed or has not run. The ticket is
        // authentic and names this project, so record the upload from it now.
        if ticket.project_id == resolved.0.project_id {
            let name = ticket.object_key.rsplit('/').next().unwrap_or_default();
            store::insert_uploads(db, &[super::upload_row(ticket, name, None)]).await?;
            rt.log(
                Level::Info,
                &format!("upload {row_id} recorded from its id at completion: its deferred write had not landed"),
            );
            resolved = store::resolve_upload(db, caller.key_ref(), row_id)
                .await?
                .ok_or(ApiError::InvalidCredentials)?;
        }
    }
    let (row, upload) = resolved;
    let now_ms = rt.now_ms();
    let tenant = row.tenant.as_ref().map(|t| t.slug.clone());
    if caller
        .bound_tenant()
        .is_some_and(|bound| tenant.as_deref() != Some(bound))
    {
        // A tenant-bound token sees only that tenant's uploads.
        return Err(ApiError::UploadNotFound);
    }
    let scope = scope::authorize(&row, Operation::Complete, tenant.as_deref(), now_ms)?;
    auth::touch(rt, &scope.key_id, now_ms, deferred);
    if project_id.is_some_and(|p| p != scope.project_id) {
        return Err(ApiError::ProjectMismatch);
    }
    let upload = upload.ok_or(ApiError::UploadNotFound)?;

    if upload.status == "completed" {
        if let Some(file) = match &upload.file_id {
            Some(id) => store::get_file(db, id).await?,
            None => None,
        } {
            return Ok(file);
        }
    }
    if upload.status != "initiated" {
        return Err(ApiError::conflict(
            "upload_not_pending",
            format!("the upload is {}, not pending", upload.status),
        ));
    }

    let signable = signing::signable(rt, &scope.bucket)?;
    if let Some(parts) = parts {
        let s3_upload_id = ticket.as_ref().and_then(|t| t.s3_upload_id.as_deref());
        let s3_upload_id = s3_upload_id.ok_or(ApiError::UploadNotFound)?;
        let (bucket, creds, key) = (&signable.bucket, &signable.credentials, upload.path.as_str());
        // Assembling never replaces an object (S3's conditional write; R2 honours it too).
        let complete = CompleteMultipartUpload::new(bucket, creds, key, s3_upload_id).if_none_match("*");
        let list = ListParts::new(bucket, creds, key, s3_upload_id);
        super::multipart::assemble(rt, &complete, &list, now_ms, parts).await?;
    }
    let head = HeadObject::new(&signable.bucket, &signable.credentials, &upload.path);
    let expiry = signing::expiry(rt, Some(HEAD_EXPIRY_SECS))?;
    let presigned = signing::sign(rt, &head, now_ms, expiry)?;
    let answer = rt
        .fetch(OutboundRequest {
            method: Method::HEAD,
            url: presigned.url,
            headers: presigned.headers,
            body: Bytes::new(),
        })
        .await?;
    match answer.status {
        200 => {}
        404 => {
            return Err(ApiError::conflict(
                "object_not_uploaded",
                "the object is not in storage yet: upload it to the presigned URL, then complete",
            ))
        }
        401 | 403 => return Err(ApiError::StorageRejected(answer.status)),
        other => {
            return Err(ApiError::StorageUnavailable(format!(
                "storage answered {other} to HEAD"
            )))
        }
    }
    let size = answer
        .header("content-length")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| ApiError::StorageUnavailable("storage sent no Content-Length".into()))?;
    // Clients that declared no size (the upstream SDK, multipart) are held to the limit here.
    let limit = scope.upload_limit(rt.config().max_upload_bytes);
    if u64::try_from(size).map_or(true, |s| s > limit) {
        refuse_oversized(rt, &signable, &upload, now_ms).await?;
        rt.log(
            Level::Info,
            &format!(
                "upload {} refused: {size} bytes, over the {limit}-byte limit; object deleted",
                upload.id
            ),
        );
        deferred.push(Deferred::Audit(Box::new(AuditEntry {
            project_id: scope.project_id.clone(),
            action: "upload.refused",
            resource: upload.path.clone(),
            details: serde_json::json!({
                "uploadId": upload.id, "apiKeyId": scope.key_id, "size": size, "limit": limit,
            }),
            at_ms: now_ms,
        })));
        return Err(ApiError::FileTooLarge(limit));
    }
    if let Some(declared) = upload.size.filter(|d| *d != size) {
        return Err(ApiError::conflict(
            "size_mismatch",
            format!("the stored object has {size} bytes but the upload declared {declared}"),
        ));
    }
    let mime_type = answer
        .header("content-type")
        .or(upload.content_type.as_deref())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut metadata = match upload.metadata.clone() {
        Some(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    if let Some(etag) = answer.header("etag") {
        metadata.insert("etag".into(), Value::String(etag.trim_matches('"').to_owned()));
    }
    metadata.insert("uploadId".into(), Value::String(upload.id.clone()));
    metadata.insert("apiKeyId".into(), Value::String(scope.key_id.clone()));
    let filename = upload.path.rsplit('/').next().unwrap_or_default().to_owned();
    let file_id = new_id(rt)?;
    let stored = StoredObject {
        file_id: &file_id,
        filename: &filename,
        size,
        mime_type: &mime_type,
        metadata: &Value::Object(metadata),
        now_ms,
    };
    match store::complete_upload(db, &upload.id, &stored).await? {
        Completion::Completed(file) => {
            // Counted once: a repeated completion finds the upload completed.
            deferred.push(Deferred::CountUsage(UsageDelta {
                project_id: scope.project_id.clone(),
                at_ms: now_ms,
                uploads: 0,
                bandwidth_bytes: size,
            }));
            deferred.push(Deferred::Audit(Box::new(AuditEntry {
                project_id: scope.project_id.clone(),
                action: "upload.completed",
                resource: upload.path.clone(),
                details: serde_json::json!({
                    "uploadId": upload.id, "fileId": file_id, "apiKeyId": scope.key_id, "size": size,
                }),
                at_ms: now_ms,
            })));
            Ok(file)
        }
        Completion::AlreadyCompleted(file) => Ok(file),
        Completion::NotPending(status) => Err(ApiError::conflict(
            "upload_not_pending",
            format!("the upload is {status}, not pending"),
        )),
    }
}

/// Deletes an object over the project's limit with the service's own signed `DeleteObject`, then
/// marks its upload `refused`, so that no `File` is ever written for it. The delete comes first:
/// if it fails, the upload stays pending and completing it again retries the delete.
async fn refuse_oversized<R: Runtime>(
    rt: &R,
    signable: &Signable,
    upload: &store::UploadRow,
    now_ms: i64,
) -> Result<(), ApiError> {
    let expiry = signing::expiry(rt, Some(HEAD_EXPIRY_SECS))?;
    signing::delete_object(rt, signable, &upload.path, now_ms, expiry).await?;
    store::refuse_upload(rt.db().await?, &upload.id).await?;
    Ok(())
}

pub(super) fn new_id<R: Runtime>(rt: &R) -> Result<String, ApiError> {
    let mut random = [0u8; ids::ID_RANDOM_BYTES];
    rt.fill_random(&mut random)
        .map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(ids::new_id(random))
}

pub(super) fn validate_filename(raw: &str) -> Result<SafeFileName, ApiError> {
    if raw.len() > MAX_RAW_FILENAME_BYTES {
        return Err(ApiError::bad_request(
            "invalid_filename",
            format!("filename is longer than {MAX_RAW_FILENAME_BYTES} bytes"),
        ));
    }
    SafeFileName::new(raw).map_err(|e| ApiError::bad_request("invalid_filename", e.to_string()))
}

/// Accepts `type/subtype` with optional parameters, in printable ASCII, as S3 stores it verbatim
/// and browsers send it verbatim.
pub(super) fn validate_content_type(ct: &str) -> Result<&str, ApiError> {
    let ct = ct.trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let valid = ct.len() <= 255
        && ct.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence.split_once('/').is_some_and(|(t, s)| token(t) && token(s));
    if valid {
        Ok(ct)
    } else {
        Err(ApiError::bad_request(
            "invalid_content_type",
            "contentType must look like `type/subtype`, e.g. `image/png`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        for ok in [
            "image/png",
            "text/plain; charset=utf-8",
            "application/vnd.api+json",
            "x-foo/bar.baz",
        ] {
            assert_eq!(validate_content_type(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "png",
            "image/",
            "/png",
            "image/png\r\nx-amz-acl: public-read",
            "imäge/png",
            "a b/c",
        ] {
            assert_eq!(
                validate_content_type(bad).unwrap_err().code(),
                "invalid_content_type",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn filenames() {
        assert_eq!(validate_filename("a/b/c.txt").unwrap().as_str(), "c.txt");
        assert_eq!(validate_filename("..").unwrap_err().code(), "invalid_filename");
        assert_eq!(
            validate_filename(&"a".repeat(5000)).unwrap_err().code(),
            "invalid_filename"
        );
    }
}
