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
//! | `GET /v1/files`, `GET /v1/uploads`  | [`files::list`], [`files::list_uploads`] | `files:read`       |
//! | `DELETE /v1/files?key=`             | [`files::delete`]          | `files:delete`                   |
//!
//! Companion-compatible S3 routes for Uppy's `@uppy/aws-s3` ([`companion`]), under
//! `/v1/companion` (credential in `Authorization`, Uppy 5 `endpoint` + `headers`) and
//! `/v1/companion/t/{upload token}` (Uppy 6 companion mode, which sends no headers):
//!
//! | route (after the prefix)                         | answer                                | permission         |
//! |--------------------------------------------------|---------------------------------------|--------------------|
//! | `GET s3/params?filename=&type=`                  | POST policy (R2: presigned PUT)       | `uploads:create`   |
//! | `POST s3/multipart` `{filename, type}`           | `{key, uploadId, bucket}`             | `uploads:create`   |
//! | `GET s3/multipart/{uploadId}?key=`               | the parts (every `ListParts` page)    | `uploads:create`   |
//! | `GET s3/multipart/{uploadId}/{partNumber}?key=`  | `{url, expires}`                      | `uploads:create`   |
//! | `GET s3/multipart/{uploadId}/batch?key=&partNumbers=` | `{presignedUrls}`                | `uploads:create`   |
//! | `POST s3/multipart/{uploadId}/complete?key=`     | `{location, key, bucket}`, one `File` | `uploads:complete` |
//! | `DELETE s3/multipart/{uploadId}?key=`            | `{}`; the upload is `aborted`         | `uploads:create`   |
//! | `POST s3/presign` `{method, key, uploadId?, partNumber?}` | `{url}` (Uppy 6 `signRequest`) | by request   |
//!
//! The upstream Carcosa SDK's routes, `POST /api/v1/projects/{id}/uploads/init` and `…/confirm`,
//! are served by [`compat`] on the same code; its `GET …/uploads`, `GET …/files` and
//! `DELETE …/files` by [`files`].
//!
//! Statuses are chosen only in [`ApiError::status`]. Work the response does not need is returned as
//! [`Deferred`] items for the caller to run after responding.

mod auth;
mod companion;
pub mod compat;
mod cors;
pub mod downloads;
mod error;
pub mod files;
mod json;
mod limits;
mod multipart;
mod query;
mod signing;
pub mod tokens;
pub mod uploads;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};

pub use error::ApiError;

#[cfg(doc)]
use crate::runtime::Config;
use crate::runtime::{AllowedOrigins, Level, Runtime};
use crate::store::activity::{self, AuditEntry, UsageDelta};
use crate::store::{self, NewUpload, StoreError};
use crate::upload_id::UploadTicket;

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
    /// Record a presigned upload as `initiated`. If this is lost, completing the upload recreates
    /// the row from its id.
    RecordUpload(Box<PendingUpload>),
    /// Add to the project's daily counters (`"UsageDaily"`, what the upstream dashboard charts).
    CountUsage(UsageDelta),
    /// Write an `"AuditLog"` row.
    Audit(Box<AuditEntry>),
}

/// An upload whose URL was handed out, waiting to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// What the upload id promises (row id, project, key, object key, declared size and type…).
    pub ticket: UploadTicket,
    /// The client's file name as given (the object key holds the sanitised one).
    pub filename: String,
    /// Caller metadata.
    pub metadata: Option<serde_json::Value>,
}

impl PendingUpload {
    /// The row to insert.
    #[must_use]
    pub fn row(&self) -> NewUpload<'_> {
        upload_row(&self.ticket, &self.filename, self.metadata.as_ref())
    }
}

/// The `"Upload"` row a ticket describes.
pub(crate) fn upload_row<'a>(
    t: &'a UploadTicket,
    filename: &'a str,
    metadata: Option<&'a serde_json::Value>,
) -> NewUpload<'a> {
    NewUpload {
        id: &t.row_id,
        project_id: &t.project_id,
        path: &t.object_key,
        size: t.size.and_then(|s| i64::try_from(s).ok()),
        content_type: t.content_type.as_deref(),
        filename,
        tenant_id: t.tenant_id.as_deref(),
        api_key_id: &t.key_id,
        bucket_id: &t.bucket_id,
        created_at_ms: t.created_at_ms,
        expires_at_ms: t.expires_at_ms,
        metadata,
        s3_upload_id: t.s3_upload_id.as_deref(),
    }
}

