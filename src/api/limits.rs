//! Where requests are counted against the platform's rate limiters (see [`crate::rate_limit`]):
//! presigning per API key, in its project's tier, and failed authentication per client address.
//!
//! A limiter that is not configured or fails does not limit: limits are optional for a
//! deployment, and the platform's fault must not stop uploads. It is logged once per isolate.

use bytes::Bytes;
use http::Request;

use super::error::Throttle;
use super::ApiError;
use crate::rate_limit::{self, Tier, FAILED_AUTH, PERIOD_SECS};
use crate::runtime::{Level, LimitOutcome, Runtime};
use crate::scope::Authorized;

/// Counts one presigned request (an upload, a download, a token, a multipart upload created)
/// against the caller's key — an upload token's key for a token — in its project's tier.
///
/// # Errors
/// [`ApiError::RateLimited`] once the key is over its tier's limit this minute.
pub(super) async fn charge_key<R: Runtime>(rt: &R, scope: &Authorized) -> Result<(), ApiError> {
    let tier = rate_limit::tier_for(scope.uploads_per_minute);
    if hit(rt, tier, &scope.key_id).await {
        Ok(())
    } else {
        Err(limited(
            rt,
            Throttle::Key {
                per_minute: tier.per_minute,
            },
        ))
    }
}

/// After a request failed: a failed authentication is counted against the client's address
/// (`cf-connecting-ip`, which Cloudflare sets), and once that is over its limit the answer is a
/// 429 instead of a 401. Requests without an address (not through Cloudflare) are not counted.
pub(super) async fn after_failure<R: Runtime>(rt: &R, req: &Request<Bytes>, e: ApiError) -> ApiError {
    if !matches!(e, ApiError::InvalidCredentials) {
        return e;
    }
    let Some(client) = req
        .headers()
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        return e;
    };
    if hit(rt, FAILED_AUTH, client).await {
        e
    } else {
        limited(rt, Throttle::FailedAuth)
    }
}

/// The `X-RateLimit-Limit` of a 429 for `reason`, when there is one to tell.
pub(super) fn advertised(reason: Throttle) -> Option<u32> {
    match reason {
        Throttle::Key { per_minute } => Some(per_minute),
        Throttle::FailedAuth => Some(FAILED_AUTH.per_minute),
        Throttle::UnknownKeys => None,
    }
}

fn limited<R: Runtime>(rt: &R, reason: Throttle) -> ApiError {
    ApiError::RateLimited {
        reason,
        retry_after_secs: rate_limit::retry_after_secs(rt.now_ms(), PERIOD_SECS),
    }
}

/// Counts `key` on `tier`'s limiter: `false` only when it is over the limit.
async fn hit<R: Runtime>(rt: &R, tier: Tier, key: &str) -> bool {
    match rt.rate_limit(tier.binding, key).await {
        LimitOutcome::Allowed => true,
        LimitOutcome::Exceeded => false,
        LimitOutcome::Unavailable(why) => {
            if rt.isolate().limiters_reported.borrow_mut().insert(tier.binding) {
                rt.log(
                    Level::Warn,
                    &format!(
                        "rate limiter {} is unavailable ({why}); requests it would count are not limited",
                        tier.binding
                    ),
                );
            }
            true
        }
    }
}
