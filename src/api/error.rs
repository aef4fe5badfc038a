//! `ApiError`: every way a request can fail, and the one place that picks its HTTP status.

use crate::object_key::KeyError;
use crate::runtime::FetchError;
use crate::scope::ScopeError;
use crate::store::StoreError;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

/// A failed request. The `Display` text is the human message sent to the client, so it never
/// holds internal detail; that goes to the log through [`ApiError::log_detail`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No route has this path.
    #[error("no such route")]
    NotFound,
    /// The route exists but not with this method.
    #[error("method not allowed; allowed: {0}")]
    MethodNotAllowed(&'static str),
    /// No API key was sent.
    #[error("an API key is required: send `Authorization: Bearer carc_…` or `X-API-Key: carc_…`")]
    MissingCredentials,
    /// The key or token is malformed, unknown or revoked (deliberately not told apart).
    #[error("the API key or upload token is invalid or revoked")]
    InvalidCredentials,
    /// The upload token's `exp` has passed.
    #[error("the upload token has expired; mint a new one")]
    ExpiredToken,
    /// The route needs an API key, not an upload token.
    #[error("this route needs an API key; upload tokens cannot be used here")]
    ApiKeyRequired,
    /// The project named in the path is not the caller's.
    #[error("this API key belongs to another project")]
    ProjectMismatch,
    /// The request body is not what the route takes.
    #[error("{message}")]
    BadRequest {
        /// Stable machine code.
        code: &'static str,
        /// What is wrong, for a human.
        message: String,
    },
    /// The body is larger than the route accepts.
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The declared file is larger than a single upload may be.
    #[error("the file is larger than the {0}-byte limit for a single upload")]
    FileTooLarge(u64),
    /// The body is not JSON.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The key's scope does not allow the request.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The named upload does not exist in this project.
    #[error("no such upload in this project")]
    UploadNotFound,
    /// No file with this key in the caller's scope.
    #[error("no file with key {0:?} in this project")]
    FileNotFound(String),
    /// The upload is not in a state that allows the request.
    #[error("{message}")]
    Conflict {
        /// Stable machine code.
        code: &'static str,
        /// What is wrong, for a human.
        message: String,
    },
    /// A rate limit was reached; retry after `retry_after_secs`.
    #[error("{reason}")]
    RateLimited {
        /// Which limit.
        reason: Throttle,
        /// Seconds until the limit's window ends (approximately, on Cloudflare).
        retry_after_secs: u32,
    },
    /// The database is unreachable.
    #[error("the database is unavailable; retry shortly")]
    DatabaseUnavailable(#[source] StoreError),
    /// The storage endpoint is unreachable or failing.
    #[error("the storage service is unavailable; retry shortly")]
    StorageUnavailable(String),
    /// The storage endpoint refused this service's own signed request (bad stored credentials).
    #[error("the storage service refused this project's credentials")]
    StorageRejected(u16),
    /// A bug or a misconfiguration; the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
    /// The deployment's secrets or vars are missing or invalid; the detail is logged, never sent.
    #[error("the service is not configured; see its logs")]
    Misconfigured(String),
    /// The request could not be read (a header or body the platform could not hand over).
    #[error("the request could not be read")]
    InvalidRequest(String),
}

/// Which rate limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Throttle {
    /// This isolate stopped looking up new keys for a client that presented many unknown ones.
    #[error("too many requests with unknown API keys from this client; retry later")]
    UnknownKeys,
    /// The client's address failed authentication too often.
    #[error("too many failed authentications from this client; retry later")]
    FailedAuth,
    /// The key (or the key of the upload token) asked for more presigned requests than its
    /// project's tier allows.
    #[error("this API key may presign {per_minute} requests a minute; retry later")]
    Key {
        /// The tier's limit, sent as `X-RateLimit-Limit`.
        per_minute: u32,
    },
}

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 409 with a code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The HTTP status. This match is the only place statuses are chosen.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } | Self::InvalidRequest(_) => 400,
            Self::MissingCredentials | Self::InvalidCredentials | Self::ExpiredToken => 401,
            Self::ApiKeyRequired | Self::ProjectMismatch => 403,
            Self::NotFound | Self::UploadNotFound | Self::FileNotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::Conflict { .. } => 409,
            Self::BodyTooLarge(_) | Self::FileTooLarge(_) => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited { .. } => 429,
            Self::Internal(_) | Self::Misconfigured(_) => 500,
            Self::StorageRejected(_) => 502,
            Self::DatabaseUnavailable(_) | Self::StorageUnavailable(_) => 503,
            Self::Scope(e) => match e {
                ScopeError::KeyExpired => 401,
                ScopeError::PermissionDenied(_) | ScopeError::BucketReadOnly | ScopeError::BucketAccessDenied => 403,
                ScopeError::TenantRequired | ScopeError::TenantNotSupported => 400,
                ScopeError::TenantNotFound => 404,
                ScopeError::Key(KeyError::OutsidePrefix) => 403,
                ScopeError::Key(KeyError::InvalidSlug) => 500,
                ScopeError::Key(KeyError::EmptyFileName | KeyError::Malformed | KeyError::TooLong) => 400,
            },
        }
    }

    /// The stable machine code sent as `error`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::MissingCredentials => "missing_api_key",
            Self::InvalidCredentials => "invalid_api_key",
            Self::ExpiredToken => "upload_token_expired",
            Self::ApiKeyRequired => "api_key_required",
            Self::ProjectMismatch => "project_mismatch",
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::BodyTooLarge(_) => "body_too_large",
            Self::FileTooLarge(_) => "file_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::UploadNotFound => "upload_not_found",
            Self::FileNotFound(_) => "file_not_found",
            Self::DatabaseUnavailable(_) => "database_unavailable",
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::StorageRejected(_) => "storage_rejected",
            Self::Internal(_) => "internal_error",
            Self::Misconfigured(_) => "misconfigured",
            Self::InvalidRequest(_) => "invalid_request",
            Self::Scope(e) => match e {
                ScopeError::KeyExpired => "api_key_expired",
                ScopeError::PermissionDenied(_) => "permission_denied",
                ScopeError::BucketReadOnly => "bucket_read_only",
                ScopeError::BucketAccessDenied => "bucket_access_denied",
                ScopeError::TenantRequired => "tenant_required",
                ScopeError::TenantNotSupported => "tenant_not_supported",
                ScopeError::TenantNotFound => "tenant_not_found",
                ScopeError::Key(KeyError::OutsidePrefix) => "key_outside_scope",
                ScopeError::Key(KeyError::InvalidSlug) => "internal_error",
                ScopeError::Key(KeyError::EmptyFileName) => "invalid_filename",
                ScopeError::Key(KeyError::Malformed | KeyError::TooLong) => "invalid_key",
            },
        }
    }

    /// Seconds to send in `Retry-After`, for errors worth retrying.
    #[must_use]
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            Self::DatabaseUnavailable(_) | Self::StorageUnavailable(_) => Some(RETRY_AFTER_SECS),
            Self::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// What an operator should see in the log: the error chain for server-side failures, `None`
    /// for a client's mistake. Never includes secrets (none are in these errors) or SQL text.
    #[must_use]
    pub fn log_detail(&self) -> Option<String> {
        match self {
            Self::Internal(detail)
            | Self::StorageUnavailable(detail)
            | Self::Misconfigured(detail)
            | Self::InvalidRequest(detail) => Some(detail.clone()),
            Self::StorageRejected(status) => Some(format!("storage answered {status} to a signed request")),
            Self::DatabaseUnavailable(e) => Some(chain(e)),
            Self::Scope(ScopeError::Key(KeyError::InvalidSlug)) => Some("a stored slug cannot be a key segment".into()),
            _ => None,
        }
    }
}