/// A response and the work to do after sending it.
#[derive(Debug)]
pub struct Handled {
    /// The response to send.
    pub response: Response<Bytes>,
    /// Work that must not delay the response.
    pub deferred: Vec<Deferred>,
}

/// The response header carrying [`Runtime::request_id`].
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Handles one request.
pub async fn handle<R: Runtime>(rt: &R, req: Request<Bytes>) -> Handled {
    let mut deferred = Vec::new();
    let response = if req.method() == Method::OPTIONS {
        cors::preflight()
    } else {
        match route(rt, &req, &mut deferred).await {
            Ok(response) => response,
            Err(e) => {
                let e = limits::after_failure(rt, &req, e).await;
                log_error(rt, &e);
                error_body(&e)
            }
        }
    };
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let response = finish(response, &rt.config().allowed_origins, origin, rt.request_id());
    Handled { response, deferred }
}

/// The answer to a request refused before it reached [`handle`] (unreadable, too large) or
/// that could not be served at all (a misconfigured deployment): the same JSON body, CORS and
/// request-id headers as any other error. The caller logs [`ApiError::log_detail`].
#[must_use]
pub fn refuse(e: &ApiError, allowed: &AllowedOrigins, origin: Option<&str>, request_id: &str) -> Response<Bytes> {
    finish(error_body(e), allowed, origin, request_id)
}

/// The id of a request: Cloudflare's `cf-ray` when it is present and plain (so a log line can
/// be matched with Cloudflare's own records), else 16 hex digits of `random`.
#[must_use]
pub fn request_id(headers: &http::HeaderMap, random: [u8; 8]) -> String {
    headers
        .get("cf-ray")
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map_or_else(|| hex::encode(random), str::to_owned)
}

/// The path and query of a serialised URL (the platform's `request.url`), without a URL parser
/// and its IDNA tables in the bundle: a serialised `http(s)` URL always has a path starting at the
/// first `/` after the host, no raw `?` before its query and no raw `#` before its fragment.
#[must_use]
pub fn path_and_query(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let from_path = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let without_fragment = from_path.split_once('#').map_or(from_path, |(before, _)| before);
    if without_fragment.is_empty() {
        "/"
    } else {
        without_fragment
    }
}

/// Adds the headers every response carries: CORS and the request id.
fn finish(
    mut response: Response<Bytes>,
    allowed: &AllowedOrigins,
    origin: Option<&str>,
    request_id: &str,
) -> Response<Bytes> {
    cors::decorate(&mut response, allowed.allow(origin));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, id);
    }
    response
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
            Method::GET => files::list_uploads(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("GET, POST")),
        },
        ["v1", "files"] => match *method {
            Method::GET => files::list(rt, req, deferred).await,
            Method::DELETE => files::delete(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("GET, DELETE")),
        },
        ["api", "v1", "projects", project, "uploads"] => match *method {
            Method::GET => files::sdk_list_uploads(rt, req, project, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("GET")),
        },
        ["api", "v1", "projects", project, "files"] => match *method {
            Method::GET => files::sdk_list(rt, req, project, deferred).await,
            Method::DELETE => files::sdk_delete(rt, req, project, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("GET, DELETE")),
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
        ["v1", "companion", "s3", rest @ ..] => companion::route(rt, req, None, rest, deferred).await,
        ["v1", "companion", "t", token, "s3", rest @ ..] => {
            companion::route(rt, req, Some(token), rest, deferred).await
        }
        ["v1", "downloads"] => match *method {
            Method::POST => downloads::presign(rt, req, deferred).await,
            _ => Err(ApiError::MethodNotAllowed("POST")),
        },
        _ => Err(ApiError::NotFound),
    }
}

