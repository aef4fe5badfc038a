//! JSON bodies in and out, with the checks every route shares.

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::{ApiError, MAX_BODY_BYTES};

/// Parses a JSON body into `T`, refusing other media types, bodies over [`MAX_BODY_BYTES`], and
/// JSON that does not fit `T` (with serde's description of where, which names fields, not values).
pub(super) fn parse<T: DeserializeOwned>(req: &Request<Bytes>) -> Result<T, ApiError> {
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    // `curl -d` labels JSON as form-urlencoded and some SDKs send none or text/plain; the body
    // must still parse as JSON, so accepting those labels costs nothing.
    match media_type.as_deref() {
        None | Some("application/json" | "text/plain" | "application/x-www-form-urlencoded") => {}
        Some(_) => return Err(ApiError::UnsupportedMediaType),
    }
    let body = req.body();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge(MAX_BODY_BYTES));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() { "invalid_field" } else { "invalid_json" };
        ApiError::bad_request(code, format!("invalid request body: {e}"))
    })
}

/// A JSON response.
pub(super) fn ok(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
