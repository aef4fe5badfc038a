//! The upstream Carcosa API's upload routes, so the existing `@carcosa/sdk` (init → PUT →
//! confirm) works against the edge unchanged:
//!
//! - `POST /api/v1/projects/{projectId}/uploads/init`
//! - `POST /api/v1/projects/{projectId}/uploads/confirm`
//!
//! Same request and response shapes as upstream, on the same code as `/v1/uploads`. Unlike
//! upstream, the project in the path must be the key's (upstream ignored it), permissions are
//! checked, `tenantId` must name a tenant that exists, and confirm checks the object in S3.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::json::{self, Metadata, Text};
use super::uploads::{complete_upload, headers_json, presign_upload, Overwrite, PresignUpload};
use super::{auth, ApiError, Deferred};
use crate::runtime::Runtime;
use crate::scope::Operation;

/// The upstream init body. `projectId` is required upstream but the path names the project.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitUpload {
    /// The file name.
    pub file_name: Text,
    /// The content type the client will send (signed).
    pub content_type: Option<Text>,
    /// The tenant's slug.
    pub tenant_id: Option<Text>,
    /// Metadata recorded with the upload.
    pub metadata: Option<Metadata>,
}

/// `POST /api/v1/projects/{projectId}/uploads/init`.
pub async fn init<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    project_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(Operation::Upload)?;
    let body: InitUpload = json::parse(req)?;
    let presign = PresignUpload {
        filename: body.file_name,
        content_type: body.content_type,
        size: None,
        tenant: body.tenant_id,
        metadata: body.metadata,
        expires_in: None,
    };
    // The SDK sends only `Content-Type` with its PUT, so `If-None-Match` cannot be signed here.
    let up = presign_upload(rt, &caller, presign, Some(project_id), Overwrite::Allow, deferred).await?;
    let headers = headers_json(up.headers);
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "uploadId": up.upload_id,
            "path": up.key,
            "uploadUrl": {
                "url": up.url,
                "method": "PUT",
                "headers": headers,
                "expiresAt": up.expires_at_ms,
            },
            "expiresAt": crate::timestamp::rfc3339(up.expires_at_ms),
        }),
    ))
}

/// The upstream confirm body; its `metadata` (size, type, ETag as the client saw them) is not
/// trusted: the object in S3 is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmUpload {
    /// The upload to confirm.
    pub upload_id: Text,
}

/// `POST /api/v1/projects/{projectId}/uploads/confirm`.
pub async fn confirm<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    project_id: &str,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(Operation::Complete)?;
    let body: ConfirmUpload = json::parse(req)?;
    let file = complete_upload(rt, &caller, &body.upload_id, Some(project_id), None, deferred).await?;
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "file": {
                "id": file.id,
                "projectId": project_id,
                "tenantId": file.tenant_id,
                "path": file.path,
                "filename": file.filename,
                "size": file.size,
                "mimeType": file.mime_type,
                "version": "v1",
                "metadata": file.metadata,
                "uploadedAt": crate::timestamp::rfc3339(file.uploaded_at_ms),
                "lastAccessed": null,
            }
        }),
    ))
}
