//! Browser form uploads signed by `post_policy`, sent to the signature-checking S3 server: what the
//! policy allows is stored, and everything else is refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use carcosa_edge::sigv4::post_policy::{PolicyKey, PostPolicy, SignedPost};
use carcosa_edge::sigv4::{Bucket, Credentials, Expiry, Presign, SigningTime, UrlStyle};

use crate::s3::{server, TestS3};

const BOUNDARY: &str = "carcosa-form-boundary-7MA4YWxkTrZu0gW";

struct Form {
    s3: TestS3,
    bucket: String,
}

impl Form {
    async fn new() -> Self {
        let s3 = server();
        let bucket = s3.new_bucket().await;
        Self { s3, bucket }
    }

    /// Signs the policy `build` makes (for keys under `u/1/`), `age` seconds ago, for `expiry`.
    fn sign(&self, age: i64, expiry: u32, build: impl FnOnce(PostPolicy<'_>) -> PostPolicy<'_>) -> SignedPost {
        let bucket = Bucket::new(&self.s3.endpoint, UrlStyle::Path, &self.bucket, "us-east-1").unwrap();
        let creds = Credentials::new(self.s3.access_key.clone(), self.s3.secret_key.clone());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let at = SigningTime::from_unix(i64::try_from(now.as_secs()).unwrap() - age).unwrap();
        let policy = build(PostPolicy::new(&bucket, &creds, PolicyKey::starts_with("u/1/")));
        policy.presign_uncached(at, Expiry::from_secs(expiry).unwrap()).unwrap()
    }
}

/// Sends `fields` in order, then `file`, as `multipart/form-data`; returns status and body.
pub(crate) async fn post(url: &str, fields: &[(String, String)], file: &[u8]) -> (u16, String) {
    let mut body = Vec::new();
    for (name, value) in fields {
        let part = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        body.extend_from_slice(part.as_bytes());
    }
    let file_head = "Content-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\n";
    let file_head = format!("--{BOUNDARY}\r\n{file_head}Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(file_head.as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

/// `fields` with `name` set to `value` (added before `Policy` if missing).
fn with(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut fields = fields.to_vec();
    match fields.iter_mut().find(|(n, _)| n == name) {
        Some(field) => field.1 = value.to_owned(),
        None => {
            let at = fields.iter().position(|(n, _)| n == "Policy").unwrap();
            fields.insert(at, (name.to_owned(), value.to_owned()));
        }
    }
    fields
}

/// The refusal carries one of `codes` and the status S3 gives it; nothing was stored.
async fn assert_refused(form: &Form, key: &str, (status, body): (u16, String), codes: &[(&str, u16)]) {
    let matched = codes
        .iter()
        .find(|(code, _)| body.contains(&format!("<Code>{code}</Code>")));
    assert_eq!(matched.map(|(_, s)| *s), Some(status), "{status} {body}");
    assert_eq!(form.s3.get(&form.bucket, key).await.status, 404, "{key} was stored");
}

#[tokio::test]
async fn upload_within_the_policy_is_stored() {
    let form = Form::new().await;
    let post_201 = form.sign(0, 300, |p| {
        let p = p.content_length_range(1, 16).content_type("text/plain");
        p.success_action_status(201).field("X-Amz-Meta-Owner", "user 1")
    });
    assert_eq!(post_201.fields[0], ("key".to_owned(), "u/1/".to_owned()));
    let fields = with(&post_201.fields, "key", "u/1/hello.txt");
    let (status, body) = post(&post_201.url, &fields, b"hello").await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains("<Key>u/1/hello.txt</Key>"), "{body}");
    let got = form.s3.get(&form.bucket, "u/1/hello.txt").await;
    assert_eq!((got.status, got.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(got.content_type.as_deref(), Some("text/plain"));

    // Both ends of the range, and the default 204 answer.
    let post_204 = form.sign(0, 300, |p| p.content_length_range(1, 16).content_type_prefix("image/"));
    for (name, size) in [("min", 1), ("max", 16)] {
        let fields = with(&post_204.fields, "key", &format!("u/1/{name}.png"));
        let fields = with(&fields, "Content-Type", "image/png");
        let (status, body) = post(&post_204.url, &fields, &vec![b'x'; size]).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(
            form.s3.get(&form.bucket, &format!("u/1/{name}.png")).await.body.len(),
            size
        );
    }
}

#[tokio::test]
async fn sizes_outside_the_range_are_refused() {
    let form = Form::new().await;
    let post_ = form.sign(0, 300, |p| p.content_length_range(1, 16));
    let fields = with(&post_.fields, "key", "u/1/big");
    let got = post(&post_.url, &fields, &[b'x'; 17]).await;
    assert_refused(&form, "u/1/big", got, &[("EntityTooLarge", 400)]).await;
    let fields = with(&post_.fields, "key", "u/1/empty");
    let got = post(&post_.url, &fields, b"").await;
    assert_refused(&form, "u/1/empty", got, &[("EntityTooSmall", 400)]).await;
}

/// S3 answers a failed condition with 403 `AccessDenied`; s3s-fs with 400 `InvalidPolicyDocument`.
const CONDITION_FAILED: &[(&str, u16)] = &[("AccessDenied", 403), ("InvalidPolicyDocument", 400)];

#[tokio::test]
async fn keys_and_content_types_outside_the_policy_are_refused() {
    let form = Form::new().await;
    let post_ = form.sign(0, 300, |p| p.content_type("text/plain"));
    let fields = with(&post_.fields, "key", "u/2/x.txt");
    let got = post(&post_.url, &fields, b"hello").await;
    assert_refused(&form, "u/2/x.txt", got, CONDITION_FAILED).await;

    let fields = with(&with(&post_.fields, "key", "u/1/x.html"), "Content-Type", "text/html");
    let got = post(&post_.url, &fields, b"<p>hi</p>").await;
    assert_refused(&form, "u/1/x.html", got, CONDITION_FAILED).await;

    let post_ = form.sign(0, 300, |p| p.content_type_prefix("image/"));
    let fields = with(&with(&post_.fields, "key", "u/1/x.txt"), "Content-Type", "text/plain");
    let got = post(&post_.url, &fields, b"hello").await;
    assert_refused(&form, "u/1/x.txt", got, CONDITION_FAILED).await;

    // A field the policy does not name.
    let fields = with(&with(&post_.fields, "key", "u/1/meta.png"), "x-amz-meta-extra", "1");
    let fields = with(&fields, "Content-Type", "image/png");
    let got = post(&post_.url, &fields, b"png").await;
    assert_refused(&form, "u/1/meta.png", got, &[("AccessDenied", 403)]).await;
}

#[tokio::test]
async fn tampered_and_expired_forms_are_refused() {
    let form = Form::new().await;
    let post_ = form.sign(0, 300, |p| p.content_length_range(1, 4));
    let fields = with(&post_.fields, "key", "u/1/t");
    let policy = &fields.iter().find(|(n, _)| n == "Policy").unwrap().1;
    let document = String::from_utf8(STANDARD.decode(policy).unwrap()).unwrap();
    let widened = document.replace(r#"["content-length-range",1,4]"#, r#"["content-length-range",1,4096]"#);
    assert_ne!(widened, document);
    let tampered = with(&fields, "Policy", &STANDARD.encode(widened));
    let got = post(&post_.url, &tampered, b"hello").await;
    assert_refused(&form, "u/1/t", got, &[("SignatureDoesNotMatch", 403)]).await;

    let signature = &fields.last().unwrap().1;
    let flipped = format!(
        "{}{}",
        if signature.starts_with('0') { '1' } else { '0' },
        &signature[1..]
    );
    let got = post(&post_.url, &with(&fields, "X-Amz-Signature", &flipped), b"ok").await;
    assert_refused(&form, "u/1/t", got, &[("SignatureDoesNotMatch", 403)]).await;

    let expired = form.sign(120, 60, |p| p);
    let got = post(&expired.url, &with(&expired.fields, "key", "u/1/t"), b"ok").await;
    assert_refused(&form, "u/1/t", got, &[("AccessDenied", 403)]).await;
}
