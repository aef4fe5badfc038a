//! Where URLs are signed: decrypts the bucket's credentials, picks the cached signing key for
//! today, and presigns with the request's clock.

use std::rc::Rc;

use bytes::Bytes;
use http::Method;

use super::ApiError;
use crate::runtime::{OutboundRequest, Runtime};
use crate::scope::BucketRow;
use crate::sigv4::{DeleteObject, Expiry, Presign, SigningTime};
use crate::storage::{self, Signable};

/// The lifetime a caller asked for, or the configured default.
pub(super) fn expiry<R: Runtime>(rt: &R, requested: Option<u32>) -> Result<Expiry, ApiError> {
    let secs = requested.unwrap_or(rt.config().default_expiry_secs);
    Expiry::from_secs(secs).map_err(|_| {
        ApiError::bad_request(
            "invalid_expiry",
            "expiresIn must be between 1 and 604800 seconds (7 days)",
        )
    })
}

/// `expiry`, shortened so that the URL dies no later than the caller's upload token and the
/// key it was signed for: a ten-minute token must not mint a seven-day URL.
///
/// # Errors
/// [`ApiError::ExpiredToken`] or [`ScopeError::KeyExpired`](crate::scope::ScopeError) when less
/// than a second is left (tokens are accepted a few seconds past `exp`, for clock skew).
pub(super) fn capped(
    expiry: Expiry,
    now_ms: i64,
    token_expires_at_ms: Option<i64>,
    key_expires_at_ms: Option<i64>,
) -> Result<Expiry, ApiError> {
    let left = |at: i64| u32::try_from((at - now_ms).div_euclid(1000)).ok().filter(|s| *s >= 1);
    let mut secs = expiry.as_secs();
    if let Some(at) = token_expires_at_ms {
        secs = secs.min(left(at).ok_or(ApiError::ExpiredToken)?);
    }
    if let Some(at) = key_expires_at_ms {
        secs = secs.min(left(at).ok_or(crate::scope::ScopeError::KeyExpired)?);
    }
    Expiry::from_secs(secs).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The bucket, ready to sign for: its credentials are decrypted once per stored row and isolate.
pub(super) fn signable<R: Runtime>(rt: &R, row: &BucketRow) -> Result<Rc<Signable>, ApiError> {
    rt.isolate()
        .signables
        .borrow_mut()
        .get_or_try(row, || storage::signable(row, &rt.config().vault_key))
        .map_err(|e| ApiError::Internal(super::error::chain(&e)))
}

/// Presigns `action` at the request's time, with the isolate's cached signing key for the
/// action's own credentials, day and region.
pub(super) fn sign<R: Runtime, P>(rt: &R, action: &P, now_ms: i64, expiry: Expiry) -> Result<P::Signed, ApiError>
where
    P: Presign,
    P::Error: std::fmt::Display,
{
    let at = SigningTime::from_unix(now_ms.div_euclid(1000)).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut keys = rt.isolate().signing_keys.borrow_mut();
    // Keys, parts and fields are checked before this point, so a refusal here is a bug.
    action
        .presign(&mut keys, at, expiry)
        .map_err(|e| ApiError::Internal(format!("presign failed: {e}")))
}

/// Deletes `key` from the bucket with the service's own signed `DeleteObject`. An object that is
/// not there counts as deleted: S3 answers 204 whether or not it existed; some servers say 200 or
/// 404.
pub(super) async fn delete_object<R: Runtime>(
    rt: &R,
    signable: &Signable,
    key: &str,
    now_ms: i64,
    expiry: Expiry,
) -> Result<(), ApiError> {
    let delete = DeleteObject::new(&signable.bucket, &signable.credentials, key);
    let presigned = sign(rt, &delete, now_ms, expiry)?;
    let answer = rt
        .fetch(OutboundRequest {
            method: Method::DELETE,
            url: presigned.url,
            headers: presigned.headers,
            body: Bytes::new(),
        })
        .await?;
    match answer.status {
        200 | 204 | 404 => Ok(()),
        401 | 403 => Err(ApiError::StorageRejected(answer.status)),
        other => Err(ApiError::StorageUnavailable(format!(
            "storage answered {other} to DELETE"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_080_280_000;

    fn secs(e: Result<Expiry, ApiError>) -> Result<u32, &'static str> {
        e.map(Expiry::as_secs).map_err(|e| e.code())
    }

    #[test]
    fn urls_end_no_later_than_the_token_and_the_key() {
        let week = Expiry::from_secs(604_800).unwrap();
        assert_eq!(secs(capped(week, NOW, None, None)), Ok(604_800));
        assert_eq!(secs(capped(week, NOW, Some(NOW + 600_000), None)), Ok(600));
        assert_eq!(
            secs(capped(week, NOW, None, Some(NOW + 90_500))),
            Ok(90),
            "whole seconds, rounded down"
        );
        assert_eq!(secs(capped(week, NOW, Some(NOW + 600_000), Some(NOW + 90_000))), Ok(90));
        let short = Expiry::from_secs(30).unwrap();
        assert_eq!(
            secs(capped(short, NOW, Some(NOW + 600_000), Some(NOW + 90_000))),
            Ok(30)
        );
        // Tokens are accepted a few seconds past `exp`; nothing is signed for them then.
        assert_eq!(
            secs(capped(week, NOW, Some(NOW + 999), None)),
            Err("upload_token_expired")
        );
        assert_eq!(
            secs(capped(week, NOW, Some(NOW - 3_000), None)),
            Err("upload_token_expired")
        );
        assert_eq!(secs(capped(week, NOW, None, Some(NOW + 500))), Err("api_key_expired"));
    }
}
