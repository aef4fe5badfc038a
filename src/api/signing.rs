//! Where URLs are signed: decrypts the bucket's credentials, picks the cached signing key for
//! today, and presigns with the request's clock.

use std::rc::Rc;

use super::ApiError;
use crate::runtime::Runtime;
use crate::scope::BucketRow;
use crate::sigv4::{Expiry, Presign, SigningTime};
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
