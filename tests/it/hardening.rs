//! Hardening: bad input stops before the database and never becomes a 500, logs are structured
//! and hold no row values, upload tokens carry least privilege, upload URLs cannot overwrite, and
//! download URLs cannot serve active content inline. Scenarios run in-process and against the
//! wasm Worker under `wrangler dev`; the Worker's log itself is checked by `scripts/test`.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use base64::Engine;

use crate::target::{Resp, Target};
use crate::world::{Setup, World};

scenarios!(
    control_characters_never_reach_the_database,
    format_characters_are_stripped_from_names,
    oversized_bodies_are_refused_cleanly,
    permissions_that_are_not_an_array_grant_nothing,
    every_response_has_a_request_id,
    database_error_detail_is_not_logged,
    upload_tokens_carry_least_privilege,
    url_lifetimes_end_with_the_token_and_the_key,
    upload_urls_cannot_overwrite,
    downloads_never_render_active_content,
);

/// Logged in place of a row value by the trigger in [`database_error_detail_is_not_logged`];
/// `scripts/test` fails if it reaches the Worker's log.
pub const ROW_VALUE_SENTINEL: &str = "carcosa-test-row-value-never-logged";

/// In-process runs: every log line is one JSON object with a level, a request id and a message.
fn logs(t: &Target) -> Vec<Value> {
    t.logs
        .borrow()
        .iter()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
            assert!(
                ["error", "warn", "info"].contains(&v["level"].as_str().unwrap_or_default()),
                "{line}"
            );
            assert!(v["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{line}");
            assert!(v["message"].is_string(), "{line}");
            v
        })
        .collect()
}

fn unknown_key() -> String {
    let mut random = [0u8; 32];
    getrandom::getrandom(&mut random).unwrap();
    carcosa_edge::apikey::ApiKey::generate(random)
        .expose_secret()
        .to_owned()
}

