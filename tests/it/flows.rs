//! End-to-end scenarios: provision → presign → upload to S3 → complete → download, and the ways
//! each step refuses bad requests. Every scenario runs twice: in-process (`native::…`) and
//! against the wasm Worker under `wrangler dev` (`worker::…`), with the same real PostgreSQL and
//! signature-checking S3 server.

use carcosa_edge::store::provision::{self as p, ShareLevel};
use serde_json::{json, Value};

use crate::target::{Resp, Target};
use crate::world::{Setup, World};

scenarios!(
    health_and_cors,
    upload_roundtrip,
    awkward_file_names,
    s3_refuses_what_was_not_signed,
    expired_urls_are_refused,
    revoked_and_expired_keys,
    permissions_per_route,
    shared_buckets,
    tenants,
    uploads_of_other_projects_are_invisible,
    complete_checks_the_object,
    storage_unreachable_during_complete,
    downloads_stay_in_scope,
    bad_input,
    upload_tokens,
    upstream_sdk_routes,
    lost_upload_rows_are_recreated,
    upload_ids_cannot_be_forged,
    floods_of_unknown_keys_are_refused,
);

/// Sends bytes to a presigned URL with the headers the presign response named.
pub async fn put(url: &str, headers: &Value, body: &[u8]) -> (u16, String) {
    put_without(url, headers, &[], body).await
}

