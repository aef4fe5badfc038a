//! Where a request is authenticated: the credential is taken from the headers and checked before
//! any database work. An API key is checked for shape and hashed; an upload token is verified
//! (algorithm, signature, expiry). Either way the key itself is then looked up by `store`, so a
//! revoked key stops its tokens too.

use std::rc::Rc;

use bytes::Bytes;
use http::{header, Request};

use super::error::Throttle;
use super::json::Text;
use super::{ApiError, Deferred};
use crate::apikey::{ApiKey, KeyHash};
use crate::permission::{Permission, PermissionSet};
use crate::runtime::{Level, Runtime};
use crate::scope::{self, Authorized, Operation, ScopeRow};
use crate::scope_cache::Cached;
use crate::store::{self, KeyRef};
use crate::upload_token::{self, TokenError, VerifiedToken};

/// Who is calling.
#[derive(Debug)]
pub(super) enum Caller {
    /// A project API key, by hash, presented by a client at an address (`cf-connecting-ip`),
    /// when known.
    Key {
        /// The key's SHA-256.
        hash: KeyHash,
        /// The client's address.
        client: Option<String>,
    },
    /// An upload token minted from a key.
    Token(VerifiedToken),
}

impl Caller {
    /// How `store` finds the caller's key.
    pub(super) fn key_ref(&self) -> KeyRef<'_> {
        match self {
            Self::Key { hash, .. } => KeyRef::Hash(hash.as_str()),
            Self::Token(t) => KeyRef::Id {
                key_id: &t.claims.kid,
                project_id: &t.claims.pid,
            },
        }
    }

    /// The tenant the request acts for: a token bound to a tenant acts only for it.
    pub(super) fn tenant<'a>(&'a self, requested: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
        let requested = requested.map(str::trim).filter(|t| !t.is_empty());
        match (self.bound_tenant(), requested) {
            (Some(bound), Some(t)) if t != bound => Err(ApiError::bad_request(
                "tenant_mismatch",
                "this upload token is bound to another tenant",
            )),
            (Some(bound), _) => Ok(Some(bound)),
            (None, _) => Ok(requested),
        }
    }

    /// The tenant a token is bound to, if any.
    pub(super) fn bound_tenant(&self) -> Option<&str> {
        match self {
            Self::Token(t) => t.claims.tnt.as_deref(),
            Self::Key { .. } => None,
        }
    }

    /// When the credential stops working, if it is a token: URLs signed for it end by then.
    pub(super) fn expires_at_ms(&self) -> Option<i64> {
        match self {
            Self::Token(t) => Some(t.expires_at_ms),
            Self::Key { .. } => None,
        }
    }

    /// A token carries only some of its key's permissions; the key's own are checked in `scope`.
    pub(super) fn check(&self, op: Operation) -> Result<(), ApiError> {
        let Self::Token(token) = self else { return Ok(()) };
        let scopes = PermissionSet::from_json(&serde_json::json!(token.claims.scopes));
        if scopes.allows_any(op.permissions()) {
            Ok(())
        } else {
            Err(scope::ScopeError::PermissionDenied(op.permissions()[0].as_str()).into())
        }
    }
}

/// The caller's scope for `op` (naming `tenant`), decided by [`scope::authorize`], with the time
/// it was decided at. The key's `lastUsedAt` is touched after the response.
pub(super) async fn authorize<R: Runtime>(
    rt: &R,
    caller: &Caller,
    op: Operation,
    tenant: Option<&str>,
    deferred: &mut Vec<Deferred>,
) -> Result<(Authorized, i64), ApiError> {
    let row = resolve(rt, caller, tenant).await?;
    let now_ms = rt.now_ms();
    let scope = scope::authorize(&row, op, tenant, now_ms)?;
    touch(rt, &scope.key_id, now_ms, deferred);
    Ok((scope, now_ms))
}

