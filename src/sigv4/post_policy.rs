//! Signed S3 POST policies for browser form uploads, without IO.
//!
//! Implements [Browser-Based Uploads Using POST (AWS Signature Version 4)][spec]. A presigned
//! `PUT` can at most pin an exact `content-length`; a POST policy lets S3 enforce a size range,
//! a key prefix and a content-type prefix. [`PostPolicy`] builds the policy document, base64s it
//! and signs it ([`Presign`]); the caller hands the [`SignedPost`] to a browser, which
//! posts the fields and then the file as `multipart/form-data` to the bucket URL.
//!
//! Every field the form sends has a condition in the policy, so S3 refuses any other field. The
//! time is passed in; nothing here reads a clock.
//!
//! [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-UsingHTTPPOST.html

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use time::{Date, Duration, Month, PrimitiveDateTime, Time};

use super::{Bucket, Credentials, Expiry, KeyAt, Presign, SigningTime, MAX_OBJECT_KEY_BYTES, MAX_PUT_BYTES};

use super::ALGORITHM;
/// Fields the signer sends itself, or that S3 gives another meaning.
const RESERVED_FIELDS: &str = "awsaccesskeyid bucket content-type file key policy signature success_action_status \
    x-amz-algorithm x-amz-credential x-amz-date x-amz-security-token x-amz-signature";

/// Errors from signing a [`PostPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostPolicyError {
    /// The content-length range has `min > max`.
    #[error("content-length range {min}..={max} is empty")]
    EmptyLengthRange { min: u64, max: u64 },
    /// The content-length range allows more than 5 GiB, which one POST cannot upload.
    #[error("maximum size of {0} bytes is over the 5 GiB limit")]
    MaxSizeTooLarge(u64),
    /// The exact key is empty, the key or prefix is longer than 1024 bytes, or it has a `.` or
    /// `..` segment.
    #[error("invalid object key: {0}")]
    InvalidObjectKey(&'static str),
    /// An extra field has an empty or non-token name, or one the signer owns (`policy`, `key`,
    /// `file`, `bucket`, `x-amz-signature`, ...).
    #[error("invalid or reserved form field {0:?}")]
    InvalidField(String),
    /// A field value (content type included) contains control characters.
    #[error("invalid value for form field {0:?}")]
    InvalidValue(String),
    /// `success_action_status` is not 200, 201 or 204.
    #[error("success_action_status {0} is not 200, 201 or 204")]
    InvalidSuccessStatus(u16),
    /// The signing time plus the expiry is past year 9999.
    #[error("expiration is out of range")]
    ExpirationOutOfRange,
}

/// The condition on the object key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyKey {
    /// The upload must use exactly this key.
    Exact(String),
    /// The upload may use any key that starts with this prefix (`""`: any key).
    StartsWith(String),
}

impl PolicyKey {
    /// An exact key.
    #[must_use]
    pub fn exact(key: impl Into<String>) -> Self {
        Self::Exact(key.into())
    }

    /// A key prefix.
    #[must_use]
    pub fn starts_with(prefix: impl Into<String>) -> Self {
        Self::StartsWith(prefix.into())
    }

    fn value(&self) -> &str {
        let (Self::Exact(value) | Self::StartsWith(value)) = self;
        value
    }

    fn validate(&self) -> Result<(), PostPolicyError> {
        let invalid = PostPolicyError::InvalidObjectKey;
        let (key, complete) = match self {
            Self::Exact(key) if key.is_empty() => return Err(invalid("empty")),
            Self::Exact(key) => (key.as_str(), key.as_str()),
            // The prefix's last segment may still grow, so only the ones before it are whole.
            Self::StartsWith(prefix) => (prefix.as_str(), prefix.rsplit_once('/').map_or("", |(whole, _)| whole)),
        };
        if key.len() > MAX_OBJECT_KEY_BYTES {
            return Err(invalid("longer than 1024 bytes"));
        }
        if complete.split('/').any(|s| s == "." || s == "..") {
            return Err(invalid("has a . or .. segment"));
        }
        Ok(())
    }

    fn condition(&self, field: &str) -> Value {
        match self {
            Self::Exact(value) => json!(["eq", format!("${field}"), value]),
            Self::StartsWith(prefix) => json!(["starts-with", format!("${field}"), prefix]),
        }
    }
}

/// Form fields, name and value, in sending order.
type Fields = Vec<(String, String)>;

