//! The HTTP API: routing, request parsing and handlers, written once against `http` types and the
//! [`Runtime`] trait, so the Worker and native tests run the same code.
//!
//! | route                               | handler                    | permission                       |
//! |-------------------------------------|----------------------------|----------------------------------|
//! | `GET /v1/health`                    | liveness                   | none                             |
//! | `POST /v1/uploads`                  | [`uploads::presign`]       | `uploads:create` or `uploads:init` |
//! | `POST /v1/uploads/{id}/complete`    | [`uploads::complete`]      | `uploads:complete`               |
//! | `POST /v1/downloads`                | [`downloads::presign`]     | `files:read`                     |
//! | `POST /v1/tokens`                   | [`tokens::mint`]           | an API key (not a token)         |
//!
//! The upstream Carcosa SDK's routes, `POST /api/v1/projects/{id}/uploads/init` and `…/confirm`,
//! are served by [`compat`] on the same code.
//!
//! Statuses are chosen only in [`ApiError::status`]. Work the response does not need is returned as
//! [`Deferred`] items for the caller to run after responding.

mod auth;
pub mod compat;
mod cors;
pub mod downloads;
mod error;
mod json;
mod signing;
pub mod tokens;
pub mod uploads;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};

pub use error::ApiError;

use crate::runtime::{Level, Runtime};

/// Largest JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Work to do after the response has been sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deferred {
    /// Record that a key was used (`"ApiKey"."lastUsedAt"`, throttled in SQL).
    TouchApiKey {
        /// The key's row id.
        key_id: String,
    },
}

/// A response and the work to do after sending it.
#[derive(Debug)]
pub struct Handled {
    /// The response to send.
    pub response: Response<Bytes>,
    /// Work that must not delay the response.
    pub deferred: Vec<Deferred>,
}

/// Handles one request.
pub async fn handle<R: Runtime>(rt: &R, req: Request<Bytes>) -> Handled {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut deferred = Vec::new();
    let mut response = if req.method() == Method::OPTIONS {
        cors::preflight()
    } else {
        match route(rt, &req, &mut deferred).await {
            Ok(response) => response,
            Err(e) => error_response(rt, &e),
        }
    };
    cors::decorate(&mut response, rt.config().allowed_origins.allow(origin.as_deref()));
    Handled { response, deferred }
}

async fn route<R: Runtime>(
    rt: &R,
    req: &Request<Bytes>,
    deferred: &mut Vec<Deferred>,
) -> Result<Response<Bytes>, ApiError> {
    let path = req.uri().path();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = req.method();
    match segments.as_slice() {
        ["v1", "health"] => match *method {
            Method::GET | Method::HEAD => Ok(json::ok(
                StatusCode::OK,
                &serde_json::json!({ "status": "ok", "service": "carcosa-edge", "version": env!("CARGO_PKG_VERSION") }),
            )),
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        ["v1", "uploads"] => match *method {
            Method::POST => uploads::presign(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        ["v1", "uploads", id, "complete"] => match *method {
            Method::POST => uploads::complete(rt, req, id, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        ["v1", "tokens"] => match *method {
            Method::POST => tokens::mint(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        ["api", "v1", "projects", project, "uploads", action @ ("init" | "confirm")] => match *method {
            Method::POST if *action == "init" => compat::init(rt, req, project, deferred).await,
            Method::POST => compat::confirm(rt, req, project, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        ["v1", "downloads"] => match *method {
            Method::POST => downloads::presign(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        _ => Err(ApiError::NotFound),
    }
}

/// Runs work returned in [`Handled::deferred`]. Failures are logged: the client has its answer.
pub async fn run_deferred<R: Runtime>(rt: &R, deferred: Vec<Deferred>) {
    for item in deferred {
        let result = match &item {
            Deferred::TouchApiKey { key_id } => match rt.db().await {
                Ok(db) => crate::store::touch_api_key(db, key_id, rt.now_ms()).await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = result {
            rt.log(Level::Error, &format!("deferred work failed: {}", error::chain(&e)));
        }
    }
}

fn error_response<R: Runtime>(rt: &R, e: &ApiError) -> Response<Bytes> {
    if let Some(detail) = e.log_detail() {
        rt.log(Level::Error, &format!("{} ({}): {detail}", e.code(), e.status()));
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json::ok(
        status,
        &serde_json::json!({ "error": e.code(), "message": e.to_string() }),
    );
    let headers = response.headers_mut();
    if let Some(secs) = e.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let ApiError::MethodNotAllowed(allow) = e {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if matches!(
        e,
        ApiError::MissingCredentials | ApiError::InvalidCredentials | ApiError::ExpiredToken
    ) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
