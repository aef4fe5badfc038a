//! Carcosa project API keys.
//!
//! A key is `carc_` followed by 32 random bytes in unpadded base64url: 48
//! characters in all. Only its SHA-256 (lowercase hex of the whole string,
//! prefix included) is stored, in `"ApiKey"."keyHash"`.
//!
//! This module reads no random source: [`ApiKey::generate`] takes the bytes.
//!
//! ```
//! use carcosa_edge::apikey::ApiKey;
//!
//! let key = ApiKey::generate([0; 32]);
//! let parsed = ApiKey::parse(key.expose_secret())?;
//! assert!(parsed.hash().matches(key.hash().as_str()));
//! # Ok::<(), carcosa_edge::apikey::ApiKeyError>(())
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

/// Every key starts with this.
pub const PREFIX: &str = "carc_";
/// Length of a key in characters: the prefix plus 43 base64url characters.
pub const KEY_LEN: usize = 48;

/// Why a string is not an API key. Messages never echo the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// The string does not start with `carc_`.
    #[error("API key must start with `carc_`")]
    WrongPrefix,
    /// The string is not 48 bytes long.
    #[error("API key must be 48 characters long")]
    WrongLength,
    /// A character after the prefix is outside `[A-Za-z0-9_-]`.
    #[error("API key contains a character outside the base64url alphabet")]
    BadAlphabet,
}

/// A well-formed API key. Wiped on drop; `Debug` shows only the prefix.
pub struct ApiKey(Zeroizing<String>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({PREFIX}…)")
    }
}

impl ApiKey {
    /// Checks the shape of a key as received, without trimming.
    ///
    /// A well-formed key that was never issued still parses; it simply
    /// matches no stored hash.
    ///
    /// # Errors
    ///
    /// [`ApiKeyError::WrongPrefix`], [`ApiKeyError::WrongLength`] or
    /// [`ApiKeyError::BadAlphabet`].
    pub fn parse(s: &str) -> Result<Self, ApiKeyError> {
        let body = s.strip_prefix(PREFIX).ok_or(ApiKeyError::WrongPrefix)?;
        if s.len() != KEY_LEN {
            return Err(ApiKeyError::WrongLength);
        }
        if !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiKeyError::BadAlphabet);
        }
        Ok(Self(Zeroizing::new(s.to_owned())))
    }

    /// Builds a new key from 32 bytes that the caller drew from a CSPRNG.
    #[must_use]
    pub fn generate(mut random: [u8; 32]) -> Self {
        // Exact capacity, so encoding never reallocates and leaves a copy behind.
        let mut key = Zeroizing::new(String::with_capacity(KEY_LEN));
        key.push_str(PREFIX);
        URL_SAFE_NO_PAD.encode_string(random, &mut key);
        random.zeroize();
        Self(key)
    }

    /// The key itself, for showing a newly created key to its owner once.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The value stored in `"ApiKey"."keyHash"` for this key.
    #[must_use]
    pub fn hash(&self) -> KeyHash {
        KeyHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

/// Lowercase hex SHA-256 of an API key (64 characters). It identifies the key in the database,
/// so `Debug` redacts it.
#[derive(Clone)]
pub struct KeyHash(String);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(<redacted>)")
    }
}

impl KeyHash {
    /// The hex digest.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with a stored hash in constant time, so response timing says
    /// nothing about how much of a guessed hash was right.
    #[must_use]
    pub fn matches(&self, stored: &str) -> bool {
        self.0.as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counting() -> [u8; 32] {
        std::array::from_fn(|i| u8::try_from(i).unwrap())
    }

    #[test]
    fn known_vectors() {
        // Expected values computed independently with Python's base64 and hashlib.
        let cases = [
            (
                counting(),
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                "9b662ce48a4e99758b740d1ac0f87bffe2cf3139d8d0dd9af0b1aeca16919510",
            ),
            (
                [0xff; 32],
                "carc___________________________________________8",
                "e8c389f581d529be1a60fef86fbd9380725a2c3cfcb00123c7df3f97e2f53362",
            ),
        ];
        for (random, key, hash) in cases {
            let generated = ApiKey::generate(random);
            assert_eq!(generated.expose_secret(), key);
            let parsed = ApiKey::parse(key).unwrap();
            assert_eq!(parsed.hash().as_str(), hash);
            assert!(parsed.hash().matches(hash));
        }
    }

    #[test]
    fn hash_matching() {
        let hash = ApiKey::generate(counting()).hash();
        let stored = hash.as_str().to_owned();
        assert!(hash.matches(&stored));
        assert!(!hash.matches(&stored.to_uppercase()));
        assert!(!hash.matches(&stored[..63]));
        assert!(!hash.matches(""));
        let mut flipped = stored.into_bytes();
        flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
        assert!(!hash.matches(std::str::from_utf8(&flipped).unwrap()));
    }

    #[test]
    fn rejects_malformed_keys() {
        let good = "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let cases = [
            ("", ApiKeyError::WrongPrefix),
            ("carc", ApiKeyError::WrongPrefix),
            (
                "CARC_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                ApiKeyError::WrongPrefix,
            ),
            (
                " carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                ApiKeyError::WrongPrefix,
            ),
            (
                "Bearer carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx",
                ApiKeyError::WrongPrefix,
            ),
            ("carc_", ApiKeyError::WrongLength),
            (&good[..47], ApiKeyError::WrongLength),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 ",
                ApiKeyError::WrongLength,
            ),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                ApiKeyError::WrongLength,
            ),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+",
                ApiKeyError::BadAlphabet,
            ),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd/h8",
                ApiKeyError::BadAlphabet,
            ),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=",
                ApiKeyError::BadAlphabet,
            ),
            (
                "carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHé",
                ApiKeyError::BadAlphabet,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(ApiKey::parse(input).unwrap_err(), expected, "{input:?}");
        }
        assert!(ApiKey::parse(good).is_ok());
    }

    #[test]
    fn debug_and_errors_hide_the_key() {
        let key = ApiKey::generate(counting());
        assert_eq!(format!("{key:?}"), "ApiKey(carc_…)");
        for bad in ["carc_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd/h8", "carc_AAECAwQFBgcI"] {
            let msg = ApiKey::parse(bad).unwrap_err().to_string();
            assert!(!msg.contains("AAECAwQ"), "{msg}");
        }
    }

    proptest! {
        #[test]
        fn generated_keys_parse(random in any::<[u8; 32]>()) {
            let key = ApiKey::generate(random);
            prop_assert_eq!(key.expose_secret().len(), KEY_LEN);
            let parsed = ApiKey::parse(key.expose_secret()).unwrap();
            prop_assert!(parsed.hash().matches(key.hash().as_str()));
            prop_assert_eq!(parsed.hash().as_str().len(), 64);
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = ApiKey::parse(&s);
        }
    }
}
