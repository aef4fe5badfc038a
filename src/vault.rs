//! Bucket credential encryption, compatible with the Carcosa API.
//!
//! A bucket's access key and secret are stored as `v1:<nonce>:<sealed>`:
//! standard padded base64 of a 24-byte nonce and of libsodium's
//! [`crypto_secretbox_easy`] output (16-byte Poly1305 tag, then the
//! `XSalsa20` ciphertext). The key comes from `CREDENTIALS_ENCRYPTION_KEY`,
//! written `base64:<32 bytes>`.
//!
//! This module never reads the environment, a clock or a random source: the
//! key string and every nonce are passed in.
//!
//! ```
//! use carcosa_edge::vault::VaultKey;
//!
//! let key = VaultKey::parse("base64:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")?;
//! let stored = key.encrypt("minioadmin", [7; 24]);
//! assert_eq!(key.decrypt(&stored)?.as_str(), "minioadmin");
//! # Ok::<(), carcosa_edge::vault::VaultError>(())
//! ```
//!
//! [`crypto_secretbox_easy`]: https://doc.libsodium.org/secret-key_cryptography/secretbox

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::{Key, Nonce, Tag, XSalsa20Poly1305};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const KEY_PREFIX: &str = "base64:";
const VERSION: &str = "v1";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a key could not be parsed or a stored value could not be opened.
///
/// No message ever contains key material, a plaintext, or the stored value
/// itself (legacy rows may hold plaintext where a ciphertext belongs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The key string does not start with `base64:`.
    #[error("encryption key must start with `base64:`")]
    MissingPrefix,
    /// The key string is not valid standard base64.
    #[error("encryption key is not valid base64")]
    KeyEncoding,
    /// The key decodes to the wrong number of bytes.
    #[error("encryption key must decode to 32 bytes, got {0}")]
    KeyLength(usize),
    /// The stored value does not start with the `v1` version tag.
    #[error("unsupported cipher version")]
    UnsupportedVersion,
    /// The stored value is not `v1:<nonce>:<sealed>` with valid parts.
    #[error("malformed encrypted value: {0}")]
    Malformed(&'static str),
    /// The tag did not verify: wrong key, or the value was altered.
    #[error("encrypted value failed authentication")]
    Authentication,
    /// The value authenticated but its plaintext is not UTF-8.
    #[error("decrypted value is not valid UTF-8")]
    NotUtf8,
}

/// The 32-byte secretbox key. Wiped on drop; `Debug` never shows it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct VaultKey([u8; KEY_LEN]);

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<redacted>)")
    }
}