/// `e` and its sources, joined with `: `, for the log. A PostgreSQL error is reduced to its
/// SQLSTATE and the names of the objects involved: its message and `DETAIL` can quote row values
/// (`Key (email)=(…) already exists`, the bytes of an invalid string), which must not be logged.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        if let Some(db) = s.downcast_ref::<tokio_postgres::error::DbError>() {
            out.push_str(&db_error(db));
            break;
        }
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// What the log may say about a database error: severity, SQLSTATE, and the table, column and
/// constraint names (schema, not data).
fn db_error(db: &tokio_postgres::error::DbError) -> String {
    let mut out = format!("{} SQLSTATE {}", db.severity(), db.code().code());
    for (what, name) in [
        ("table", db.table()),
        ("column", db.column()),
        ("constraint", db.constraint()),
    ] {
        if let Some(name) = name {
            out.push_str(&format!(" {what} {name:?}"));
        }
    }
    out
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Connect(_) => Self::DatabaseUnavailable(e),
            StoreError::Query(_) | StoreError::Shape(_) => Self::Internal(chain(&e)),
        }
    }
}

impl From<FetchError> for ApiError {
    fn from(e: FetchError) -> Self {
        Self::StorageUnavailable(e.to_string())
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        Self::Scope(ScopeError::Key(e))
    }
}
