//! Self-describing upload ids: what a presign hands out carries everything needed to record the
//! upload, authenticated by a MAC, so the `"Upload"` row can be written after the response and
//! recreated if that write is lost.
//!
//! An id is `{row id}.{payload}.{tag}`:
//! - `row id` is the `"Upload"` row's id (`c` + 24 hex digits), also a segment of the object key;
//! - `payload` is unpadded base64url of a small JSON object (project, tenant, key, bucket, object
//!   key, declared size and type, creation and expiry times);
//! - `tag` is the first 16 bytes of HMAC-SHA256 over `{row id}.{payload}`, unpadded base64url.
//!
//! The payload is readable by the client (it names row ids and the object key, all of which the
//! client already sees) but cannot be altered. Nothing here reads a clock or does IO.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ids;
use crate::sigv4::hmac_sha256;

/// Bytes of the HMAC kept in an id: 128 bits, beyond guessing.
const TAG_BYTES: usize = 16;

/// Longest id accepted, in bytes: far above what [`UploadTicket::encode`] produces (object keys
/// are at most 1024 bytes, S3 upload ids a few hundred), far below anything that costs real work
/// to refuse.
pub const MAX_ID_BYTES: usize = 4096;

/// Why an id was refused. Deliberately coarse: a client learns only "not an upload of yours".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadIdError {
    /// Not three parts, bad base64, bad JSON or an oversized id.
    #[error("malformed upload id")]
    Malformed,
    /// The tag does not match: altered, or made with another key.
    #[error("upload id failed authentication")]
    Forged,
}

/// The key that authenticates upload ids, derived from the credentials key so that deployments
/// need no new secret. `Debug` redacts it.
#[derive(Clone)]
pub struct UploadIdKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for UploadIdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadIdKey(<redacted>)")
    }
}

impl UploadIdKey {
    /// Derives the key from a 32-byte secret with a fixed label (HMAC-SHA256 as a KDF), so the
    /// MAC key is never the secret itself.
    #[must_use]
    pub fn derive(secret: &[u8; 32]) -> Self {
        Self(hmac_sha256(secret, b"carcosa-edge upload id v1"))
    }

    fn tag(&self, signed: &str) -> [u8; TAG_BYTES] {
        let full = hmac_sha256(self.0.as_slice(), signed.as_bytes());
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }
}

/// What a presign promised: enough to record the upload without asking the client again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadTicket {
    /// The `"Upload"` row id (not serialised: it leads the id in clear).
    #[serde(skip)]
    pub row_id: String,
    /// The project uploading.
    #[serde(rename = "p")]
    pub project_id: String,
    /// The tenant uploading, if any (its row id).
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The key that asked.
    #[serde(rename = "k")]
    pub key_id: String,
    /// The bucket the URL was signed for.
    #[serde(rename = "b")]
    pub bucket_id: String,
    /// The object key.
    #[serde(rename = "o")]
    pub object_key: String,
    /// The declared size, signed into the URL.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The declared content type, signed into the URL.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// When the presign happened (Unix ms).
    #[serde(rename = "n")]
    pub created_at_ms: i64,
    /// When the URL stops working (Unix ms); for a multipart upload, when its parts may no longer
    /// be signed.
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
    /// The S3 multipart upload id, for a multipart upload: parts are signed from the ticket alone.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub s3_upload_id: Option<String>,
}

impl UploadTicket {
    /// The id to hand out.
    #[must_use]
    pub fn encode(&self, key: &UploadIdKey) -> String {
        // Serialising plain strings and integers cannot fail; an empty object would fail to
        // decode later, which is the safe direction.
        let json = serde_json::to_vec(self).unwrap_or_default();
        let signed = format!("{}.{}", self.row_id, URL_SAFE_NO_PAD.encode(json));
        let tag = URL_SAFE_NO_PAD.encode(key.tag(&signed));
        format!("{signed}.{tag}")
    }