/// Runs work returned in [`Handled::deferred`], after the response: [`queue_deferred`], then
/// [`write_deferred`] when this request is the one to write the queue.
pub async fn run_deferred<R: Runtime>(rt: &R, deferred: Vec<Deferred>) {
    if queue_deferred(rt, deferred) {
        write_deferred(rt).await;
    }
}

/// Adds work returned in [`Handled::deferred`] to the isolate's queue, where it is written in
/// batches across the isolate's requests. Returns whether this request must write the queue
/// ([`write_deferred`]): true when it holds something and no other request is writing it (that
/// one takes what is added meanwhile). Only the writer then needs the platform to keep working
/// after its response (`wait_until`, which costs every request that asks for it).
pub fn queue_deferred<R: Runtime>(rt: &R, deferred: Vec<Deferred>) -> bool {
    let isolate = rt.isolate();
    let mut pending = isolate.pending.borrow_mut();
    pending.extend(deferred);
    !pending.is_empty() && !isolate.flushing.get()
}

/// Writes the isolate's queue, unless another request already is: waits
/// [`Config::write_batch_delay_ms`] for company before each batch, one statement per kind of
/// write for each, until the queue is empty or the writer has worked for
/// [`Config::writer_lifetime_ms`]. Waiting before every batch, not just the first, keeps a busy
/// isolate at one batch a second; writing at once whatever arrived during the last batch chased
/// the queue a few rows at a time, hundreds of round trips a second (BENCHMARKS.md, "The
/// deferred writer's batches"). Failures are logged: the client has its answer, and a lost
/// upload row is recreated from its id on completion.
pub async fn write_deferred<R: Runtime>(rt: &R) {
    let isolate = rt.isolate();
    let mut writing = Flushing::start(&isolate.flushing);
    if writing.is_none() {
        return;
    }
    let started = rt.now_ms();
    let delay = rt.config().write_batch_delay_ms;
    let lifetime = i64::from(rt.config().writer_lifetime_ms);
    loop {
        // Let the requests arriving meanwhile join this batch (the wait is a timer, not CPU).
        if delay > 0 && !isolate.pending.borrow().is_empty() {
            rt.sleep(delay).await;
        }
        let batch = std::mem::take(&mut *isolate.pending.borrow_mut());
        if batch.is_empty() {
            // The queue is empty as the writer stops (same turn): nothing is left without one.
            break;
        }
        let last = rt.now_ms() - started >= lifetime;
        if last {
            // Hand over before the last batch: a request queueing work from now on finds no
            // writer and becomes the next one, so nothing waits for a request that never comes.
            drop(writing.take());
        }
        write_batch(rt, batch).await;
        if last {
            break;
        }
    }
}

/// Marks the isolate's queue as being written, until dropped, so that a writer cancelled midway
/// (the runtime may stop `wait_until` work) leaves the queue to the next request.
struct Flushing<'a>(&'a std::cell::Cell<bool>);

impl<'a> Flushing<'a> {
    fn start(flag: &'a std::cell::Cell<bool>) -> Option<Self> {
        (!flag.replace(true)).then_some(Self(flag))
    }
}

impl Drop for Flushing<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

