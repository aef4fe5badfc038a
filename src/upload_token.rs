//! Upload tokens: short-lived HS256 JWTs minted from an API key, so a browser can upload without
//! ever holding the key.
//!
//! A token names the key it was minted from (`kid`), that key's project (`pid`), the permissions
//! it carries (`scopes`, a subset of the key's), the tenant it is bound to (`tnt`, required for
//! multi-tenant projects) and its own id (`jti`, for audit). `exp`, `iss` ([`ISSUER`]) and `aud`
//! ([`AUDIENCE`]) are required, so a JWT signed with the same secret for another purpose is not
//! an upload token. Verification pins the algorithm (the header's `alg` must be `HS256`; it is
//! never used to choose one), and the key is looked up on every request, so revoking the key
//! revokes its tokens. Time is passed in; nothing here reads a clock.
//!
//! The JWT is built here (RFC 7519, compact JSON serialisation, base64url without padding) on the
//! same `hmac`/`sha2` as SigV4 and PostgreSQL's SCRAM, so the Worker carries one copy of them.
//! Written by hand because `jwt-compact` 0.8 brings its own older `hmac`/`sha2` plus `chrono` into
//! the wasm bundle (a second crypto stack against Cloudflare's size limit); HS256 compact JWTs
//! are small enough to own.
//! Tokens are byte-compatible with the `jwt-compact` crate's HS256 tokens (a test checks both ways).

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Shortest secret accepted, in bytes: HS256 keys shorter than the hash are weak.
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest lifetime a token may be minted with: one hour.
pub const MAX_TTL_SECS: u32 = 3600;

/// Clock skew tolerated between the edge locations that mint and verify, in milliseconds.
const LEEWAY_MS: i64 = 5_000;

/// The only algorithm minted and accepted.
const ALG: &str = "HS256";

/// The `iss` of every token: this service mints them.
pub const ISSUER: &str = "carcosa-edge";

/// The `aud` of every token: this service's upload routes accept them.
pub const AUDIENCE: &str = "carcosa-edge/uploads";

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

/// The HS256 secret (`UPLOAD_TOKEN_SECRET`). `Debug` redacts it; it is zeroized on drop.
pub struct TokenSecret(Zeroizing<Vec<u8>>);

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
        Ok(Self(Zeroizing::new(secret.to_vec())))
    }

    /// HMAC-SHA256 keyed with the secret, over `signing_input`. HMAC takes keys of any length
    /// (long ones are hashed), so the error is never returned in practice.
    fn mac(&self, signing_input: &str) -> Result<Hmac<Sha256>, TokenError> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).map_err(|_| TokenError::Invalid)?;
        mac.update(signing_input.as_bytes());
        Ok(mac)
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
    /// The token's own id (random, from the caller), for audit logs.
    pub jti: String,
}

/// A token that verified: its claims and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// What it grants.
    pub claims: UploadClaims,
    /// Its `exp`, in Unix milliseconds: nothing signed for its holder may outlive it.
    pub expires_at_ms: i64,
}

/// The JOSE header. Only `alg` is checked; `typ` is informational.
#[derive(Serialize, Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    /// Content type: absent or JSON; anything else (CBOR claims) is refused.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    cty: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    typ: Option<Cow<'a, str>>,
}

/// The claims as they travel: registered claims in Unix seconds, then [`UploadClaims`].
#[derive(Serialize, Deserialize)]
struct WireClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default)]
    iss: String,
    #[serde(default)]
    aud: String,
    jti: String,
    pid: String,
    kid: String,
    scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tnt: Option<String>,
}

