//! Downloads: presign a GET for an object inside the caller's scope (`POST /v1/downloads`).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::json::{self, Text};
use super::{auth, limits, signing, ApiError, Deferred};
use crate::disposition::{download_headers, Presentation};
use crate::runtime::Runtime;
use crate::scope::Operation;
use crate::sigv4::GetObject;

/// The body of `POST /v1/downloads`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignDownload {
    /// The object key, as returned by `POST /v1/uploads`. Untrusted: it must lie inside the
    /// project's prefix (and the tenant's, when one is named).
    pub key: Text,
    /// Narrows the scope to one tenant of a multi-tenant project.
    #[serde(alias = "tenantId")]
    pub tenant: Option<Text>,
    /// URL lifetime in seconds, 1 to 604800.
    pub expires_in: Option<u32>,
    /// `attachment` (the default) or `inline` (only for names of types shown without running
    /// anything; see [`crate::disposition`]).
    pub disposition: Option<Disposition>,
}

/// How the browser should present the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Save as a file.
    Attachment,
    /// Show in the browser.
    Inline,
}

/// `POST /v1/downloads`: returns a presigned GET. Needs `files:read` and any access to the bucket,
/// read-only shares included.
pub async fn presign<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let caller = auth::caller(rt, req)?;
    caller.check(Operation::Download)?;
    let body: PresignDownload = json::parse(req)?;
    let expiry = signing::expiry(rt, body.expires_in)?;
    let tenant = caller.tenant(body.tenant.as_deref())?;
    let presentation = match body.disposition {
        None | Some(Disposition::Attachment) => Presentation::Attachment,
        Some(Disposition::Inline) => Presentation::Inline,
    };
    let name = body.key.rsplit('/').next().unwrap_or_default();
    let shown = download_headers(name, presentation).ok_or_else(|| {
        ApiError::bad_request(
            "inline_not_allowed",
            "only images, audio, video, PDF and plain text can be shown inline; download it as an attachment",
        )
    })?;

    let (scope, now_ms) = auth::authorize(rt, &caller, Operation::Download, tenant, deferred).await?;
    let key = scope.prefix.check_key(&body.key)?;
    limits::charge_key(rt, &scope).await?;
    let expiry = signing::capped(expiry, now_ms, caller.expires_at_ms(), scope.key_expires_at_ms)?;

    let signable = signing::signable(rt, &scope.bucket)?;
    let mut get = GetObject::new(&signable.bucket, &signable.credentials, key)
        .query("response-content-disposition", &shown.disposition);
    if let Some(content_type) = shown.content_type {
        get = get.query("response-content-type", content_type);
    }
    let presigned = signing::sign(rt, &get, now_ms, expiry)?;
    Ok(json::ok(
        StatusCode::OK,
        &json!({
            "key": key,
            "method": "GET",
            "url": presigned.url,
            "expiresIn": expiry.as_secs(),
            "expiresAt": crate::timestamp::rfc3339(now_ms + i64::from(expiry.as_secs()) * 1000),
        }),
    ))
}
