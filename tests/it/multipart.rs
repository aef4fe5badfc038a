//! Multipart uploads driven entirely through presigned URLs against the signature-checking S3
//! server: create, upload parts, list, complete, and abort.

use carcosa_edge::sigv4::{
    complete_multipart_body, AbortMultipartUpload, Bucket, CompleteMultipartUpload, CreateMultipartUpload, Credentials,
    Expiry, ListParts, Presign, PresignError, Presigned, SigningTime, UploadPart,
};

use crate::s3::{server, TestS3};

/// The smallest part S3 accepts for any part but the last.
const MIN_PART: usize = 5 * 1024 * 1024;

/// A fresh bucket, and the credentials and key to presign for it now.
struct Multipart {
    s3: TestS3,
    name: String,
    bucket: Bucket,
    creds: Credentials,
    at: SigningTime,
    expiry: Expiry,
}

impl Multipart {
    async fn new() -> Self {
        let s3 = server();
        let name = s3.new_bucket().await;
        let (at, expiry) = TestS3::sign_now();
        Self {
            bucket: s3.bucket(&name),
            creds: s3.credentials(),
            s3,
            name,
            at,
            expiry,
        }
    }

    fn sign(&self, action: &impl Presign<Signed = Presigned, Error = PresignError>) -> Presigned {
        action.presign_uncached(self.at, self.expiry).unwrap()
    }

    /// Starts an upload of `object` (as `video/mp4`, a signed header) and returns its upload id.
    async fn create(&self, object: &str) -> String {
        let create = CreateMultipartUpload::new(&self.bucket, &self.creds, object).content_type("video/mp4");
        let create = self.sign(&create);
        assert_eq!(create.headers, [("content-type".to_owned(), "video/mp4".to_owned())]);
        let (status, _, body) = send(&create, Vec::new()).await;
        assert_eq!(status, 200, "{body}");
        element(&body, "UploadId").unwrap_or_else(|| panic!("no UploadId in {body}"))
    }

    fn upload_part(&self, object: &str, part_number: u16, upload_id: &str) -> Presigned {
        self.sign(&UploadPart::new(
            &self.bucket,
            &self.creds,
            object,
            part_number,
            upload_id,
        ))
    }

    /// Lists the parts of an upload: status and body.
    async fn list(&self, object: &str, upload_id: &str) -> (u16, String) {
        let list = self.sign(&ListParts::new(&self.bucket, &self.creds, object, upload_id));
        let (status, _, body) = send(&list, Vec::new()).await;
        (status, body)
    }
}

/// Sends a presigned request with its signed headers and `body`: status, `ETag` header and body.
async fn send(presigned: &Presigned, body: Vec<u8>) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().request(presigned.method.clone(), &presigned.url);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    let resp = request.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, etag, resp.text().await.unwrap())
}

/// The text of every `<name>` element in `xml`.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text.to_owned()))
        .collect()
}

fn element(xml: &str, name: &str) -> Option<String> {
    elements(xml, name).into_iter().next()
}

/// `(PartNumber, Size)` of each listed part, by number (s3s-fs lists them in directory order).
fn listed_parts(xml: &str) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = elements(xml, "Part")
        .iter()
        .map(|part| (element(part, "PartNumber").unwrap(), element(part, "Size").unwrap()))
        .collect();
    parts.sort_by_key(|(number, _)| number.parse::<u16>().unwrap());
    parts
}

/// S3 answers an unknown upload id with 404 `NoSuchUpload`; s3s-fs with 403 `AccessDenied`.
const NO_SUCH_UPLOAD: &[(&str, u16)] = &[("NoSuchUpload", 404), ("AccessDenied", 403)];

fn assert_no_such_upload((status, body): (u16, &str)) {
    let matched = NO_SUCH_UPLOAD
        .iter()
        .find(|(code, _)| body.contains(&format!("<Code>{code}</Code>")));
    assert_eq!(matched.map(|(_, s)| *s), Some(status), "{status} {body}");
}