/// Mints a token valid for `ttl_secs` from `now_ms`.
///
/// # Errors
/// [`TokenError::InvalidTtl`] or [`TokenError::InvalidTime`].
pub fn mint(secret: &TokenSecret, claims: UploadClaims, now_ms: i64, ttl_secs: u32) -> Result<String, TokenError> {
    if !(1..=MAX_TTL_SECS).contains(&ttl_secs) {
        return Err(TokenError::InvalidTtl);
    }
    let iat = now_ms.div_euclid(1000);
    let exp = now_ms
        .checked_add(i64::from(ttl_secs) * 1000)
        .ok_or(TokenError::InvalidTime)?
        .div_euclid(1000);
    let header = Header {
        alg: Cow::Borrowed(ALG),
        cty: None,
        typ: Some(Cow::Borrowed("JWT")),
    };
    let claims = WireClaims {
        exp: Some(exp),
        iat: Some(iat),
        iss: ISSUER.to_owned(),
        aud: AUDIENCE.to_owned(),
        jti: claims.jti,
        pid: claims.pid,
        kid: claims.kid,
        scopes: claims.scopes,
        tnt: claims.tnt,
    };
    // Serialising these plain structs cannot fail; the error is mapped rather than unwrapped.
    let header = serde_json::to_vec(&header).map_err(|_| TokenError::Invalid)?;
    let claims = serde_json::to_vec(&claims).map_err(|_| TokenError::Invalid)?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = secret.mac(&token)?.finalize().into_bytes();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// Verifies a token's algorithm, signature, issuer, audience and expiry at `now_ms` and returns
/// its claims.
///
/// # Errors
/// [`TokenError::Expired`] past `exp` (plus a few seconds' leeway); [`TokenError::Invalid`]
/// for anything else wrong, deliberately without saying what.
pub fn verify(secret: &TokenSecret, token: &str, now_ms: i64) -> Result<VerifiedToken, TokenError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
    let (header, claims) = signing_input.split_once('.').ok_or(TokenError::Invalid)?;
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Invalid);

    let header = decode(header)?;
    let header: Header<'_> = serde_json::from_slice(&header).map_err(|_| TokenError::Invalid)?;
    let json = header.cty.as_deref().is_none_or(|cty| cty.eq_ignore_ascii_case("json"));
    if header.alg != ALG || !json {
        return Err(TokenError::Invalid);
    }
    // Constant-time comparison; a signature of the wrong length is refused too.
    secret
        .mac(signing_input)?
        .verify_slice(&decode(signature)?)
        .map_err(|_| TokenError::Invalid)?;

    let claims: WireClaims = serde_json::from_slice(&decode(claims)?).map_err(|_| TokenError::Invalid)?;
    if claims.iss != ISSUER || claims.aud != AUDIENCE {
        return Err(TokenError::Invalid);
    }
    let exp = claims.exp.ok_or(TokenError::Invalid)?;
    let expires_at_ms = exp.saturating_mul(1000);
    if now_ms > expires_at_ms.saturating_add(LEEWAY_MS) {
        return Err(TokenError::Expired);
    }
    Ok(VerifiedToken {
        claims: UploadClaims {
            pid: claims.pid,
            kid: claims.kid,
            scopes: claims.scopes,
            tnt: claims.tnt,
            jti: claims.jti,
        },
        expires_at_ms,
    })
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
            jti: "c0ffee".into(),
        }
    }

    /// The claims as `jwt-compact` would carry them: registered claims it does not model
    /// (`iss`, `aud`, `jti`) are custom fields, in the order this module writes them.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Reference {
        iss: String,
        aud: String,
        jti: String,
        pid: String,
        kid: String,
        scopes: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tnt: Option<String>,
    }

    fn reference(iss: &str, aud: &str) -> Reference {
        let c = claims();
        Reference {
            iss: iss.into(),
            aud: aud.into(),
            jti: c.jti,
            pid: c.pid,
            kid: c.kid,
            scopes: c.scopes,
            tnt: c.tnt,
        }
    }

    fn verified(token: &str, now_ms: i64) -> Result<UploadClaims, TokenError> {
        verify(&secret(), token, now_ms).map(|v| v.claims)
    }

    #[test]
    fn round_trip_until_expiry() {
        let token = mint(&secret(), claims(), NOW, 60).unwrap();
        assert!(looks_like_token(&token));
        let v = verify(&secret(), &token, NOW).unwrap();
        assert_eq!((v.claims, v.expires_at_ms), (claims(), NOW + 60_000));
        assert_eq!(verified(&token, NOW + 60_000 + 5_000).unwrap(), claims(), "leeway");
        assert_eq!(verified(&token, NOW + 66_000), Err(TokenError::Expired));
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

    /// The same secret as [`secret`], as a `jwt-compact` key.
    fn reference_key() -> jwt_compact::alg::Hs256Key {
        jwt_compact::alg::Hs256Key::new(b"an-upload-token-secret-of-32-bytes-or-more")
    }

    fn reference_options(now_ms: i64) -> jwt_compact::TimeOptions<impl Fn() -> chrono::DateTime<chrono::Utc>> {
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap();
        jwt_compact::TimeOptions::new(chrono::Duration::seconds(5), move || now)
    }

    #[test]
    fn exp_is_required() {
        use jwt_compact::{alg::Hs256, AlgorithmExt, Claims, Header};
        let claims = Claims::new(reference(ISSUER, AUDIENCE));
        let token = Hs256.token(&Header::empty(), &claims, &reference_key()).unwrap();
        assert_eq!(verified(&token, NOW), Err(TokenError::Invalid));
    }

    /// A JWT signed with the same secret for another issuer or audience is not an upload token.
    #[test]
    fn iss_and_aud_are_required() {
        use jwt_compact::{alg::Hs256, AlgorithmExt, Claims, Header};
        let options = reference_options(NOW);
        for (iss, aud) in [
            (ISSUER, AUDIENCE),
            ("someone-else", AUDIENCE),
            (ISSUER, "carcosa-edge/admin"),
            ("", ""),
        ] {
            let c = Claims::new(reference(iss, aud)).set_duration_and_issuance(&options, chrono::Duration::seconds(60));
            let token = Hs256.token(&Header::empty(), &c, &reference_key()).unwrap();
            let want = if (iss, aud) == (ISSUER, AUDIENCE) {
                Ok(claims())
            } else {
                Err(TokenError::Invalid)
            };
            assert_eq!(verified(&token, NOW), want, "{iss} {aud}");
        }
    }

    /// Tokens minted before this module signed them itself (with `jwt-compact`) still verify,
    /// and `jwt-compact` accepts the ones minted now: same header, claims and signature.
    #[test]
    fn compatible_with_jwt_compact_both_ways() {
        use jwt_compact::{alg::Hs256, AlgorithmExt, Claims, Header, UntrustedToken};
        let options = reference_options(NOW + 1);
        let their_claims =
            Claims::new(reference(ISSUER, AUDIENCE)).set_duration_and_issuance(&options, chrono::Duration::seconds(60));
        let theirs = Hs256
            .token(&Header::empty().with_token_type("JWT"), &their_claims, &reference_key())
            .unwrap();
        assert_eq!(verified(&theirs, NOW + 1).unwrap(), claims());
        assert_eq!(verified(&theirs, NOW + 66_001), Err(TokenError::Expired));

        let ours = mint(&secret(), claims(), NOW + 1, 60).unwrap();
        assert_eq!(ours, theirs, "byte-identical tokens");
        let untrusted = UntrustedToken::new(&ours).unwrap();
        let checked = Hs256
            .validator::<Reference>(&reference_key())
            .validate(&untrusted)
            .unwrap();
        let claims_back = checked.claims().validate_expiration(&options).unwrap();
        assert_eq!(claims_back.custom, reference(ISSUER, AUDIENCE));
        assert_eq!(claims_back.issued_at.unwrap().timestamp(), NOW / 1000);
    }

    #[test]
    fn headers_other_than_hs256_json_are_refused() {
        let token = mint(&secret(), claims(), NOW, 60).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let resign = |header: &[u8]| {
            let input = format!("{}.{}", b64.encode(header), parts[1]);
            let sig = secret().mac(&input).unwrap().finalize().into_bytes();
            format!("{input}.{}", b64.encode(sig))
        };
        assert_eq!(verified(&resign(br#"{"alg":"HS256"}"#), NOW).unwrap(), claims());
        assert_eq!(
            verified(&resign(br#"{"alg":"HS\u0032\u0035\u0036","cty":"json"}"#), NOW).unwrap(),
            claims()
        );
        for header in [
            &br#"{"alg":"HS384","typ":"JWT"}"#[..],
            br#"{"alg":"hs256"}"#,
            br#"{"typ":"JWT"}"#,
            br#"{"alg":"HS256","cty":"CBOR"}"#,
            br#"not json"#,
        ] {
            let forged = resign(header);
            assert_eq!(verify(&secret(), &forged, NOW), Err(TokenError::Invalid), "{forged}");
        }
        // Padding and a fourth segment are not the compact serialisation.
        assert_eq!(verify(&secret(), &format!("{token}="), NOW), Err(TokenError::Invalid));
        assert_eq!(
            verify(&secret(), &format!("{}.{token}", parts[0]), NOW),
            Err(TokenError::Invalid)
        );
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
