//! Where a request is authenticated: the API key is taken from the headers, checked for shape,
//! and hashed; the hash is what the database is asked about.

use bytes::Bytes;
use http::{header, Request};

use super::ApiError;
use crate::apikey::{ApiKey, KeyHash};

/// The SHA-256 hash of the request's API key, from `Authorization: Bearer …` or `X-API-Key`.
///
/// Malformed keys are refused here, before any database work, with the same answer as unknown
/// ones so that probing learns nothing.
pub(super) fn key_hash(req: &Request<Bytes>) -> Result<KeyHash, ApiError> {
    let header = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().map_err(|_| ApiError::InvalidCredentials))
    };
    let raw = match (
        header(header::AUTHORIZATION),
        header(header::HeaderName::from_static("x-api-key")),
    ) {
        (Some(auth), _) => bearer(auth?)?,
        (None, Some(key)) => key?.trim(),
        (None, None) => return Err(ApiError::MissingCredentials),
    };
    let key = ApiKey::parse(raw).map_err(|_| ApiError::InvalidCredentials)?;
    Ok(key.hash())
}

fn bearer(value: &str) -> Result<&str, ApiError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::InvalidCredentials)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "carc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn req(headers: &[(&str, &str)]) -> Request<Bytes> {
        let mut b = Request::builder();
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(Bytes::new()).unwrap()
    }

    fn code(r: Result<KeyHash, ApiError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn keys_come_from_either_header() {
        let want = ApiKey::parse(KEY).unwrap().hash();
        assert_eq!(
            key_hash(&req(&[("authorization", &format!("Bearer {KEY}"))]))
                .unwrap()
                .as_str(),
            want.as_str()
        );
        assert_eq!(
            key_hash(&req(&[("authorization", &format!("bearer  {KEY} "))]))
                .unwrap()
                .as_str(),
            want.as_str()
        );
        assert_eq!(key_hash(&req(&[("x-api-key", KEY)])).unwrap().as_str(), want.as_str());
    }

    #[test]
    fn missing_and_malformed_keys_are_401s() {
        assert_eq!(code(key_hash(&req(&[]))), "missing_api_key");
        assert_eq!(code(key_hash(&req(&[("authorization", KEY)]))), "invalid_api_key");
        assert_eq!(
            code(key_hash(&req(&[("authorization", &format!("Basic {KEY}"))]))),
            "invalid_api_key"
        );
        assert_eq!(code(key_hash(&req(&[("x-api-key", "carc_short")]))), "invalid_api_key");
        assert_eq!(code(key_hash(&req(&[("x-api-key", "sk_live_123")]))), "invalid_api_key");
    }
}
