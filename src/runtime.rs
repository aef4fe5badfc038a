//! The IO boundary: everything the request handlers need from the world, as one trait.
//!
//! The Worker implements it over Hyperdrive, `fetch` and `Date.now()` (`edge`); tests implement it
//! natively over tokio. Handlers in `api` are generic over it, so they are written once.

use std::cell::{Cell, RefCell};

use tokio_postgres::Client;

use crate::api::Deferred;
use crate::scope_cache::{ScopeCache, SignableCache, UnknownKeyBudget};
use crate::sigv4::{SigningKeyCache, MAX_OBJECT_KEY_BYTES, MAX_PUT_BYTES};
use crate::store::StoreError;
use crate::upload_id::UploadIdKey;
use crate::upload_token::TokenSecret;
use crate::vault::VaultKey;

/// Settings read once per isolate (Worker vars and secrets).
#[derive(Debug)]
pub struct Config {
    /// Decrypts bucket credentials (`CREDENTIALS_ENCRYPTION_KEY`).
    pub vault_key: VaultKey,
    /// Browser origins allowed by CORS (`ALLOWED_ORIGINS`).
    pub allowed_origins: AllowedOrigins,
    /// Lifetime of presigned URLs when the caller does not ask for one, in seconds.
    pub default_expiry_secs: u32,
    /// Signs and verifies upload tokens (`UPLOAD_TOKEN_SECRET`); without it tokens are refused.
    pub upload_tokens: Option<TokenSecret>,
    /// Authenticates upload ids; derived from the vault key.
    pub upload_ids: UploadIdKey,
    /// How long an isolate trusts a resolved scope, in seconds (`SCOPE_CACHE_TTL_SECS`; 0: not
    /// at all). This is the revocation bound.
    pub scope_cache_ttl_secs: u32,
    /// How long deferred writes wait for company before each batch, in milliseconds. Every
    /// connection costs a handshake and every batch a round trip per kind of write, so a busy
    /// isolate writes many rows per batch.
    pub write_batch_delay_ms: u32,
    /// How long one request keeps writing the isolate's queue, in milliseconds, before it hands
    /// the queue to the next request with something to write.
    pub writer_lifetime_ms: u32,
    /// The longest object key the bucket store accepts (`MAX_OBJECT_KEY_BYTES`): S3's and R2's
    /// 1024 bytes unless set lower. Only a file name that would not fit is shortened. A setting
    /// for stores that keep keys as file names (the local S3 server used in development and
    /// tests takes about 150 bytes), not a product rule.
    pub max_object_key_bytes: usize,
    /// The largest file a browser form upload (`GET …/s3/params`) may send, which S3 enforces
    /// through the POST policy (`MAX_UPLOAD_BYTES`; default and ceiling: S3's 5 GiB).
    pub max_upload_bytes: u64,
    /// Whether requests are counted on the rate limiters at all (`RATE_LIMITS`, `on` or `off`;
    /// default on). Off for benchmarks of one key; a deployment without the bindings is not
    /// limited either way.
    pub rate_limits: bool,
}

impl Config {
    /// The default lifetime of presigned URLs: 15 minutes, as the upstream API.
    pub const DEFAULT_EXPIRY_SECS: u32 = 900;

    /// How long a resolved scope is trusted when the deployment does not say: 30 seconds.
    pub const DEFAULT_SCOPE_CACHE_TTL_SECS: u32 = 30;
    /// Deferred writes wait this long to be batched: one second. A busy isolate then pays one
    /// connection handshake and one round trip per kind of write for hundreds of rows instead of
    /// a few; an idle one writes its row a second later, and an upload completed before that is
    /// recorded from its id.
    pub const DEFAULT_WRITE_BATCH_DELAY_MS: u32 = 1000;
    /// A writer's life: ten seconds. The platform cancels `wait_until` work 30 s after the
    /// response; a writer that a steady stream of requests kept busy would be stopped there,
    /// perhaps midway through a batch, perhaps still holding the queue (a cancelled task need not
    /// be dropped), and the isolate would write nothing more.
    pub const DEFAULT_WRITER_LIFETIME_MS: u32 = 10_000;
    /// The longest scope TTL accepted: one hour (it bounds how long a revoked key keeps working).
    pub const MAX_SCOPE_CACHE_TTL_SECS: u32 = 3600;

    /// A configuration with defaults for everything but the vault key, no upload tokens and no
    /// browser origin allowed.
    #[must_use]
    pub fn new(vault_key: VaultKey) -> Self {
        let upload_ids = vault_key.upload_id_key();
        Self {
            vault_key,
            allowed_origins: AllowedOrigins::List(Vec::new()),
            default_expiry_secs: Self::DEFAULT_EXPIRY_SECS,
            upload_tokens: None,
            upload_ids,
            scope_cache_ttl_secs: Self::DEFAULT_SCOPE_CACHE_TTL_SECS,
            write_batch_delay_ms: Self::DEFAULT_WRITE_BATCH_DELAY_MS,
            writer_lifetime_ms: Self::DEFAULT_WRITER_LIFETIME_MS,
            max_object_key_bytes: MAX_OBJECT_KEY_BYTES,
            max_upload_bytes: MAX_PUT_BYTES,
            rate_limits: true,
        }
    }

