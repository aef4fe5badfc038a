//! Where URLs are signed: decrypts the bucket's credentials, picks the cached signing key for
//! today, and presigns with the request's clock.

use std::rc::Rc;

use super::ApiError;
use crate::runtime::Runtime;
use crate::scope::BucketRow;
use crate::sigv4::{Expiry, PresignError, Presigned, SigningKey, SigningTime};
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

/// Presigns with the isolate's cached signing key for (credentials, date, region).
pub(super) fn sign<R: Runtime>(
    rt: &R,
    target: &Signable,
    now_ms: i64,
    expiry: Expiry,
    presign: impl FnOnce(&SigningKey, SigningTime, Expiry) -> Result<Presigned, PresignError>,
) -> Result<Presigned, ApiError> {
    let at = SigningTime::from_unix(now_ms.div_euclid(1000)).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut keys = rt.isolate().signing_keys.borrow_mut();
    let key = keys.get(&target.credentials, at, target.bucket.region());
    // Keys are sanitised and checked before this point, so a refusal here is a bug.
    presign(key, at, expiry).map_err(|e| ApiError::Internal(format!("presign failed: {e}")))
}