/// What the caller's key resolves to, naming `tenant`: from the isolate's cache while fresh (no
/// database round trip), otherwise with one statement, whose answer (a scope, or "no such live
/// key") the cache then keeps for the configured TTL.
///
/// # Errors
/// [`ApiError::InvalidCredentials`] for an unknown or revoked key; database errors.
pub(super) async fn resolve<R: Runtime>(
    rt: &R,
    caller: &Caller,
    tenant: Option<&str>,
) -> Result<Rc<ScopeRow>, ApiError> {
    let key = caller.key_ref();
    let isolate = rt.isolate();
    let now_ms = rt.now_ms();
    let cached = isolate.scopes.borrow_mut().get(key, tenant, now_ms);
    let answer = match cached {
        Some(answer) => answer,
        None => {
            // Only API keys can be made up; tokens are signed, so their lookups need no budget.
            let client = match caller {
                Caller::Key { client, .. } => Some(client.as_deref().unwrap_or("unknown")),
                Caller::Token(_) => None,
            };
            if let Some(wait) = client.and_then(|c| isolate.unknown_keys.borrow().exhausted(c, now_ms)) {
                return Err(ApiError::RateLimited {
                    reason: Throttle::UnknownKeys,
                    retry_after_secs: wait,
                });
            }
            let row = store::resolve_scope(rt.db().await?, key, tenant).await?;
            if let Some(row) = row.as_ref().filter(|r| r.permissions.is_malformed()) {
                // The id names the row to fix; the stored value itself stays out of the log.
                rt.log(
                    Level::Warn,
                    &format!(
                        "API key {} has permissions that are not a JSON array; it grants nothing",
                        row.key_id
                    ),
                );
            }
            // The answer's age counts from when it was fetched, not from the request's start.
            let fetched_ms = rt.now_ms();
            if let (None, Some(client)) = (&row, client) {
                isolate.unknown_keys.borrow_mut().record(client, fetched_ms);
            }
            isolate.scopes.borrow_mut().put(key, tenant, row, fetched_ms)
        }
    };
    match answer {
        Cached::Known(row) => Ok(row),
        Cached::Unknown => Err(ApiError::InvalidCredentials),
    }
}

/// Records the key's use after the response, unless this isolate did so within the last minute.
pub(super) fn touch<R: Runtime>(rt: &R, key_id: &str, now_ms: i64, deferred: &mut Vec<Deferred>) {
    if rt.isolate().key_touches.borrow_mut().due(key_id, now_ms) {
        deferred.push(Deferred::TouchApiKey {
            key_id: key_id.to_owned(),
        });
    }
}

/// The caller, from `Authorization: Bearer …` (an API key or an upload token) or `X-API-Key`.
///
/// Malformed keys get the same answer as unknown ones, so probing learns nothing.
pub(super) fn caller<R: Runtime>(rt: &R, req: &Request<Bytes>) -> Result<Caller, ApiError> {
    let raw = credential(req)?;
    if upload_token::looks_like_token(raw) {
        let secret = rt.config().upload_tokens.as_ref().ok_or(ApiError::InvalidCredentials)?;
        return match upload_token::verify(secret, raw, rt.now_ms()) {
            Ok(token) => Ok(Caller::Token(token)),
            Err(TokenError::Expired) => Err(ApiError::ExpiredToken),
            Err(_) => Err(ApiError::InvalidCredentials),
        };
    }
    let key = ApiKey::parse(raw).map_err(|_| ApiError::InvalidCredentials)?;
    let client = req
        .headers()
        .get("cf-connecting-ip")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Caller::Key {
        hash: key.hash(),
        client,
    })
}

/// The raw credential from the headers; `Authorization` wins over `X-API-Key`.
fn credential(req: &Request<Bytes>) -> Result<&str, ApiError> {
    let header = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().map_err(|_| ApiError::InvalidCredentials))
    };
    match (
        header(header::AUTHORIZATION),
        header(header::HeaderName::from_static("x-api-key")),
    ) {
        (Some(auth), _) => bearer(auth?),
        (None, Some(key)) => Ok(key?.trim()),
        (None, None) => Err(ApiError::MissingCredentials),
    }
}

fn bearer(value: &str) -> Result<&str, ApiError> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::InvalidCredentials)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(token.trim())
}