    /// Parses `RATE_LIMITS`: `on` or `off`.
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse_rate_limits(value: &str) -> Result<bool, String> {
        match value.trim() {
            "on" => Ok(true),
            "off" => Ok(false),
            _ => Err("RATE_LIMITS must be on or off".to_owned()),
        }
    }

    /// Parses `MAX_OBJECT_KEY_BYTES`: 64 to 1024 (S3's limit; fewer than 64 leaves no room for a
    /// prefix, an id and a name).
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse_max_object_key_bytes(value: &str) -> Result<usize, String> {
        value
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (64..=MAX_OBJECT_KEY_BYTES).contains(n))
            .ok_or_else(|| format!("MAX_OBJECT_KEY_BYTES must be a number from 64 to {MAX_OBJECT_KEY_BYTES}"))
    }

    /// Parses `MAX_UPLOAD_BYTES`: 1 byte to S3's 5 GiB.
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse_max_upload_bytes(value: &str) -> Result<u64, String> {
        value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_PUT_BYTES).contains(n))
            .ok_or_else(|| format!("MAX_UPLOAD_BYTES must be a number of bytes from 1 to {MAX_PUT_BYTES}"))
    }

    /// Parses `SCOPE_CACHE_TTL_SECS`: whole seconds, 0 to [`Self::MAX_SCOPE_CACHE_TTL_SECS`].
    ///
    /// # Errors
    /// A message saying what is accepted.
    pub fn parse_scope_cache_ttl(value: &str) -> Result<u32, String> {
        value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|s| *s <= Self::MAX_SCOPE_CACHE_TTL_SECS)
            .ok_or_else(|| {
                format!(
                    "SCOPE_CACHE_TTL_SECS must be whole seconds from 0 to {}",
                    Self::MAX_SCOPE_CACHE_TTL_SECS
                )
            })
    }
}

/// Which browser origins may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any origin (`*`). Requests carry API keys in headers, not cookies, so this is safe.
    Any,
    /// Only these exact origins (`https://app.example.com`).
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Parses `*` or a comma-separated list of origins; blank entries are ignored, so an empty
    /// value allows no origin.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        let list: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        if list.iter().any(|o| o == "*") {
            Self::Any
        } else {
            Self::List(list)
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    #[must_use]
    pub fn allow<'a>(&'a self, origin: Option<&'a str>) -> Option<&'a str> {
        match self {
            Self::Any => Some("*"),
            Self::List(list) => origin.filter(|o| list.iter().any(|allowed| allowed == o)),
        }
    }
}

/// State kept for the life of an isolate (one Worker instance) and shared by its requests.
/// Losing it costs only work: a scope is resolved again, an unwritten upload row is recreated
/// from its id when the upload completes.
pub struct IsolateState {
    /// Resolved scopes and unknown keys, trusted for the configured TTL.
    pub scopes: RefCell<ScopeCache>,
    /// Unknown API keys presented per client, to refuse floods of made-up keys.
    pub unknown_keys: RefCell<UnknownKeyBudget>,
    /// Decrypted bucket credentials, per stored row.
    pub signables: RefCell<SignableCache>,
    /// Derived signing keys: one derivation per (secret, date, region).
    pub signing_keys: RefCell<SigningKeyCache>,
    /// When this isolate last recorded each API key's use.
    pub key_touches: RefCell<TouchThrottle>,
    /// Writes waiting for the database, from any request of this isolate.
    pub pending: RefCell<Vec<Deferred>>,
    /// Whether a request is writing `pending` now (it takes what others add meanwhile).
    pub flushing: Cell<bool>,
    /// Rate limiters found missing or failing, so that each is logged once per isolate.
    pub limiters_reported: RefCell<std::collections::HashSet<&'static str>>,
}

impl IsolateState {
    /// Fresh state for an isolate whose scopes live `scope_cache_ttl_secs`.
    #[must_use]
    pub fn new(scope_cache_ttl_secs: u32) -> Self {
        Self {
            scopes: RefCell::new(ScopeCache::new(scope_cache_ttl_secs)),
            unknown_keys: RefCell::default(),
            signables: RefCell::default(),
            signing_keys: RefCell::default(),
            key_touches: RefCell::default(),
            pending: RefCell::default(),
            flushing: Cell::new(false),
            limiters_reported: RefCell::default(),
        }
    }
}

/// Decides when to write `"ApiKey"."lastUsedAt"` again: at most once a minute per key and
/// isolate, so a busy key costs no write per request. (The SQL also throttles, across isolates.)
#[derive(Debug, Default)]
pub struct TouchThrottle {
    last: std::collections::HashMap<String, i64>,
}

impl TouchThrottle {
    /// How long a recorded use stays fresh.
    pub const INTERVAL_MS: i64 = 60_000;
    /// Keys remembered at most; beyond it, the memory is simply cleared.
    const CAPACITY: usize = 4096;