/// A browser form upload to one bucket: the policy's conditions, before signing.
#[derive(Debug, Clone)]
pub struct PostPolicy<'a> {
    bucket: &'a Bucket,
    credentials: &'a Credentials,
    key: PolicyKey,
    length_range: Option<(u64, u64)>,
    /// Exact or a prefix, like the key.
    content_type: Option<PolicyKey>,
    success_action_status: Option<u16>,
    /// By lowercase name, so setting a field again replaces it.
    fields: BTreeMap<String, String>,
}

impl<'a> PostPolicy<'a> {
    /// An upload to `bucket` under `key`, signed for `credentials`.
    #[must_use]
    pub fn new(bucket: &'a Bucket, credentials: &'a Credentials, key: PolicyKey) -> Self {
        Self {
            bucket,
            credentials,
            key,
            length_range: None,
            content_type: None,
            success_action_status: None,
            fields: BTreeMap::new(),
        }
    }

    /// The file must be `min..=max` bytes; S3 refuses others with `EntityTooLarge` or
    /// `EntityTooSmall`.
    #[must_use]
    pub const fn content_length_range(mut self, min: u64, max: u64) -> Self {
        self.length_range = Some((min, max));
        self
    }

    /// The form sends `Content-Type` with exactly this value; it becomes the object's type.
    #[must_use]
    pub fn content_type(mut self, content_type: &str) -> Self {
        self.content_type = Some(PolicyKey::exact(content_type));
        self
    }

    /// The client adds a `Content-Type` field starting with `prefix` (`image/`, say).
    #[must_use]
    pub fn content_type_prefix(mut self, prefix: &str) -> Self {
        self.content_type = Some(PolicyKey::starts_with(prefix));
        self
    }

    /// The status S3 answers a successful upload with: 200, 201 (with an XML body) or 204 (the
    /// default).
    #[must_use]
    pub const fn success_action_status(mut self, status: u16) -> Self {
        self.success_action_status = Some(status);
        self
    }

    /// Another field the form sends with exactly this value (`x-amz-meta-*`, `cache-control`,
    /// ...). Names are case-insensitive; setting one again replaces its value.
    #[must_use]
    pub fn field(mut self, name: &str, value: &str) -> Self {
        self.fields.insert(name.to_ascii_lowercase(), value.to_owned());
        self
    }

    /// The form fields in sending order (without `Policy` and the signature) and the policy
    /// conditions.
    fn form_and_conditions(&self, at: SigningTime) -> Result<(Fields, Vec<Value>), PostPolicyError> {
        self.key.validate()?;
        let mut form = vec![("key".to_owned(), self.key.value().to_owned())];
        let mut conditions = vec![json!({ "bucket": self.bucket.name() }), self.key.condition("key")];
        if let Some((min, max)) = self.length_range {
            if min > max {
                return Err(PostPolicyError::EmptyLengthRange { min, max });
            }
            if max > MAX_PUT_BYTES {
                return Err(PostPolicyError::MaxSizeTooLarge(max));
            }
            conditions.push(json!(["content-length-range", min, max]));
        }
        if let Some(content_type) = &self.content_type {
            check_value("Content-Type", content_type.value())?;
            if let PolicyKey::Exact(value) = content_type {
                form.push(("Content-Type".to_owned(), value.clone()));
            }
            conditions.push(content_type.condition("Content-Type"));
        }
        // Every field from here on is an exact match.
        let mut exact = Vec::with_capacity(self.fields.len() + 5);
        if let Some(status) = self.success_action_status {
            if !matches!(status, 200 | 201 | 204) {
                return Err(PostPolicyError::InvalidSuccessStatus(status));
            }
            exact.push(("success_action_status".to_owned(), status.to_string()));
        }
        for (name, value) in &self.fields {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || !name.bytes().all(token) || RESERVED_FIELDS.split_whitespace().any(|r| r == name) {
                return Err(PostPolicyError::InvalidField(name.clone()));
            }
            check_value(name, value)?;
            exact.push((name.clone(), value.clone()));
        }
        let scope = format!("{}/{}/s3/aws4_request", at.date_stamp(), self.bucket.region());
        exact.push(("X-Amz-Algorithm".to_owned(), ALGORITHM.to_owned()));
        exact.push((
            "X-Amz-Credential".to_owned(),
            format!("{}/{scope}", self.credentials.access_key_id()),
        ));
        exact.push(("X-Amz-Date".to_owned(), at.amz_date()));
        if let Some(token) = self.credentials.session_token() {
            exact.push(("X-Amz-Security-Token".to_owned(), token.to_owned()));
        }
        for (name, value) in &exact {
            conditions.push(json!({ name.to_ascii_lowercase(): value }));
        }
        form.extend(exact);
        Ok((form, conditions))
    }
}