/// The `"Upload"` row of an upload id, once the deferred write has landed.
async fn upload_row(t: &Target, upload_id: &str) -> tokio_postgres::Row {
    let id = carcosa_edge::upload_id::row_id(upload_id);
    for _ in 0..100 {
        if let Some(row) =
            t.db.query_opt(r#"SELECT filename, path FROM "Upload" WHERE id = $1"#, &[&id])
                .await
                .unwrap()
        {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the row of upload {id} was not written within 5 s");
}

async fn control_characters_never_reach_the_database(t: &Target) {
    let w = World::with(
        t,
        Setup {
            multi_tenant: true,
            ..Setup::default()
        },
    )
    .await;
    let init = format!("/api/v1/projects/{}/uploads/init", w.project.id);
    let confirm = format!("/api/v1/projects/{}/uploads/confirm", w.project.id);
    let cases: Vec<(&str, Value)> = vec![
        ("/v1/uploads", json!({"filename": "a", "tenant": "a\u{0}"})),
        ("/v1/uploads", json!({"filename": "a\u{0}.txt", "tenant": "t"})),
        ("/v1/uploads", json!({"filename": "a\u{1b}[31m.txt", "tenant": "t"})),
        ("/v1/uploads", json!({"filename": "a\u{85}.txt", "tenant": "t"})),
        (
            "/v1/uploads",
            json!({"filename": "a", "tenant": "t", "contentType": "text/plain\u{0}"}),
        ),
        (
            "/v1/uploads",
            json!({"filename": "a", "tenant": "t", "metadata": {"k": ["x", {"y": "\u{0}"}]}}),
        ),
        (
            "/v1/uploads",
            json!({"filename": "a", "tenant": "t", "metadata": {"\u{0}": 1}}),
        ),
        ("/v1/tokens", json!({"tenant": "a\u{0}"})),
        (
            "/v1/tokens",
            json!({"tenant": "t", "permissions": ["uploads:create\u{0}"]}),
        ),
        ("/v1/downloads", json!({"key": "a\u{0}", "tenant": "t"})),
        ("/v1/downloads", json!({"key": "a", "tenant": "t\u{7f}"})),
        (&init, json!({"fileName": "a\u{0}", "tenantId": "t"})),
        (&init, json!({"fileName": "a", "tenantId": "t\u{0}"})),
        (&confirm, json!({"uploadId": "c\u{0}"})),
    ];
    // A made-up key used to reach the database (and its NUL refusal, a 500) as readily as a real one.
    for key in [w.key.clone(), unknown_key()] {
        for (path, body) in &cases {
            let r = t.post(path, &key, body).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_field"),
                "{path} {body}: {}",
                r.body
            );
            assert!(
                r.body["message"].as_str().unwrap().contains("must not contain"),
                "{}",
                r.body
            );
        }
    }
    if t.worker_url().is_none() {
        assert!(
            logs(t).is_empty(),
            "a client's mistake is not logged: {:?}",
            t.logs.borrow()
        );
    }
    let rows: i64 =
        t.db.query_one(
            r#"SELECT count(*) FROM "Upload" WHERE "projectId" = $1"#,
            &[&w.project.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    // Line breaks in metadata are data, not control of anything: accepted.
    let r = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": "a", "tenant": "t", "metadata": {"note": "line 1\nline 2"}}),
        )
        .await;
    assert_ne!(r.code(), "invalid_field", "{}", r.body);
}

async fn format_characters_are_stripped_from_names(t: &Target) {
    let w = World::new(t).await;
    let r = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": "invoice\u{202E}fdp.exe\u{200B}", "contentType": "application/pdf"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let key = r.s("key");
    assert!(key.ends_with("/invoicefdp.exe"), "{key}");
    let row = upload_row(t, &r.s("uploadId")).await;
    assert_eq!(row.get::<_, String>("filename"), "invoicefdp.exe");
    let r = t
        .post("/v1/uploads", &w.key, &json!({"filename": "\u{202E}\u{2066}"}))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_filename"), "{}", r.body);
}

/// A raw HTTP/1.1 request with a chunked body of `total` bytes (`Content-Length` unknown), sent
/// whole before the answer is read; returns the status and body. Writing fails if the Worker
/// gave up on the connection midway.
async fn chunked_post(base_url: &str, path: &str, key: &str, total: usize) -> (u16, String) {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {key}\r\norigin: https://app.example\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 16 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        stream.write_all(format!("{n:x}\r\n").as_bytes()).await.unwrap();
        stream
            .write_all(&chunk[..n])
            .await
            .unwrap_or_else(|e| panic!("the Worker stopped reading after {sent} bytes: {e}"));
        stream.write_all(b"\r\n").await.unwrap();
        sent += n;
    }
    stream.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    (status, text)
}

async fn oversized_bodies_are_refused_cleanly(t: &Target) {
    let w = World::new(t).await;
    let auth = format!("Bearer {}", w.key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("origin", "https://app.example"),
    ];
    // Just over the limit, and far over it (declared lengths: refused unread).
    for size in [64 * 1024 + 1, 6 * 1024 * 1024] {
        for _ in 0..3 {
            let body = format!(r#"{{"filename": "a", "metadata": {{"x": "{}"}}}}"#, "y".repeat(size));
            let r = t.call("POST", "/v1/uploads", &headers, Some(&body)).await;
            assert_eq!((r.status, r.code()), (413, "body_too_large"), "{size}: {}", r.body);
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
            assert!(r.header("x-request-id").is_some());
        }
    }
    // Bodies without a declared length (chunked), read up to the limit and drained.
    if let Some(base) = t.worker_url() {
        for total in [64 * 1024 + 1, 6 * 1024 * 1024] {
            let (status, text) = chunked_post(base, "/v1/uploads", &w.key, total).await;
            assert_eq!(status, 413, "{text}");
            assert!(text.contains(r#""error":"body_too_large""#), "{text}");
            assert!(
                text.to_ascii_lowercase().contains("access-control-allow-origin: *"),
                "{text}"
            );
        }
        // A small chunked body is read and handled.
        let (status, text) = chunked_post(base, "/v1/uploads", &w.key, 10).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(r#""error":"invalid_json""#), "{text}");
    }
    let r = t.call("GET", "/v1/health", &[], None).await;
    assert_eq!(r.status, 200, "healthy afterwards");
}

async fn permissions_that_are_not_an_array_grant_nothing(t: &Target) {
    let w = World::new(t).await;
    for (i, stored) in [json!({"uploads:create": true}), json!("*"), json!(1)]
        .iter()
        .enumerate()
    {
        // A fresh key each time: a resolved scope is cached per key.
        let key = w.key_with(t, &["uploads:create"]).await;
        let hash = carcosa_edge::apikey::ApiKey::parse(&key).unwrap().hash();
        t.db.execute(
            r#"UPDATE "ApiKey" SET permissions = $1 WHERE "keyHash" = $2"#,
            &[stored, &hash.as_str()],
        )
        .await
        .unwrap();
        let r = t.post("/v1/uploads", &key, &json!({"filename": "a.txt"})).await;
        assert_eq!((r.status, r.code()), (403, "permission_denied"), "{stored}: {}", r.body);
        if t.worker_url().is_none() {
            let warnings: Vec<Value> = logs(t).into_iter().filter(|l| l["level"] == "warn").collect();
            assert_eq!(warnings.len(), i + 1, "{warnings:?}");
            let message = warnings[i]["message"].as_str().unwrap();
            assert!(message.contains("not a JSON array"), "{message}");
            assert!(
                !message.contains("uploads:create") && !message.contains(&hash.as_str()[..16]),
                "{message}"
            );
        }
    }
}

async fn every_response_has_a_request_id(t: &Target) {
    let plain = |r: &Resp| {
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id: {:?}", r.headers));
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{id:?}"
        );
        id.to_owned()
    };
    let a = plain(&t.call("GET", "/v1/health", &[], None).await);
    let b = plain(&t.call("GET", "/v1/nope", &[], None).await);
    assert_ne!(a, b, "one id per request");
    plain(&t.post("/v1/uploads", &unknown_key(), &json!({"filename": "a"})).await);
    let preflight = t
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
    plain(&preflight);
    let r = t
        .call("GET", "/v1/health", &[("origin", "https://app.example")], None)
        .await;
    assert!(r
        .header("access-control-expose-headers")
        .unwrap()
        .contains("x-request-id"));
    // Cloudflare's ray id, when the request has one, so logs can be matched with Cloudflare's.
    let r = t
        .call("GET", "/v1/health", &[("cf-ray", "8f1c2d3e4a5b6c7d-TST")], None)
        .await;
    if t.worker_url().is_none() {
        assert_eq!(r.header("x-request-id"), Some("8f1c2d3e4a5b6c7d-TST"));
    } else {
        plain(&r);
    }
}

/// A failing write whose PostgreSQL error carries a row value in its message and `DETAIL` (as a
/// unique violation does): the log names the SQLSTATE, never the value.
async fn database_error_detail_is_not_logged(t: &Target) {
    let w = World::new(t).await;
    let marker = hex::encode(crate::s3::rand_bytes());
    let trigger = format!("detail_{marker}");
    t.db.batch_execute(&format!(
        r#"CREATE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN
               IF NEW.metadata->>'marker' = '{marker}' THEN
                   RAISE EXCEPTION 'refused {ROW_VALUE_SENTINEL}' USING DETAIL = 'Key (x)=({ROW_VALUE_SENTINEL})';
               END IF;
               RETURN NEW;
           END $$;
           CREATE TRIGGER {trigger} BEFORE INSERT ON "Upload" FOR EACH ROW EXECUTE FUNCTION {trigger}();"#
    ))
    .await
    .unwrap();
    let r = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": "a.txt", "metadata": {"marker": marker}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    if t.worker_url().is_none() {
        let lines = logs(t);
        let failed: Vec<&Value> = lines.iter().filter(|l| l["level"] == "error").collect();
        assert_eq!(failed.len(), 1, "{lines:?}");
        let message = failed[0]["message"].as_str().unwrap();
        assert!(message.contains("SQLSTATE P0001"), "{message}");
        assert!(!message.contains(ROW_VALUE_SENTINEL), "{message}");
    } else {
        // The Worker writes after its batch delay; give the failure time to reach its log.
        let delay = u64::from(carcosa_edge::runtime::Config::DEFAULT_WRITE_BATCH_DELAY_MS);
        tokio::time::sleep(Duration::from_millis(delay + 1000)).await;
    }
    t.db.batch_execute(&format!(
        r#"DROP TRIGGER {trigger} ON "Upload"; DROP FUNCTION {trigger}();"#
    ))
    .await
    .unwrap();
}

/// A JWT's claims, decoded without verifying (the service verifies; this only reads).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `X-Amz-Expires` of a presigned URL.
fn url_expires(url: &str) -> u32 {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("X-Amz-Expires="))
        .unwrap_or_else(|| panic!("no X-Amz-Expires in {url}"))
        .parse()
        .unwrap()
}

async fn upload_tokens_carry_least_privilege(t: &Target) {
    let (w, _) = World::with_tenants(t, &["blue"]).await;
    // Unbound, a token of a multi-tenant project would act for every tenant.
    let r = t.post("/v1/tokens", &w.key, &json!({})).await;
    assert_eq!((r.status, r.code()), (400, "tenant_required"), "{}", r.body);

    let minted = t.post("/v1/tokens", &w.key, &json!({"tenant": "blue"})).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    assert_eq!(
        minted.body["permissions"],
        json!(["uploads:create", "uploads:complete"])
    );
    let token = minted.s("token");
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], "carcosa-edge");
    assert_eq!(claims["aud"], "carcosa-edge/uploads");
    assert_eq!(claims["jti"], minted.body["tokenId"]);
    assert_eq!(claims["tnt"], "blue");
    assert!(!minted.s("tokenId").is_empty());

    // Upload-only by default: it uploads, but cannot mint download URLs.
    let up = t.post("/v1/uploads", &token, &json!({"filename": "a.txt"})).await;
    assert_eq!(up.status, 201, "{}", up.body);
    let down = t.post("/v1/downloads", &token, &json!({"key": up.s("key")})).await;
    assert_eq!((down.status, down.code()), (403, "permission_denied"), "{}", down.body);

    // Reading only when asked for, and still within the tenant.
    let reader = t
        .post(
            "/v1/tokens",
            &w.key,
            &json!({"tenant": "blue", "permissions": ["files:read"]}),
        )
        .await;
    assert_eq!(reader.status, 201, "{}", reader.body);
    let down = t
        .post("/v1/downloads", &reader.s("token"), &json!({"key": up.s("key")}))
        .await;
    assert_eq!(down.status, 200, "{}", down.body);
}

async fn url_lifetimes_end_with_the_token_and_the_key(t: &Target) {
    let w = World::new(t).await;
    let minted = t
        .post(
            "/v1/tokens",
            &w.key,
            &json!({"expiresIn": 60, "permissions": ["uploads:create", "files:read"]}),
        )
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.s("token");
    let up = t
        .post(
            "/v1/uploads",
            &token,
            &json!({"filename": "a.txt", "expiresIn": 604_800}),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let secs = up.body["expiresIn"].as_u64().unwrap();
    assert!((50..=60).contains(&secs), "a 60 s token signed a {secs} s URL");
    assert_eq!(u64::from(url_expires(&up.s("url"))), secs);
    let down = t
        .post(
            "/v1/downloads",
            &token,
            &json!({"key": up.s("key"), "expiresIn": 86_400}),
        )
        .await;
    assert_eq!(down.status, 200, "{}", down.body);
    assert!(url_expires(&down.s("url")) <= 60, "{}", down.s("url"));

    // A key that expires in 90 s signs nothing longer, and its tokens live no longer either.
    let key = w.key_with(t, &["uploads:create", "files:read"]).await;
    let hash = carcosa_edge::apikey::ApiKey::parse(&key).unwrap().hash();
    t.db.execute(
        r#"UPDATE "ApiKey" SET "expiresAt" = (now() AT TIME ZONE 'UTC') + interval '90 seconds' WHERE "keyHash" = $1"#,
        &[&hash.as_str()],
    )
    .await
    .unwrap();
    let up = t
        .post("/v1/uploads", &key, &json!({"filename": "b.txt", "expiresIn": 604_800}))
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let secs = up.body["expiresIn"].as_u64().unwrap();
    assert!(
        (80..=90).contains(&secs),
        "a key expiring in 90 s signed a {secs} s URL"
    );
    let down = t.post("/v1/downloads", &key, &json!({"key": up.s("key")})).await;
    assert!(url_expires(&down.s("url")) <= 90, "{}", down.body);
    let minted = t.post("/v1/tokens", &key, &json!({"expiresIn": 3600})).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    assert!(minted.body["expiresIn"].as_u64().unwrap() <= 90, "{}", minted.body);
}

async fn upload_urls_cannot_overwrite(t: &Target) {
    let w = World::new(t).await;
    let first = b"first";
    let r = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": "once.txt", "contentType": "text/plain", "size": first.len()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["headers"]["if-none-match"], "*", "{}", r.body);
    let url = r.s("url");
    assert!(url.contains("if-none-match"), "signed: {url}");
    // The header is part of the signature: leaving it out is refused by S3's signature check.
    let (status, text) = crate::flows::put_without(&url, &r.body["headers"], &["if-none-match"], first).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    let (status, text) = crate::flows::put(&url, &r.body["headers"], first).await;
    assert_eq!(status, 200, "{text}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), &w.key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    // A second PUT of the same length to the same URL, sent as signed.
    let (status, text) = crate::flows::put(&url, &r.body["headers"], b"again").await;
    assert_eq!(status, 412, "{text}");
    assert!(text.contains("PreconditionFailed"), "{text}");
    let stored = t.s3.get(&w.s3_bucket, &r.s("key")).await;
    assert_eq!((stored.status, stored.body.as_slice()), (200, &first[..]));
}

/// Uploads `bytes` as `content_type` under `name` and completes; returns the object key.
async fn uploaded(t: &Target, key: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let r = t
        .post(
            "/v1/uploads",
            key,
            &json!({"filename": name, "contentType": content_type, "size": bytes.len()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, text) = crate::flows::put(&r.s("url"), &r.body["headers"], bytes).await;
    assert_eq!(status, 200, "{text}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    r.s("key")
}

/// GETs a presigned URL: status, `Content-Type`, `Content-Disposition`.
async fn fetch(url: &str) -> (u16, Option<String>, Option<String>) {
    let resp = reqwest::get(url).await.unwrap();
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    (
        resp.status().as_u16(),
        header("content-type"),
        header("content-disposition"),
    )
}

async fn downloads_never_render_active_content(t: &Target) {
    let w = World::new(t).await;
    let page = b"<script>alert(document.domain)</script>";
    let html = uploaded(t, &w.key, "page.html", "text/html", page).await;
    let r = t.post("/v1/downloads", &w.key, &json!({"key": html})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, ct, cd) = fetch(&r.s("url")).await;
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("application/octet-stream"));
    assert_eq!(
        cd.as_deref(),
        Some("attachment; filename=\"page.html\"; filename*=UTF-8''page.html")
    );
    let r = t
        .post("/v1/downloads", &w.key, &json!({"key": html, "disposition": "inline"}))
        .await;
    assert_eq!((r.status, r.code()), (400, "inline_not_allowed"), "{}", r.body);
    let r = t
        .post("/v1/downloads", &w.key, &json!({"key": html, "disposition": "render"}))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_field"), "{}", r.body);

    // An image name uploaded as HTML is shown inline only as the image its name says.
    let png = uploaded(t, &w.key, "cat.png", "text/html", page).await;
    let r = t
        .post("/v1/downloads", &w.key, &json!({"key": png, "disposition": "inline"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, ct, cd) = fetch(&r.s("url")).await;
    assert_eq!((status, ct.as_deref()), (200, Some("image/png")));
    assert!(cd.unwrap().starts_with("inline; filename=\"cat.png\""));

    // Non-ASCII names: an ASCII fallback and the exact name (RFC 5987).
    let text = uploaded(t, &w.key, "naïve plan €.txt", "text/plain", b"plan").await;
    let r = t.post("/v1/downloads", &w.key, &json!({"key": text})).await;
    let (status, ct, cd) = fetch(&r.s("url")).await;
    assert_eq!(
        (status, ct.as_deref()),
        (200, Some("text/plain")),
        "the stored type stays"
    );
    assert_eq!(
        cd.as_deref(),
        Some("attachment; filename=\"na_ve plan _.txt\"; filename*=UTF-8''na%C3%AFve%20plan%20%E2%82%AC.txt")
    );
}
