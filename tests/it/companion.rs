//! The Companion-compatible S3 routes as Uppy's `@uppy/aws-s3` drives them, end to end against
//! the signature-checking S3 server: form uploads under a POST policy, multipart uploads through
//! the service's own create/list/complete/abort calls, `signRequest`, and every refusal of an
//! upload id or key that is not the caller's.

use serde_json::{json, Value};

use crate::post_policy::post;
use crate::target::{Resp, Target};
use crate::world::World;

scenarios!(
    form_upload_under_a_post_policy,
    multipart_round_trip_in_companion_mode,
    multipart_refusals,
    tenants_and_projects_stay_apart,
    sign_request_mode,
);

/// The smallest part S3 accepts for any part but the last.
const MIN_PART: usize = 5 * 1024 * 1024;

/// `GET`/`DELETE`/`POST` under `/v1/companion` with `Authorization` (Uppy 5: `endpoint` + `headers`).
async fn call(t: &Target, method: &str, path: &str, key: &str, body: Option<&Value>) -> Resp {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("authorization", auth.as_str()), ("accept", "application/json")];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(Value::to_string);
    t.call(method, &format!("/v1/companion/s3/{path}"), &headers, body.as_deref())
        .await
}

/// The same under `/v1/companion/t/{token}` with no headers but `Content-Type` (Uppy 6 companion mode).
async fn call_t(t: &Target, method: &str, path: &str, token: &str, body: Option<&Value>) -> Resp {
    let headers: &[(&str, &str)] = if body.is_some() {
        &[("content-type", "application/json")]
    } else {
        &[]
    };
    let body = body.map(Value::to_string);
    t.call(
        method,
        &format!("/v1/companion/t/{token}/s3/{path}"),
        headers,
        body.as_deref(),
    )
    .await
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// An upload token for `key`, bound to `tenant` if given.
async fn token(t: &Target, key: &str, tenant: Option<&str>) -> String {
    let body = match tenant {
        Some(tenant) => json!({ "tenant": tenant }),
        None => json!({}),
    };
    let r = t.post("/v1/tokens", key, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.s("token")
}

fn fields(r: &Resp) -> Vec<(String, String)> {
    r.body["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// `File` rows for an object key.
async fn files(t: &Target, key: &str) -> i64 {
    t.db.query_one(r#"SELECT count(*) FROM "File" WHERE path = $1"#, &[&key])
        .await
        .unwrap()
        .get(0)
}

async fn put(url: &str, body: Vec<u8>) -> (u16, Option<String>) {
    let resp = reqwest::Client::new().put(url).body(body).send().await.unwrap();
    let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), etag)
}

async fn form_upload_under_a_post_policy(t: &Target) {
    let w = World::new(t).await;
    // Preflight, as a browser sends before every call with custom headers.
    let pre = t
        .call(
            "OPTIONS",
            "/v1/companion/s3/params",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-headers", "authorization"),
            ],
            None,
        )
        .await;
    assert_eq!(pre.status, 204);
    let allowed = pre.header("access-control-allow-headers").unwrap();
    for h in ["authorization", "content-type", "accept"] {
        assert!(allowed.contains(h), "{allowed}");
    }

    let r = call(
        t,
        "GET",
        "params?filename=notes%20v2.txt&type=text%2Fplain&metadata%5Bname%5D=n",
        &w.key,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["method"], "POST");
    let expose = r.header("access-control-expose-headers").unwrap_or_default();
    assert!(expose.contains("etag") && expose.contains("location"), "{expose}");
    let url = r.s("url");
    assert!(url.ends_with(&format!("/{}/", w.s3_bucket)), "{url}");
    let form = fields(&r);
    let key = r.body["fields"]["key"].as_str().unwrap().to_owned();
    assert!(key.ends_with("/notes v2.txt"), "{key}");
    assert_eq!(r.body["fields"]["success_action_status"], "201");
    let (status, body) = post(&url, &form, b"hello form").await;
    assert_eq!(status, 201, "{body}");
    let stored = t.s3.get(&w.s3_bucket, &key).await;
    assert_eq!((stored.status, stored.body.as_slice()), (200, &b"hello form"[..]));
    assert_eq!(stored.content_type.as_deref(), Some("text/plain"));
    // Uppy does not confirm form uploads; the app does, with the id the answer carries.
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), &w.key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(files(t, &key).await, 1);

    // S3 itself refuses a file over the limit, and another content type.
    let max = crate::target::max_upload_bytes();
    let r = call(t, "GET", "params?filename=big.bin", &w.key, None).await;
    let too_big = vec![7u8; usize::try_from(max).unwrap() + 1];
    let (status, body) = post(&r.s("url"), &fields(&r), &too_big).await;
    assert!(status == 400 && body.contains("EntityTooLarge"), "{status} {body}");
    let key = r.body["fields"]["key"].as_str().unwrap().to_owned();
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 404);

    let r = call(t, "GET", "params?filename=a.txt&type=text%2Fplain", &w.key, None).await;
    let mut form = fields(&r);
    for field in &mut form {
        if field.0 == "Content-Type" {
            field.1 = "text/html".into();
        }
    }
    let (status, body) = post(&r.s("url"), &form, b"<script>").await;
    assert!(matches!(status, 400 | 403), "{status} {body}");
    let key = r.body["fields"]["key"].as_str().unwrap().to_owned();
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 404);

    // A name is required; bad types are refused with a message companion-client shows.
    let r = call(t, "GET", "params?filename=", &w.key, None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_filename"), "{}", r.body);
    assert!(r.body["message"].as_str().is_some());
    let r = call(t, "GET", "params?filename=a&type=nope", &w.key, None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_content_type"));
}

/// Creates a multipart upload through the token-in-path endpoint; returns `(key, uploadId)`.
async fn create(t: &Target, token: &str, filename: &str) -> (String, String) {
    let r = call_t(
        t,
        "POST",
        "multipart",
        token,
        Some(&json!({"filename": filename, "type": "video/mp4", "metadata": {"a": "b"}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    (r.s("key"), r.s("uploadId"))
}

async fn multipart_round_trip_in_companion_mode(t: &Target) {
    let w = World::new(t).await;
    let tok = token(t, &w.key, None).await;
    let (key, id) = create(t, &tok, "movie.mp4").await;
    let q = format!("?key={}", enc(&key));
    let first: Vec<u8> = (0..MIN_PART).map(|i| (i % 251) as u8).collect();
    let last = b"the end".to_vec();
    let mut etags = Vec::new();
    for (n, bytes) in [(1, &first), (2, &last)] {
        let r = call_t(t, "GET", &format!("multipart/{id}/{n}{q}"), &tok, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["expires"].as_u64().is_some());
        // The scope is cached since `create`, and the ticket holds the rest: no database.
        assert_ne!(
            r.db_before_response,
            Some(true),
            "part {n} was signed after a database round trip"
        );
        let (status, etag) = put(&r.s("url"), bytes.clone()).await;
        assert_eq!(status, 200);
        etags.push(json!({"PartNumber": n, "ETag": etag.unwrap()}));
    }
    // Up to three parts, as many as the upload limit allows (every part but the last holds at
    // least 5 MiB; the limit of the runs is 8 MiB: two).
    let max_part = (crate::target::max_upload_bytes() / MIN_PART as u64 + 1).min(3);
    let numbers: Vec<String> = (1..=max_part).map(|n| n.to_string()).collect();
    let r = call_t(
        t,
        "GET",
        &format!("multipart/{id}/batch{q}&partNumbers={}", numbers.join(",")),
        &tok,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["presignedUrls"].as_object().unwrap().len(), numbers.len());
    let r = call_t(t, "GET", &format!("multipart/{id}{q}"), &tok, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut listed: Vec<(u64, u64)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["PartNumber"].as_u64().unwrap(), p["Size"].as_u64().unwrap()))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, [(1, MIN_PART as u64), (2, last.len() as u64)]);
    for bad in ["0", "10001", "x"] {
        let r = call_t(t, "GET", &format!("multipart/{id}/{bad}{q}"), &tok, None).await;
        assert_eq!((r.status, r.code()), (400, "invalid_part_number"), "{bad}");
    }

    let parts = json!({"parts": etags});
    let r = call_t(t, "POST", &format!("multipart/{id}/complete{q}"), &tok, Some(&parts)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.s("key"), key);
    assert_eq!(r.s("bucket"), w.s3_bucket);
    // The key has no character a URL path encodes.
    assert!(
        r.s("location").ends_with(&format!("/{}/{key}", w.s3_bucket)),
        "{}",
        r.s("location")
    );
    let stored = t.s3.get(&w.s3_bucket, &key).await;
    assert_eq!(stored.body.len(), first.len() + last.len());
    assert_eq!(stored.content_type.as_deref(), Some("video/mp4"));
    // Completing again answers the same file; there is one `File` row.
    let again = call_t(t, "POST", &format!("multipart/{id}/complete{q}"), &tok, Some(&parts)).await;
    assert_eq!(
        (again.status, again.s("fileId")),
        (200, r.s("fileId")),
        "{}",
        again.body
    );
    assert_eq!(files(t, &key).await, 1);
    let size: i64 =
        t.db.query_one(r#"SELECT size FROM "File" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert_eq!(size, i64::try_from(first.len() + last.len()).unwrap());
    // The upload row names S3's upload id.
    let s3_id: Option<String> =
        t.db.query_one(r#"SELECT "s3UploadId" FROM "Upload" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert!(s3_id.is_some_and(|s| !s.is_empty()));
}

async fn multipart_refusals(t: &Target) {
    let w = World::new(t).await;
    let (key, id) = {
        let r = call(t, "POST", "multipart", &w.key, Some(&json!({"filename": "x.bin"}))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (r.s("key"), r.s("uploadId"))
    };
    let q = format!("?key={}", enc(&key));
    let part = call(t, "GET", &format!("multipart/{id}/1{q}"), &w.key, None).await;
    let (status, etag) = put(&part.s("url"), b"only part".to_vec()).await;
    assert_eq!(status, 200);
    let etag = etag.unwrap();

    // Another key than the upload's, a forged id, an id that is not a ticket.
    let other = format!("?key={}", enc(&format!("{key}x")));
    // One character of the tag changed (always to a different one: the tag is random).
    let mut forged = id.clone().into_bytes();
    let at = forged.len() - 6;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for path in [
        format!("multipart/{id}/1{other}"),
        format!("multipart/{id}{other}"),
        format!("multipart/{forged}/1{q}"),
        format!("multipart/not-an-id/1{q}"),
    ] {
        let r = call(t, "GET", &path, &w.key, None).await;
        assert_eq!((r.status, r.code()), (404, "upload_not_found"), "{path}: {}", r.body);
    }
    // Part numbers outside 1..=10000 in the part list are the client's mistake.
    for n in [0, 10_001] {
        let bad = json!({"parts": [{"PartNumber": n, "ETag": etag}]});
        let r = call(t, "POST", &format!("multipart/{id}/complete{q}"), &w.key, Some(&bad)).await;
        assert_eq!((r.status, r.code()), (400, "invalid_part_number"), "{}", r.body);
    }
    // A part S3 does not have, or a wrong ETag: 409, and no file.
    for parts in [
        json!([{"PartNumber": 1, "ETag": etag}, {"PartNumber": 2, "ETag": etag}]),
        json!([{"PartNumber": 1, "ETag": "\"00000000000000000000000000000000\""}]),
    ] {
        let r = call(
            t,
            "POST",
            &format!("multipart/{id}/complete{q}"),
            &w.key,
            Some(&json!({"parts": parts})),
        )
        .await;
        assert_eq!((r.status, r.code()), (409, "invalid_parts"), "{}", r.body);
        assert_eq!(files(t, &key).await, 0);
    }
    // Aborted, it cannot complete.
    let r = call(t, "DELETE", &format!("multipart/{id}{q}"), &w.key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let status: String =
        t.db.query_one(r#"SELECT status FROM "Upload" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert_eq!(status, "aborted");
    let good = json!({"parts": [{"PartNumber": 1, "ETag": etag}]});
    let r = call(t, "POST", &format!("multipart/{id}/complete{q}"), &w.key, Some(&good)).await;
    assert_eq!((r.status, r.code()), (409, "upload_not_pending"), "{}", r.body);
    assert_eq!(files(t, &key).await, 0);
    // Without a credential, or with a bad token in the path.
    let r = t
        .call("GET", &format!("/v1/companion/s3/multipart/{id}/1{q}"), &[], None)
        .await;
    assert_eq!(r.status, 401);
    let r = call_t(t, "GET", &format!("multipart/{id}/1{q}"), "not.a.token", None).await;
    assert_eq!(r.status, 401);
    // API keys do not travel in URLs (the platform logs request URLs): something key-shaped in
    // the path is not a token. A made-up one, so that no real key reaches the test's log.
    let r = call_t(t, "GET", &format!("multipart/{id}/1{q}"), "carc_not-a-real-key", None).await;
    assert_eq!(r.status, 401, "API keys do not travel in URLs");
}

async fn tenants_and_projects_stay_apart(t: &Target) {
    let (w, _) = World::with_tenants(t, &["blue", "red"]).await;
    // The routes cannot name a tenant: an API key of a multi-tenant project is told to use a
    // token bound to one.
    let r = call(t, "GET", "params?filename=a.txt", &w.key, None).await;
    assert_eq!((r.status, r.code()), (400, "tenant_required"), "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("POST /v1/tokens"),
        "{}",
        r.body
    );
    let blue = token(t, &w.key, Some("blue")).await;
    let red = token(t, &w.key, Some("red")).await;
    let (key, id) = create(t, &blue, "blue.bin").await;
    assert!(key.contains("/tenants/blue/"), "{key}");
    let q = format!("?key={}", enc(&key));
    assert_eq!(
        call_t(t, "GET", &format!("multipart/{id}/1{q}"), &blue, None)
            .await
            .status,
        200
    );
    let r = call_t(t, "GET", &format!("multipart/{id}/1{q}"), &red, None).await;
    assert_eq!((r.status, r.code()), (404, "upload_not_found"), "{}", r.body);
    let r = call_t(t, "DELETE", &format!("multipart/{id}{q}"), &red, None).await;
    assert_eq!(r.status, 404);

    // Another project (on another bucket) cannot use this project's upload.
    let other = World::new(t).await;
    let r = call(t, "GET", &format!("multipart/{id}/1{q}"), &other.key, None).await;
    assert_eq!((r.status, r.code()), (404, "upload_not_found"), "{}", r.body);
    let r = call(t, "GET", &format!("multipart/{id}{q}"), &other.key, None).await;
    assert_eq!(r.status, 404);
}

async fn sign_request_mode(t: &Target) {
    let w = World::new(t).await;
    // The prefix the client may choose keys in: where the service's own keys go.
    let r = call(t, "GET", "params?filename=p.txt", &w.key, None).await;
    let own = r.body["fields"]["key"].as_str().unwrap().to_owned();
    let prefix = own.rsplitn(3, '/').nth(2).unwrap().to_owned();
    let key = format!("{prefix}/client-chosen/photo 1.jpg");
    let wkey = w.key.clone();
    let sign = |body: Value| {
        let wkey = wkey.clone();
        async move { call(t, "POST", "presign", &wkey, Some(&body)).await }
    };

    let r = sign(json!({"method": "PUT", "key": key})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = reqwest::Client::new()
        .put(r.s("url"))
        .header("content-type", "image/jpeg")
        .body(b"jpeg".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.body, b"jpeg");

    // A multipart upload the browser drives itself: create, one part, complete.
    let r = sign(json!({"method": "POST", "key": key})).await;
    let created = reqwest::Client::new()
        .post(r.s("url"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let upload_id = carcosa_edge::s3_xml::element(&created, "UploadId").unwrap_or_else(|| panic!("{created}"));
    let r = sign(json!({"method": "PUT", "key": key, "uploadId": upload_id, "partNumber": 1})).await;
    let (status, etag) = put(&r.s("url"), b"part".to_vec()).await;
    assert_eq!(status, 200);
    let r = sign(json!({"method": "POST", "key": key, "uploadId": upload_id})).await;
    let xml = carcosa_edge::sigv4::complete_multipart_body(&[(1, etag.as_deref().unwrap())]).unwrap();
    let done = reqwest::Client::new().post(r.s("url")).body(xml).send().await.unwrap();
    assert_eq!(done.status().as_u16(), 200);
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.body, b"part");

    // Keys outside the prefix, and requests that are no S3 upload step, are refused.
    for outside in [
        "other/key.txt".to_owned(),
        format!("{prefix}x/a.txt"),
        format!("{prefix}/../x/a.txt"),
        prefix.clone(),
    ] {
        let r = sign(json!({"method": "PUT", "key": outside})).await;
        assert!(matches!(r.status, 400 | 403), "{outside}: {} {}", r.status, r.body);
    }
    let r = sign(json!({"method": "PUT", "key": key, "uploadId": "u", "partNumber": 0})).await;
    assert_eq!((r.status, r.code()), (400, "invalid_part_number"));
    let r = sign(json!({"method": "GET", "key": key})).await;
    assert_eq!((r.status, r.code()), (400, "unsupported_request"));
    // DeleteObject needs `files:delete`, which a standard key has; an uploader's key does not.
    let uploader = w.key_with(t, &["uploads:create"]).await;
    let r = call(
        t,
        "POST",
        "presign",
        &uploader,
        Some(&json!({"method": "DELETE", "key": key})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
}