impl Presign for PostPolicy<'_> {
    type Signed = SignedPost;
    type Error = PostPolicyError;

    fn bucket(&self) -> &Bucket {
        self.bucket
    }

    fn credentials(&self) -> &Credentials {
        self.credentials
    }

    /// Builds and signs the policy, valid from the signing time for `expires`.
    ///
    /// # Errors
    ///
    /// The variant naming the invalid input.
    fn sign_with(&self, key: KeyAt<'_>, expires: Expiry) -> Result<SignedPost, PostPolicyError> {
        let at = key.at;
        let (form, conditions) = self.form_and_conditions(at)?;
        let expiration = expiration(at, expires)?;
        // Written by hand: a JSON map would sort `conditions` before `expiration`.
        let (expiration_json, conditions) = (Value::from(expiration.as_str()), Value::Array(conditions));
        let policy = STANDARD.encode(format!(
            r#"{{"expiration":{expiration_json},"conditions":{conditions}}}"#
        ));
        let signature = key.key.sign_string(&policy);
        let mut fields = form;
        fields.extend([("Policy".to_owned(), policy), ("X-Amz-Signature".to_owned(), signature)]);
        Ok(SignedPost {
            url: self.bucket.bucket_url(),
            fields,
            expires_at: expiration,
        })
    }
}

/// A signed form: `POST` `multipart/form-data` to `url` with `fields` in this order, then the
/// file as the last part, named `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPost {
    /// The bucket URL, ending in `/`.
    pub url: String,
    /// `key`, `Content-Type` (when exact), `success_action_status`, the extra fields by name,
    /// `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Security-Token` (temporary
    /// credentials only), `Policy` and `X-Amz-Signature`. With a key prefix, the client replaces
    /// the `key` value by a key that starts with it; with a content-type prefix, it adds a
    /// `Content-Type` field before `file`.
    pub fields: Vec<(String, String)>,
    /// When the policy expires, `yyyy-mm-ddThh:mm:ss.000Z`.
    pub expires_at: String,
}

fn check_value(name: &str, value: &str) -> Result<(), PostPolicyError> {
    if value.chars().any(char::is_control) {
        return Err(PostPolicyError::InvalidValue(name.to_owned()));
    }
    Ok(())
}

