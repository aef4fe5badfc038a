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
//! Typical use: build a [`Bucket`] and [`Credentials`] once, take the key from the cache
//! with `keys.get(&credentials, at, bucket.region())`, then
//! `PutObject::new(&bucket, &credentials, key).content_type(..).presign(signing_key, at, expiry)`.
//! A multipart upload presigns each step the same way: [`CreateMultipartUpload`], one
//! [`UploadPart`] per part, [`ListParts`], then [`CompleteMultipartUpload`] (its body from
//! [`complete_multipart_body`]) or [`AbortMultipartUpload`].
//!
//! [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use http::Method;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};
use zeroize::Zeroizing;

mod bucket_cors;
pub use bucket_cors::{cors_configuration_xml, CorsRule, PutBucketCors};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "s3";
const TERMINATOR: &str = "aws4_request";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const MAX_EXPIRY_SECS: u32 = 604_800;
/// S3's limit; failing here beats handing out a URL that cannot work.
const MAX_OBJECT_KEY_BYTES: usize = 1024;

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
    /// The signing key was derived for another access key, day or region.
    #[error("signing key does not match the credentials, day or region")]
    KeyScopeMismatch,
}

/// S3 access credentials. `Debug` shows only the access key id.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
}

impl Credentials {
    /// Long-term credentials: an access key id and its secret.
    #[must_use]
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Zeroizing::new(secret_access_key.into()),
            session_token: None,
        }
    }

    /// Adds the session token of temporary credentials, sent as `X-Amz-Security-Token`.
    #[must_use]
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Zeroizing::new(token.into()));
        self
    }

    /// The access key id.
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The session token, if these are temporary credentials.
    #[must_use]
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref().map(String::as_str)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The instant a request is signed at, in whole UTC seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SigningTime(OffsetDateTime);

impl SigningTime {
    /// The signing time for a Unix timestamp.
    ///
    /// # Errors
    ///
    /// [`PresignError::InvalidTime`] before 1970 or after year 9999, which the
    /// four-digit year of `X-Amz-Date` cannot express.
    pub fn from_unix(secs: i64) -> Result<Self, PresignError> {
        match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) if secs >= 0 => Ok(Self(t)),
            _ => Err(PresignError::InvalidTime(secs)),
        }
    }

    /// The `X-Amz-Date` form, `yyyymmddThhmmssZ`.
    #[must_use]
    pub fn amz_date(self) -> String {
        self.amz_date_bytes().iter().copied().map(char::from).collect()
    }

    /// The credential-scope date, `yyyymmdd`.
    #[must_use]
    pub fn date_stamp(self) -> String {
        self.amz_date_bytes()[..8].iter().copied().map(char::from).collect()
    }

    /// `yyyymmddThhmmssZ` as ASCII bytes, written digit by digit: every presign needs it, and
    /// `format!` costs more than the rest of building the URL. The year has four digits
    /// because [`SigningTime::from_unix`] accepts 1970 to 9999 only.
    fn amz_date_bytes(self) -> [u8; 16] {
        let (year, month, day) = self.0.to_calendar_date();
        let (hour, minute, second) = self.0.to_hms();
        let mut out = *b"00000000T000000Z";
        let fields = [
            (0..4, year.unsigned_abs()),
            (4..6, u32::from(u8::from(month))),
            (6..8, u32::from(day)),
            (9..11, u32::from(hour)),
            (11..13, u32::from(minute)),
            (13..15, u32::from(second)),
        ];
        for (digits, mut value) in fields {
            for digit in out[digits].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        out
    }
}

/// How long a presigned URL stays valid (`X-Amz-Expires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry(u32);

impl Expiry {
    /// An expiry of `secs` seconds.
    ///
    /// # Errors
    ///
    /// [`PresignError::InvalidExpiry`] unless `secs` is in 1..=604800 (seven days),
    /// the range S3 accepts.
    pub fn from_secs(secs: u32) -> Result<Self, PresignError> {
        if (1..=MAX_EXPIRY_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(PresignError::InvalidExpiry(secs))
        }
    }

    /// The expiry in seconds.
    #[must_use]
    pub const fn as_secs(self) -> u32 {
        self.0
    }
}

/// Where the bucket name goes in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStyle {
    /// `scheme://host/bucket/key`: works with any endpoint, IP addresses included.
    Path,
    /// `scheme://bucket.host/key`: needs a lowercase DNS bucket name.
    VirtualHost,
}

/// An S3 bucket at an endpoint: everything needed to build its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    scheme: &'static str,
    /// The `Host` header clients send: lowercase, with any non-default port.
    host: String,
    /// `/bucket` in path style, empty in virtual-host style.
    path_prefix: String,
    name: String,
    region: String,
}

impl Bucket {
    /// Bucket `name` in `region`, reached through `endpoint`
    /// (`https://s3.us-east-1.amazonaws.com`, `http://127.0.0.1:9000`, ...).
    ///
    /// # Errors
    ///
    /// [`BucketError::InvalidEndpoint`], [`BucketError::UnsupportedScheme`],
    /// [`BucketError::InvalidName`] or [`BucketError::InvalidRegion`], as documented
    /// on each variant.
    pub fn new(endpoint: &str, style: UrlStyle, name: &str, region: &str) -> Result<Self, BucketError> {
        let invalid = BucketError::InvalidEndpoint;
        let uri: http::Uri = endpoint.parse().map_err(|_| invalid("not a URL"))?;
        let (scheme, default_port) = match uri.scheme_str() {
            Some("https") => ("https", 443),
            Some("http") => ("http", 80),
            Some(other) => return Err(BucketError::UnsupportedScheme(other.to_owned())),
            None => return Err(invalid("missing scheme")),
        };
        let authority = uri.authority().ok_or(invalid("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("user info is not allowed"));
        }
        if authority.host().is_empty() {
            return Err(invalid("missing host"));
        }
        // `http::Uri` accepts ports it cannot read as a u16 and then reports none.
        if authority.port_u16().is_none() && authority.as_str() != authority.host() {
            return Err(invalid("invalid port"));
        }
        if uri.query().is_some() || !matches!(uri.path(), "" | "/") {
            return Err(invalid("path or query is not allowed"));
        }
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(BucketError::InvalidRegion);
        }
        if !valid_bucket_name(name, style) {
            return Err(BucketError::InvalidName);
        }
        // `host` is signed, so sign what clients send: browsers lowercase the host
        // and leave out a default port.
        let bare_host = authority.host().to_ascii_lowercase();
        let mut host = match authority.port_u16() {
            Some(port) if port != default_port => format!("{bare_host}:{port}"),
            _ => bare_host.clone(),
        };
        let mut path_prefix = String::new();
        match style {
            UrlStyle::Path => {
                path_prefix.push('/');
                encode_into(&mut path_prefix, name, false);
            }
            UrlStyle::VirtualHost => {
                if bare_host.starts_with('[') || bare_host.parse::<Ipv4Addr>().is_ok() {
                    return Err(invalid("virtual-host style needs a DNS name"));
                }
                host = format!("{name}.{host}");
            }
        }
        let (name, region) = (name.to_owned(), region.to_owned());
        Ok(Self {
            scheme,
            host,
            path_prefix,
            name,
            region,
        })
    }

    /// The bucket name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The region used in the credential scope.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The `Host` header value that requests to this bucket carry and sign.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The unsigned URL of the bucket itself, ending in `/`.
    #[must_use]
    pub fn bucket_url(&self) -> String {
        self.url(&self.object_path(""))
    }

    /// The unsigned URL of an object, its key encoded the way `SigV4` canonicalises it
    /// (each segment percent-encoded, `/` kept).
    #[must_use]
    pub fn object_url(&self, object_key: &str) -> String {
        self.url(&self.object_path(object_key))
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.host)
    }

    fn object_path(&self, object_key: &str) -> String {
        let mut path = format!("{}/", self.path_prefix);
        encode_into(&mut path, object_key, true);
        path
    }
}

