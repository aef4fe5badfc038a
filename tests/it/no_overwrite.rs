//! Completing a multipart upload never replaces an object: the service's own
//! `CompleteMultipartUpload` signs `If-None-Match: *`, which the signature binds (a request
//! without it is refused) and which the S3 server honours (412 when the key is taken).

use carcosa_edge::sigv4::{
    complete_multipart_body, CompleteMultipartUpload, CreateMultipartUpload, Presign, PresignError, Presigned,
    UploadPart,
};
use serde_json::{json, Value};

use crate::s3::{server, TestS3};
use crate::target::{Resp, Target};
use crate::world::World;

scenarios!(completing_over_an_existing_object_is_refused_and_keeps_it);

/// Sends a presigned request with its signed headers except `skip`: status, `ETag`, body.
async fn send(presigned: &Presigned, skip: &[&str], body: Vec<u8>) -> (u16, Option<String>, String) {
    let mut request = reqwest::Client::new().request(presigned.method.clone(), &presigned.url);
    for (name, value) in presigned.headers.iter().filter(|(n, _)| !skip.contains(&n.as_str())) {
        request = request.header(name, value);
    }
    let resp = request.body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (status, etag, resp.text().await.unwrap())
}

#[tokio::test]
async fn the_condition_is_signed_and_honoured() {
    let s3 = server();
    let name = s3.new_bucket().await;
    let (bucket, creds) = (s3.bucket(&name), s3.credentials());
    let (at, expiry) = TestS3::sign_now();
    let sign = |a: &dyn Presign<Signed = Presigned, Error = PresignError>| a.presign_uncached(at, expiry).unwrap();
    let key = "p/one.bin";
    for (round, byte) in [(0, b'a'), (1, b'b')] {
        let (status, _, body) = send(&sign(&CreateMultipartUpload::new(&bucket, &creds, key)), &[], vec![]).await;
        assert_eq!(status, 200, "{body}");
        let id = body
            .split("<UploadId>")
            .nth(1)
            .unwrap()
            .split("</UploadId>")
            .next()
            .unwrap();
        let part = sign(&UploadPart::new(&bucket, &creds, key, 1, id));
        let (status, etag, _) = send(&part, &[], vec![byte; 10]).await;
        assert_eq!(status, 200);
        let xml = complete_multipart_body(&[(1, etag.as_deref().unwrap())]).unwrap();
        let complete = sign(&CompleteMultipartUpload::new(&bucket, &creds, key, id).if_none_match("*"));
        assert!(
            complete.url.contains("X-Amz-SignedHeaders=host%3Bif-none-match"),
            "{}",
            complete.url
        );
        // Leaving the header out fails the signature check.
        let (status, _, body) = send(&complete, &["if-none-match"], xml.clone().into_bytes()).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("SignatureDoesNotMatch"), "{body}");
        let (status, _, body) = send(&complete, &[], xml.into_bytes()).await;
        if round == 0 {
            assert_eq!(status, 200, "{body}");
        } else {
            // The key is taken: S3 keeps the first object.
            assert_eq!(status, 412, "{body}");
            assert!(body.contains("PreconditionFailed"), "{body}");
        }
        assert_eq!(s3.get(&name, key).await.body, vec![b'a'; 10]);
    }
}

/// A Companion route with the key in `Authorization`.
async fn companion(t: &Target, method: &str, path: &str, key: &str, body: &Value) -> Resp {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("authorization", auth.as_str())];
    let body = (!body.is_null()).then(|| body.to_string());
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    t.call(method, &format!("/v1/companion/s3/{path}"), &headers, body.as_deref())
        .await
}

async fn completing_over_an_existing_object_is_refused_and_keeps_it(t: &Target) {
    let w = World::new(t).await;
    let r = companion(t, "POST", "multipart", &w.key, &json!({"filename": "a.bin"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (key, id) = (r.s("key"), r.s("uploadId"));
    let q = format!(
        "?key={}",
        percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC)
    );
    let r = companion(t, "GET", &format!("multipart/{id}/1{q}"), &w.key, &Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = reqwest::Client::new()
        .put(r.s("url"))
        .body(b"assembled".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();

    // Meanwhile a client that signs its own requests (`signRequest`, keys inside the project's
    // prefix) puts an object at the same key.
    let r = companion(t, "POST", "presign", &w.key, &json!({"method": "PUT", "key": key})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = reqwest::Client::new()
        .put(r.s("url"))
        .body(b"first".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    let parts = json!({"parts": [{"PartNumber": 1, "ETag": etag}]});
    let r = companion(t, "POST", &format!("multipart/{id}/complete{q}"), &w.key, &parts).await;
    assert_eq!((r.status, r.code()), (409, "object_exists"), "{}", r.body);
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.body, b"first");
    let files: i64 =
        t.db.query_one(r#"SELECT count(*) FROM "File" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert_eq!(files, 0);
}