/// `at + expires` as `yyyy-mm-ddThh:mm:ss.000Z`.
fn expiration(at: SigningTime, expires: Expiry) -> Result<String, PostPolicyError> {
    // `SigningTime` shows its instant only as `X-Amz-Date`, `yyyymmddThhmmssZ`.
    let amz = at.amz_date();
    let part = |range: std::ops::Range<usize>| amz.get(range)?.parse::<u8>().ok();
    let start = (|| {
        let year = amz.get(0..4)?.parse().ok()?;
        let date = Date::from_calendar_date(year, Month::try_from(part(4..6)?).ok()?, part(6..8)?).ok()?;
        let time = Time::from_hms(part(9..11)?, part(11..13)?, part(13..15)?).ok()?;
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .checked_add(Duration::seconds(expires.as_secs().into()))
    })();
    let end = start
        .filter(|t| t.year() <= 9999)
        .ok_or(PostPolicyError::ExpirationOutOfRange)?;
    let (date, time) = (end.date(), end.time());
    let (y, mo, d) = (date.year(), u8::from(date.month()), date.day());
    let (h, mi, s) = (time.hour(), time.minute(), time.second());
    Ok(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{SigningKey, SigningKeyCache, UrlStyle};

    const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    /// 2015-12-29T00:00:00Z, the day of the AWS POST example.
    const DAY: i64 = 1_451_347_200;

    fn at(secs: i64) -> SigningTime {
        SigningTime::from_unix(secs).unwrap()
    }

    fn bucket() -> Bucket {
        Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap()
    }

    fn sign(policy: &PostPolicy<'_>, at_secs: i64, expiry: u32) -> Result<SignedPost, PostPolicyError> {
        policy.presign_uncached(at(at_secs), Expiry::from_secs(expiry).unwrap())
    }

    fn decoded_policy(post: &SignedPost) -> String {
        let (_, policy) = post.fields.iter().find(|(name, _)| name == "Policy").unwrap();
        String::from_utf8(STANDARD.decode(policy).unwrap()).unwrap()
    }

    /// "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)": the
    /// policy text with its CRLF line ends, its base64 as the page gives it, and the signature.
    #[test]
    fn aws_post_example() {
        let lines = [
            r#"{ "expiration": "2015-12-30T12:00:00.000Z","#,
            r#"  "conditions": ["#,
            r#"    {"bucket": "sigv4examplebucket"},"#,
            r#"    ["starts-with", "$key", "user/user1/"],"#,
            r#"    {"acl": "public-read"},"#,
            r#"    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},"#,
            r#"    ["starts-with", "$Content-Type", "image/"],"#,
            r#"    {"x-amz-meta-uuid": "14365123651274"},"#,
            r#"    {"x-amz-server-side-encryption": "AES256"},"#,
            r#"    ["starts-with", "$x-amz-meta-tag", ""],"#,
            "",
            r#"    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},"#,
            r#"    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},"#,
            r#"    {"x-amz-date": "20151229T000000Z" }"#,
            "  ]",
            "}",
        ];
        let aws_base64 = concat!(
            "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1",
            "Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8i",
            "XSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDov",
            "L3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0",
            "YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUx",
            "MjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFy",
            "dHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZP",
            "RE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGht",
            "IjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
        );
        let text = lines.join("\r\n");
        assert_eq!(text.len(), 648);
        assert_eq!(STANDARD.encode(&text), aws_base64);
        assert_eq!(STANDARD.decode(aws_base64).unwrap(), text.as_bytes());

        let creds = Credentials::new(AKID, SECRET);
        let key = SigningKey::derive(&creds, at(DAY), "us-east-1");
        let signature = key.sign_string(aws_base64);
        let aws_signature = "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e";
        assert_eq!(signature, aws_signature);
    }

    /// The signature was computed independently with Python's `hmac` over the same document.
    #[test]
    fn policy_covers_every_field_in_order() {
        let (bucket, creds) = (bucket(), Credentials::new(AKID, SECRET).with_session_token("tok/en+=="));
        let policy = PostPolicy::new(&bucket, &creds, PolicyKey::starts_with("user/u1/"))
            .content_length_range(1, 1_048_576)
            .content_type("text/plain")
            .content_type_prefix("image/")
            .success_action_status(201)
            .field("x-amz-meta-uuid", "replaced")
            .field("X-Amz-Meta-Uuid", "14365123651274")
            .field("x-amz-meta-tag", "a \"quoted\" é");
        let post = sign(&policy, DAY, 43_200).unwrap();
        let expected = concat!(
            r#"{"expiration":"2015-12-29T12:00:00.000Z","conditions":[{"bucket":"uploads"},"#,
            r#"["starts-with","$key","user/u1/"],["content-length-range",1,1048576],"#,
            r#"["starts-with","$Content-Type","image/"],{"success_action_status":"201"},"#,
            r#"{"x-amz-meta-tag":"a \"quoted\" é"},{"x-amz-meta-uuid":"14365123651274"},"#,
            r#"{"x-amz-algorithm":"AWS4-HMAC-SHA256"},"#,
            r#"{"x-amz-credential":"AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},"#,
            r#"{"x-amz-date":"20151229T000000Z"},{"x-amz-security-token":"tok/en+=="}]}"#,
        );
        assert_eq!(decoded_policy(&post), expected);
        assert_eq!(post.url, "http://127.0.0.1:9000/uploads/");
        assert_eq!(post.expires_at, "2015-12-29T12:00:00.000Z");
        let names: Vec<&str> = post.fields.iter().map(|(name, _)| name.as_str()).collect();
        let expected = "key success_action_status x-amz-meta-tag x-amz-meta-uuid X-Amz-Algorithm X-Amz-Credential \
            X-Amz-Date X-Amz-Security-Token Policy X-Amz-Signature";
        assert_eq!(names, expected.split_whitespace().collect::<Vec<_>>());
        assert_eq!(post.fields[0].1, "user/u1/");
        let signature = "43589b8a875112b6f4d4753d0ef9b285b4141f9a0de1d1216fefaea90f966e68";
        assert_eq!(post.fields.last().map(|(_, v)| v.as_str()), Some(signature));
    }

    #[test]
    fn exact_key_and_content_type_are_sent_and_matched() {
        let creds = Credentials::new(AKID, SECRET);
        let bucket = Bucket::new("https://s3.example.com", UrlStyle::VirtualHost, "up", "us-east-1").unwrap();
        let policy = PostPolicy::new(&bucket, &creds, PolicyKey::exact("a/b.png")).content_type("image/png");
        let post = sign(&policy, DAY + 3_599, 1).unwrap();
        assert_eq!(post.url, "https://up.s3.example.com/");
        assert_eq!(post.expires_at, "2015-12-29T01:00:00.000Z");
        let head = [
            ("key", "a/b.png"),
            ("Content-Type", "image/png"),
            ("X-Amz-Algorithm", ALGORITHM),
        ];
        assert_eq!(post.fields[..3], head.map(|(n, v)| (n.to_owned(), v.to_owned())));
        let document = decoded_policy(&post);
        let conditions = r#""conditions":[{"bucket":"up"},["eq","$key","a/b.png"],["eq","$Content-Type","image/png"],"#;
        assert!(document.contains(conditions), "{document}");
        assert!(!document.contains("content-length-range") && !document.contains("token"));
    }

    #[test]
    fn invalid_input_is_refused() {
        let (bucket, creds) = (bucket(), Credentials::new(AKID, SECRET));
        let new = |key| PostPolicy::new(&bucket, &creds, key);
        let any = || new(PolicyKey::starts_with(""));
        let refused = |policy: PostPolicy<'_>| sign(&policy, DAY, 60).unwrap_err();

        let empty = PostPolicyError::EmptyLengthRange { min: 2, max: 1 };
        assert_eq!(refused(any().content_length_range(2, 1)), empty);
        let too_large = PostPolicyError::MaxSizeTooLarge(MAX_PUT_BYTES + 1);
        assert_eq!(refused(any().content_length_range(0, MAX_PUT_BYTES + 1)), too_large);
        assert!(sign(&any().content_length_range(7, 7), DAY, 60).is_ok());
        assert!(sign(&any().content_length_range(0, MAX_PUT_BYTES), DAY, 60).is_ok());

        let reserved = "Policy X-Amz-Signature file key bucket Content-Type x-amz-date".split(' ');
        for name in reserved.chain(["", "a b"]) {
            let want = PostPolicyError::InvalidField(name.to_ascii_lowercase());
            assert_eq!(refused(any().field(name, "v")), want, "{name}");
        }
        assert!(sign(&any().field("Cache-Control", "no-store"), DAY, 60).is_ok());
        let want = PostPolicyError::InvalidValue("x-amz-meta-a".into());
        assert_eq!(refused(any().field("x-amz-meta-a", "1\r\n2")), want);
        let want = PostPolicyError::InvalidValue("Content-Type".into());
        assert_eq!(refused(any().content_type_prefix("image/\n")), want);
        for status in [0, 202, 303] {
            let want = PostPolicyError::InvalidSuccessStatus(status);
            assert_eq!(refused(any().success_action_status(status)), want);
        }

        let long = "k".repeat(1025);
        let keys = ["", "a/../b", &long].map(PolicyKey::exact);
        for key in keys
            .into_iter()
            .chain(["../", "a/./b/", &long].map(PolicyKey::starts_with))
        {
            let got = refused(new(key.clone()));
            assert!(matches!(got, PostPolicyError::InvalidObjectKey(_)), "{key:?}");
        }
        for prefix in ["a/.", "a/..b/", &long[1..]] {
            assert!(sign(&new(PolicyKey::starts_with(prefix)), DAY, 60).is_ok(), "{prefix}");
        }
    }

    #[test]
    fn key_scope_and_expiration_bounds() {
        let (bucket, creds) = (bucket(), Credentials::new(AKID, SECRET));
        let policy = PostPolicy::new(&bucket, &creds, PolicyKey::exact("k"));
        let expires = Expiry::from_secs(60).unwrap();
        // A cache holding keys of another day, region and access key still signs with the
        // policy's own: the key is looked up from the policy, never handed in.
        let other = Credentials::new("AKIDOTHER", SECRET);
        let mut keys = SigningKeyCache::new();
        keys.get(&creds, at(DAY - 86_400), "us-east-1");
        keys.get(&creds, at(DAY), "eu-west-1");
        keys.get(&other, at(DAY), "us-east-1");
        let cached = policy.presign(&mut keys, at(DAY), expires);
        assert_eq!(cached, policy.presign_uncached(at(DAY), expires));
        assert!(cached.is_ok());

        let last = 253_402_300_799;
        let last_second = sign(&policy, last - 1, 1).map(|p| p.expires_at);
        assert_eq!(last_second, Ok("9999-12-31T23:59:59.000Z".into()));
        assert_eq!(sign(&policy, last, 1), Err(PostPolicyError::ExpirationOutOfRange));
        let week = sign(&policy, 0, 604_800).map(|p| p.expires_at);
        assert_eq!(week, Ok("1970-01-08T00:00:00.000Z".into()));
    }
}