    /// Whether `key_id`'s use at `now_ms` should be written, remembering it if so.
    pub fn due(&mut self, key_id: &str, now_ms: i64) -> bool {
        if self.last.get(key_id).is_some_and(|at| now_ms - at < Self::INTERVAL_MS) {
            return false;
        }
        if self.last.len() >= Self::CAPACITY {
            self.last.clear();
        }
        self.last.insert(key_id.to_owned(), now_ms);
        true
    }
}

/// An HTTP request the service sends (to S3).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// The method.
    pub method: http::Method,
    /// The full URL, presigned.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body (empty for most S3 calls; the parts list of a multipart completion).
    pub body: bytes::Bytes,
}

/// The answer to an [`OutboundRequest`].
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (S3's XML answers: a new upload id, a parts list, an error).
    pub body: bytes::Bytes,
}

impl OutboundResponse {
    /// The first header named `name` (lowercase).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The remote end could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("the storage endpoint could not be reached: {0}")]
pub struct FetchError(pub String);

/// What a platform rate limiter answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitOutcome {
    /// Counted, within the limit.
    Allowed,
    /// Over the limit for this period.
    Exceeded,
    /// The limiter is not configured or failed (why, without the key); the request is not
    /// limited.
    Unavailable(String),
}

/// How bad a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed that an operator should look at.
    Error,
    /// Something is wrong but the request was answered safely (bad stored data, say).
    Warn,
    /// Something worth knowing.
    Info,
}

impl Level {
    /// The name used in log lines.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
        }
    }
}

/// One structured log line: a JSON object with `level`, `requestId` and `message`, so that log
/// search can filter by request and no message can forge a line of its own (line breaks and
/// quotes are escaped).
#[must_use]
pub fn log_line(level: Level, request_id: &str, message: &str) -> String {
    serde_json::json!({ "level": level.as_str(), "requestId": request_id, "message": message }).to_string()
}

/// What the handlers need from the world.
#[allow(async_fn_in_trait)] // Handlers are generic over one runtime at a time; no `Send` needed.
pub trait Runtime {
    /// The current time, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Settings.
    fn config(&self) -> &Config;

    /// State shared by the requests of this isolate.
    fn isolate(&self) -> &IsolateState;

    /// The database connection for this request, opened on first use.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be made.
    async fn db(&self) -> Result<&Client, StoreError>;

    /// Sends a request (a presigned S3 call) and returns its status and headers.
    ///
    /// # Errors
    /// [`FetchError`] when the endpoint cannot be reached.
    async fn fetch(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError>;

    /// This request's id: sent back in `x-request-id` and written on each of its log lines.
    fn request_id(&self) -> &str;

    /// Writes a log line (see [`log_line`]) tagged with [`Runtime::request_id`]. Callers never
    /// pass secrets, keys, key hashes, SQL or row values.
    fn log(&self, level: Level, message: &str);

    /// Counts one request for `key` on the rate limiter `binding` (one of
    /// [`crate::rate_limit::TIERS`] or [`crate::rate_limit::FAILED_AUTH`]) and says whether it is
    /// within the limit. The Worker asks the Rate Limiting binding of that name, whose counters
    /// live in the Cloudflare location (no round trip to the database or across the network).
    async fn rate_limit(&self, binding: &'static str, key: &str) -> LimitOutcome;

    /// Waits `ms` milliseconds without using CPU (a timer, not a busy loop).
    async fn sleep(&self, ms: u32);

    /// Fills `buf` with random bytes from the platform's CSPRNG.
    ///
    /// # Errors
    /// [`getrandom::Error`] when the platform has none.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), getrandom::Error> {
        getrandom::getrandom(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_are_throttled_per_key() {
        let mut t = TouchThrottle::default();
        assert!(t.due("a", 0));
        assert!(!t.due("a", 59_999));
        assert!(t.due("b", 59_999));
        assert!(t.due("a", 60_000));
        assert!(!t.due("a", 60_001));
    }

    #[test]
    fn log_lines_are_one_json_object() {
        let line = log_line(Level::Warn, "8a1b-FRA", "two\nlines \"quoted\"");
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"level": "warn", "requestId": "8a1b-FRA", "message": "two\nlines \"quoted\""})
        );
    }

    #[test]
    fn origins() {
        assert_eq!(AllowedOrigins::parse(" * "), AllowedOrigins::Any);
        // Set but empty allows no origin: a blank value must not open CORS to everyone.
        assert_eq!(AllowedOrigins::parse(""), AllowedOrigins::List(Vec::new()));
        assert_eq!(AllowedOrigins::parse(" , "), AllowedOrigins::List(Vec::new()));
        assert_eq!(AllowedOrigins::parse("").allow(Some("https://a.example")), None);
        let list = AllowedOrigins::parse("https://a.example, https://b.example");
        assert_eq!(list.allow(Some("https://b.example")), Some("https://b.example"));
        assert_eq!(list.allow(Some("https://c.example")), None);
        assert_eq!(list.allow(None), None);
        assert_eq!(AllowedOrigins::Any.allow(None), Some("*"));
    }
}