#[tokio::test]
async fn presigned_multipart_upload_round_trips() {
    let mp = Multipart::new().await;
    let object = "u/1/big file+1.bin";
    let upload_id = mp.create(object).await;

    let first: Vec<u8> = (0..MIN_PART).map(|i| (i % 251) as u8).collect();
    let last = b"the last part may be small".to_vec();
    let mut etags = Vec::new();
    for (number, bytes) in [(1, &first), (2, &last)] {
        let part = UploadPart::new(&mp.bucket, &mp.creds, object, number, &upload_id);
        let part = mp.sign(&part.content_length(bytes.len() as u64));
        let (status, etag, body) = send(&part, bytes.clone()).await;
        assert_eq!(status, 200, "part {number}: {body}");
        etags.push((
            number,
            etag.unwrap_or_else(|| panic!("part {number} has no ETag header")),
        ));
    }

    let (status, listing) = mp.list(object, &upload_id).await;
    assert_eq!(status, 200, "{listing}");
    let expected = [
        ("1".to_owned(), first.len().to_string()),
        ("2".to_owned(), last.len().to_string()),
    ];
    assert_eq!(listed_parts(&listing), expected, "{listing}");

    // Given out of order: the body lists them by number.
    let parts: Vec<(u16, &str)> = etags.iter().rev().map(|(n, e)| (*n, e.as_str())).collect();
    let body = complete_multipart_body(&parts).unwrap();
    let complete = mp.sign(&CompleteMultipartUpload::new(&mp.bucket, &mp.creds, object, &upload_id));
    let (status, _, answer) = send(&complete, body.into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<CompleteMultipartUploadResult"), "{answer}");

    let got = mp.s3.get(&mp.name, object).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(got.body.len(), first.len() + last.len());
    assert!(
        got.body == [first, last].concat(),
        "the stored object differs from the parts"
    );
}

#[tokio::test]
async fn aborted_uploads_are_gone() {
    let mp = Multipart::new().await;
    let object = "u/1/abandoned.bin";
    let upload_id = mp.create(object).await;
    let part = mp.upload_part(object, 1, &upload_id);
    assert_eq!(send(&part, b"partial".to_vec()).await.0, 200);

    let abort = mp.sign(&AbortMultipartUpload::new(&mp.bucket, &mp.creds, object, &upload_id));
    let (status, _, body) = send(&abort, Vec::new()).await;
    assert_eq!(status, 204, "{body}");

    // S3 no longer knows the upload (404 `NoSuchUpload`); s3s-fs lists no parts for any
    // unknown upload id.
    let (status, body) = mp.list(object, &upload_id).await;
    if status == 200 {
        assert!(listed_parts(&body).is_empty(), "{body}");
    } else {
        assert_no_such_upload((status, &body));
    }
    let part = mp.upload_part(object, 2, &upload_id);
    let (status, _, body) = send(&part, b"late".to_vec()).await;
    assert_no_such_upload((status, &body));
    let body = complete_multipart_body(&[(1, "\"0\"")]).unwrap();
    let complete = mp.sign(&CompleteMultipartUpload::new(&mp.bucket, &mp.creds, object, &upload_id));
    let (status, _, body) = send(&complete, body.into_bytes()).await;
    assert_no_such_upload((status, &body));
    assert_eq!(mp.s3.get(&mp.name, object).await.status, 404);
}

#[tokio::test]
async fn tampered_part_urls_are_refused() {
    let mp = Multipart::new().await;
    let object = "u/1/tampered.bin";
    let upload_id = mp.create(object).await;
    let mut part = mp.upload_part(object, 1, &upload_id);
    let last = part.url.pop().unwrap();
    part.url.push(if last == '0' { '1' } else { '0' });
    let (status, _, body) = send(&part, b"data".to_vec()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>SignatureDoesNotMatch</Code>"), "{body}");

    // Signed for part 1, sent as part 2.
    let other = mp.upload_part(object, 1, &upload_id);
    let moved = Presigned {
        url: other.url.replace("partNumber=1&", "partNumber=2&"),
        ..other
    };
    assert_eq!(send(&moved, b"data".to_vec()).await.0, 403);

    let (status, listing) = mp.list(object, &upload_id).await;
    assert_eq!(status, 200, "{listing}");
    assert!(listed_parts(&listing).is_empty(), "{listing}");
}
