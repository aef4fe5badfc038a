//! AWS Signature Version 4 query-string presigning for S3, without IO.
//!
//! Implements [Authenticating Requests: Using Query Parameters][spec]. Nothing here
//! reads a clock, opens a socket or draws random numbers: the caller passes the
//! [`SigningTime`] and gets back a [`Presigned`] request (method, URL, and the signed
//! headers to send) for someone else to send.
//!
//! Deriving a [`SigningKey`] takes four HMACs and depends only on the secret, the UTC
//! day and the region; signing one request then takes one SHA-256 and one HMAC. A
//! long-lived process keeps a [`SigningKeyCache`] so each key is derived once a day.
//!
//! The rules are S3's: each path segment is percent-encoded exactly once and never
//! normalised, the payload is `UNSIGNED-PAYLOAD`, and the query never carries
//! `X-Amz-Content-Sha256` or a checksum.
//!
//! Every action — an object request, a multipart step, a POST policy — implements one trait,
//! [`Presign`]: the action names its bucket and credentials, and [`Presign::presign`] takes the
//! signing key for exactly those credentials, that day and that region from a
//! [`SigningKeyCache`] itself, so a key cannot be paired with the wrong request or time.
//! Typical use: build a [`Bucket`] and [`Credentials`] once, then
//! `PutObject::new(&bucket, &credentials, key).content_type(..).presign(&mut keys, at, expiry)`.
//! A multipart upload presigns each step the same way: [`CreateMultipartUpload`], one
//! [`UploadPart`] per part, [`ListParts`], then [`CompleteMultipartUpload`] (its body from
//! [`complete_multipart_body`]) or [`AbortMultipartUpload`].
//!
//! [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
//!
//! The module follows the seams of the protocol: [`credentials`](Credentials) and time,
//! the bucket and its URLs, the signing key and its cache, the canonical request, object
//! actions, multipart actions, and [`post_policy`]. S3's limits are defined here, once.

mod bucket;
mod bucket_cors;
mod canonical;
mod credentials;
mod key;
#[macro_use]
mod object;
mod multipart;
pub mod post_policy;
#[cfg(test)]
mod tests;

use std::ops::RangeInclusive;

use http::Method;

pub use bucket::{Bucket, UrlStyle};
pub use bucket_cors::{cors_configuration_xml, CorsRule, GetBucketCors, PutBucketCors};
pub use credentials::{Credentials, Expiry, SigningTime};
pub(crate) use key::hmac_sha256;
pub use key::{SigningKey, SigningKeyCache};
pub use multipart::{
    complete_multipart_body, AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, ListParts,
    UploadPart,
};
pub use object::{CreateBucket, DeleteObject, GetObject, HeadBucket, HeadObject, PutObject};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "s3";
const TERMINATOR: &str = "aws4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const MAX_EXPIRY_SECS: u32 = 604_800;

/// S3's longest object key, in bytes; failing here beats handing out a URL that cannot work.
pub const MAX_OBJECT_KEY_BYTES: usize = 1024;
/// S3's largest object in one request (a `PUT` or a POST-policy upload): 5 GiB. Larger files
/// need multipart uploads.
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// The size of each part of a multipart upload but the last: 5 MiB to 5 GiB.
pub const PART_BYTES: RangeInclusive<u64> = 5 * 1024 * 1024..=MAX_PUT_BYTES;
/// S3's part numbers: a multipart upload has at most 10,000 parts.
pub const PART_NUMBERS: RangeInclusive<u16> = 1..=MAX_PARTS;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: u16 = 10_000;

/// Errors from [`Bucket::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketError {
    /// Not an absolute `scheme://host[:port]` URL, or it has user info, a path or a
    /// query, or virtual-host style was asked of an IP address.
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(&'static str),
    /// The scheme is neither `http` nor `https`.
    #[error("unsupported endpoint scheme {0:?}")]
    UnsupportedScheme(String),
    /// Empty, `.`, `..`, contains `/`, or (virtual-host style) is not lowercase DNS.
    #[error("invalid bucket name")]
    InvalidName,
    /// Empty, or contains `/`, whitespace or non-ASCII characters.
    #[error("invalid region")]
    InvalidRegion,
}

