//! JSON bodies in and out, with the checks every route shares.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::Value;

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

/// A text field of a request body. Control characters (C0, DEL, C1) are refused while the body is
/// parsed, so none reaches a key, a log line or the database (PostgreSQL refuses NUL in text with
/// an error): every body field that is a name, an id or a type is a `Text`.
#[derive(Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// The text, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.chars().any(char::is_control) {
            return Err(de::Error::custom("text fields must not contain control characters"));
        }
        Ok(Self(s))
    }
}

#[cfg(test)]
impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Free-form caller metadata (a JSON object). Its strings may hold line breaks and tabs, but no
/// NUL anywhere: PostgreSQL's `jsonb` refuses `\u0000`, which would turn a client's mistake into
/// a failed write.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata(pub serde_json::Map<String, Value>);

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        fn has_nul(v: &Value) -> bool {
            match v {
                Value::String(s) => s.contains('\0'),
                Value::Array(items) => items.iter().any(has_nul),
                Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
                _ => false,
            }
        }
        if map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)) {
            return Err(de::Error::custom("metadata must not contain NUL characters"));
        }
        Ok(Self(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        name: Text,
        metadata: Option<Metadata>,
    }

    fn parse_body(body: &str) -> Result<Body, ApiError> {
        let req = Request::builder()
            .header("content-type", "application/json")
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        parse(&req)
    }

    #[test]
    fn control_characters_are_refused_in_text() {
        assert_eq!(&*parse_body(r#"{"name": "a b\u00e9"}"#).unwrap().name, "a bé");
        for bad in [r#""a\u0000""#, r#""a\n""#, r#""\u007f""#, r#""\u0085x""#, r#""\t""#] {
            let e = parse_body(&format!(r#"{{"name": {bad}}}"#)).unwrap_err();
            assert_eq!((e.status(), e.code()), (400, "invalid_field"), "{bad}");
            assert!(e.to_string().contains("control characters"), "{e}");
        }
    }

    #[test]
    fn metadata_refuses_nul_anywhere_but_keeps_line_breaks() {
        let ok = parse_body(r#"{"name": "a", "metadata": {"note": "line 1\nline 2"}}"#).unwrap();
        assert_eq!(ok.metadata.unwrap().0["note"], "line 1\nline 2");
        for bad in [
            r#"{"k": "\u0000"}"#,
            r#"{"\u0000": 1}"#,
            r#"{"k": [1, {"x": "a\u0000"}]}"#,
        ] {
            let e = parse_body(&format!(r#"{{"name": "a", "metadata": {bad}}}"#)).unwrap_err();
            assert_eq!((e.status(), e.code()), (400, "invalid_field"), "{bad}");
        }
    }
}
