//! Upload-token verification with a fixed secret and clock. The first byte picks the mode:
//! - even: the rest is a token as a client would send it;
//! - odd: the rest is a claims JSON (then a NUL and a header JSON, optionally), signed here with
//!   the secret, so the checks behind the signature (issuer, audience, expiry, claim types) are
//!   fuzzed too.
//!
//! Whatever verifies must re-mint to a token that verifies to the same claims.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carcosa_edge::upload_token::{self, TokenSecret, MAX_TTL_SECS};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const SECRET: &[u8; 32] = b"fuzzing-secret-of-thirty-two-byt";
/// 2023-11-14T22:13:20Z.
const NOW_MS: i64 = 1_700_000_000_000;
const DEFAULT_HEADER: &[u8] = br#"{"alg":"HS256","typ":"JWT"}"#;

fn sign(header: &[u8], claims: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET).unwrap();
    mac.update(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
    token
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let secret = TokenSecret::new(SECRET).unwrap();
    let token = if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        token.to_owned()
    } else {
        match rest.iter().position(|&b| b == 0) {
            Some(i) => sign(&rest[i + 1..], &rest[..i]),
            None => sign(DEFAULT_HEADER, rest),
        }
    };
    let Ok(verified) = upload_token::verify(&secret, &token, NOW_MS) else {
        return;
    };
    // Only a token this secret signed can verify, so the random mode cannot get here unless it
    // copied a seed token; either way the claims must survive a round trip.
    assert!(NOW_MS <= verified.expires_at_ms.saturating_add(5_000));
    let remint = upload_token::mint(&secret, verified.claims.clone(), NOW_MS, MAX_TTL_SECS).unwrap();
    let again = upload_token::verify(&secret, &remint, NOW_MS).unwrap();
    assert_eq!(again.claims, verified.claims);
    assert_eq!(again.expires_at_ms, NOW_MS + i64::from(MAX_TTL_SECS) * 1000);
    // Another secret never accepts it.
    let other = TokenSecret::new(&[0x55; 32]).unwrap();
    assert!(upload_token::verify(&other, &token, NOW_MS).is_err());
});
