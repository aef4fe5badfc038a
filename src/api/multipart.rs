//! The service's own multipart calls to S3, each a request it presigns and sends itself through
//! [`Runtime::fetch`]: create an upload, list its parts (every page), assemble it, abort it. S3's
//! answers are read with [`s3_xml`] and turned into [`ApiError`]s a client can act on.

use bytes::Bytes;

use super::{signing, ApiError};
use crate::runtime::{OutboundRequest, OutboundResponse, Runtime};
use crate::s3_xml::{self, Part};
use crate::sigv4::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, ListParts, Presign, PresignError, Presigned,
    MAX_PARTS,
};

/// Lifetime of the URLs the service signs for its own requests: they are sent at once.
const OWN_REQUEST_EXPIRY_SECS: u32 = 60;
/// Parts asked for per `ListParts` page (S3's largest page).
const PARTS_PER_PAGE: &str = "1000";

/// Signs `action` now and sends it with `body`.
async fn send<R, P>(rt: &R, action: &P, now_ms: i64, body: Bytes) -> Result<OutboundResponse, ApiError>
where
    R: Runtime,
    P: Presign<Signed = Presigned, Error = PresignError>,
{
    let expiry = signing::expiry(rt, Some(OWN_REQUEST_EXPIRY_SECS))?;
    let presigned = signing::sign(rt, action, now_ms, expiry)?;
    Ok(rt
        .fetch(OutboundRequest {
            method: presigned.method,
            url: presigned.url,
            headers: presigned.headers,
            body,
        })
        .await?)
}

/// What S3's answer means when it is not a success: the storage refusing the project's
/// credentials, an upload S3 no longer knows (aborted or completed), or S3 being unwell.
fn failure(what: &str, answer: &OutboundResponse) -> ApiError {
    let body = String::from_utf8_lossy(&answer.body);
    match (answer.status, s3_xml::error_code(&body).as_deref()) {
        (_, Some("NoSuchUpload")) => ApiError::conflict(
            "upload_not_pending",
            "storage no longer knows this multipart upload: it was completed or aborted",
        ),
        (401 | 403, _) => ApiError::StorageRejected(answer.status),
        (status, code) => {
            ApiError::StorageUnavailable(format!("storage answered {status} {} to {what}", code.unwrap_or("")))
        }
    }
}

/// Starts a multipart upload and returns S3's `UploadId`.
pub(super) async fn create<R: Runtime>(
    rt: &R,
    action: &CreateMultipartUpload<'_>,
    now_ms: i64,
) -> Result<String, ApiError> {
    let answer = send(rt, action, now_ms, Bytes::new()).await?;
    if answer.status != 200 {
        return Err(failure("CreateMultipartUpload", &answer));
    }
    s3_xml::element(&String::from_utf8_lossy(&answer.body), "UploadId")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::StorageUnavailable("storage sent no UploadId".into()))
}

/// Every part uploaded so far, following `ListParts` pages.
pub(super) async fn list<R: Runtime>(rt: &R, first: ListParts<'_>, now_ms: i64) -> Result<Vec<Part>, ApiError> {
    let mut parts = Vec::new();
    let mut marker: Option<String> = None;
    // 10,000 parts at 1,000 a page: a server that keeps answering "truncated" is cut off.
    for _ in 0..=(usize::from(MAX_PARTS) / 1000) {
        let mut page = first.clone().query("max-parts", PARTS_PER_PAGE);
        if let Some(marker) = &marker {
            page = page.query("part-number-marker", marker);
        }
        let answer = send(rt, &page, now_ms, Bytes::new()).await?;
        if answer.status != 200 {
            return Err(failure("ListParts", &answer));
        }
        let page = s3_xml::parts_page(&String::from_utf8_lossy(&answer.body))
            .map_err(|e| ApiError::StorageUnavailable(format!("unreadable ListParts answer: {e}")))?;
        parts.extend(page.parts);
        match page.next_marker {
            Some(next) if marker.as_ref() != Some(&next) => marker = Some(next),
            _ => return Ok(parts),
        }
    }
    Err(ApiError::StorageUnavailable("ListParts did not end".into()))
}

/// Assembles the parts named in `body` (a `CompleteMultipartUpload` document) into the object.
/// `action` should sign `If-None-Match: *`, so that assembling never replaces an object.
///
/// A part S3 does not have, or whose `ETag` differs, is the client's mistake: 409, and the
/// upload stays open to be completed correctly. Some S3-compatible servers answer that with a
/// bare 403; then `list` (the same upload's `ListParts`) tells it from a refused credential.
pub(super) async fn assemble<R: Runtime>(
    rt: &R,
    action: &CompleteMultipartUpload<'_>,
    list: &ListParts<'_>,
    now_ms: i64,
    body: String,
) -> Result<(), ApiError> {
    let answer = send(rt, action, now_ms, Bytes::from(body)).await?;
    // S3 may answer 200 and still report an error in the body.
    let text = String::from_utf8_lossy(&answer.body);
    let invalid = |code: &str| {
        ApiError::conflict(
            "invalid_parts",
            format!("storage refused the part list ({code}): name each uploaded part once, with its ETag"),
        )
    };
    match (answer.status, s3_xml::error_code(&text).as_deref()) {
        (200, None) => Ok(()),
        (_, Some(code @ ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall"))) => Err(invalid(code)),
        // `If-None-Match: *` was sent: an object already has this key, and stays as it is.
        (412, _) | (_, Some("PreconditionFailed" | "ConditionalRequestConflict")) => Err(ApiError::conflict(
            "object_exists",
            "an object already exists at this upload's key; storage kept it and did not assemble the parts",
        )),
        (403, _) if send(rt, list, now_ms, Bytes::new()).await?.status == 200 => Err(invalid("AccessDenied")),
        _ => Err(failure("CompleteMultipartUpload", &answer)),
    }
}

/// Discards the upload and its parts. An upload S3 no longer knows counts as discarded; some
/// S3-compatible servers answer that with a bare 403, told from a refused credential by `list`.
pub(super) async fn abort<R: Runtime>(
    rt: &R,
    action: &AbortMultipartUpload<'_>,
    list: &ListParts<'_>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let answer = send(rt, action, now_ms, Bytes::new()).await?;
    let text = String::from_utf8_lossy(&answer.body);
    match (answer.status, s3_xml::error_code(&text).as_deref()) {
        (200 | 204, _) | (_, Some("NoSuchUpload")) => Ok(()),
        (403, _) if send(rt, list, now_ms, Bytes::new()).await?.status == 200 => Ok(()),
        _ => Err(failure("AbortMultipartUpload", &answer)),
    }
}
