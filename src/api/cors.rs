//! CORS: browsers call the API from other origins with an API key header, so every response names
//! the allowed origin and preflights are answered here without touching the database.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE_SECS: u32 = 86_400;

/// The answer to an `OPTIONS` preflight.
pub(super) fn preflight() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, x-api-key, accept"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE_SECS));
    response
}

/// Adds the allow-origin headers when `allowed` (the origin to echo, or `*`) is set.
pub(super) fn decorate(response: &mut Response<Bytes>, allowed: Option<&str>) {
    let h = response.headers_mut();
    // Caches must not serve one origin's answer to another.
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = allowed.and_then(|o| HeaderValue::from_str(o).ok()) else {
        return;
    };
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        // ETag and Location: what upload widgets read from S3-style answers; the request id for
        // reports.
        HeaderValue::from_static("retry-after, etag, location, x-request-id"),
    );
}