fn valid_bucket_name(name: &str, style: UrlStyle) -> bool {
    let dns = || {
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
        name.bytes().all(allowed) && !name.starts_with('.') && !name.ends_with('.')
    };
    !matches!(name, "" | "." | "..")
        && !name.contains('/')
        && (style == UrlStyle::Path || (dns() && !name.contains("..")))
}

/// A derived `SigV4` signing key, valid for one access key, UTC day and region.
///
/// Presigning with a key whose scope does not match the request fails with
/// [`PresignError::KeyScopeMismatch`] instead of yielding a dead URL.
pub struct SigningKey {
    /// HMAC-SHA256 keyed with the derived key, its inner and outer pad blocks already hashed:
    /// each signature clones it instead of re-keying, which saves two of the dozen SHA-256
    /// block compressions a presign costs (they are most of its time). The key bytes
    /// themselves are zeroized once this is built, but this state is not zeroized on drop:
    /// `hmac` 0.12 offers no way to, and `unsafe` is forbidden here. It is worth as much as
    /// the key (one day, one region); per-signature HMAC state on the stack never was
    /// zeroized either.
    mac: Hmac<Sha256>,
    access_key_id: String,
    date: Date,
    region: String,
    /// `yyyymmdd/region/s3/aws4_request`, for the string to sign.
    scope: String,
    /// `X-Amz-Credential`'s value, already query-encoded: `akid%2Fyyyymmdd%2Fregion%2Fs3%2Faws4_request`.
    /// The key is only used for this access key, day and region, so both strings are built
    /// once here instead of on every signature.
    credential: String,
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
    /// policy), after the scope check that presigning makes.
    ///
    /// # Errors
    ///
    /// [`PresignError::KeyScopeMismatch`] unless the key is for `credentials`, `at`'s day and
    /// `region`.
    pub(crate) fn sign_string(
        &self,
        credentials: &Credentials,
        at: SigningTime,
        region: &str,
        string_to_sign: &str,
    ) -> Result<String, PresignError> {
        if !self.is_for(credentials.access_key_id(), at, region) {
            return Err(PresignError::KeyScopeMismatch);
        }
        let mut mac = self.mac.clone();
        mac.update(string_to_sign.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
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
    entries: Vec<(Zeroizing<[u8; 32]>, SigningKey)>,
}

impl SigningKeyCache {
    const CAPACITY: usize = 16;

    /// An empty cache.
    #[must_use]
    pub const fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// The key for `credentials` at `at` in `region`, derived only on a miss.
    pub fn get(&mut self, credentials: &Credentials, at: SigningTime, region: &str) -> &SigningKey {
        let secret = credentials.secret_access_key.as_bytes();
        let digest = Zeroizing::new(Sha256::digest(secret).into());
        let akid = credentials.access_key_id();
        let fresh = |(d, key): &(_, SigningKey)| *d == digest && key.is_for(akid, at, region);
        let hit = self.entries.iter().position(fresh);
        let index = hit.unwrap_or_else(|| {
            self.entries.retain(|(_, key)| key.date == at.0.date());
            if self.entries.len() >= Self::CAPACITY {
                self.entries.remove(0);
            }
            let key = SigningKey::derive(credentials, at, region);
            self.entries.push((digest, key));
            self.entries.len() - 1
        });
        &self.entries[index].1
    }
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

/// Extra signed query parameters and headers of one action.
#[derive(Debug, Clone, Default)]
struct Extras {
    query: Vec<(String, String)>,
    /// By lowercase name, so setting a header again replaces it.
    headers: BTreeMap<String, String>,
}

/// One request before signing.
struct Request<'a> {
    method: Method,
    bucket: &'a Bucket,
    credentials: &'a Credentials,
    /// Unencoded; empty for the bucket itself.
    object_key: &'a str,
    /// The action's own query parameters, which `extras` may not repeat.
    subresource: &'a [(&'static str, String)],
    extras: &'a Extras,
}

/// A request's URL up to its signature, and what else the signature covers.
///
/// The canonical request and the string to sign are never built as strings: their parts are
/// streamed into a [`Sink`] (the SHA-256 of the canonical request, then the HMAC), and the
/// path and query are read back out of `url`, which is also what the client gets.
struct Unsigned {
    /// `scheme://host/path?query`, ready for `&X-Amz-Signature=`.
    url: String,
    /// The canonical URI: the path as encoded in `url`.
    path: Range<usize>,
    /// The canonical query string: the query as emitted in `url`, sorted.
    query: Range<usize>,
    /// Signed headers other than `host`, sorted by name, values canonical.
    headers: Vec<(String, String)>,
    amz_date: [u8; 16],
}

impl Request<'_> {
    fn unsigned(&self, key: &SigningKey, at: SigningTime, expires: Expiry) -> Result<Unsigned, PresignError> {
        let headers = canonical_headers(&self.extras.headers)?;
        let mut params = Vec::with_capacity(self.subresource.len() + self.extras.query.len());
        params.extend(self.subresource.iter().map(|(name, value)| (*name, value.as_str())));
        for (name, value) in &self.extras.query {
            let amz = name.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"));
            let taken = self.subresource.iter().any(|(own, _)| own == name);
            if name.is_empty() || amz || taken {
                return Err(PresignError::InvalidQueryParam(name.clone()));
            }
            params.push((name.as_str(), value.as_str()));
        }
        sort_params(&mut params);
        // No other parameter starts with `X-Amz-` (refused above), so each sorts either before
        // or after all the signer's own, which are written in sorted order between them.
        let before_amz = params.partition_point(|(name, _)| encoded_cmp(name, "X-Amz-").is_lt());
        let (before, after) = params.split_at(before_amz);

        let (bucket, token) = (self.bucket, self.credentials.session_token());
        let extra_bytes: usize = params.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        // Room for the usual case, signature included; more only costs one reallocation.
        let capacity = 320 + bucket.host.len() + bucket.path_prefix.len() + key.credential.len();
        let capacity = capacity + self.object_key.len() * 3 / 2 + token.map_or(0, str::len) * 3 + extra_bytes * 3;
        let mut url = String::with_capacity(capacity);
        url.push_str(bucket.scheme);
        url.push_str("://");
        url.push_str(&bucket.host);
        let path_start = url.len();
        url.push_str(&bucket.path_prefix);
        url.push('/');
        encode_into(&mut url, self.object_key, true);
        let path = path_start..url.len();
        url.push('?');
        let query_start = url.len();
        for (name, value) in before {
            push_param(&mut url, name, value);
            url.push('&');
        }
        let amz_date = at.amz_date_bytes();
        url.push_str("X-Amz-Algorithm=");
        url.push_str(ALGORITHM);
        url.push_str("&X-Amz-Credential=");
        url.push_str(&key.credential);
        url.push_str("&X-Amz-Date=");
        url.extend(amz_date.iter().copied().map(char::from));
        url.push_str("&X-Amz-Expires=");
        push_decimal(&mut url, expires.as_secs());
        if let Some(token) = token {
            url.push_str("&X-Amz-Security-Token=");
            encode_into(&mut url, token, false);
        }
        url.push_str("&X-Amz-SignedHeaders=");
        for (i, (name, _)) in with_host(&headers, "").enumerate() {
            if i > 0 {
                url.push_str("%3B"); // `;`, encoded
            }
            encode_into(&mut url, name, false);
        }
        for (name, value) in after {
            url.push('&');
            push_param(&mut url, name, value);
        }
        let query = query_start..url.len();
        Ok(Unsigned {
            url,
            path,
            query,
            headers,
            amz_date,
        })
    }

    fn presign(&self, key: &SigningKey, at: SigningTime, expires: Expiry) -> Result<Presigned, PresignError> {
        if !key.is_for(self.credentials.access_key_id(), at, self.bucket.region()) {
            return Err(PresignError::KeyScopeMismatch);
        }
        let unsigned = self.unsigned(key, at, expires)?;
        let mut canonical_request = Sha256::new();
        unsigned.canonical_request(self.method.as_str(), self.bucket.host(), &mut canonical_request);
        let hash = hex_bytes(&canonical_request.finalize().into());
        let mut mac = key.mac.clone();
        unsigned.string_to_sign(&key.scope, &hash, &mut mac);
        let signature = hex_bytes(&mac.finalize().into_bytes().into());

        // The URL carries the canonical query as is, so URL and signature cannot disagree.
        let Unsigned { mut url, headers, .. } = unsigned;
        url.push_str("&X-Amz-Signature=");
        url.extend(signature.iter().copied().map(char::from));
        Ok(Presigned {
            method: self.method.clone(),
            url,
            headers,
        })
    }
}