async fn write_batch<R: Runtime>(rt: &R, batch: Vec<Deferred>) {
    let mut uploads = Vec::new();
    let mut touched = Vec::new();
    let mut usage = Vec::new();
    let mut audit = Vec::new();
    for item in batch {
        match item {
            Deferred::RecordUpload(up) => uploads.push(up),
            Deferred::TouchApiKey { key_id } => touched.push(key_id),
            Deferred::CountUsage(delta) => usage.push(delta),
            Deferred::Audit(entry) => audit.push(*entry),
        }
    }
    let db = match rt.db().await {
        Ok(db) => db,
        Err(e) => {
            let lost = uploads.len();
            rt.log(
                Level::Error,
                &format!(
                    "deferred writes dropped ({lost} upload rows, recreated on completion): {}",
                    error::chain(&e)
                ),
            );
            return;
        }
    };
    if !uploads.is_empty() {
        let rows: Vec<NewUpload<'_>> = uploads.iter().map(|u| u.row()).collect();
        if let Err(e) = store::insert_uploads(db, &rows).await {
            // One bad row (say, its tenant was deleted meanwhile) must not drop the others.
            if rows.len() > 1 && matches!(e, StoreError::Query(_)) {
                for row in &rows {
                    if let Err(e) = store::insert_uploads(db, std::slice::from_ref(row)).await {
                        log_failed(rt, "recording an upload", &e);
                    }
                }
            } else {
                log_failed(rt, "recording uploads", &e);
            }
        }
    }
    if let Err(e) = store::touch_api_keys(db, &touched, rt.now_ms()).await {
        log_failed(rt, "recording key use", &e);
    }
    if let Err(e) = activity::add_usage(db, &usage).await {
        log_failed(rt, "counting usage", &e);
    }
    if let Err(e) = activity::insert_audit(db, &audit).await {
        log_failed(rt, "writing the audit log", &e);
    }
}

fn log_failed<R: Runtime>(rt: &R, what: &str, e: &StoreError) {
    rt.log(
        Level::Error,
        &format!("deferred work failed ({what}): {}", error::chain(e)),
    );
}

fn log_error<R: Runtime>(rt: &R, e: &ApiError) {
    if let Some(detail) = e.log_detail() {
        rt.log(Level::Error, &format!("{} ({}): {detail}", e.code(), e.status()));
    }
}

/// The JSON body and headers of an error; its status is [`ApiError::status`].
fn error_body(e: &ApiError) -> Response<Bytes> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json::ok(
        status,
        &serde_json::json!({ "error": e.code(), "message": e.to_string() }),
    );
    let headers = response.headers_mut();
    if let Some(secs) = e.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let ApiError::RateLimited { reason, .. } = e {
        if let Some(limit) = limits::advertised(*reason) {
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_query_of_serialised_urls() {
        for (url, want) in [
            ("https://edge.example.com/v1/uploads", "/v1/uploads"),
            (
                "http://127.0.0.1:8787/v1/files?key=a%2Fb&limit=2",
                "/v1/files?key=a%2Fb&limit=2",
            ),
            ("https://edge.example.com/v1/files?key=a#frag", "/v1/files?key=a"),
            ("https://edge.example.com/v1/health#top", "/v1/health"),
            ("https://edge.example.com/", "/"),
            ("https://edge.example.com", "/"),
            ("https://user:pw@edge.example.com:8443/a/%3F/b?q=/x", "/a/%3F/b?q=/x"),
        ] {
            assert_eq!(path_and_query(url), want, "{url}");
        }
    }

    #[test]
    fn request_ids_prefer_a_plain_cf_ray() {
        let mut h = http::HeaderMap::new();
        assert_eq!(request_id(&h, [0xab; 8]), "abababababababab");
        h.insert("cf-ray", HeaderValue::from_static("8f1c2d3e4a5b6c7d-FRA"));
        assert_eq!(request_id(&h, [0; 8]), "8f1c2d3e4a5b6c7d-FRA");
        for forged in ["a b", "x\"}", "", &"a".repeat(65)] {
            h.insert("cf-ray", HeaderValue::from_str(forged).unwrap());
            assert_eq!(request_id(&h, [1; 8]), "0101010101010101", "{forged:?}");
        }
    }

    #[test]
    fn refusals_carry_cors_and_the_request_id() {
        let allowed = AllowedOrigins::List(vec!["https://app.example".into()]);
        let r = refuse(
            &ApiError::Misconfigured("no key".into()),
            &allowed,
            Some("https://app.example"),
            "rid-1",
        );
        assert_eq!(r.status(), 500);
        assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example");
        assert_eq!(r.headers()[REQUEST_ID_HEADER], "rid-1");
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "misconfigured");
        assert!(!body.to_string().contains("no key"), "the detail is for the log only");
        let r = refuse(
            &ApiError::BodyTooLarge(MAX_BODY_BYTES),
            &allowed,
            Some("https://evil.example"),
            "rid-2",
        );
        assert_eq!(r.status(), 413);
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
}