/// As [`put`], leaving out the named headers (to show a signed one is required).
pub async fn put_without(url: &str, headers: &Value, skip: &[&str], body: &[u8]) -> (u16, String) {
    let mut req = reqwest::Client::new().put(url).body(body.to_vec());
    for (name, value) in headers.as_object().into_iter().flatten() {
        // The HTTP client sets Content-Length from the body itself.
        if name != "content-length" && !skip.contains(&name.as_str()) {
            req = req.header(name, value.as_str().unwrap());
        }
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn presign(t: &Target, key: &str, body: Value) -> Resp {
    t.post("/v1/uploads", key, &body).await
}

async fn complete(t: &Target, key: &str, upload_id: &str) -> Resp {
    t.post(&format!("/v1/uploads/{upload_id}/complete"), key, &json!({}))
        .await
}

/// The `"Upload"` row id inside an upload id the API returned.
fn row_id(upload_id: &str) -> &str {
    carcosa_edge::upload_id::row_id(upload_id)
}

/// The upload's status. Its row is written after the response (by the Worker inside
/// `wait_until`), so this waits for the row to appear.
async fn upload_status(t: &Target, upload_id: &str) -> String {
    let id = row_id(upload_id);
    for _ in 0..100 {
        if let Some(row) =
            t.db.query_opt(r#"SELECT status FROM "Upload" WHERE id = $1"#, &[&id])
                .await
                .unwrap()
        {
            return row.get(0);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the row of upload {id} was not written within 5 s");
}

/// Repeats a request until it answers `status` with error `code`, as it must once the isolate's
/// cached scope has expired; until then it must still succeed.
macro_rules! refused_within_bound {
    ($request:expr, $status:expr, $code:expr) => {
        crate::target::answer_changes_within_bound(
            || $request,
            |r: &Resp| r.status < 300,
            |r: &Resp| (r.status, r.code()) == ($status, $code),
        )
        .await
    };
}

/// Presigns, uploads `bytes` and completes; returns the completion.
async fn upload(t: &Target, key: &str, filename: &str, bytes: &[u8], content_type: &str) -> Resp {
    let r = presign(
        t,
        key,
        json!({"filename": filename, "contentType": content_type, "size": bytes.len()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, text) = put(&r.s("url"), &r.body["headers"], bytes).await;
    assert_eq!(status, 200, "PUT {filename:?}: {text}");
    let done = complete(t, key, &r.s("uploadId")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    done
}

async fn health_and_cors(t: &Target) {
    let r = t.call("GET", "/v1/health", &[], None).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ok")));
    let r = t
        .call(
            "OPTIONS",
            "/v1/uploads",
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "POST"),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
    let r = t.call("GET", "/v1/nope", &[], None).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = t.call("PUT", "/v1/uploads", &[], None).await;
    assert_eq!(
        (r.status, r.code(), r.header("allow")),
        (405, "method_not_allowed", Some("GET, POST"))
    );
}

async fn upload_roundtrip(t: &Target) {
    let w = World::new(t).await;
    let bytes = b"hello from carcosa-edge\n";
    let r = presign(
        t,
        &w.key,
        json!({"filename": "hello.txt", "contentType": "text/plain", "size": bytes.len(), "metadata": {"album": "x"}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let upload_id = r.s("uploadId");
    let key = r.s("key");
    assert_eq!(
        key,
        format!(
            "{}/default/{}/{}/hello.txt",
            w.org.slug,
            w.project.slug,
            row_id(&upload_id)
        )
    );
    assert_eq!(r.s("method"), "PUT");
    assert_eq!(r.body["headers"]["content-type"], "text/plain");
    assert_eq!(r.body["headers"]["content-length"], bytes.len().to_string());
    assert_eq!(r.body["expiresIn"], 900);
    assert!(r.s("url").starts_with(&format!("{}/{}/", t.s3.endpoint, w.s3_bucket)));
    assert_eq!(upload_status(t, &upload_id).await, "initiated");

    let (status, text) = put(&r.s("url"), &r.body["headers"], bytes).await;
    assert_eq!(status, 200, "{text}");
    let done = complete(t, &w.key, &upload_id).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let file = &done.body["file"];
    assert_eq!(file["size"], json!(bytes.len()), "size is a JSON number");
    assert_eq!(file["contentType"], "text/plain");
    assert_eq!(file["key"], key);
    assert_eq!(file["filename"], "hello.txt");
    assert_eq!(file["metadata"]["album"], "x");
    assert_eq!(upload_status(t, &upload_id).await, "completed");

    let stored = t.s3.get(&w.s3_bucket, &key).await;
    assert_eq!((stored.status, stored.body.as_slice()), (200, &bytes[..]));
    assert_eq!(stored.content_type.as_deref(), Some("text/plain"));
    let row =
        t.db.query_one(
            r#"SELECT path, size, "mimeType", "projectId" FROM "File" WHERE id = $1"#,
            &[&file["id"].as_str().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), key);
    assert_eq!(row.get::<_, i64>(1), i64::try_from(bytes.len()).unwrap());
    assert_eq!(row.get::<_, String>(2), "text/plain");
    assert_eq!(row.get::<_, String>(3), w.project.id);

    // Completing again answers with the same file and writes nothing new.
    let again = complete(t, &w.key, &upload_id).await;
    assert_eq!((again.status, &again.body["file"]["id"]), (200, &file["id"]));
    let files: i64 =
        t.db.query_one(r#"SELECT count(*) FROM "File" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert_eq!(files, 1);

    // The same name again gets its own key.
    let second = presign(t, &w.key, json!({"filename": "hello.txt"})).await;
    assert_ne!(second.s("key"), key);

    let d = t
        .post("/v1/downloads", &w.key, &json!({"key": key, "expiresIn": 60}))
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let got = reqwest::get(d.s("url")).await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), bytes);

    // lastUsedAt is written after the response.
    let mut used = None;
    for _ in 0..50 {
        used =
            t.db.query_one(
                r#"SELECT "lastUsedAt" IS NOT NULL FROM "ApiKey" WHERE id = $1"#,
                &[&w.key_id],
            )
            .await
            .unwrap()
            .get::<_, Option<bool>>(0);
        if used == Some(true) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(used, Some(true));

    // Nothing secret leaks into responses.
    for body in [&r.body, &done.body, &d.body] {
        let text = body.to_string();
        assert!(!text.contains(&t.s3.secret_key) && !text.contains(&w.key), "{text}");
    }
}

async fn awkward_file_names(t: &Target) {
    let w = World::new(t).await;
    let long = format!("{}.txt", "n".repeat(996));
    assert_eq!(long.len(), 1000);
    for name in [
        "with space.txt",
        "a+b.txt",
        "100%.txt",
        "tilde~.txt",
        "star*.txt",
        "co:lon.txt",
        "ünïcødé 日本.txt",
        &long,
    ] {
        let done = upload(t, &w.key, name, name.as_bytes(), "text/plain").await;
        let key = done.body["file"]["key"].as_str().unwrap().to_owned();
        let stored = t.s3.get(&w.s3_bucket, &key).await;
        assert_eq!(
            (stored.status, stored.body.as_slice()),
            (200, name.as_bytes()),
            "{name:?}"
        );
        // Only a name the store's key limit (a test setting here; S3's 1024 bytes by default)
        // cannot hold is shortened, and then to fill the key exactly, extension kept.
        let stored_name = key.rsplit('/').next().unwrap();
        let max = crate::target::max_key_bytes();
        if key.len() - stored_name.len() + name.len() <= max {
            assert_eq!(stored_name, name);
        } else {
            assert!(stored_name.ends_with(".txt") && key.len() == max, "{key}");
        }
    }
}

async fn s3_refuses_what_was_not_signed(t: &Target) {
    let w = World::new(t).await;
    let body = b"{\"a\":1}";
    let r = presign(
        t,
        &w.key,
        json!({"filename": "a.json", "contentType": "application/json", "size": body.len()}),
    )
    .await;
    let url = r.s("url");
    let headers = &r.body["headers"];

    // Another content type than the signed one.
    let (status, _) = put(&url, &json!({"content-type": "text/html"}), body).await;
    assert_eq!(status, 403);
    // Another size than the signed one.
    let (status, _) = put(&url, headers, b"{\"a\":12}").await;
    assert_eq!(status, 403);
    // A tampered signature, and a tampered key.
    let sig_at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut tampered = url.clone();
    let flipped = if &url[sig_at..=sig_at] == "0" { "1" } else { "0" };
    tampered.replace_range(sig_at..=sig_at, flipped);
    assert_eq!(put(&tampered, headers, body).await.0, 403);
    let other_key = url.replacen("/a.json?", "/b.json?", 1);
    assert_eq!(put(&other_key, headers, body).await.0, 403);
    // Nothing was stored; the honest request still works.
    assert_eq!(t.s3.get(&w.s3_bucket, &r.s("key")).await.status, 404);
    assert_eq!(put(&url, headers, body).await.0, 200);
}

async fn expired_urls_are_refused(t: &Target) {
    let w = World::new(t).await;
    let r = presign(t, &w.key, json!({"filename": "late.txt", "expiresIn": 1})).await;
    assert_eq!((r.status, &r.body["expiresIn"]), (201, &json!(1)));
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, text) = put(&r.s("url"), &r.body["headers"], b"late").await;
    assert_eq!(status, 403, "{text}");
}

async fn revoked_and_expired_keys(t: &Target) {
    let w = World::new(t).await;
    let body = json!({"filename": "a.txt"});
    assert_eq!(presign(t, &w.key, body.clone()).await.status, 201);

    p::revoke_api_key(&t.db, &w.key_id, crate::world::now_ms())
        .await
        .unwrap();
    refused_within_bound!(presign(t, &w.key, body.clone()), 401, "invalid_api_key");
    let r = presign(t, &w.key, body.clone()).await;
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    // A lowered permission takes effect within the same bound.
    let lowered = w.key_with(t, &["uploads:create", "files:read"]).await;
    assert_eq!(presign(t, &lowered, body.clone()).await.status, 201);
    t.db.execute(
        r#"UPDATE "ApiKey" SET permissions = '["files:read"]' WHERE "keyHash" = $1"#,
        &[&carcosa_edge::apikey::ApiKey::parse(&lowered).unwrap().hash().as_str()],
    )
    .await
    .unwrap();
    refused_within_bound!(presign(t, &lowered, body.clone()), 403, "permission_denied");

    let key = w.key_with(t, &["uploads:create"]).await;
    t.db.execute(
        r#"UPDATE "ApiKey" SET "expiresAt" = (now() AT TIME ZONE 'UTC') - interval '1 minute' WHERE "projectId" = $1 AND "revokedAt" IS NULL"#,
        &[&w.project.id],
    )
    .await
    .unwrap();
    refused_within_bound!(presign(t, &key, body.clone()), 401, "api_key_expired");

    let unknown = "carc_".to_owned() + &"A".repeat(43);
    assert_eq!(presign(t, &unknown, body.clone()).await.code(), "invalid_api_key");
    let r = t
        .call("POST", "/v1/uploads", &[("x-api-key", "carc_nope")], Some("{}"))
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_api_key"));
    let r = t.call("POST", "/v1/uploads", &[], Some(&body.to_string())).await;
    assert_eq!((r.status, r.code()), (401, "missing_api_key"));
}

async fn permissions_per_route(t: &Target) {
    let w = World::new(t).await;
    let reader = w.key_with(t, &["files:read"]).await;
    let r = presign(t, &reader, json!({"filename": "a.txt"})).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));

    let creator = w.key_with(t, &["uploads:create"]).await;
    let up = presign(t, &creator, json!({"filename": "a.txt"})).await;
    assert_eq!(up.status, 201);
    let r = complete(t, &creator, &up.s("uploadId")).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let r = t.post("/v1/downloads", &creator, &json!({"key": up.s("key")})).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));

    for grants in [&["uploads:init"][..], &["uploads:*"], &["*"], &["write"], &["admin"]] {
        let key = w.key_with(t, grants).await;
        assert_eq!(
            presign(t, &key, json!({"filename": "a.txt"})).await.status,
            201,
            "{grants:?}"
        );
    }
    let legacy_reader = w.key_with(t, &["read"]).await;
    assert_eq!(
        presign(t, &legacy_reader, json!({"filename": "a.txt"})).await.status,
        403
    );
    assert_eq!(
        t.post("/v1/downloads", &legacy_reader, &json!({"key": up.s("key")}))
            .await
            .status,
        200
    );
}

async fn shared_buckets(t: &Target) {
    let w = World::new(t).await;
    let (team, project, key) = w.sharing_project(t, ShareLevel::ReadWrite).await;
    let done = upload(t, &key, "shared.txt", b"shared", "text/plain").await;
    let file_key = done.body["file"]["key"].as_str().unwrap().to_owned();
    assert!(
        file_key.starts_with(&format!("{}/{}/{}/", w.org.slug, team.slug, project.slug)),
        "{file_key}"
    );

    p::share_bucket(
        &t.db,
        &w.bucket.id,
        &team.id,
        ShareLevel::ReadOnly,
        crate::world::now_ms(),
    )
    .await
    .unwrap();
    refused_within_bound!(presign(t, &key, json!({"filename": "b.txt"})), 403, "bucket_read_only");
    let download = json!({"key": file_key});
    let d = t.post("/v1/downloads", &key, &download).await;
    assert_eq!(d.status, 200, "{}", d.body);

    assert!(p::unshare_bucket(&t.db, &w.bucket.id, &team.id).await.unwrap());
    refused_within_bound!(t.post("/v1/downloads", &key, &download), 403, "bucket_access_denied");
    let r = presign(t, &key, json!({"filename": "b.txt"})).await;
    assert_eq!((r.status, r.code()), (403, "bucket_access_denied"));

    // The owner's project is unaffected.
    assert_eq!(presign(t, &w.key, json!({"filename": "b.txt"})).await.status, 201);
}

async fn tenants(t: &Target) {
    let (w, tenants) = World::with_tenants(t, &["blue"]).await;
    let tenant = &tenants[0];
    let r = presign(t, &w.key, json!({"filename": "a.txt"})).await;
    assert_eq!((r.status, r.code()), (400, "tenant_required"));
    let r = presign(t, &w.key, json!({"filename": "a.txt", "tenant": "green"})).await;
    assert_eq!((r.status, r.code()), (404, "tenant_not_found"));
    let r = presign(t, &w.key, json!({"filename": "../../a.txt", "tenant": "blue"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r
        .s("key")
        .starts_with(&format!("{}/default/{}/tenants/blue/", w.org.slug, w.project.slug)));
    assert!(r.s("key").ends_with("/a.txt"));
    let (status, _) = put(&r.s("url"), &r.body["headers"], b"blue").await;
    assert_eq!(status, 200);
    let done = complete(t, &w.key, &r.s("uploadId")).await;
    assert_eq!((done.status, &done.body["file"]["tenantId"]), (200, &json!(tenant.id)));
    let upload_tenant: Option<String> =
        t.db.query_one(
            r#"SELECT "tenantId" FROM "Upload" WHERE id = $1"#,
            &[&row_id(&r.s("uploadId"))],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(upload_tenant.as_deref(), Some(tenant.id.as_str()));

    // A tenant-scoped download cannot reach outside its tenant; a project-wide one can.
    let d = t
        .post("/v1/downloads", &w.key, &json!({"key": r.s("key"), "tenant": "blue"}))
        .await;
    assert_eq!(d.status, 200);
    let outside = format!("{}/default/{}/tenants/red/x/a.txt", w.org.slug, w.project.slug);
    let d = t
        .post("/v1/downloads", &w.key, &json!({"key": outside, "tenant": "blue"}))
        .await;
    assert_eq!((d.status, d.code()), (403, "key_outside_scope"));

    let single = World::new(t).await;
    let r = presign(t, &single.key, json!({"filename": "a.txt", "tenant": "blue"})).await;
    assert_eq!((r.status, r.code()), (400, "tenant_not_supported"));
}

async fn uploads_of_other_projects_are_invisible(t: &Target) {
    let a = World::new(t).await;
    let b = World::new(t).await;
    let r = presign(t, &a.key, json!({"filename": "a.txt", "size": 1})).await;
    put(&r.s("url"), &r.body["headers"], b"a").await;
    let other = complete(t, &b.key, &r.s("uploadId")).await;
    assert_eq!((other.status, other.code()), (404, "upload_not_found"));
    let d = t.post("/v1/downloads", &b.key, &json!({"key": r.s("key")})).await;
    assert_eq!((d.status, d.code()), (403, "key_outside_scope"));
    for id in ["does-not-exist", "bad%20id"] {
        let r = complete(t, &a.key, id).await;
        assert_eq!((r.status, r.code()), (404, "upload_not_found"), "{id}");
    }
    assert_eq!(upload_status(t, &r.s("uploadId")).await, "initiated");
}

async fn complete_checks_the_object(t: &Target) {
    let w = World::new(t).await;
    let r = presign(t, &w.key, json!({"filename": "a.bin", "size": 4})).await;
    let id = r.s("uploadId");
    let early = complete(t, &w.key, &id).await;
    assert_eq!((early.status, early.code()), (409, "object_not_uploaded"));
    assert_eq!(upload_status(t, &id).await, "initiated");

    // S3 itself refuses another length than the signed one, so a stored object of the wrong size
    // means the record and the bucket disagree (an upload declared 4 bytes, 3 are stored): the
    // upload is not completed with the wrong size.
    let other = presign(t, &w.key, json!({"filename": "b.bin", "size": 3})).await;
    assert_eq!(put(&other.s("url"), &other.body["headers"], b"abc").await.0, 200);
    assert_eq!(upload_status(t, &other.s("uploadId")).await, "initiated");
    t.db.execute(
        r#"UPDATE "Upload" SET size = 4 WHERE id = $1"#,
        &[&row_id(&other.s("uploadId"))],
    )
    .await
    .unwrap();
    let mismatch = complete(t, &w.key, &other.s("uploadId")).await;
    assert_eq!((mismatch.status, mismatch.code()), (409, "size_mismatch"));
    assert_eq!(upload_status(t, &other.s("uploadId")).await, "initiated");

    assert_eq!(put(&r.s("url"), &r.body["headers"], b"abcd").await.0, 200);
    assert_eq!(complete(t, &w.key, &id).await.status, 200);
}

async fn storage_unreachable_during_complete(t: &Target) {
    // Port 9 (discard) is closed here: the bucket's endpoint cannot be reached.
    let w = World::with(
        t,
        Setup {
            endpoint: Some("http://127.0.0.1:9".into()),
            ..Setup::default()
        },
    )
    .await;
    let r = presign(t, &w.key, json!({"filename": "a.txt"})).await;
    assert_eq!(r.status, 201, "presigning needs no network: {}", r.body);
    let done = complete(t, &w.key, &r.s("uploadId")).await;
    assert_eq!((done.status, done.code()), (503, "storage_unavailable"));
    assert_eq!(done.header("retry-after"), Some("2"));
    assert_eq!(upload_status(t, &r.s("uploadId")).await, "initiated");
}

async fn downloads_stay_in_scope(t: &Target) {
    let w = World::new(t).await;
    let prefix = format!("{}/default/{}", w.org.slug, w.project.slug);
    for (key, status, code) in [
        (format!("{prefix}/../other/a.txt"), 400, "invalid_key"),
        (format!("{prefix}//a.txt"), 400, "invalid_key"),
        (prefix.clone(), 403, "key_outside_scope"),
        (format!("{prefix}x/a.txt"), 403, "key_outside_scope"),
        ("/etc/passwd".to_owned(), 400, "invalid_key"),
    ] {
        let d = t.post("/v1/downloads", &w.key, &json!({"key": key})).await;
        assert_eq!((d.status, d.code()), (status, code), "{key}");
    }
    let d = t
        .post(
            "/v1/downloads",
            &w.key,
            &json!({"key": format!("{prefix}/x/a.txt"), "expiresIn": 604_801}),
        )
        .await;
    assert_eq!((d.status, d.code()), (400, "invalid_expiry"));
}

async fn bad_input(t: &Target) {
    let w = World::new(t).await;
    let auth = format!("Bearer {}", w.key);
    let call = |body: &'static str, ct: &'static str| {
        let auth = auth.clone();
        async move {
            t.call(
                "POST",
                "/v1/uploads",
                &[("authorization", &auth), ("content-type", ct)],
                Some(body),
            )
            .await
        }
    };
    for (body, ct, status, code) in [
        ("{not json", "application/json", 400, "invalid_json"),
        ("", "application/json", 400, "invalid_json"),
        ("[]", "application/json", 400, "invalid_field"),
        (r#"{"filename": 12}"#, "application/json", 400, "invalid_field"),
        (
            r#"{"contentType": "text/plain"}"#,
            "application/json",
            400,
            "invalid_field",
        ),
        (
            r#"{"filename": "a", "size": -1}"#,
            "application/json",
            400,
            "invalid_field",
        ),
        (
            r#"{"filename": "a", "size": 6000000000}"#,
            "application/json",
            413,
            "file_too_large",
        ),
        (
            r#"{"filename": "a", "expiresIn": 0}"#,
            "application/json",
            400,
            "invalid_expiry",
        ),
        (
            r#"{"filename": "a", "contentType": "text/plain\r\nx-amz-acl: public-read"}"#,
            "application/json",
            400,
            "invalid_field",
        ),
        (r#"{"filename": "/../"}"#, "application/json", 400, "invalid_filename"),
        (
            r#"{"filename": "a", "metadata": "x"}"#,
            "application/json",
            400,
            "invalid_field",
        ),
        (r#"{"filename": "a"}"#, "application/xml", 415, "unsupported_media_type"),
    ] {
        let r = call(body, ct).await;
        assert_eq!((r.status, r.code()), (status, code), "{body:?}: {}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let big = format!(r#"{{"filename": "a", "metadata": {{"x": "{}"}}}}"#, "y".repeat(70_000));
    let r = t
        .call(
            "POST",
            "/v1/uploads",
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(&big),
        )
        .await;
    assert_eq!((r.status, r.code()), (413, "body_too_large"));
    let meta = format!(r#"{{"filename": "a", "metadata": {{"x": "{}"}}}}"#, "y".repeat(9_000));
    let r = t
        .call(
            "POST",
            "/v1/uploads",
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(&meta),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_metadata"));
    // `curl -d` labels JSON as a form; it is still accepted.
    let r = call(
        r#"{"fileName": "upstream-sdk.txt"}"#,
        "application/x-www-form-urlencoded",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(upload_status(t, &r.s("uploadId")).await, "initiated");
}

async fn upload_tokens(t: &Target) {
    let (w, _) = World::with_tenants(t, &["blue", "red"]).await;
    let minted = t
        .post("/v1/tokens", &w.key, &json!({"tenant": "blue", "expiresIn": 120}))
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    assert_eq!(
        minted.body["permissions"],
        json!(["uploads:create", "uploads:complete"])
    );
    let token = minted.s("token");
    assert!(!token.contains(&w.key));

    // The token works where the key would, bound to its tenant.
    let r = presign(t, &token, json!({"filename": "t.txt", "size": 2})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.s("key").contains("/tenants/blue/"), "{}", r.s("key"));
    assert_eq!(put(&r.s("url"), &r.body["headers"], b"ok").await.0, 200);
    assert_eq!(complete(t, &token, &r.s("uploadId")).await.status, 200);
    let other = presign(t, &token, json!({"filename": "t.txt", "tenant": "red"})).await;
    assert_eq!((other.status, other.code()), (400, "tenant_mismatch"));
    let red = presign(t, &w.key, json!({"filename": "r.txt", "tenant": "red"})).await;
    let cross = complete(t, &token, &red.s("uploadId")).await;
    assert_eq!((cross.status, cross.code()), (404, "upload_not_found"));

    // Tokens carry only what they were minted with, and cannot mint more tokens.
    let narrow = t
        .post(
            "/v1/tokens",
            &w.key,
            &json!({"permissions": ["uploads:create"], "tenant": "blue"}),
        )
        .await;
    assert_eq!(narrow.status, 201, "{}", narrow.body);
    let r = presign(t, &narrow.s("token"), json!({"filename": "n.txt"})).await;
    let c = complete(t, &narrow.s("token"), &r.s("uploadId")).await;
    assert_eq!((c.status, c.code()), (403, "permission_denied"));
    let again = t.post("/v1/tokens", &token, &json!({})).await;
    assert_eq!((again.status, again.code()), (403, "api_key_required"));
    let reader = w.key_with(t, &["files:read"]).await;
    let wider = t
        .post("/v1/tokens", &reader, &json!({"permissions": ["uploads:create"]}))
        .await;
    assert_eq!((wider.status, wider.code()), (403, "permission_denied"));
    let bad = t.post("/v1/tokens", &w.key, &json!({"expiresIn": 3601})).await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_expiry"));

    // A tampered token is refused; revoking the key revokes its tokens.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let r = presign(t, &tampered, json!({"filename": "x.txt"})).await;
    assert_eq!((r.status, r.code()), (401, "invalid_api_key"));
    p::revoke_api_key(&t.db, &w.key_id, crate::world::now_ms())
        .await
        .unwrap();
    refused_within_bound!(presign(t, &token, json!({"filename": "x.txt"})), 401, "invalid_api_key");
}

/// The upstream `@carcosa/sdk` flow: init → PUT with the signed content type → confirm.
async fn upstream_sdk_routes(t: &Target) {
    let w = World::new(t).await;
    let pid = w.project.id.clone();
    let headers = [("x-api-key", w.key.as_str()), ("content-type", "application/json")];
    let init_path = format!("/api/v1/projects/{pid}/uploads/init");
    let body =
        json!({"projectId": pid, "fileName": "sdk.txt", "contentType": "text/plain", "metadata": {"from": "sdk"}});
    let init = t.call("POST", &init_path, &headers, Some(&body.to_string())).await;
    assert_eq!(init.status, 200, "{}", init.body);
    let upload_url = &init.body["uploadUrl"];
    assert_eq!(upload_url["method"], "PUT");
    assert_eq!(upload_url["headers"], json!({"content-type": "text/plain"}));
    assert!(upload_url["expiresAt"].is_i64(), "epoch milliseconds, as upstream");
    let path = init.s("path");
    assert!(
        path.starts_with(&format!("{}/default/{}/", w.org.slug, w.project.slug)),
        "{path}"
    );

    let bytes = b"uploaded by the sdk";
    let (status, text) = put(upload_url["url"].as_str().unwrap(), &upload_url["headers"], bytes).await;
    assert_eq!(status, 200, "{text}");
    let confirm_path = format!("/api/v1/projects/{pid}/uploads/confirm");
    let confirm_body = json!({"projectId": pid, "uploadId": init.s("uploadId"),
        "metadata": {"size": 999, "contentType": "image/png", "etag": "forged"}});
    let confirm = t
        .call("POST", &confirm_path, &headers, Some(&confirm_body.to_string()))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let file = &confirm.body["file"];
    // What S3 holds is recorded, not what the client claimed.
    assert_eq!(
        (&file["size"], &file["mimeType"]),
        (&json!(bytes.len()), &json!("text/plain"))
    );
    assert_eq!(
        (&file["path"], &file["projectId"], &file["version"]),
        (&json!(path), &json!(pid), &json!("v1"))
    );
    let again = t
        .call("POST", &confirm_path, &headers, Some(&confirm_body.to_string()))
        .await;
    assert_eq!((again.status, &again.body["file"]["id"]), (200, &file["id"]));

    // The path's project must be the key's.
    let other = World::new(t).await;
    let wrong = format!("/api/v1/projects/{}/uploads/init", other.project.id);
    let r = t.call("POST", &wrong, &headers, Some(&body.to_string())).await;
    assert_eq!((r.status, r.code()), (403, "project_mismatch"));
    let r = t
        .call(
            "POST",
            &format!("/api/v1/projects/{}/uploads/confirm", other.project.id),
            &headers,
            Some(&confirm_body.to_string()),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "project_mismatch"));
}

/// The `"Upload"` row is written after the response. Here that write fails (a trigger refuses
/// rows carrying this test's marker, as a database refusing writes would), yet the URL handed
/// out still uploads and the upload still completes: completion recreates the row from its id.
async fn lost_upload_rows_are_recreated(t: &Target) {
    let w = World::new(t).await;
    let marker = hex::encode(crate::s3::rand_bytes());
    let trigger = format!("refuse_{marker}");
    t.db.batch_execute(&format!(
        r#"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               IF NEW.metadata->>'marker' = '{marker}' THEN
                   RAISE EXCEPTION 'deferred write refused by the test';
               END IF;
               RETURN NEW;
           END $$;
           CREATE TRIGGER {trigger} BEFORE INSERT ON "Upload" FOR EACH ROW EXECUTE FUNCTION {trigger}();"#
    ))
    .await
    .unwrap();

    let bytes = b"nothing lost";
    let r = presign(
        t,
        &w.key,
        json!({"filename": "kept.txt", "contentType": "text/plain", "size": bytes.len(), "metadata": {"marker": marker}}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.s("uploadId");
    // Give the Worker's deferred write time to run (and fail): it waits for company first.
    let batch_delay = u64::from(carcosa_edge::runtime::Config::DEFAULT_WRITE_BATCH_DELAY_MS);
    tokio::time::sleep(std::time::Duration::from_millis(batch_delay + 1000)).await;
    let rows: i64 =
        t.db.query_one(r#"SELECT count(*) FROM "Upload" WHERE id = $1"#, &[&row_id(&id)])
            .await
            .unwrap()
            .get(0);
    assert_eq!(rows, 0, "the deferred write was supposed to fail");

    assert_eq!(put(&r.s("url"), &r.body["headers"], bytes).await.0, 200);
    // Another project cannot claim it, even with the id in hand.
    let other = World::new(t).await;
    let stolen = complete(t, &other.key, &id).await;
    assert_eq!((stolen.status, stolen.code()), (404, "upload_not_found"));

    let done = complete(t, &w.key, &id).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["file"]["key"], r.s("key"));
    assert_eq!(done.body["file"]["size"], json!(bytes.len()));
    let row =
        t.db.query_one(
            r#"SELECT status, path, size, "contentType", "projectId", "apiKeyId" FROM "Upload" WHERE id = $1"#,
            &[&row_id(&id)],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, String>(1), r.s("key"));
    assert_eq!(row.get::<_, Option<i64>>(2), Some(bytes.len() as i64));
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some("text/plain"));
    assert_eq!(row.get::<_, String>(4), w.project.id);
    assert_eq!(row.get::<_, Option<String>>(5).as_deref(), Some(w.key_id.as_str()));
    let again = complete(t, &w.key, &id).await;
    assert_eq!(
        (again.status, &again.body["file"]["id"]),
        (200, &done.body["file"]["id"])
    );

    t.db.batch_execute(&format!(
        r#"DROP TRIGGER {trigger} ON "Upload"; DROP FUNCTION {trigger}();"#
    ))
    .await
    .unwrap();
}

/// An upload id is authenticated: any change to it, or one made up, names no upload.
async fn upload_ids_cannot_be_forged(t: &Target) {
    let w = World::new(t).await;
    let r = presign(t, &w.key, json!({"filename": "a.txt", "size": 1})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.s("uploadId");
    assert_eq!(put(&r.s("url"), &r.body["headers"], b"a").await.0, 200);
    let (signed, _tag) = id.rsplit_once('.').unwrap();
    let (row, payload) = signed.split_once('.').unwrap();
    let mut flipped = id.clone().into_bytes();
    let middle = row.len() + 1 + payload.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let forged = [
        String::from_utf8(flipped).unwrap(),
        format!("{signed}.AAAAAAAAAAAAAAAAAAAAAA"),
        format!("{row}.{payload}"),
        format!("{row}x.{payload}.{}", id.rsplit('.').next().unwrap()),
    ];
    for bad in &forged {
        let c = complete(t, &w.key, bad).await;
        assert_eq!((c.status, c.code()), (404, "upload_not_found"), "{bad}");
    }
    // The genuine id still works.
    assert_eq!(complete(t, &w.key, &id).await.status, 200);
}

/// After a key's first request, an isolate answers presigns from its cache: no database work
/// before the response (the upload row and `lastUsedAt` are written after it). Unknown keys are
/// remembered too. (In-process only: the runtime reports when the database was used.)
#[tokio::test]
async fn warm_requests_skip_the_database() {
    let t = Target::native().await;
    let w = World::new(&t).await;
    let body = json!({"filename": "warm.txt", "size": 4});
    let cold = presign(&t, &w.key, body.clone()).await;
    assert_eq!((cold.status, cold.db_before_response), (201, Some(true)));
    let warm = presign(&t, &w.key, body.clone()).await;
    assert_eq!((warm.status, warm.db_before_response), (201, Some(false)));
    let d = t.post("/v1/downloads", &w.key, &json!({"key": warm.s("key")})).await;
    assert_eq!((d.status, d.db_before_response), (200, Some(false)));
    let tok = t.post("/v1/tokens", &w.key, &json!({})).await;
    assert_eq!((tok.status, tok.db_before_response), (201, Some(false)));
    // The rows were written after the responses.
    assert_eq!(upload_status(&t, &warm.s("uploadId")).await, "initiated");

    let unknown = "carc_".to_owned() + &"B".repeat(43);
    let first = presign(&t, &unknown, body.clone()).await;
    assert_eq!((first.status, first.db_before_response), (401, Some(true)));
    let second = presign(&t, &unknown, body.clone()).await;
    assert_eq!((second.status, second.db_before_response), (401, Some(false)));

    // Completing needs the database: it checks and records the upload.
    assert_eq!(put(&warm.s("url"), &warm.body["headers"], b"warm").await.0, 200);
    let done = complete(&t, &w.key, &warm.s("uploadId")).await;
    assert_eq!((done.status, done.db_before_response), (200, Some(true)));
}

/// Made-up keys are all different, so remembering unknown keys alone cannot stop a client that
/// tries a new one each time: past a budget, that client's lookups of keys the isolate does not
/// know are refused without a query. Known keys and other clients are unaffected.
async fn floods_of_unknown_keys_are_refused(t: &Target) {
    let w = World::new(t).await;
    let suffix = hex::encode(crate::s3::rand_bytes());
    let attacker = format!("2001:db8::{}:{}", &suffix[..4], &suffix[4..]);
    let other = format!("2001:db8::1:{}", &suffix[..4]);
    let send = |key: String, client: String| async move {
        t.call(
            "POST",
            "/v1/uploads",
            &[("x-api-key", &key), ("cf-connecting-ip", &client)],
            Some(r#"{"filename": "a.txt"}"#),
        )
        .await
    };
    let made_up = || {
        let mut random = [0u8; 32];
        getrandom::getrandom(&mut random).unwrap();
        carcosa_edge::apikey::ApiKey::generate(random)
            .expose_secret()
            .to_owned()
    };
    // The real key is seen (and cached) first: its entry's life starts between these two instants.
    let first_sent = std::time::Instant::now();
    assert_eq!(send(w.key.clone(), attacker.clone()).await.status, 201);
    let first_answered = std::time::Instant::now();
    let limit = carcosa_edge::scope_cache::UnknownKeyBudget::LIMIT;
    for _ in 0..limit {
        let r = send(made_up(), attacker.clone()).await;
        assert_eq!((r.status, r.code()), (401, "invalid_api_key"));
    }
    let r = send(made_up(), attacker.clone()).await;
    assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    let wait: u32 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // A key still in the isolate's cache is served without a lookup, so the budget does not
    // apply to it; once its entry has expired (a slow machine can take longer than the TTL for
    // the flood), its lookup is a cold one from this client, and refused like the others.
    let sent = std::time::Instant::now();
    let r = send(w.key.clone(), attacker.clone()).await;
    let ttl = std::time::Duration::from_secs(u64::from(crate::target::scope_ttl_secs()));
    let margin = std::time::Duration::from_millis(500);
    if first_sent.elapsed() + margin < ttl {
        assert_eq!(r.status, 201, "{}", r.body);
    } else if sent.duration_since(first_answered) > ttl + margin {
        assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.body);
    }
    let r = send(made_up(), other).await;
    assert_eq!((r.status, r.code()), (401, "invalid_api_key"));
}