impl VaultKey {
    /// Parses `base64:<standard base64 of 32 bytes>`.
    ///
    /// # Errors
    ///
    /// [`VaultError::MissingPrefix`], [`VaultError::KeyEncoding`] or
    /// [`VaultError::KeyLength`].
    pub fn parse(s: &str) -> Result<Self, VaultError> {
        let encoded = s.strip_prefix(KEY_PREFIX).ok_or(VaultError::MissingPrefix)?;
        let bytes = Zeroizing::new(STANDARD.decode(encoded).map_err(|_| VaultError::KeyEncoding)?);
        let key: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::KeyLength(bytes.len()))?;
        Ok(Self(key))
    }

    /// The key that authenticates upload ids, derived from this one: one secret to deploy, and
    /// the MAC key is never the encryption key itself.
    #[must_use]
    pub fn upload_id_key(&self) -> crate::upload_id::UploadIdKey {
        crate::upload_id::UploadIdKey::derive(&self.0)
    }

    fn cipher(&self) -> XSalsa20Poly1305 {
        // The cipher keeps its own copy of the key and wipes it on drop.
        XSalsa20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Seals `plaintext` under `nonce` and returns `v1:<nonce>:<tag‖ciphertext>`.
    ///
    /// The nonce must be fresh random bytes for every call: reusing one with
    /// the same key reveals the XOR of the plaintexts.
    #[must_use]
    pub fn encrypt(&self, plaintext: &str, nonce: [u8; NONCE_LEN]) -> String {
        let mut body = Zeroizing::new(plaintext.as_bytes().to_vec());
        // Sealing fails only when associated data is given, and none is. Should
        // that ever change, wipe the buffer so the output holds no plaintext and
        // fails authentication, instead of panicking in the worker.
        let tag = self
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut body)
            .unwrap_or_else(|_| {
                body.zeroize();
                Tag::default()
            });
        let mut sealed = Vec::with_capacity(TAG_LEN + body.len());
        sealed.extend_from_slice(&tag);
        sealed.extend_from_slice(&body);
        format!("{VERSION}:{}:{}", STANDARD.encode(nonce), STANDARD.encode(sealed))
    }

    /// Opens a value produced by [`VaultKey::encrypt`] or by the Carcosa API.
    ///
    /// # Errors
    ///
    /// [`VaultError::UnsupportedVersion`] unless it starts with `v1:`;
    /// [`VaultError::Malformed`] for a wrong number of parts, bad base64, a
    /// nonce that is not 24 bytes or a sealed part shorter than the tag;
    /// [`VaultError::Authentication`] for a wrong key or altered value;
    /// [`VaultError::NotUtf8`] if the plaintext is not UTF-8.
    pub fn decrypt(&self, stored: &str) -> Result<Zeroizing<String>, VaultError> {
        let mut parts = stored.split(':');
        if parts.next() != Some(VERSION) {
            return Err(VaultError::UnsupportedVersion);
        }
        let (Some(nonce), Some(sealed), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VaultError::Malformed("expected three `:`-separated parts"));
        };
        let nonce = STANDARD
            .decode(nonce)
            .map_err(|_| VaultError::Malformed("nonce is not valid base64"))?;
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| VaultError::Malformed("nonce is not 24 bytes"))?;
        let sealed = STANDARD
            .decode(sealed)
            .map_err(|_| VaultError::Malformed("ciphertext is not valid base64"))?;
        if sealed.len() < TAG_LEN {
            return Err(VaultError::Malformed("ciphertext is shorter than its tag"));
        }
        let (tag, body) = sealed.split_at(TAG_LEN);

        let mut plain = Zeroizing::new(body.to_vec());
        self.cipher()
            .decrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut plain, Tag::from_slice(tag))
            .map_err(|_| VaultError::Authentication)?;
        match String::from_utf8(std::mem::take(&mut *plain)) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(VaultError::NotUtf8)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ZERO_KEY: &str = "base64:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const OTHER_KEY: &str = "base64:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    fn key(s: &str) -> VaultKey {
        VaultKey::parse(s).unwrap()
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        key: String,
        plaintext: String,
        stored: String,
    }

    fn vectors() -> Vec<Vector> {
        serde_json::from_str(include_str!("../tests/fixtures/vault_vectors.json")).unwrap()
    }

    #[test]
    fn opens_values_sealed_by_libsodium() {
        let vectors = vectors();
        assert!(vectors.len() >= 8);
        for v in &vectors {
            let opened = key(&v.key).decrypt(&v.stored).unwrap();
            assert_eq!(opened.as_str(), v.plaintext);
        }
    }

    #[test]
    fn seals_exactly_like_libsodium() {
        for v in &vectors() {
            let nonce_b64 = v.stored.split(':').nth(1).unwrap();
            let nonce: [u8; 24] = STANDARD.decode(nonce_b64).unwrap().try_into().unwrap();
            assert_eq!(key(&v.key).encrypt(&v.plaintext, nonce), v.stored);
        }
    }

    #[test]
    fn format_is_v1_nonce_tag_ciphertext() {
        let stored = key(ZERO_KEY).encrypt("abc", [0; 24]);
        let parts: Vec<&str> = stored.split(':').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "v1");
        assert_eq!(parts[1].len(), 32);
        assert_eq!(STANDARD.decode(parts[2]).unwrap().len(), 16 + 3);
    }

    #[test]
    fn key_parsing_errors() {
        let cases = [
            (
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                VaultError::MissingPrefix,
            ),
            (
                "BASE64:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                VaultError::MissingPrefix,
            ),
            ("base64:not base64!", VaultError::KeyEncoding),
            // The upstream default: unpadded here, and too short in any case.
            ("base64:testkeyfortestingonly123456789", VaultError::KeyEncoding),
            (
                "base64:dGVzdGtleWZvcnRlc3Rpbmdvbmx5MTIzNDU2Nzg5",
                VaultError::KeyLength(30),
            ),
            ("base64:", VaultError::KeyLength(0)),
            (
                "base64:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                VaultError::KeyLength(33),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(VaultKey::parse(input).unwrap_err(), expected, "{input}");
        }
    }

    #[test]
    fn debug_and_errors_hide_secrets() {
        let secret = "base64:c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0";
        let err = VaultKey::parse(secret).unwrap_err().to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
        let debug = format!("{:?}", key(ZERO_KEY));
        assert_eq!(debug, "VaultKey(<redacted>)");
        // A legacy row holding plaintext must not be echoed back.
        let err = key(ZERO_KEY).decrypt("minioadmin").unwrap_err().to_string();
        assert!(!err.contains("minioadmin"), "{err}");
    }

    #[test]
    fn rejects_tampering_and_wrong_key() {
        let k = key(ZERO_KEY);
        let stored = k.encrypt("AKIAIOSFODNN7EXAMPLE", [9; 24]);
        let (nonce_b64, sealed_b64) = stored[3..].split_once(':').unwrap();
        let nonce = STANDARD.decode(nonce_b64).unwrap();
        let sealed = STANDARD.decode(sealed_b64).unwrap();

        // Flip one bit in the nonce, in the tag (byte 0) and in the ciphertext (last byte).
        let mut bad_nonce = nonce.clone();
        bad_nonce[5] ^= 1;
        let mut bad_tag = sealed.clone();
        bad_tag[0] ^= 1;
        let mut bad_body = sealed.clone();
        *bad_body.last_mut().unwrap() ^= 0x80;
        let tampered = [
            format!("v1:{}:{}", STANDARD.encode(&bad_nonce), sealed_b64),
            format!("v1:{}:{}", nonce_b64, STANDARD.encode(&bad_tag)),
            format!("v1:{}:{}", nonce_b64, STANDARD.encode(&bad_body)),
            format!("v1:{}:{}", nonce_b64, STANDARD.encode(&sealed[..sealed.len() - 1])),
        ];
        for t in &tampered {
            assert_eq!(k.decrypt(t).unwrap_err(), VaultError::Authentication, "{t}");
        }
        assert_eq!(key(OTHER_KEY).decrypt(&stored).unwrap_err(), VaultError::Authentication);
    }

    #[test]
    fn malformed_values() {
        let k = key(ZERO_KEY);
        let nonce = STANDARD.encode([0u8; 24]);
        let tag_only = STANDARD.encode([0u8; 16]);
        let cases = [
            (String::new(), VaultError::UnsupportedVersion),
            ("minioadmin".to_owned(), VaultError::UnsupportedVersion),
            (format!("v2:{nonce}:{tag_only}"), VaultError::UnsupportedVersion),
            (format!("V1:{nonce}:{tag_only}"), VaultError::UnsupportedVersion),
            (
                "v1".to_owned(),
                VaultError::Malformed("expected three `:`-separated parts"),
            ),
            (
                format!("v1:{nonce}"),
                VaultError::Malformed("expected three `:`-separated parts"),
            ),
            (
                format!("v1:{nonce}:{tag_only}:"),
                VaultError::Malformed("expected three `:`-separated parts"),
            ),
            (
                format!("v1:%%%:{tag_only}"),
                VaultError::Malformed("nonce is not valid base64"),
            ),
            (
                format!("v1:{}:{tag_only}", STANDARD.encode([0u8; 23])),
                VaultError::Malformed("nonce is not 24 bytes"),
            ),
            (
                format!("v1::{tag_only}"),
                VaultError::Malformed("nonce is not 24 bytes"),
            ),
            (
                format!("v1:{nonce}:%%%"),
                VaultError::Malformed("ciphertext is not valid base64"),
            ),
            (
                format!("v1:{nonce}:{}", STANDARD.encode([0u8; 15])),
                VaultError::Malformed("ciphertext is shorter than its tag"),
            ),
            (
                format!("v1:{nonce}:"),
                VaultError::Malformed("ciphertext is shorter than its tag"),
            ),
            // Well formed, but an all-zero tag does not authenticate.
            (format!("v1:{nonce}:{tag_only}"), VaultError::Authentication),
        ];
        for (input, expected) in cases {
            assert_eq!(k.decrypt(&input).unwrap_err(), expected, "{input}");
        }
    }

    #[test]
    fn rejects_non_utf8_plaintext() {
        // Seal invalid UTF-8 directly with the cipher, as another writer could.
        let k = key(ZERO_KEY);
        let mut body = vec![0xff, 0xfe, 0x00];
        let tag = k
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&[3; 24]), b"", &mut body)
            .unwrap();
        let stored = format!(
            "v1:{}:{}",
            STANDARD.encode([3u8; 24]),
            STANDARD.encode([tag.as_slice(), &body].concat())
        );
        assert_eq!(k.decrypt(&stored).unwrap_err(), VaultError::NotUtf8);
    }

    proptest! {
        #[test]
        fn round_trips(key_bytes in any::<[u8; 32]>(), nonce in any::<[u8; 24]>(), plaintext in ".*") {
            let k = VaultKey::parse(&format!("base64:{}", STANDARD.encode(key_bytes))).unwrap();
            let stored = k.encrypt(&plaintext, nonce);
            let opened = k.decrypt(&stored).unwrap();
            prop_assert_eq!(opened.as_str(), plaintext.as_str());
        }

        #[test]
        fn never_panics_on_garbage(stored in ".*") {
            let _ = key(ZERO_KEY).decrypt(&stored);
            let _ = VaultKey::parse(&stored);
        }
    }
}
