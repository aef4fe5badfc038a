//! The signing key: derived once per access key, day and region, and cached.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::Date;
use zeroize::Zeroizing;

use super::canonical::encode_into;
use super::{Credentials, SigningTime, SERVICE, TERMINATOR};

/// A derived `SigV4` signing key, valid for one access key, UTC day and region.
///
/// [`Presign`](super::Presign) picks the key for each request itself, so a key is never used
/// for another access key, day or region.
pub struct SigningKey {
    /// HMAC-SHA256 keyed with the derived key, its inner and outer pad blocks already hashed:
    /// each signature clones it instead of re-keying, which saves two of the dozen SHA-256
    /// block compressions a presign costs (they are most of its time). The key bytes
    /// themselves are zeroized once this is built, but this state is not zeroized on drop:
    /// `hmac` 0.12 offers no way to, and `unsafe` is forbidden here. It is worth as much as
    /// the key (one day, one region); per-signature HMAC state on the stack never was
    /// zeroized either.
    pub(super) mac: Hmac<Sha256>,
    access_key_id: String,
    date: Date,
    region: String,
    /// `yyyymmdd/region/s3/aws4_request`, for the string to sign.
    pub(super) scope: String,
    /// `X-Amz-Credential`'s value, already query-encoded: `akid%2Fyyyymmdd%2Fregion%2Fs3%2Faws4_request`.
    /// The key is only used for this access key, day and region, so both strings are built
    /// once here instead of on every signature.
    pub(super) credential: String,
}

impl SigningKey {
    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), "s3"), "aws4_request")`.
    #[must_use]
    pub fn derive(credentials: &Credentials, at: SigningTime, region: &str) -> Self {
        let secret = Zeroizing::new(format!("AWS4{}", *credentials.secret_access_key));
        let k_date = hmac_sha256(secret.as_bytes(), at.date_stamp().as_bytes());
        let k_region = hmac_sha256(&*k_date, region.as_bytes());
        let k_service = hmac_sha256(&*k_region, SERVICE.as_bytes());
        let key = hmac_sha256(&*k_service, TERMINATOR.as_bytes());
        let scope = format!("{}/{region}/{SERVICE}/{TERMINATOR}", at.date_stamp());
        let mut credential = String::new();
        encode_into(
            &mut credential,
            &format!("{}/{scope}", credentials.access_key_id),
            false,
        );
        Self {
            mac: hmac_keyed(&*key),
            access_key_id: credentials.access_key_id.clone(),
            date: at.0.date(),
            region: region.to_owned(),
            scope,
            credential,
        }
    }

    /// `hex(HMAC-SHA256(key, string_to_sign))` for a string to sign built elsewhere (a POST
    /// policy).
    pub(super) fn sign_string(&self, string_to_sign: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(string_to_sign.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn is_for(&self, access_key_id: &str, at: SigningTime, region: &str) -> bool {
        self.date == at.0.date() && self.region == region && self.access_key_id == access_key_id
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Derived [`SigningKey`]s, each computed once per (access key id, secret, UTC day,
/// region).
///
/// Meant to live as long as the process (one per isolate, say), lent mutably to
/// one request at a time. It holds at most 16 keys: deriving a new one first drops
/// keys of other days, then the oldest. The secret is remembered only as a
/// SHA-256 digest (zeroized when evicted or dropped), so rotating it under the same
/// key id re-derives. The keys' pre-keyed HMAC states are not zeroized (see [`SigningKey`]).
#[derive(Default)]
pub struct SigningKeyCache {
    pub(super) entries: Vec<(Zeroizing<[u8; 32]>, SigningKey)>,
}

impl SigningKeyCache {
    pub(super) const CAPACITY: usize = 16;

    /// An empty cache.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// The key for `credentials` at `at` in `region`, derived only on a miss.
    pub fn get(&mut self, credentials: &Credentials, at: SigningTime, region: &str) -> &SigningKey {
        let digest = &credentials.secret_digest;
        let akid = credentials.access_key_id();
        let fresh = |(d, key): &(Zeroizing<[u8; 32]>, SigningKey)| d == digest && key.is_for(akid, at, region);
        let hit = self.entries.iter().position(fresh);
        let index = hit.unwrap_or_else(|| {
            self.entries.retain(|(_, key)| key.date == at.0.date());
            if self.entries.len() >= Self::CAPACITY {
                self.entries.remove(0);
            }
            let key = SigningKey::derive(credentials, at, region);
            self.entries.push((digest.clone(), key));
            self.entries.len() - 1
        });
        &self.entries[index].1
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`. Also the MAC of upload ids (`upload_id`).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac_keyed(key);
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// An HMAC-SHA256 ready for the message. The block-sized key is built here (long keys
/// hashed, short ones zero-padded) so that constructing the MAC cannot fail.
pub(super) fn hmac_keyed(key: &[u8]) -> Hmac<Sha256> {
    let mut block = Zeroizing::new([0u8; 64]);
    let hashed: Zeroizing<[u8; 32]>;
    let key = if key.len() > block.len() {
        hashed = Zeroizing::new(Sha256::digest(key).into());
        &hashed[..]
    } else {
        key
    };
    block.iter_mut().zip(key).for_each(|(dst, src)| *dst = *src);
    <Hmac<Sha256> as KeyInit>::new(&(*block).into())
}