    /// Checks and opens an id made by [`UploadTicket::encode`] with the same key.
    ///
    /// # Errors
    /// [`UploadIdError::Malformed`] or [`UploadIdError::Forged`].
    pub fn decode(id: &str, key: &UploadIdKey) -> Result<Self, UploadIdError> {
        if id.len() > MAX_ID_BYTES {
            return Err(UploadIdError::Malformed);
        }
        let (signed, tag) = id.rsplit_once('.').ok_or(UploadIdError::Malformed)?;
        let (row_id, payload) = signed.split_once('.').ok_or(UploadIdError::Malformed)?;
        if !ids::looks_like_id(row_id) {
            return Err(UploadIdError::Malformed);
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| UploadIdError::Malformed)?;
        // Constant-time: the comparison must not tell how much of a forged tag was right.
        let expected = key.tag(signed);
        if tag.len() != TAG_BYTES || !bool::from(subtle::ConstantTimeEq::ct_eq(tag.as_slice(), &expected[..])) {
            return Err(UploadIdError::Forged);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| UploadIdError::Malformed)?;
        let mut ticket: Self = serde_json::from_slice(&json).map_err(|_| UploadIdError::Malformed)?;
        row_id.clone_into(&mut ticket.row_id);
        Ok(ticket)
    }
}

/// The `"Upload"` row id inside `id`: the id itself for plain ids (uploads recorded before ids
/// carried tickets, or by the upstream API), the leading part for ticket ids.
#[must_use]
pub fn row_id(id: &str) -> &str {
    id.split_once('.').map_or(id, |(row, _)| row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> UploadTicket {
        UploadTicket {
            row_id: "c0123456789abcdef01234567".into(),
            project_id: "p1".into(),
            tenant_id: Some("tn1".into()),
            key_id: "k1".into(),
            bucket_id: "b1".into(),
            object_key: "acme/default/site/c0123456789abcdef01234567/cat.png".into(),
            size: Some(48_213),
            content_type: Some("image/png".into()),
            created_at_ms: 1_764_000_000_000,
            expires_at_ms: 1_764_000_900_000,
            s3_upload_id: Some("2~mpu.Id/with+odd=chars".into()),
        }
    }

    #[test]
    fn ids_round_trip() {
        let key = UploadIdKey::derive(&[7; 32]);
        let id = ticket().encode(&key);
        assert!(id.starts_with("c0123456789abcdef01234567."), "{id}");
        assert_eq!(row_id(&id), "c0123456789abcdef01234567");
        assert_eq!(UploadTicket::decode(&id, &key), Ok(ticket()));
        // Characters safe in a URL path segment and a JSON string without escaping.
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let mut bare = ticket();
        bare.tenant_id = None;
        bare.size = None;
        bare.content_type = None;
        bare.s3_upload_id = None;
        assert_eq!(UploadTicket::decode(&bare.encode(&key), &key), Ok(bare));
    }

    #[test]
    fn any_change_is_refused() {
        let key = UploadIdKey::derive(&[7; 32]);
        let id = ticket().encode(&key);
        let other_key = UploadIdKey::derive(&[8; 32]);
        assert_eq!(UploadTicket::decode(&id, &other_key), Err(UploadIdError::Forged));

        // Another row id with the same payload and tag (moving a ticket to someone else's row).
        let moved = id.replacen("c0123456789abcdef01234567", "c0123456789abcdef01234568", 1);
        assert_eq!(UploadTicket::decode(&moved, &key), Err(UploadIdError::Forged));

        // A payload that grants more (another project), re-encoded, with the old tag.
        let (signed, tag) = id.rsplit_once('.').unwrap();
        let (row, _) = signed.split_once('.').unwrap();
        let mut evil = ticket();
        evil.project_id = "p2".into();
        let evil_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&evil).unwrap());
        let forged = format!("{row}.{evil_payload}.{tag}");
        assert_eq!(UploadTicket::decode(&forged, &key), Err(UploadIdError::Forged));

        // Every single-character change anywhere.
        for i in 0..id.len() {
            let mut bytes = id.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(
                UploadTicket::decode(&altered, &key).is_err(),
                "accepted a change at {i}"
            );
        }
    }

    #[test]
    fn malformed_ids_are_refused() {
        let key = UploadIdKey::derive(&[7; 32]);
        for bad in [
            "",
            "c0123",
            "a.b",
            "a.b.c.d",
            "../x.eyJ9.AAAA",
            "c1.!!!.AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(UploadTicket::decode(bad, &key).is_err(), "{bad:?}");
        }
        assert_eq!(
            UploadTicket::decode(&"a.".repeat(MAX_ID_BYTES), &key),
            Err(UploadIdError::Malformed)
        );
        assert_eq!(row_id("cplain"), "cplain");
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(s in "\\PC{0,300}") {
            let key = UploadIdKey::derive(&[7; 32]);
            let _ = UploadTicket::decode(&s, &key);
        }
    }
}