/// Errors from building signing inputs or presigning a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    /// The timestamp is before 1970 or after year 9999.
    #[error("signing time {0} is out of range")]
    InvalidTime(i64),
    /// The expiry is outside 1..=604800 seconds.
    #[error("expiry of {0} seconds is outside 1..=604800")]
    InvalidExpiry(u32),
    /// The object key is empty, longer than 1024 bytes, or has a `.` or `..` segment.
    #[error("invalid object key: {0}")]
    InvalidObjectKey(&'static str),
    /// A signed header has an invalid or reserved name, or a value with control or
    /// non-ASCII characters.
    #[error("invalid signed header {0:?}")]
    InvalidHeader(String),
    /// A query parameter has an empty name, one starting with `X-Amz-`, or one the
    /// action sets itself (`uploads`, `partNumber`, `uploadId`).
    #[error("invalid query parameter {0:?}")]
    InvalidQueryParam(String),
    /// A multipart part number is outside 1..=10000.
    #[error("part number {0} is outside 1..=10000")]
    InvalidPartNumber(u16),
    /// The part list of a multipart completion is empty, repeats a part number, or has
    /// an ETag that XML cannot carry.
    #[error("invalid part list: {0}")]
    InvalidParts(&'static str),
}

/// A presigned request: send `method` to `url` with exactly `headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// The HTTP method the signature covers.
    pub method: Method,
    /// The full URL, ending in `X-Amz-Signature`.
    pub url: String,
    /// Signed headers other than `host`, sorted by name: the client must send each
    /// with exactly this value or S3 rejects the signature.
    pub headers: Vec<(String, String)>,
}

/// The signing key of one request and the instant it is signed at. Only [`Presign`]'s own
/// methods make one, from the action's credentials and region, so the key always matches the
/// request it signs.
#[derive(Debug, Clone, Copy)]
pub struct KeyAt<'k> {
    key: &'k SigningKey,
    at: SigningTime,
}

/// An S3 request (or POST policy) that can be signed ahead of time for someone else to send.
///
/// Implementors say which bucket and credentials they sign for; the provided methods pick the
/// matching [`SigningKey`] themselves, so a key of another access key, day or region can never
/// be used.
pub trait Presign {
    /// What signing yields ([`Presigned`], or a signed POST policy).
    type Signed;
    /// Why the action cannot be signed.
    type Error;

    /// The bucket the request goes to (its region scopes the key).
    fn bucket(&self) -> &Bucket;

    /// The credentials the request is signed for.
    fn credentials(&self) -> &Credentials;

    /// Signs with `key`, which [`Presign::presign`] or [`Presign::presign_uncached`] derived for
    /// this action's credentials and region and the signing day.
    ///
    /// # Errors
    ///
    /// As the implementor documents.
    fn sign_with(&self, key: KeyAt<'_>, expires: Expiry) -> Result<Self::Signed, Self::Error>;

    /// Signs at `at` for `expires`, with the key from `keys` (derived only on a miss).
    ///
    /// # Errors
    ///
    /// As [`Presign::sign_with`].
    fn presign(
        &self,
        keys: &mut SigningKeyCache,
        at: SigningTime,
        expires: Expiry,
    ) -> Result<Self::Signed, Self::Error> {
        let key = keys.get(self.credentials(), at, self.bucket().region());
        self.sign_with(KeyAt { key, at }, expires)
    }

    /// Signs at `at` for `expires`, deriving the key for this request alone (four more HMACs
    /// than a cache hit): for one-off requests such as the CLI's.
    ///
    /// # Errors
    ///
    /// As [`Presign::sign_with`].
    fn presign_uncached(&self, at: SigningTime, expires: Expiry) -> Result<Self::Signed, Self::Error> {
        let key = SigningKey::derive(self.credentials(), at, self.bucket().region());
        self.sign_with(KeyAt { key: &key, at }, expires)
    }
}

/// `S3`'s part numbers, checked.
fn valid_part_number(part_number: u16) -> Result<u16, PresignError> {
    if PART_NUMBERS.contains(&part_number) {
        Ok(part_number)
    } else {
        Err(PresignError::InvalidPartNumber(part_number))
    }
}
