//! Upload tokens: short-lived HS256 JWTs minted from an API key, so a browser can upload without
//! ever holding the key.
//!
//! A token names the key it was minted from (`kid`), that key's project (`pid`), the permissions
//! it carries (`scopes`, a subset of the key's) and optionally the tenant it is bound to (`tnt`).
//! `exp` is required. Verification pins the algorithm (jwt-compact never reads `alg` to choose
//! one), and the key is looked up on every request, so revoking the key revokes its tokens.
//! Time is passed in; nothing here reads a clock.

use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken, ValidationError};
use serde::{Deserialize, Serialize};

/// Shortest secret accepted, in bytes: HS256 keys shorter than the hash are weak.
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest lifetime a token may be minted with: one hour.
pub const MAX_TTL_SECS: u32 = 3600;

/// Clock skew tolerated between the edge locations that mint and verify, in seconds.
const LEEWAY_SECS: i64 = 5;

/// Why a token could not be minted or was refused. Messages never include the token or secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("the upload-token secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
    /// The lifetime is outside 1..=[`MAX_TTL_SECS`].
    #[error("an upload token lives 1 to {MAX_TTL_SECS} seconds")]
    InvalidTtl,
    /// The time is out of range.
    #[error("the time is out of range")]
    InvalidTime,
    /// Not a JWT, another algorithm, a bad signature, or claims of another shape.
    #[error("the upload token is invalid")]
    Invalid,
    /// The token's `exp` has passed.
    #[error("the upload token has expired")]
    Expired,
}

/// The HS256 secret (`UPLOAD_TOKEN_SECRET`). `Debug` redacts it.
pub struct TokenSecret(Hs256Key);

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

impl TokenSecret {
    /// Takes the secret's bytes as configured (the UTF-8 of the variable's value).
    ///
    /// # Errors
    /// [`TokenError::WeakSecret`] when shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakSecret);
        }
        Ok(Self(Hs256Key::new(secret)))
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadClaims {
    /// The project.
    pub pid: String,
    /// The API key it was minted from.
    pub kid: String,
    /// Permission grants, a subset of the key's.
    pub scopes: Vec<String>,
    /// The tenant slug it is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tnt: Option<String>,
}

fn time(ms: i64) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp_millis(ms).ok_or(TokenError::InvalidTime)
}

fn options(now: DateTime<Utc>) -> TimeOptions<impl Fn() -> DateTime<Utc>> {
    TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now)
}

/// Mints a token valid for `ttl_secs` from `now_ms`.
///
/// # Errors
/// [`TokenError::InvalidTtl`] or [`TokenError::InvalidTime`].
pub fn mint(secret: &TokenSecret, claims: UploadClaims, now_ms: i64, ttl_secs: u32) -> Result<String, TokenError> {
    if !(1..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(TokenError::InvalidTtl);
    }
    let claims =
        Claims::new(claims).set_duration_and_issuance(&options(time(now_ms)?), Duration::seconds(ttl_secs.into()));
    // Creation fails only when the claims cannot be serialised, which these always can.
    Hs256
        .token(&Header::empty().with_token_type("JWT"), &claims, &secret.0)
        .map_err(|_| TokenError::Invalid)
}

/// Verifies a token's algorithm, signature and expiry at `now_ms` and returns its claims.
///
/// # Errors
/// [`TokenError::Expired`] past `exp` (plus a few seconds' leeway); [`TokenError::Invalid`]
/// for anything else wrong, deliberately without saying what.
pub fn verify(secret: &TokenSecret, token: &str, now_ms: i64) -> Result<UploadClaims, TokenError> {
    let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Invalid)?;
    let token = Hs256
        .validator::<UploadClaims>(&secret.0)
        .validate(&untrusted)
        .map_err(|_| TokenError::Invalid)?;
    match token.claims().validate_expiration(&options(time(now_ms)?)) {
        Ok(claims) => Ok(claims.custom.clone()),
        Err(ValidationError::Expired) => Err(TokenError::Expired),
        Err(_) => Err(TokenError::Invalid),
    }
}

/// Whether a bearer credential looks like a JWT rather than an API key.
#[must_use]
pub fn looks_like_token(s: &str) -> bool {
    s.split('.').count() == 3 && !s.starts_with("carc_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    const NOW: i64 = 1_764_080_280_000;

    fn secret() -> TokenSecret {
        TokenSecret::new(b"an-upload-token-secret-of-32-bytes-or-more").unwrap()
    }

    fn claims() -> UploadClaims {
        UploadClaims {
            pid: "p1".into(),
            kid: "k1".into(),
            scopes: vec!["uploads:create".into()],
            tnt: Some("blue".into()),
        }
    }

    #[test]
    fn round_trip_until_expiry() {
        let token = mint(&secret(), claims(), NOW, 60).unwrap();
        assert!(looks_like_token(&token));
        assert_eq!(verify(&secret(), &token, NOW).unwrap(), claims());
        assert_eq!(
            verify(&secret(), &token, NOW + 60_000 + 5_000).unwrap(),
            claims(),
            "leeway"
        );
        assert_eq!(verify(&secret(), &token, NOW + 66_000), Err(TokenError::Expired));
    }

    #[test]
    fn tampering_other_secrets_and_algorithms_are_refused() {
        let token = mint(&secret(), claims(), NOW, 60).unwrap();
        let other = TokenSecret::new(b"another-secret-another-secret-another").unwrap();
        assert_eq!(verify(&other, &token, NOW), Err(TokenError::Invalid));

        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = b64.encode(br#"{"pid":"p2","kid":"k1","scopes":["*"],"exp":9999999999}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(verify(&secret(), &forged, NOW), Err(TokenError::Invalid));

        let none_header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            verify(&secret(), &format!("{none_header}.{}.", parts[1]), NOW),
            Err(TokenError::Invalid)
        );
        for junk in ["", "a.b.c", "carc_x", &token[..token.len() - 2]] {
            assert_eq!(verify(&secret(), junk, NOW), Err(TokenError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn exp_is_required() {
        let claims = Claims::new(claims());
        let token = Hs256.token(&Header::empty(), &claims, &secret().0).unwrap();
        assert_eq!(verify(&secret(), &token, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn secrets_and_lifetimes_are_bounded() {
        assert_eq!(TokenSecret::new(b"short").unwrap_err(), TokenError::WeakSecret);
        assert_eq!(mint(&secret(), claims(), NOW, 0), Err(TokenError::InvalidTtl));
        assert_eq!(
            mint(&secret(), claims(), NOW, MAX_TTL_SECS + 1),
            Err(TokenError::InvalidTtl)
        );
        assert_eq!(format!("{:?}", secret()), "TokenSecret(<redacted>)");
    }
}
