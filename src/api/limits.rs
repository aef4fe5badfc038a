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
    if !rt.config().rate_limits {
        return Ok(());
    }
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
/// 429 instead of a 401. Requests without an address (not through Cloudflare) are not counted,
/// nor expired upload tokens: only this service can sign one, so a client presenting an old one
/// is not guessing (it is told `token_expired`, to fetch a new one).
pub(super) async fn after_failure<R: Runtime>(rt: &R, req: &Request<Bytes>, e: ApiError) -> ApiError {
    if !rt.config().rate_limits || !matches!(e, ApiError::InvalidCredentials) {
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

// Native only: the tests run on tokio, which the wasm build does not have.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use std::cell::RefCell;

    use tokio_postgres::Client;

    use super::*;
    use crate::runtime::{Config, FetchError, IsolateState, OutboundRequest, OutboundResponse};
    use crate::scope::{self, Operation};
    use crate::store::StoreError;
    use crate::vault::VaultKey;

    /// A runtime whose rate limiter answers `outcome` and records what it was asked; it has no
    /// database or storage (these functions never use them).
    struct Platform {
        config: Config,
        isolate: IsolateState,
        outcome: LimitOutcome,
        asked: RefCell<Vec<(&'static str, String)>>,
        logs: RefCell<Vec<String>>,
    }

    impl Platform {
        fn new(outcome: LimitOutcome) -> Self {
            let key = VaultKey::parse("base64:Y2FyY29zYS1lZGdlLXRlc3QtdmF1bHQta2V5LTAwMzI=").unwrap();
            Self {
                config: Config::new(key),
                isolate: IsolateState::new(30),
                outcome,
                asked: RefCell::default(),
                logs: RefCell::default(),
            }
        }
    }

    impl Runtime for Platform {
        fn now_ms(&self) -> i64 {
            90_000
        }
        fn config(&self) -> &Config {
            &self.config
        }
        fn isolate(&self) -> &IsolateState {
            &self.isolate
        }
        async fn db(&self) -> Result<&Client, StoreError> {
            Err(StoreError::Connect("no database here".into()))
        }
        async fn fetch(&self, _: OutboundRequest) -> Result<OutboundResponse, FetchError> {
            Err(FetchError("no network here".into()))
        }
        async fn rate_limit(&self, binding: &'static str, key: &str) -> LimitOutcome {
            self.asked.borrow_mut().push((binding, key.to_owned()));
            self.outcome.clone()
        }
        fn request_id(&self) -> &str {
            "r1"
        }
        fn log(&self, _: Level, message: &str) {
            self.logs.borrow_mut().push(message.to_owned());
        }
        async fn sleep(&self, _: u32) {}
    }

    fn authorized(uploads_per_minute: Option<i32>) -> Authorized {
        let mut row = scope::tests::row();
        row.uploads_per_minute = uploads_per_minute;
        scope::authorize(&row, Operation::Upload, None, 0).unwrap()
    }

    fn request(client: Option<&str>) -> Request<Bytes> {
        let mut b = Request::builder();
        if let Some(c) = client {
            b = b.header("cf-connecting-ip", c);
        }
        b.body(Bytes::new()).unwrap()
    }

    #[tokio::test]
    async fn keys_are_counted_in_their_projects_tier() {
        let rt = Platform::new(LimitOutcome::Allowed);
        charge_key(&rt, &authorized(None)).await.unwrap();
        charge_key(&rt, &authorized(Some(5000))).await.unwrap();
        assert_eq!(
            *rt.asked.borrow(),
            [
                ("RATE_LIMIT_STANDARD", "k1".to_owned()),
                ("RATE_LIMIT_HIGH", "k1".to_owned())
            ]
        );

        let rt = Platform::new(LimitOutcome::Exceeded);
        let e = charge_key(&rt, &authorized(Some(10))).await.unwrap_err();
        assert!(matches!(
            e,
            ApiError::RateLimited {
                reason: Throttle::Key { per_minute: 10 },
                retry_after_secs: 30,
            }
        ));
        assert_eq!((e.status(), e.code()), (429, "rate_limited"));
    }

    #[tokio::test]
    async fn switched_off_nothing_is_counted() {
        let mut rt = Platform::new(LimitOutcome::Exceeded);
        rt.config.rate_limits = false;
        charge_key(&rt, &authorized(Some(10))).await.unwrap();
        let e = after_failure(&rt, &request(Some("192.0.2.7")), ApiError::InvalidCredentials).await;
        assert!(matches!(e, ApiError::InvalidCredentials));
        assert!(rt.asked.borrow().is_empty());
        assert_eq!(Config::parse_rate_limits(" off "), Ok(false));
        assert_eq!(Config::parse_rate_limits("on"), Ok(true));
        assert!(Config::parse_rate_limits("no").is_err());
    }

    #[tokio::test]
    async fn a_missing_limiter_does_not_limit_and_is_logged_once() {
        let rt = Platform::new(LimitOutcome::Unavailable("no such binding".into()));
        for _ in 0..3 {
            charge_key(&rt, &authorized(None)).await.unwrap();
        }
        let e = after_failure(&rt, &request(Some("192.0.2.7")), ApiError::InvalidCredentials).await;
        assert!(matches!(e, ApiError::InvalidCredentials));
        let logs = rt.logs.borrow();
        assert_eq!(logs.len(), 2, "once per limiter: {logs:?}");
        assert!(logs[0].contains("RATE_LIMIT_STANDARD") && logs[0].contains("not limited"));
        assert!(logs[1].contains("RATE_LIMIT_FAILED_AUTH"));
    }

    #[tokio::test]
    async fn only_failed_authentication_from_an_address_is_counted() {
        let rt = Platform::new(LimitOutcome::Exceeded);
        let e = after_failure(&rt, &request(Some("192.0.2.7")), ApiError::InvalidCredentials).await;
        assert!(matches!(
            e,
            ApiError::RateLimited {
                reason: Throttle::FailedAuth,
                ..
            }
        ));
        assert_eq!(*rt.asked.borrow(), [("RATE_LIMIT_FAILED_AUTH", "192.0.2.7".to_owned())]);
        // Other failures, and requests that did not come through Cloudflare, are not counted.
        let e = after_failure(&rt, &request(Some("192.0.2.7")), ApiError::MissingCredentials).await;
        assert!(matches!(e, ApiError::MissingCredentials));
        // An expired token was signed by this service: it says nothing of guessing.
        let e = after_failure(&rt, &request(Some("192.0.2.7")), ApiError::ExpiredToken).await;
        assert!(matches!(e, ApiError::ExpiredToken));
        let e = after_failure(&rt, &request(None), ApiError::InvalidCredentials).await;
        assert!(matches!(e, ApiError::InvalidCredentials));
        assert_eq!(rt.asked.borrow().len(), 1);
    }
}
