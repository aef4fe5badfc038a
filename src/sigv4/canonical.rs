//! The canonical request and the string to sign, streamed into SHA-256 and the HMAC rather than
//! built as strings; the URL the client gets is the canonical query itself. Also the encoding
//! rules and the checks on what may be signed.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

use hmac::{Hmac, Mac};
use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use super::{
    Bucket, Credentials, Expiry, PresignError, Presigned, SigningKey, SigningTime, ALGORITHM, MAX_OBJECT_KEY_BYTES,
    UNSIGNED_PAYLOAD,
};

/// Extra signed query parameters and headers of one action.
#[derive(Debug, Clone, Default)]
pub(super) struct Extras {
    pub(super) query: Vec<(String, String)>,
    /// By lowercase name, so setting a header again replaces it.
    pub(super) headers: BTreeMap<String, String>,
}

/// One request before signing.
pub(super) struct Request<'a> {
    pub(super) method: Method,
    pub(super) bucket: &'a Bucket,
    pub(super) credentials: &'a Credentials,
    /// Unencoded; empty for the bucket itself.
    pub(super) object_key: &'a str,
    /// The action's own query parameters, which `extras` may not repeat.
    pub(super) subresource: &'a [(&'static str, String)],
    pub(super) extras: &'a Extras,
}

/// A request's URL up to its signature, and what else the signature covers.
///
/// The canonical request and the string to sign are never built as strings: their parts are
/// streamed into a [`Sink`] (the SHA-256 of the canonical request, then the HMAC), and the
/// path and query are read back out of `url`, which is also what the client gets.
pub(super) struct Unsigned {
    /// `scheme://host/path?query`, ready for `&X-Amz-Signature=`.
    pub(super) url: String,
    /// The canonical URI: the path as encoded in `url`.
    pub(super) path: Range<usize>,
    /// The canonical query string: the query as emitted in `url`, sorted.
    pub(super) query: Range<usize>,
    /// Signed headers other than `host`, sorted by name, values canonical.
    pub(super) headers: Vec<(String, String)>,
    pub(super) amz_date: [u8; 16],
}

impl Request<'_> {
    pub(super) fn unsigned(
        &self,
        key: &SigningKey,
        at: SigningTime,
        expires: Expiry,
    ) -> Result<Unsigned, PresignError> {
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
        // A request on a path-style bucket itself goes to `/bucket`, as the AWS SDKs send it:
        // some S3 implementations (s3rver) canonicalise that path without the trailing slash
        // whatever was sent, and every one accepts it without.
        if !self.object_key.is_empty() || bucket.path_prefix.is_empty() {
            url.push('/');
        }
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

    pub(super) fn presign(
        &self,
        key: &SigningKey,
        at: SigningTime,
        expires: Expiry,
    ) -> Result<Presigned, PresignError> {
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
    pub(super) fn canonical_request(&self, method: &str, host: &str, out: &mut impl Sink) {
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
    pub(super) fn string_to_sign(&self, scope: &str, canonical_request_hash: &[u8; 64], out: &mut impl Sink) {
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
pub(super) trait Sink {
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
pub(super) fn with_host<'h>(
    headers: &'h [(String, String)],
    host: &'h str,
) -> impl Iterator<Item = (&'h str, &'h str)> {
    let split = headers.partition_point(|(name, _)| name.as_str() < "host");
    let pairs = |part: &'h [(String, String)]| part.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    pairs(&headers[..split])
        .chain([("host", host)])
        .chain(pairs(&headers[split..]))
}

/// Validates and canonicalises the extra headers (`extra` is keyed by lowercase name, so
/// they come out sorted).
pub(super) fn canonical_headers(extra: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, PresignError> {
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
pub(super) fn is_reserved_header(name: &str) -> bool {
    const RESERVED: &str = "authorization host x-amz-content-sha256 x-amz-date x-amz-security-token";
    RESERVED.split(' ').any(|reserved| reserved == name)
}

/// Trims and collapses runs of spaces. Control and non-ASCII characters are refused:
/// clients cannot send them reliably, so the signature would not match.
pub(super) fn canonical_header_value(value: &str) -> Option<String> {
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

pub(super) fn validate_object_key(object_key: &str) -> Result<(), PresignError> {
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
pub(super) const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// As [`SIGV4_ENCODE`], keeping `/` between path segments.
pub(super) const SIGV4_ENCODE_PATH: &AsciiSet = &SIGV4_ENCODE.remove(b'/');

/// Appends `input` encoded for SigV4, keeping `/` only when `keep_slash`.
pub(super) fn encode_into(out: &mut String, input: &str, keep_slash: bool) {
    let set = if keep_slash { SIGV4_ENCODE_PATH } else { SIGV4_ENCODE };
    out.extend(utf8_percent_encode(input, set));
}

/// Compares two strings as they compare once encoded, without encoding them into new strings.
pub(super) fn encoded_cmp(a: &str, b: &str) -> Ordering {
    let encoded = |s| utf8_percent_encode(s, SIGV4_ENCODE).flat_map(str::bytes);
    encoded(a).cmp(encoded(b))
}

/// Sorts query parameters into canonical order: by encoded name, then encoded value.
pub(super) fn sort_params(params: &mut [(&str, &str)]) {
    params.sort_unstable_by(|a, b| encoded_cmp(a.0, b.0).then_with(|| encoded_cmp(a.1, b.1)));
}

/// Appends `name=value`, both encoded (a valueless parameter becomes `name=`).
pub(super) fn push_param(out: &mut String, name: &str, value: &str) {
    encode_into(out, name, false);
    out.push('=');
    encode_into(out, value, false);
}

/// Appends `value` in decimal.
pub(super) fn push_decimal(out: &mut String, mut value: u32) {
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
pub(super) fn hex_bytes(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    out
}