/// The grants a new token may carry: those asked for (each must be a permission the key holds),
/// or by default the key's upload permissions only. Reading files is never implied: a token in a
/// browser that could download anything in the project would expose every object, not just the
/// one being uploaded.
pub(super) fn token_scopes(key: &PermissionSet, requested: Option<&[Text]>) -> Result<Vec<String>, ApiError> {
    const DEFAULT: [Permission; 2] = [Permission::UploadsCreate, Permission::UploadsComplete];
    let scopes: Vec<String> = match requested {
        Some(list) => {
            for grant in list {
                let permission: Permission = grant.parse().map_err(|_| {
                    ApiError::bad_request("invalid_field", format!("unknown permission {grant:?} in permissions"))
                })?;
                if !key.allows(permission) {
                    return Err(scope::ScopeError::PermissionDenied(permission.as_str()).into());
                }
            }
            list.iter().map(|grant| (**grant).to_owned()).collect()
        }
        None => DEFAULT
            .iter()
            .filter(|p| key.allows(**p))
            .map(|p| p.as_str().to_owned())
            .collect(),
    };
    if scopes.is_empty() {
        return Err(scope::ScopeError::PermissionDenied(Permission::UploadsCreate.as_str()).into());
    }
    Ok(scopes)
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

    /// What `caller` does for API keys (tokens need the runtime's secret and clock).
    fn hash_of(r: &Request<Bytes>) -> Result<String, &'static str> {
        let raw = credential(r).map_err(|e| e.code())?;
        ApiKey::parse(raw)
            .map(|k| k.hash().as_str().to_owned())
            .map_err(|_| "invalid_api_key")
    }

    #[test]
    fn keys_come_from_either_header() {
        let want = ApiKey::parse(KEY).unwrap().hash().as_str().to_owned();
        assert_eq!(
            hash_of(&req(&[("authorization", &format!("Bearer {KEY}"))])),
            Ok(want.clone())
        );
        assert_eq!(
            hash_of(&req(&[("authorization", &format!("bearer  {KEY} "))])),
            Ok(want.clone())
        );
        assert_eq!(hash_of(&req(&[("x-api-key", KEY)])), Ok(want));
    }

    #[test]
    fn missing_and_malformed_keys_are_401s() {
        assert_eq!(hash_of(&req(&[])), Err("missing_api_key"));
        assert_eq!(hash_of(&req(&[("authorization", KEY)])), Err("invalid_api_key"));
        assert_eq!(
            hash_of(&req(&[("authorization", &format!("Basic {KEY}"))])),
            Err("invalid_api_key")
        );
        assert_eq!(hash_of(&req(&[("x-api-key", "carc_short")])), Err("invalid_api_key"));
        assert_eq!(hash_of(&req(&[("x-api-key", "sk_live_123")])), Err("invalid_api_key"));
    }

    #[test]
    fn debug_never_shows_key_hashes() {
        let hash = ApiKey::parse(KEY).unwrap().hash();
        let caller = Caller::Key {
            hash: hash.clone(),
            client: Some("192.0.2.1".into()),
        };
        for shown in [
            format!("{hash:?}"),
            format!("{caller:?}"),
            format!("{:?}", caller.key_ref()),
        ] {
            assert!(!shown.contains(hash.as_str()), "{shown}");
            assert!(!shown.contains(&hash.as_str()[..8]), "{shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
    }

    #[test]
    fn token_scopes_are_a_subset_of_the_key() {
        let key = PermissionSet::from_json(&serde_json::json!(["uploads:create", "files:read"]));
        assert_eq!(token_scopes(&key, None).unwrap(), ["uploads:create"]);
        let all = PermissionSet::from_json(&serde_json::json!(["*"]));
        assert_eq!(
            token_scopes(&all, None).unwrap(),
            ["uploads:create", "uploads:complete"],
            "files:read only when asked"
        );
        assert_eq!(
            token_scopes(&key, Some(&["files:read".into()])).unwrap(),
            ["files:read"]
        );
        assert_eq!(
            token_scopes(&key, Some(&["uploads:complete".into()]))
                .unwrap_err()
                .code(),
            "permission_denied"
        );
        assert_eq!(
            token_scopes(&key, Some(&["nope".into()])).unwrap_err().code(),
            "invalid_field"
        );
        let reader = PermissionSet::from_json(&serde_json::json!(["projects:read"]));
        assert_eq!(token_scopes(&reader, None).unwrap_err().code(), "permission_denied");
    }
}
