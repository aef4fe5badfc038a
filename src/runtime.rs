//! The IO boundary: everything the request handlers need from the world, as one trait.
//!
//! The Worker implements it over Hyperdrive, `fetch` and `Date.now()` (`edge`); tests implement it
//! natively over tokio. Handlers in `api` are generic over it, so they are written once.

use std::cell::RefCell;

use tokio_postgres::Client;

use crate::sigv4::SigningKeyCache;
use crate::store::StoreError;
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
}

impl Config {
    /// The default lifetime of presigned URLs: 15 minutes, as the upstream API.
    pub const DEFAULT_EXPIRY_SECS: u32 = 900;

    /// A configuration with defaults for everything but the vault key, and no upload tokens.
    #[must_use]
    pub fn new(vault_key: VaultKey) -> Self {
        Self {
            vault_key,
            allowed_origins: AllowedOrigins::Any,
            default_expiry_secs: Self::DEFAULT_EXPIRY_SECS,
            upload_tokens: None,
        }
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
    /// Parses `*` or a comma-separated list of origins; blank entries are ignored.
    #[must_use]
    pub fn parse(s: &str) -> Self {
        let list: Vec<String> = s
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        if list.is_empty() || list.iter().any(|o| o == "*") {
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

/// An HTTP request the service sends (to S3).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// The method.
    pub method: http::Method,
    /// The full URL, presigned.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
}

/// The answer to an [`OutboundRequest`]; bodies are not needed.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
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

/// How bad a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed that an operator should look at.
    Error,
    /// Something worth knowing.
    Info,
}

/// What the handlers need from the world.
#[allow(async_fn_in_trait)] // Handlers are generic over one runtime at a time; no `Send` needed.
pub trait Runtime {
    /// The current time, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Settings.
    fn config(&self) -> &Config;

    /// Derived signing keys, kept for the life of the isolate.
    fn signing_keys(&self) -> &RefCell<SigningKeyCache>;

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

    /// Writes a log line. Callers never pass secrets, keys, key hashes or SQL.
    fn log(&self, level: Level, message: &str);

    /// Fills `buf` with random bytes from the platform's CSPRNG.
    ///
    /// # Errors
    /// [`getrandom::Error`] when the platform has none.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), getrandom::Error> {
        getrandom::getrandom(buf)
    }
}