impl Unsigned {
    /// `method\npath\nquery\nheader lines\n\nsigned names\nUNSIGNED-PAYLOAD`, into `out`.
    fn canonical_request(&self, method: &str, host: &str, out: &mut impl Sink) {
        for part in [
            method,
            "\n",
            &self.url[self.path.clone()],
            "\n",
            &self.url[self.query.clone()],
            "\n",
        ] {
            out.put(part.as_bytes());
        }
        for (name, value) in with_host(&self.headers, host) {
            for part in [name, ":", value, "\n"] {
                out.put(part.as_bytes());
            }
        }
        out.put(b"\n");
        for (i, (name, _)) in with_host(&self.headers, host).enumerate() {
            out.put(if i > 0 { b";" } else { b"" });
            out.put(name.as_bytes());
        }
        out.put(b"\n");
        out.put(UNSIGNED_PAYLOAD.as_bytes());
    }

    /// `AWS4-HMAC-SHA256\namz date\nscope\nhex(SHA-256(canonical request))`, into `out`.
    fn string_to_sign(&self, scope: &str, canonical_request_hash: &[u8; 64], out: &mut impl Sink) {
        for part in [
            ALGORITHM.as_bytes(),
            b"\n",
            &self.amz_date,
            b"\n",
            scope.as_bytes(),
            b"\n",
        ] {
            out.put(part);
        }
        out.put(canonical_request_hash);
    }
}

/// Where the canonical request and the string to sign are written: their hash and MAC when
/// signing, a buffer in tests.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        Digest::update(self, bytes);
    }
}

impl Sink for Hmac<Sha256> {
    fn put(&mut self, bytes: &[u8]) {
        Mac::update(self, bytes);
    }
}

/// The signed headers with `host` in its sorted place: `headers` is sorted by name and cannot
/// hold `host` itself (it is reserved).
fn with_host<'h>(headers: &'h [(String, String)], host: &'h str) -> impl Iterator<Item = (&'h str, &'h str)> {
    let split = headers.partition_point(|(name, _)| name.as_str() < "host");
    let pairs = |part: &'h [(String, String)]| part.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    pairs(&headers[..split])
        .chain([("host", host)])
        .chain(pairs(&headers[split..]))
}

/// Validates and canonicalises the extra headers (`extra` is keyed by lowercase name, so
/// they come out sorted).
fn canonical_headers(extra: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, PresignError> {
    extra
        .iter()
        .map(|(name, value)| {
            let invalid = || PresignError::InvalidHeader(name.clone());
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) || is_reserved_header(name) {
                return Err(invalid());
            }
            let value = canonical_header_value(value).ok_or_else(invalid)?;
            Ok((name.clone(), value))
        })
        .collect()
}

/// Headers the signer owns, or that have no place in a presigned URL.
fn is_reserved_header(name: &str) -> bool {
    const RESERVED: &str = "authorization host x-amz-content-sha256 x-amz-date x-amz-security-token";
    RESERVED.split(' ').any(|reserved| reserved == name)
}

/// Trims and collapses runs of spaces. Control and non-ASCII characters are refused:
/// clients cannot send them reliably, so the signature would not match.
fn canonical_header_value(value: &str) -> Option<String> {
    if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return None;
    }
    let mut out = String::with_capacity(value.len());
    for word in value.split(' ').filter(|word| !word.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Some(out)
}

fn validate_object_key(object_key: &str) -> Result<(), PresignError> {
    let invalid = PresignError::InvalidObjectKey;
    if object_key.is_empty() {
        return Err(invalid("empty"));
    }
    if object_key.len() > MAX_OBJECT_KEY_BYTES {
        return Err(invalid("longer than 1024 bytes"));
    }
    // URL parsers resolve `.` and `..` segments before sending, which would change
    // the path that was signed, or reach another key.
    if object_key.split('/').any(|s| s == "." || s == "..") {
        return Err(invalid("has a . or .. segment"));
    }
    Ok(())
}

/// RFC 3986 unreserved characters stay; every other UTF-8 byte becomes `%XX` (uppercase hex).
/// Form encoding (`+` for space, raw `*`, encoded `~`) would not match what S3 computes.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// As [`SIGV4_ENCODE`], keeping `/` between path segments.
const SIGV4_ENCODE_PATH: &AsciiSet = &SIGV4_ENCODE.remove(b'/');

/// Appends `input` encoded for SigV4, keeping `/` only when `keep_slash`.
fn encode_into(out: &mut String, input: &str, keep_slash: bool) {
    let set = if keep_slash { SIGV4_ENCODE_PATH } else { SIGV4_ENCODE };
    out.extend(utf8_percent_encode(input, set));
}

/// Compares two strings as they compare once encoded, without encoding them into new strings.
fn encoded_cmp(a: &str, b: &str) -> Ordering {
    let encoded = |s| utf8_percent_encode(s, SIGV4_ENCODE).flat_map(str::bytes);
    encoded(a).cmp(encoded(b))
}

/// Sorts query parameters into canonical order: by encoded name, then encoded value.
fn sort_params(params: &mut [(&str, &str)]) {
    params.sort_unstable_by(|a, b| encoded_cmp(a.0, b.0).then_with(|| encoded_cmp(a.1, b.1)));
}

/// Appends `name=value`, both encoded (a valueless parameter becomes `name=`).
fn push_param(out: &mut String, name: &str, value: &str) {
    encode_into(out, name, false);
    out.push('=');
    encode_into(out, value, false);
}

/// Appends `value` in decimal.
fn push_decimal(out: &mut String, mut value: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().copied().map(char::from));
}

