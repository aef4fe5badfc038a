//! [`PutBucketCors`]: the bucket's CORS rules, which browsers need before they may upload to
//! presigned URLs from a page, and [`CorsRule`], their S3 XML form.
//!
//! [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html

use std::fmt::Write as _;

use http::Method;

use super::canonical::{Extras, Request};
use super::object::bucket_action;
use super::{Bucket, Credentials, Expiry, KeyAt, Presign, PresignError, Presigned};

/// One `<CORSRule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    /// Origins allowed (`https://app.example.com`, or `*`).
    pub allowed_origins: Vec<String>,
    /// Methods allowed (`PUT`, `POST`, …).
    pub allowed_methods: Vec<String>,
    /// Request headers a preflight may ask for (`*` for any).
    pub allowed_headers: Vec<String>,
    /// Response headers scripts may read (`ETag`, `Location`).
    pub expose_headers: Vec<String>,
    /// How long browsers may cache a preflight answer.
    pub max_age_secs: u32,
}

impl CorsRule {
    /// What browser uploads need: `GET`, `PUT`, `POST`, `DELETE` and `HEAD` from `origins`, any
    /// request header (content type, checksums, `x-amz-*` of signed requests), and `ETag`
    /// (multipart parts, Uppy) and `Location` (POST uploads) readable.
    #[must_use]
    pub fn for_browser_uploads(origins: Vec<String>, max_age_secs: u32) -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Self {
            allowed_origins: origins,
            allowed_methods: strings(&["GET", "PUT", "POST", "DELETE", "HEAD"]),
            allowed_headers: strings(&["*"]),
            expose_headers: strings(&["ETag", "Location"]),
            max_age_secs,
        }
    }
}

/// The `<CORSConfiguration>` document of `rules`, the body of a [`PutBucketCors`].
#[must_use]
pub fn cors_configuration_xml(rules: &[CorsRule]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#,
    );
    for rule in rules {
        xml.push_str("<CORSRule>");
        for (tag, values) in [
            ("AllowedHeader", &rule.allowed_headers),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedOrigin", &rule.allowed_origins),
            ("ExposeHeader", &rule.expose_headers),
        ] {
            for value in values {
                let _ = write!(xml, "<{tag}>{}</{tag}>", escape(value));
            }
        }
        let _ = write!(xml, "<MaxAgeSeconds>{}</MaxAgeSeconds></CORSRule>", rule.max_age_secs);
    }
    xml.push_str("</CORSConfiguration>");
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Presigned `PutBucketCors`: `PUT ?cors` on the bucket, with the document from
/// [`cors_configuration_xml`] as body. S3 requires the body's `Content-MD5` (or an
/// `x-amz-checksum-*` header); it is signed, so the body cannot be swapped.
#[derive(Debug, Clone)]
pub struct PutBucketCors<'a> {
    bucket: &'a Bucket,
    credentials: &'a Credentials,
    extras: Extras,
}

impl<'a> PutBucketCors<'a> {
    /// The request for a body whose MD5 is `content_md5` (base64, as the header carries it).
    #[must_use]
    pub fn new(bucket: &'a Bucket, credentials: &'a Credentials, content_md5: &str) -> Self {
        let mut extras = Extras::default();
        extras.headers.insert("content-md5".into(), content_md5.to_owned());
        Self {
            bucket,
            credentials,
            extras,
        }
    }
}

impl Presign for PutBucketCors<'_> {
    type Signed = Presigned;
    type Error = PresignError;

    fn bucket(&self) -> &Bucket {
        self.bucket
    }

    fn credentials(&self) -> &Credentials {
        self.credentials
    }

    /// # Errors
    ///
    /// [`PresignError::InvalidHeader`] for a malformed `content_md5`.
    fn sign_with(&self, key: KeyAt<'_>, expires: Expiry) -> Result<Presigned, PresignError> {
        let subresource = [("cors", String::new())];
        let request = Request {
            method: Method::PUT,
            bucket: self.bucket,
            credentials: self.credentials,
            object_key: "",
            subresource: &subresource,
            extras: &self.extras,
        };
        request.presign(key.key, key.at, expires)
    }
}

bucket_action!(
    /// Presigned `GetBucketCors`: `GET ?cors` on the bucket; the rules the store keeps, as a
    /// `<CORSConfiguration>` document (404 `NoSuchCORSConfiguration` when there are none).
    ///
    /// [spec]: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html
    GetBucketCors, GET, "cors"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::{SigningTime, UrlStyle};

    #[test]
    fn the_document_lists_every_rule_field_escaped() {
        let rule = CorsRule::for_browser_uploads(vec!["https://a.example".into(), "https://b.example?x&y".into()], 600);
        let xml = cors_configuration_xml(&[rule]);
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><CORSConfiguration"#));
        assert!(xml.contains(
            "<CORSRule><AllowedHeader>*</AllowedHeader><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>\
             <AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>\
             <AllowedOrigin>https://a.example</AllowedOrigin><AllowedOrigin>https://b.example?x&amp;y</AllowedOrigin>\
             <ExposeHeader>ETag</ExposeHeader><ExposeHeader>Location</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule>"
        ));
        assert!(xml.ends_with("</CORSConfiguration>"));
    }

    #[test]
    fn signs_get_cors_on_the_bucket() {
        let bucket = Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap();
        let creds = Credentials::new("AKIDEXAMPLE", "secret");
        let at = SigningTime::from_unix(1_700_000_000).unwrap();
        let expiry = Expiry::from_secs(300).unwrap();
        let get = GetBucketCors::new(&bucket, &creds)
            .presign_uncached(at, expiry)
            .unwrap();
        assert_eq!(get.method, Method::GET);
        assert!(get.url.starts_with("http://127.0.0.1:9000/uploads?"), "{}", get.url);
        assert!(get.url.contains("&cors=&"), "{}", get.url);
        assert!(get.url.contains("X-Amz-SignedHeaders=host&"), "{}", get.url);
        assert!(get.headers.is_empty());
        let put = PutBucketCors::new(&bucket, &creds, "1B2M2Y8AsgTpgAmY7PhCfg==")
            .presign_uncached(at, expiry)
            .unwrap();
        let signature = |url: &str| url.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned();
        assert_ne!(signature(&get.url), signature(&put.url));
    }

    #[test]
    fn signs_put_cors_with_the_body_checksum() {
        let bucket = Bucket::new("http://127.0.0.1:9000", UrlStyle::Path, "uploads", "us-east-1").unwrap();
        let creds = Credentials::new("AKIDEXAMPLE", "secret");
        let at = SigningTime::from_unix(1_700_000_000).unwrap();
        let expiry = Expiry::from_secs(300).unwrap();
        let signed = PutBucketCors::new(&bucket, &creds, "1B2M2Y8AsgTpgAmY7PhCfg==")
            .presign_uncached(at, expiry)
            .unwrap();
        assert_eq!(signed.method, Method::PUT);
        assert!(
            signed.url.starts_with("http://127.0.0.1:9000/uploads?X-Amz-Algorithm="),
            "{}",
            signed.url
        );
        assert!(
            signed.url.contains("&cors=&") || signed.url.contains("?cors=&"),
            "{}",
            signed.url
        );
        assert!(
            signed.url.contains("X-Amz-SignedHeaders=content-md5%3Bhost"),
            "{}",
            signed.url
        );
        assert_eq!(
            signed.headers,
            [("content-md5".to_owned(), "1B2M2Y8AsgTpgAmY7PhCfg==".to_owned())]
        );
        let other = PutBucketCors::new(&bucket, &creds, "XUFAKrxLKna5cZ2REBfFkg==")
            .presign_uncached(at, expiry)
            .unwrap();
        assert_ne!(signed.url, other.url, "the checksum is signed");
        assert!(PutBucketCors::new(&bucket, &creds, "a\nb")
            .presign_uncached(at, expiry)
            .is_err());
    }
}