/// Lowercase hex, as ASCII bytes.
fn hex_bytes(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    out
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`. Also the MAC of upload ids (`upload_id`).
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut mac = hmac_keyed(key);
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// An HMAC-SHA256 ready for the message. The block-sized key is built here (long keys
/// hashed, short ones zero-padded) so that constructing the MAC cannot fail.
fn hmac_keyed(key: &[u8]) -> Hmac<Sha256> {
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

/// Defines a presigned action on one object: `new` (the object key, then each `$field`),
/// `query` and `presign`. The parameters the action adds itself come from its [`Subresource`].
macro_rules! object_action {
    ($(#[$doc:meta])* $name:ident, $method:ident $(, $field:ident: $ty:ty)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'a> {
            bucket: &'a Bucket,
            credentials: &'a Credentials,
            object_key: &'a str,
            $($field: $ty,)*
            extras: Extras,
        }

        impl<'a> $name<'a> {
            /// The action on `object_key` in `bucket`, signed for `credentials`.
            #[must_use]
            pub fn new(
                bucket: &'a Bucket,
                credentials: &'a Credentials,
                object_key: &'a str,
                $($field: $ty,)*
            ) -> Self {
                Self {
                    bucket,
                    credentials,
                    object_key,
                    $($field,)*
                    extras: Extras::default(),
                }
            }

            /// Adds a signed query parameter (e.g. `response-content-disposition`);
            /// an empty value gives a valueless `name=`.
            #[must_use]
            pub fn query(mut self, name: &str, value: &str) -> Self {
                self.extras.query.push((name.to_owned(), value.to_owned()));
                self
            }

            /// Signs the request.
            ///
            /// # Errors
            ///
            /// [`PresignError::InvalidObjectKey`], [`PresignError::InvalidQueryParam`],
            /// [`PresignError::InvalidHeader`], [`PresignError::KeyScopeMismatch`], or (for an
            /// [`UploadPart`]) [`PresignError::InvalidPartNumber`].
            pub fn presign(
                &self,
                key: &SigningKey,
                at: SigningTime,
                expires: Expiry,
            ) -> Result<Presigned, PresignError> {
                validate_object_key(self.object_key)?;
                let subresource = self.subresource()?;
                let request = Request {
                    method: Method::$method,
                    bucket: self.bucket,
                    credentials: self.credentials,
                    object_key: self.object_key,
                    subresource: &subresource,
                    extras: &self.extras,
                };
                request.presign(key, at, expires)
            }
        }
    };
}

/// The query parameters that select what an action does to its object (`uploads`,
/// `uploadId`, ...). They are signed like any other, and [`Extras`] may not repeat them.
trait Subresource {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        Ok(Vec::new())
    }
}

/// Adds `header`, and the named shorthands for it, to an action whose request carries
/// headers the client must then send exactly.
macro_rules! signed_header_builders {
    ($name:ident: $($shorthand:ident),*) => {
        impl $name<'_> {
            $(signed_header_builders!(@$shorthand);)*

            /// Signs any other header (`content-md5`, `x-amz-meta-*`, ...) that the request
            /// must then send with this value. Setting a name again replaces its value.
            #[must_use]
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.extras.headers.insert(name.to_ascii_lowercase(), value.to_owned());
                self
            }
        }
    };
    (@content_type) => {
        /// Signs `content-type`: the request must send exactly this value.
        #[must_use]
        pub fn content_type(self, content_type: &str) -> Self {
            self.header("content-type", content_type)
        }
    };
    (@content_length) => {
        /// Signs `content-length`: the body must be exactly this many bytes.
        #[must_use]
        pub fn content_length(self, length: u64) -> Self {
            self.header("content-length", &length.to_string())
        }
    };
}

object_action!(
    /// Presigned `GetObject`: download an object.
    GetObject, GET
);
object_action!(
    /// Presigned `HeadObject`: read an object's metadata.
    HeadObject, HEAD
);
object_action!(
    /// Presigned `DeleteObject`: remove an object (S3 answers 204 whether or not it existed).
    DeleteObject, DELETE
);
object_action!(
    /// Presigned `PutObject`: upload a whole object (one part of a multipart upload is
    /// an [`UploadPart`]).
    PutObject, PUT
);
signed_header_builders!(PutObject: content_type, content_length);

object_action!(
    /// Presigned [`CreateMultipartUpload`][spec]: `POST ?uploads` starts a multipart upload,
    /// answered with XML carrying its `<UploadId>`.
    ///
    /// Content type and metadata (`x-amz-meta-*`) of the final object are set here, not on
    /// the parts; sign `content-type` only if the client sends exactly that value.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
    CreateMultipartUpload, POST
);
signed_header_builders!(CreateMultipartUpload: content_type);

object_action!(
    /// Presigned [`UploadPart`][spec]: `PUT ?partNumber=N&uploadId=ID` uploads part
    /// `part_number` (1..=10000) of upload `upload_id`. S3 answers with the part's `ETag`
    /// header, which [`complete_multipart_body`] needs; every part but the last must be at
    /// least 5 MiB.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
    UploadPart, PUT, part_number: u16, upload_id: &'a str
);
signed_header_builders!(UploadPart: content_length);

object_action!(
    /// Presigned [`CompleteMultipartUpload`][spec]: `POST ?uploadId=ID` with the body from
    /// [`complete_multipart_body`] assembles the parts into the object.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
    CompleteMultipartUpload, POST, upload_id: &'a str
);
object_action!(
    /// Presigned [`AbortMultipartUpload`][spec]: `DELETE ?uploadId=ID` discards the upload
    /// and its parts.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
    AbortMultipartUpload, DELETE, upload_id: &'a str
);
object_action!(
    /// Presigned [`ListParts`][spec]: `GET ?uploadId=ID` lists the parts uploaded so far.
    /// Page with `.query("max-parts", ..)` and `.query("part-number-marker", ..)`.
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
    ListParts, GET, upload_id: &'a str
);

impl Subresource for GetObject<'_> {}
impl Subresource for HeadObject<'_> {}
impl Subresource for DeleteObject<'_> {}
impl Subresource for PutObject<'_> {}

impl Subresource for CreateMultipartUpload<'_> {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        Ok(vec![("uploads", String::new())])
    }
}

impl Subresource for UploadPart<'_> {
    fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
        let part_number = valid_part_number(self.part_number)?.to_string();
        Ok(vec![
            ("partNumber", part_number),
            ("uploadId", self.upload_id.to_owned()),
        ])
    }
}

/// Actions on an upload in progress name it by `uploadId` alone.
macro_rules! upload_id_subresource {
    ($($name:ident),*) => {$(
        impl Subresource for $name<'_> {
            fn subresource(&self) -> Result<Vec<(&'static str, String)>, PresignError> {
                Ok(vec![("uploadId", self.upload_id.to_owned())])
            }
        }
    )*};
}
upload_id_subresource!(CompleteMultipartUpload, AbortMultipartUpload, ListParts);

/// S3's part numbers.
const PART_NUMBERS: std::ops::RangeInclusive<u16> = 1..=10_000;

fn valid_part_number(part_number: u16) -> Result<u16, PresignError> {
    if PART_NUMBERS.contains(&part_number) {
        Ok(part_number)
    } else {
        Err(PresignError::InvalidPartNumber(part_number))
    }
}

/// The XML body of a [`CompleteMultipartUpload`]: each `(part number, ETag)`, in part-number
/// order whatever the order given, as
/// `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…</CompleteMultipartUpload>`.
///
/// ETags go in as given (S3's have their double quotes, which stay): only `&`, `<` and `>`
/// are escaped.
///
/// # Errors
///
/// [`PresignError::InvalidParts`] when `parts` is empty, repeats a part number, or has an
/// ETag with a control character (which XML cannot carry); [`PresignError::InvalidPartNumber`]
/// for a number outside 1..=10000.
pub fn complete_multipart_body(parts: &[(u16, &str)]) -> Result<String, PresignError> {
    if parts.is_empty() {
        return Err(PresignError::InvalidParts("no parts"));
    }
    let mut sorted = parts.to_vec();
    sorted.sort_unstable_by_key(|&(number, _)| number);
    if sorted.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(PresignError::InvalidParts("a part number is repeated"));
    }
    let mut body = String::from("<CompleteMultipartUpload>");
    for (number, etag) in sorted {
        let number = valid_part_number(number)?;
        if etag.chars().any(char::is_control) {
            return Err(PresignError::InvalidParts("an ETag has a control character"));
        }
        body.push_str("<Part><PartNumber>");
        body.push_str(&number.to_string());
        body.push_str("</PartNumber><ETag>");
        for c in etag.chars() {
            match c {
                '&' => body.push_str("&amp;"),
                '<' => body.push_str("&lt;"),
                '>' => body.push_str("&gt;"),
                c => body.push(c),
            }
        }
        body.push_str("</ETag></Part>");
    }
    body.push_str("</CompleteMultipartUpload>");
    Ok(body)
}

/// Presigned `CreateBucket`: `PUT` on the bucket URL.
#[derive(Debug, Clone)]
pub struct CreateBucket<'a> {
    bucket: &'a Bucket,
    credentials: &'a Credentials,
}

impl<'a> CreateBucket<'a> {
    /// Creation of `bucket`, signed for `credentials`.
    #[must_use]
    pub const fn new(bucket: &'a Bucket, credentials: &'a Credentials) -> Self {
        Self { bucket, credentials }
    }

    /// Signs the request.
    ///
    /// # Errors
    ///
    /// [`PresignError::KeyScopeMismatch`].
    pub fn presign(&self, key: &SigningKey, at: SigningTime, expires: Expiry) -> Result<Presigned, PresignError> {
        let request = Request {
            method: Method::PUT,
            bucket: self.bucket,
            credentials: self.credentials,
            object_key: "",
            subresource: &[],
            extras: &Extras::default(),
        };
        request.presign(key, at, expires)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use UrlStyle::{Path, VirtualHost};

    const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2013-05-24T00:00:00Z, the time of the AWS documentation example.
    const AWS_TIME: i64 = 1_369_353_600;
    const AWS_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host";
    const AWS_DATE: &str = "20130524T000000Z";
    const AWS_HOST: &str = "examplebucket.s3.amazonaws.com";

    type Signed = Result<Presigned, PresignError>;

    fn at(offset: i64) -> SigningTime {
        SigningTime::from_unix(AWS_TIME + offset).unwrap()
    }

    fn day() -> Expiry {
        Expiry::from_secs(86_400).unwrap()
    }

    fn creds() -> Credentials {
        Credentials::new(AKID, SECRET)
    }

    fn bucket(style: UrlStyle) -> Bucket {
        let (endpoint, name) = match style {
            Path => ("http://127.0.0.1:9000", "uploads"),
            VirtualHost => ("https://s3.amazonaws.com", "examplebucket"),
        };
        Bucket::new(endpoint, style, name, "us-east-1").unwrap()
    }

    /// Presigns the PUT of `object` that `build` shapes, in `style`'s bucket.
    fn put(style: UrlStyle, object: &str, build: impl FnOnce(PutObject) -> PutObject) -> Presigned {
        try_put(style, object, build).unwrap()
    }

    fn try_put(style: UrlStyle, object: &str, build: impl FnOnce(PutObject) -> PutObject) -> Signed {
        let (bucket, creds) = (bucket(style), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        build(PutObject::new(&bucket, &creds, object)).presign(&key, at(0), day())
    }

    fn get(object: &str, creds: &Credentials, query: &[(&str, &str)]) -> Presigned {
        let (bucket, key) = (bucket(VirtualHost), SigningKey::derive(creds, at(0), "us-east-1"));
        let mut action = GetObject::new(&bucket, creds, object);
        for (name, value) in query {
            action = action.query(name, value);
        }
        action.presign(&key, at(0), day()).unwrap()
    }

    fn signature(presigned: &Presigned) -> &str {
        presigned.url.rsplit_once("&X-Amz-Signature=").unwrap().1
    }

    fn encoded(input: &str, keep_slash: bool) -> String {
        let mut out = String::new();
        encode_into(&mut out, input, keep_slash);
        out
    }

    fn decoded(input: &str) -> String {
        let (bytes, mut out, mut i) = (input.as_bytes(), Vec::new(), 0);
        while i < bytes.len() {
            let hex = (bytes[i] == b'%').then(|| &input[i + 1..i + 3]);
            out.push(hex.map_or(bytes[i], |h| u8::from_str_radix(h, 16).unwrap()));
            i += if hex.is_some() { 3 } else { 1 };
        }
        String::from_utf8(out).unwrap()
    }

    impl Sink for Vec<u8> {
        fn put(&mut self, bytes: &[u8]) {
            self.extend_from_slice(bytes);
        }
    }

    #[test]
    fn aws_get_example_step_by_step() {
        let (bucket, creds, extras) = (bucket(VirtualHost), creds(), Extras::default());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let (bucket, credentials, extras) = (&bucket, &creds, &extras);
        let request = Request {
            method: Method::GET,
            bucket,
            credentials,
            object_key: "test.txt",
            subresource: &[],
            extras,
        };
        let unsigned = request.unsigned(&key, at(0), day()).unwrap();
        assert_eq!(&unsigned.url[unsigned.query.clone()], AWS_QUERY);
        assert_eq!(&unsigned.url[unsigned.path.clone()], "/test.txt");
        assert_eq!(unsigned.url, format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}"));
        assert!(unsigned.headers.is_empty());

        let mut creq = Vec::new();
        unsigned.canonical_request("GET", AWS_HOST, &mut creq);
        let expected = format!("GET\n/test.txt\n{AWS_QUERY}\nhost:{AWS_HOST}\n\nhost\nUNSIGNED-PAYLOAD");
        assert_eq!(String::from_utf8(creq.clone()).unwrap(), expected);
        let hash = "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04";
        assert_eq!(hex::encode(Sha256::digest(&creq)), hash);
        assert_eq!(hex_bytes(&Sha256::digest(&creq).into()), hash.as_bytes());
        let mut sts = Vec::new();
        unsigned.string_to_sign(&key.scope, &hash.as_bytes().try_into().unwrap(), &mut sts);
        let scope = "20130524/us-east-1/s3/aws4_request";
        let expected = format!("AWS4-HMAC-SHA256\n20130524T000000Z\n{scope}\n{hash}");
        assert_eq!(String::from_utf8(sts).unwrap(), expected);
    }

    #[test]
    fn canonical_request_places_host_among_signed_headers() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let extras = Extras {
            query: Vec::new(),
            headers: BTreeMap::from([
                ("x-amz-meta-a".to_owned(), " a  b ".to_owned()),
                ("content-type".to_owned(), "text/plain".to_owned()),
            ]),
        };
        let request = Request {
            method: Method::PUT,
            bucket: &bucket,
            credentials: &creds,
            object_key: "k",
            subresource: &[],
            extras: &extras,
        };
        let unsigned = request.unsigned(&key, at(0), day()).unwrap();
        let mut creq = Vec::new();
        unsigned.canonical_request("PUT", bucket.host(), &mut creq);
        let creq = String::from_utf8(creq).unwrap();
        let headers = "content-type:text/plain\nhost:127.0.0.1:9000\nx-amz-meta-a:a b\n";
        let signed = "content-type;host;x-amz-meta-a";
        assert!(
            creq.ends_with(&format!("\n{headers}\n{signed}\nUNSIGNED-PAYLOAD")),
            "{creq}"
        );
        let query = &unsigned.url[unsigned.query.clone()];
        assert!(
            query.ends_with("&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-a"),
            "{query}"
        );
    }

    #[test]
    fn aws_presign_vectors() {
        let got = get("test.txt", &creds(), &[]);
        let sig = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
        let url = format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}&X-Amz-Signature={sig}");
        assert_eq!((got.method, got.url), (Method::GET, url));
        assert!(got.headers.is_empty());

        let got = put(VirtualHost, "test.txt", |p| p);
        let sig = "f4db56459304dafaa603a99a23c6bea8821890259a65c18ff503a4a72a80efd9";
        assert_eq!(signature(&got), sig);

        let token = creds().with_session_token("oej5cie4uctureturdtuc5dctd");
        let got = get("test.txt", &token, &[]);
        let sig = "bf77b83a7135594046c90a7e7e10cf1a4c8f8ecc1d541d0f42bea6b7670870c7";
        assert_eq!(signature(&got), sig);
        let expected = "&X-Amz-Security-Token=oej5cie4uctureturdtuc5dctd&X-Amz-SignedHeaders=host&";
        assert!(got.url.contains(expected));

        let got = get("test.txt", &creds(), &[("response-content-type", "text/plain")]);
        let sig = "9cee3ba363b3a52fed152d18bb250d52a459d0905600d9b032825a3794ffd2cb";
        assert_eq!(signature(&got), sig);
        let expected = "&response-content-type=text%2Fplain&X-Amz-Signature=";
        assert!(got.url.contains(expected));
    }

    /// Signatures computed independently with botocore 1.43 (path style, 900 s).
    #[test]
    fn awkward_keys_headers_and_tokens_match_botocore() {
        let object = "dir/a b+c%d~*:é😀/x";
        let path = "/uploads/dir/a%20b%2Bc%25d~%2A%3A%C3%A9%F0%9F%98%80/x?";
        let (bucket, plain) = (bucket(Path), creds());
        let token = creds().with_session_token("tok/en+==");
        let expires = Expiry::from_secs(900).unwrap();

        let key = SigningKey::derive(&token, at(0), "us-east-1");
        let put = PutObject::new(&bucket, &token, object).content_type("image/png");
        let put = put.content_length(1234).presign(&key, at(0), expires);
        let put = put.unwrap();
        assert!(put.url.contains(path));
        assert!(put.url.contains("&X-Amz-Security-Token=tok%2Fen%2B%3D%3D&"));
        let sig = "c169cf7ffd0b83cf91b2a2ea14ac65fc6082fa134d16db845d0f150df248d846";
        assert_eq!(signature(&put), sig);

        let key = SigningKey::derive(&plain, at(0), "us-east-1");
        let disposition = "attachment; filename=\"a b.txt\"";
        let get = GetObject::new(&bucket, &plain, object);
        let get = get.query("response-content-disposition", disposition);
        let get = get.presign(&key, at(0), expires).unwrap();
        let sig = "ba3c5673ce78f3cd851ad5a5f1eef58767255b569983baccaaa3ed177a2809fb";
        assert_eq!(signature(&get), sig);
    }

    #[test]
    fn encoding_follows_rfc_3986() {
        let reserved = "%2A%3A%40%21%24%26%27%28%29%3D%2C%3B%3F%23";
        let cases = [
            ("AZaz09-_.~", "AZaz09-_.~"),
            ("a b+c%d", "a%20b%2Bc%25d"),
            ("*:@!$&'()=,;?#", reserved),
            ("é✓😀", "%C3%A9%E2%9C%93%F0%9F%98%80"),
            ("\u{0}\n\\", "%00%0A%5C"),
        ];
        for (input, expected) in cases {
            assert_eq!(encoded(input, true), expected);
            assert_eq!(encoded(input, false), expected);
        }
        assert_eq!(encoded("/a b/c/", true), "/a%20b/c/");
        assert_eq!(encoded("/a b/c/", false), "%2Fa%20b%2Fc%2F");
    }

    #[test]
    fn query_is_sorted_by_encoded_name_then_value() {
        let params = [("b", "2"), ("a", "z"), ("up", ""), ("a", "y"), ("k", "/ +"), ("B", "")];
        let mut params = [&params[..], &[("~", ""), ("%", ""), ("a", "%"), ("a", "&")]].concat();
        sort_params(&mut params);
        let mut query = String::new();
        for (name, value) in params {
            push_param(&mut query, name, value);
            query.push('&');
        }
        assert_eq!(query, "%25=&B=&a=%25&a=%26&a=y&a=z&b=2&k=%2F%20%2B&up=&~=&");
    }

    #[test]
    fn other_params_sort_around_the_signers_own() {
        let get = |name: &str| get("k", &creds(), &[(name, "v")]).url;
        for before in ["A", "X", "X-Amy", "X-Amz", "%", "-", "é"] {
            let url = get(before);
            assert!(
                url.contains(&format!("?{}=v&X-Amz-Algorithm=", encoded(before, false))),
                "{url}"
            );
        }
        for after in ["a", "X-AmzA", "X-B", "Y", "_", "~"] {
            let url = get(after);
            let tail = format!("&X-Amz-SignedHeaders=host&{}=v&X-Amz-Signature=", encoded(after, false));
            assert!(url.contains("?X-Amz-Algorithm=") && url.contains(&tail), "{url}");
        }
    }

    #[test]
    fn put_signs_the_headers_the_client_must_send() {
        let got = put(Path, "a.png", |p| {
            let p = p.content_type("text/plain").content_type("  image/png  ; q=1 ");
            p.content_length(1234).header("X-Amz-Meta-Owner", "user  1")
        });
        let signed = "content-length%3Bcontent-type%3Bhost%3Bx-amz-meta-owner";
        assert!(got.url.contains(&format!("&X-Amz-SignedHeaders={signed}&")));
        let owned = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
        let expected = [("content-length", "1234"), ("content-type", "image/png ; q=1")];
        let expected = expected.into_iter().chain([("x-amz-meta-owner", "user 1")]);
        assert_eq!(got.headers, expected.map(owned).collect::<Vec<_>>());
        assert_eq!(got.method, Method::PUT);
    }

    #[test]
    fn unusable_headers_params_and_keys_are_refused() {
        for name in ["Host", "Authorization", "x-amz-content-sha256", "bad name", ""] {
            let want = PresignError::InvalidHeader(name.to_ascii_lowercase());
            assert_eq!(try_put(Path, "k", |p| p.header(name, "x")), Err(want));
        }
        let want = PresignError::InvalidHeader("content-type".into());
        for bad in ["a\tb", "a\r\nb", "caf\u{e9}", "\u{7f}"] {
            assert_eq!(
                try_put(Path, "k", |p| p.content_type(bad)),
                Err(want.clone()),
                "{bad:?}"
            );
        }
        for name in ["X-Amz-Signature", "x-amz-checksum-crc32", "X-AMZ-DATE", ""] {
            let want = PresignError::InvalidQueryParam(name.into());
            assert_eq!(try_put(Path, "k", |p| p.query(name, "x")), Err(want));
        }
        let long = "k".repeat(1025);
        for object in ["", ".", "..", "a/./b", "a/../b", "../x", "x/..", &long] {
            let got = try_put(Path, object, |p| p);
            assert!(matches!(got, Err(PresignError::InvalidObjectKey(_))), "{object}");
        }
        for object in [&long[1..], "a/.b/..c/...", "/lead//double/", "é"] {
            assert!(try_put(Path, object, |p| p).is_ok(), "{object:?}");
        }
    }

    #[test]
    fn key_must_match_credentials_day_and_region() {
        let (bucket, creds) = (bucket(Path), creds());
        let other = Credentials::new("AKIDOTHER", SECRET);
        let next_day = SigningKey::derive(&creds, at(86_400), "us-east-1");
        let other_region = SigningKey::derive(&creds, at(0), "eu-west-1");
        let other_akid = SigningKey::derive(&other, at(0), "us-east-1");
        let get = GetObject::new(&bucket, &creds, "k");
        for key in [next_day, other_region, other_akid] {
            let got = get.presign(&key, at(0), day());
            assert_eq!(got, Err(PresignError::KeyScopeMismatch));
        }
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        assert!(get.presign(&key, at(86_399), day()).is_ok());
    }

    #[test]
    fn expiry_and_time_bounds() {
        assert_eq!(Expiry::from_secs(0), Err(PresignError::InvalidExpiry(0)));
        assert_eq!(Expiry::from_secs(1).map(Expiry::as_secs), Ok(1));
        assert_eq!(Expiry::from_secs(604_800).map(Expiry::as_secs), Ok(604_800));
        let too_long = PresignError::InvalidExpiry(604_801);
        assert_eq!(Expiry::from_secs(604_801), Err(too_long));

        assert_eq!(
            (at(0).amz_date(), at(0).date_stamp().as_str()),
            (AWS_DATE.into(), "20130524")
        );
        assert_eq!(at(86_399).amz_date(), "20130524T235959Z");
        let (first, last) = (0, 253_402_300_799);
        assert_eq!(
            SigningTime::from_unix(first).map(SigningTime::amz_date),
            Ok("19700101T000000Z".into())
        );
        assert_eq!(
            SigningTime::from_unix(last).map(SigningTime::amz_date),
            Ok("99991231T235959Z".into())
        );
        for bad in [-1, last + 1, i64::MIN, i64::MAX] {
            let want = PresignError::InvalidTime(bad);
            assert_eq!(SigningTime::from_unix(bad), Err(want));
        }
    }

    #[test]
    fn bucket_urls_by_style_and_port() {
        let cases = [
            ("http://127.0.0.1:9000", Path, "http://127.0.0.1:9000/b-1/"),
            ("https://S3.Ex.com:443/", Path, "https://s3.ex.com/b-1/"),
            ("http://localhost:80", Path, "http://localhost/b-1/"),
            ("http://[::1]:9000", Path, "http://[::1]:9000/b-1/"),
            ("https://a.r2.dev", VirtualHost, "https://b-1.a.r2.dev/"),
            ("http://m.test:9000", VirtualHost, "http://b-1.m.test:9000/"),
        ];
        for (endpoint, style, url) in cases {
            let bucket = Bucket::new(endpoint, style, "b-1", "auto").unwrap();
            assert_eq!(bucket.bucket_url(), url);
            assert_eq!(url.split('/').nth(2), Some(bucket.host()));
            assert_eq!(bucket.object_url("a b/c+d"), format!("{url}a%20b/c%2Bd"));
            assert_eq!((bucket.name(), bucket.region()), ("b-1", "auto"));
        }
    }

    #[test]
    fn bad_buckets_are_refused() {
        let endpoint = |why| Err(BucketError::InvalidEndpoint(why));
        let new = |endpoint: &str, style, name: &str| Bucket::new(endpoint, style, name, "r");
        let scheme = Err(BucketError::UnsupportedScheme("ftp".into()));
        assert_eq!(new("ftp://host", Path, "b"), scheme);
        assert_eq!(new("host:9000", Path, "b"), endpoint("missing scheme"));
        assert_eq!(new("not a url", Path, "b"), endpoint("not a URL"));
        let userinfo = endpoint("user info is not allowed");
        assert_eq!(new("http://u:p@host", Path, "b"), userinfo);
        let path = endpoint("path or query is not allowed");
        assert_eq!(new("http://host/base", Path, "b"), path);
        assert_eq!(new("http://:80", Path, "b"), endpoint("missing host"));
        for bad_port in ["http://host:99999", "http://host:x", "http://host:"] {
            assert_eq!(new(bad_port, Path, "b"), endpoint("invalid port"), "{bad_port}");
        }
        assert_eq!(new("http://host/?x=1", Path, "b"), path);
        let dns = endpoint("virtual-host style needs a DNS name");
        assert_eq!(new("http://127.0.0.1", VirtualHost, "b"), dns);
        assert_eq!(new("http://[::1]", VirtualHost, "b"), dns);

        let names = [(Path, ""), (Path, "a/b"), (Path, ".."), (VirtualHost, "Up")];
        for (style, name) in names.into_iter().chain([(VirtualHost, "a..b")]) {
            let got = new("http://host", style, name);
            assert_eq!(got, Err(BucketError::InvalidName), "{name}");
        }
        for region in ["", "us/east", "us east", "é"] {
            let got = Bucket::new("http://host", Path, "b", region);
            assert_eq!(got, Err(BucketError::InvalidRegion), "{region}");
        }
        assert!(new("http://host", Path, "Legacy_Bucket").is_ok());
    }

    #[test]
    fn create_head_and_delete_sign_their_method_and_path() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let create = CreateBucket::new(&bucket, &creds).presign(&key, at(0), day());
        let head = HeadObject::new(&bucket, &creds, "k").presign(&key, at(0), day());
        let delete = DeleteObject::new(&bucket, &creds, "k").presign(&key, at(0), day());
        let (create, head, delete) = (create.unwrap(), head.unwrap(), delete.unwrap());
        assert_eq!((&create.method, &head.method), (&Method::PUT, &Method::HEAD));
        assert_eq!(delete.method, Method::DELETE);
        let path = |p: &Presigned| p.url.split_once('?').unwrap().0.to_owned();
        assert_eq!(path(&create), "http://127.0.0.1:9000/uploads/");
        assert_eq!(path(&head), "http://127.0.0.1:9000/uploads/k");
        assert_eq!(path(&delete), "http://127.0.0.1:9000/uploads/k");
        assert_ne!(delete.url, head.url, "the method is part of the signature");
    }

    #[test]
    fn cache_derives_once_per_scope() {
        let mut cache = SigningKeyCache::new();
        // Keys are compared by what they sign.
        let mac = |key: &SigningKey| <[u8; 32]>::from(key.mac.clone().chain_update(b"x").finalize().into_bytes());
        let first = mac(cache.get(&creds(), at(0), "us-east-1"));
        assert_eq!(first, mac(&SigningKey::derive(&creds(), at(0), "us-east-1")));
        assert_eq!(mac(cache.get(&creds(), at(3_600), "us-east-1")), first);
        assert_eq!(cache.entries.len(), 1);

        cache.get(&creds(), at(0), "auto");
        let rotated = Credentials::new(AKID, "new secret");
        assert_ne!(mac(cache.get(&rotated, at(0), "us-east-1")), first);
        assert_eq!(cache.entries.len(), 3);

        cache.get(&creds(), at(86_400), "us-east-1");
        assert_eq!(cache.entries.len(), 1, "keys of other days are dropped");
        for i in 0..20 {
            cache.get(&creds(), at(86_400), &format!("region-{i}"));
        }
        assert_eq!(cache.entries.len(), SigningKeyCache::CAPACITY);
    }

    #[test]
    fn debug_hides_secrets() {
        let creds = creds().with_session_token("tok3n");
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        for shown in [format!("{creds:?}"), format!("{key:?}")] {
            assert!(shown.contains(AKID), "{shown}");
            assert!(!shown.contains("wJalr"), "{shown}");
            assert!(!shown.contains("tok3n"), "{shown}");
        }
        assert_eq!(creds.session_token(), Some("tok3n"));
    }

    #[test]
    fn hmac_matches_the_reference_for_any_key_length() {
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key = vec![0x5a; len];
            let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            reference.update(b"message");
            let expected: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(*hmac_sha256(&key, b"message"), expected, "{len}");
        }
        let key = [0x5a; 32];
        let prekeyed = hmac_keyed(&key).clone().chain_update(b"message");
        assert_eq!(
            <[u8; 32]>::from(prekeyed.finalize().into_bytes()),
            *hmac_sha256(&key, b"message")
        );
    }

    /// An upload id with every character class AWS upload ids use.
    const UPLOAD_ID: &str = "VXBsb2FkIElE~.-_+/==";

    /// Signatures from botocore 1.43 `generate_presigned_url` (path style, 900 s, the AWS
    /// example credentials, `botocore.auth.get_current_datetime` fixed at 2013-05-24T00:00:00Z).
    #[test]
    fn multipart_actions_match_botocore() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let (object, expires) = ("dir/a b.bin", Expiry::from_secs(900).unwrap());
        let sign = |signed: Signed| signed.unwrap();
        let cases = [
            (
                sign(CreateMultipartUpload::new(&bucket, &creds, object).presign(&key, at(0), expires)),
                Method::POST,
                "16f5c9d91c5a708ad5cf9abbe8f23263f01054b3505c56c16958b78aedbf54b1",
            ),
            (
                sign(UploadPart::new(&bucket, &creds, object, 7, UPLOAD_ID).presign(&key, at(0), expires)),
                Method::PUT,
                "c0c123812ec4baf00492107d1abbbadeb9410196452caef6c515a6622312c149",
            ),
            (
                sign(CompleteMultipartUpload::new(&bucket, &creds, object, UPLOAD_ID).presign(&key, at(0), expires)),
                Method::POST,
                "dd9699c3a9669868360e1e21a1639ef85fe486f0029b8401d150e63285d4be27",
            ),
            (
                sign(AbortMultipartUpload::new(&bucket, &creds, object, UPLOAD_ID).presign(&key, at(0), expires)),
                Method::DELETE,
                "fa0f857ec24a8e462c4fd9a156cc8159513c01a07ad18528a668c4e85515396d",
            ),
            (
                sign(
                    ListParts::new(&bucket, &creds, object, UPLOAD_ID)
                        .query("part-number-marker", "1")
                        .query("max-parts", "2")
                        .presign(&key, at(0), expires),
                ),
                Method::GET,
                "d343f70f941b8389477b3c8d220fee4baf45ce5d98b039985348bea2299c21b5",
            ),
        ];
        for (got, method, sig) in cases {
            assert_eq!((&got.method, signature(&got)), (&method, sig), "{}", got.url);
            assert!(got
                .url
                .starts_with("http://127.0.0.1:9000/uploads/dir/a%20b.bin?X-Amz-Algorithm="));
            assert!(got.headers.is_empty());
        }
    }

    /// rusty-s3's `UploadPart` test: the AWS example inputs with part 1 of upload `abcd`.
    #[test]
    fn upload_part_aws_example() {
        let (bucket, creds) = (bucket(VirtualHost), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let got = UploadPart::new(&bucket, &creds, "test.txt", 1, "abcd").presign(&key, at(0), day());
        let sig = "d2ed12e1e116c88a79cd6d1726f5fe75c99db8a0292ba000f97ecc309a9303f8";
        let url = format!("https://{AWS_HOST}/test.txt?{AWS_QUERY}&partNumber=1&uploadId=abcd&X-Amz-Signature={sig}");
        assert_eq!(got.map(|p| (p.method, p.url)), Ok((Method::PUT, url)));
    }

    #[test]
    fn multipart_query_is_canonical() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let query = |signed: Signed| {
            let url = signed.unwrap().url;
            let (_, query) = url.split_once("&X-Amz-SignedHeaders=host&").unwrap();
            query.rsplit_once("&X-Amz-Signature=").unwrap().0.to_owned()
        };

        let create = CreateMultipartUpload::new(&bucket, &creds, "k");
        assert_eq!(query(create.presign(&key, at(0), day())), "uploads=");
        let part = UploadPart::new(&bucket, &creds, "k", 10_000, UPLOAD_ID).presign(&key, at(0), day());
        assert_eq!(query(part), "partNumber=10000&uploadId=VXBsb2FkIElE~.-_%2B%2F%3D%3D");
        let list = ListParts::new(&bucket, &creds, "k", "a b&c=d").query("max-parts", "5");
        assert_eq!(
            query(list.presign(&key, at(0), day())),
            "max-parts=5&uploadId=a%20b%26c%3Dd"
        );
    }

    #[test]
    fn part_numbers_are_bounded() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let part = |n| UploadPart::new(&bucket, &creds, "k", n, "id").presign(&key, at(0), day());
        for bad in [0, 10_001, u16::MAX] {
            assert_eq!(part(bad), Err(PresignError::InvalidPartNumber(bad)));
        }
        for good in [1, 2, 10_000] {
            assert!(part(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn multipart_params_cannot_be_repeated_and_headers_are_signed() {
        let (bucket, creds) = (bucket(Path), creds());
        let key = SigningKey::derive(&creds, at(0), "us-east-1");
        let refused = |name: &str| Err(PresignError::InvalidQueryParam(name.into()));
        let list = ListParts::new(&bucket, &creds, "k", "id").query("uploadId", "other");
        assert_eq!(list.presign(&key, at(0), day()), refused("uploadId"));
        let part = UploadPart::new(&bucket, &creds, "k", 1, "id").query("partNumber", "2");
        assert_eq!(part.presign(&key, at(0), day()), refused("partNumber"));
        let create = CreateMultipartUpload::new(&bucket, &creds, "k").query("uploads", "");
        assert_eq!(create.presign(&key, at(0), day()), refused("uploads"));
        let abort = AbortMultipartUpload::new(&bucket, &creds, "", "id");
        assert!(matches!(
            abort.presign(&key, at(0), day()),
            Err(PresignError::InvalidObjectKey(_))
        ));

        let create = CreateMultipartUpload::new(&bucket, &creds, "k").content_type("video/mp4");
        let create = create
            .header("x-amz-meta-owner", "u1")
            .presign(&key, at(0), day())
            .unwrap();
        assert!(create
            .url
            .contains("&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-owner&"));
        let owned = |(n, v): (&str, &str)| (n.to_owned(), v.to_owned());
        let expected = [("content-type", "video/mp4"), ("x-amz-meta-owner", "u1")];
        assert_eq!(create.headers, expected.map(owned).to_vec());
        let part = UploadPart::new(&bucket, &creds, "k", 1, "id").content_length(5_242_880);
        let part = part.presign(&key, at(0), day()).unwrap();
        assert!(part.url.contains("&X-Amz-SignedHeaders=content-length%3Bhost&"));
        assert_eq!(part.headers, vec![owned(("content-length", "5242880"))]);
    }

    #[test]
    fn complete_body_is_sorted_and_escaped() {
        let body = complete_multipart_body(&[(3, "\"c\""), (1, "\"a&<b>'\""), (2, "unquoted")]);
        let part = |n: u16, etag: &str| format!("<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>");
        let parts = [part(1, "\"a&amp;&lt;b&gt;'\""), part(2, "unquoted"), part(3, "\"c\"")];
        let expected = format!("<CompleteMultipartUpload>{}</CompleteMultipartUpload>", parts.concat());
        assert_eq!(body, Ok(expected));
        let one = "<CompleteMultipartUpload><Part><PartNumber>10000</PartNumber><ETag>\"e\"</ETag></Part>\
            </CompleteMultipartUpload>";
        assert_eq!(complete_multipart_body(&[(10_000, "\"e\"")]).as_deref(), Ok(one));

        let refused = |why| Err(PresignError::InvalidParts(why));
        assert_eq!(complete_multipart_body(&[]), refused("no parts"));
        let repeated = complete_multipart_body(&[(2, "\"x\""), (1, "\"y\""), (2, "\"x\"")]);
        assert_eq!(repeated, refused("a part number is repeated"));
        for etag in ["\"a\u{0}\"", "a\nb", "\u{85}"] {
            let got = complete_multipart_body(&[(1, etag)]);
            assert_eq!(got, refused("an ETag has a control character"), "{etag:?}");
        }
        for bad in [0, 10_001] {
            let got = complete_multipart_body(&[(1, "\"a\""), (bad, "\"b\"")]);
            assert_eq!(got, Err(PresignError::InvalidPartNumber(bad)));
        }
    }

    proptest! {
        #[test]
        fn any_object_key_round_trips_through_the_url(object in prop_oneof![any::<String>(), "[a./ %+]{0,8}"]) {
            match try_put(Path, &object, |p| p) {
                Ok(got) => {
                    let uri: http::Uri = got.url.parse().unwrap();
                    prop_assert_eq!(decoded(uri.path()), format!("/uploads/{object}"));
                    prop_assert!(got.url.starts_with(&bucket(Path).object_url(&object)));
                    prop_assert_eq!(uri.query().unwrap().matches("X-Amz-Signature=").count(), 1);
                }
                Err(err) => prop_assert_eq!(validate_object_key(&object), Err(err)),
            }
        }
    }
}
