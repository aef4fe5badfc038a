//! A generated corpus of bad requests across every route — wrong types, broken encodings, sizes,
//! NUL / control / bidi characters, path tricks, methods, content types and header forms — sent
//! in-process and to the wasm Worker. Whatever the input: no 5xx, every error is JSON with a
//! stable code, nothing secret or internal in any answer, and the service healthy afterwards.

use serde_json::{json, Value};

use crate::target::{Resp, Target};
use crate::world::World;

scenarios!(bad_input_corpus);

/// Every `error` code the API may answer with.
const CODES: &[&str] = &[
    "not_found",
    "method_not_allowed",
    "missing_api_key",
    "invalid_api_key",
    "upload_token_expired",
    "api_key_required",
    "project_mismatch",
    "invalid_json",
    "invalid_field",
    "invalid_filename",
    "invalid_content_type",
    "invalid_metadata",
    "invalid_expiry",
    "invalid_key",
    "inline_not_allowed",
    "tenant_required",
    "tenant_not_supported",
    "tenant_mismatch",
    "tenant_not_found",
    "body_too_large",
    "file_too_large",
    "unsupported_media_type",
    "api_key_expired",
    "permission_denied",
    "bucket_read_only",
    "bucket_access_denied",
    "key_outside_scope",
    "upload_not_found",
    "upload_not_pending",
    "object_not_uploaded",
    "rate_limited",
    "invalid_request",
];

/// Strings no answer may contain: internals (SQL, stack traces, panics) in any case.
const INTERNALS: &[&str] = &[
    "select ",
    "insert into",
    "sqlstate",
    "db error",
    "syntax error",
    "panicked",
    "runtimeerror",
    "unreachable",
    "stack backtrace",
    "src/",
    ".rs:",
];

/// Awkward text: NUL and other controls, bidi and zero-width characters, path tricks,
/// injections, lone surrogates (as JSON escapes), long and empty strings.
fn nasty_strings() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "\u{0}",
        "a\u{0}b",
        "\u{1}\u{2}\u{1f}",
        "\u{7f}",
        "\u{85}",
        "\r\nx-amz-acl: public-read",
        "\t",
        "\u{202E}gpj.exe",
        "\u{200B}\u{FEFF}",
        "\u{2066}a\u{2069}",
        "..",
        ".",
        "/",
        "../../etc/passwd",
        "..\\..\\windows",
        "a/../../b",
        "%00",
        "%2e%2e%2f",
        "C:\\fakepath\\x.txt",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\"; DROP TABLE \"ApiKey\"; --",
        "${jndi:ldap://x}",
        "🙂",
        "ｆｕｌｌ",
        "text/html",
        "*",
        "carc_",
        "tenants/../x",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("a".repeat(5000));
    v.push("é".repeat(600));
    v
}

/// Values of the wrong JSON type (and odd numbers) for any field.
fn wrong_types() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!([]),
        json!(["a"]),
        json!({}),
        json!({"a": {"b": [1, 2, {"c": null}]}}),
    ]
}

/// One request of the corpus.
struct Case {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<Vec<u8>>,
    what: String,
}

/// The corpus for a world with key `key`, a project `project` and a known object `object`.
fn corpus(key: &str, project: &str, object: &str, upload_id: &str) -> Vec<Case> {
    let auth = format!("Bearer {key}").into_bytes();
    let json_ct = b"application/json".to_vec();
    let routes: Vec<(String, &[&str])> = vec![
        (
            "/v1/uploads".into(),
            &["filename", "contentType", "tenant", "metadata", "size", "expiresIn"],
        ),
        (format!("/v1/uploads/{upload_id}/complete"), &["x"]),
        ("/v1/downloads".into(), &["key", "tenant", "expiresIn", "disposition"]),
        ("/v1/tokens".into(), &["permissions", "tenant", "expiresIn"]),
        (
            format!("/api/v1/projects/{project}/uploads/init"),
            &["fileName", "contentType", "tenantId", "metadata"],
        ),
        (format!("/api/v1/projects/{project}/uploads/confirm"), &["uploadId"]),
    ];
    let base = |path: &str| -> Value {
        match path {
            "/v1/uploads" => json!({"filename": "a.txt"}),
            "/v1/downloads" => json!({"key": object}),
            "/v1/tokens" => json!({}),
            p if p.ends_with("/init") => json!({"fileName": "a.txt"}),
            p if p.ends_with("/confirm") => json!({"uploadId": upload_id}),
            _ => json!({}),
        }
    };
    let post = |path: &str, body: Vec<u8>, what: String| Case {
        method: "POST",
        path: path.to_owned(),
        headers: vec![("authorization", auth.clone()), ("content-type", json_ct.clone())],
        body: Some(body),
        what,
    };
    let mut cases = Vec::new();

    for (path, fields) in &routes {
        // Every field of every route, set to each awkward string and each wrong type.
        for field in *fields {
            for s in nasty_strings() {
                let mut body = base(path);
                body[*field] = json!(s);
                cases.push(post(path, body.to_string().into_bytes(), format!("{field}={s:?}")));
            }
            for v in wrong_types() {
                let mut body = base(path);
                body[*field] = v.clone();
                cases.push(post(path, body.to_string().into_bytes(), format!("{field}={v}")));
            }
        }
        // Bodies that are not JSON objects, or not UTF-8, or not JSON at all.
        let odd_bodies: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("whitespace", b" \n\t ".to_vec()),
            ("array", b"[]".to_vec()),
            ("string", b"\"x\"".to_vec()),
            ("number", b"1".to_vec()),
            ("null", b"null".to_vec()),
            ("truncated", b"{\"filename\": \"a".to_vec()),
            ("trailing", b"{} {}".to_vec()),
            (
                "lone surrogate",
                br#"{"filename": "\ud800", "fileName": "\udfff"}"#.to_vec(),
            ),
            ("escaped NUL key", br#"{"\u0000": 1}"#.to_vec()),
            ("invalid utf-8", b"{\"filename\": \"\xff\xfe\xc0\xaf\"}".to_vec()),
            ("utf-8 bom", b"\xef\xbb\xbf{\"filename\": \"a\"}".to_vec()),
            (
                "utf-16",
                "{\"filename\": \"a\"}"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect(),
            ),
            ("gzip magic", b"\x1f\x8b\x08\x00\x00\x00\x00\x00".to_vec()),
            (
                "deep nesting",
                format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            ),
            (
                "duplicate fields",
                br#"{"filename": "a", "filename": "b", "fileName": "c", "key": "k", "key": "l"}"#.to_vec(),
            ),
            ("just under the limit", {
                let mut b = br#"{"filename": "a", "pad": ""#.to_vec();
                b.resize(64 * 1024 - 2, b'x');
                b.extend_from_slice(b"\"}");
                b
            }),
            ("just over the limit", vec![b' '; 64 * 1024 + 1]),
            ("a megabyte", vec![b'{'; 1024 * 1024]),
        ];
        for (what, body) in odd_bodies {
            cases.push(post(path, body, format!("body {what}")));
        }
        // Content types.
        for ct in [
            &b""[..],
            b"application/xml",
            b"multipart/form-data; boundary=x",
            b"application/json; charset=utf-16",
            b"APPLICATION/JSON",
            b"text/html",
            b"application/json\xff",
            b"*/*",
        ] {
            cases.push(Case {
                method: "POST",
                path: path.clone(),
                headers: vec![("authorization", auth.clone()), ("content-type", ct.to_vec())],
                body: Some(base(path).to_string().into_bytes()),
                what: format!("content-type {:?}", String::from_utf8_lossy(ct)),
            });
        }
        // Methods.
        for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            cases.push(Case {
                method,
                path: path.clone(),
                headers: vec![("authorization", auth.clone())],
                body: None,
                what: format!("method {method}"),
            });
        }
        // Credentials in every form.
        let long = format!("Bearer {}", "a".repeat(8000));
        let forms: Vec<(&'static str, Vec<u8>)> = vec![
            ("authorization", b"".to_vec()),
            ("authorization", b"Bearer".to_vec()),
            ("authorization", b"Bearer ".to_vec()),
            ("authorization", format!("Basic {key}").into_bytes()),
            ("authorization", key.as_bytes().to_vec()),
            ("authorization", format!("Bearer {key}x").into_bytes()),
            ("authorization", format!("Bearer {key}, Bearer {key}").into_bytes()),
            ("authorization", format!("Bearer\t{key}").into_bytes()),
            ("authorization", b"Bearer a.b.c".to_vec()),
            ("authorization", b"Bearer eyJhbGciOiJub25lIn0.eyJwaWQiOiJ4In0.".to_vec()),
            ("authorization", b"Bearer \xff\xfe".to_vec()),
            ("authorization", long.into_bytes()),
            ("x-api-key", b"carc_".to_vec()),
            ("x-api-key", format!(" {key} ").into_bytes()),
            ("x-api-key", "carc_".repeat(20).into_bytes()),
            ("cf-connecting-ip", b"\xff not an ip".to_vec()),
            ("cf-ray", b"\"}\n{\"level\":\"error\"".to_vec()),
        ];
        for (name, value) in forms {
            cases.push(Case {
                method: "POST",
                path: path.clone(),
                headers: vec![(name, value.clone()), ("content-type", json_ct.clone())],
                body: Some(base(path).to_string().into_bytes()),
                what: format!(
                    "header {name}: {:?}",
                    String::from_utf8_lossy(&value[..value.len().min(40)])
                ),
            });
        }
    }
    // Paths.
    for path in [
        "/",
        "/v1",
        "/v1/",
        "/V1/UPLOADS",
        "//v1//uploads",
        "/v1/uploads/",
        "/v1/uploads/../tokens",
        "/v1/uploads/%2e%2e/complete",
        "/v1/uploads/%00/complete",
        "/v1/uploads/x/complete/extra",
        "/v1/uploads//complete",
        "/v1/uploads/%E2%80%AE/complete",
        "/v1/uploads/a.b.c/complete",
        "/api/v1/projects//uploads/init",
        "/api/v1/projects/%2F/uploads/confirm",
        "/api/v1/projects/x/uploads/delete",
        "/v1/health?x=%00",
        "/v1/downloads?key=../../",
        "/v1/tokens#frag",
        "/.env",
        "/wp-admin",
    ] {
        cases.push(Case {
            method: "POST",
            path: path.to_owned(),
            headers: vec![("authorization", auth.clone()), ("content-type", json_ct.clone())],
            body: Some(b"{}".to_vec()),
            what: format!("path {path}"),
        });
    }
    let long_path = format!("/v1/uploads/{}/complete", "c".repeat(10_000));
    cases.push(Case {
        method: "POST",
        path: long_path,
        headers: vec![("authorization", auth)],
        body: None,
        what: "a 10 kB path".into(),
    });
    cases
}

/// What no answer may hold, whatever the input.
fn check(r: &Resp, case: &Case, secrets: &[&str]) {
    let ctx = || format!("{} {} ({}): {} {}", case.method, case.path, case.what, r.status, r.body);
    assert!(r.status < 500, "a 5xx: {}", ctx());
    let text = format!("{} {:?}", r.body, r.headers);
    for secret in secrets {
        assert!(!text.contains(secret), "a secret in the answer: {}", ctx());
    }
    let lower = text.to_lowercase();
    for internal in INTERNALS {
        assert!(!lower.contains(internal), "{internal:?} in the answer: {}", ctx());
    }
    // Answers to HEAD have no body, by HTTP's rules.
    if r.status >= 400 && case.method != "HEAD" {
        let code = r.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("not a JSON error: {}", ctx()));
        assert!(CODES.contains(&code), "unknown code {code:?}: {}", ctx());
        assert!(
            r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            ctx()
        );
    }
    if case.method != "OPTIONS" {
        assert!(r.header("x-request-id").is_some(), "no request id: {}", ctx());
    }
}

async fn bad_input_corpus(t: &Target) {
    let w = World::new(t).await;
    // A real object and a real upload id, so that the corpus reaches past "not found".
    let up = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": "corpus.txt", "contentType": "text/plain", "size": 2}),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let hash = carcosa_edge::apikey::ApiKey::parse(&w.key).unwrap().hash();
    let vault = crate::target::vault_key_text();
    let vault_b64 = vault.trim_start_matches("base64:");
    let secrets = [
        w.key.as_str(),
        hash.as_str(),
        t.s3.secret_key.as_str(),
        vault_b64,
        &w.key[5..25],
    ];

    let cases = corpus(&w.key, &w.project.id, &up.s("key"), &up.s("uploadId"));
    let mut sent = 0;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (i, case) in cases.iter().enumerate() {
        // Each case from its own client address: the corpus's unknown keys must not use up the
        // budget of unknown keys that other tests' requests share.
        let client = format!("2001:db8:c0:{:x}::{:x}", std::process::id() & 0xffff, i);
        let mut headers: Vec<(&str, &[u8])> = vec![("cf-connecting-ip", client.as_bytes())];
        headers.extend(case.headers.iter().map(|(n, v)| (*n, v.as_slice())));
        let Some(r) = t
            .call_raw(case.method, &case.path, &headers, case.body.as_deref())
            .await
        else {
            continue;
        };
        sent += 1;
        *statuses.entry(r.status).or_default() += 1;
        check(&r, case, &secrets);
    }
    assert!(sent >= 500, "only {sent} of {} cases could be sent", cases.len());
    eprintln!("bad-input corpus: {sent} requests, statuses {statuses:?}");

    // Still healthy, and still serving.
    let r = t.call("GET", "/v1/health", &[], None).await;
    assert_eq!(r.status, 200);
    let r = t.post("/v1/uploads", &w.key, &json!({"filename": "after.txt"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    if t.worker_url().is_none() {
        let errors: Vec<String> = t
            .logs
            .borrow()
            .iter()
            .filter(|l| l.contains(r#""level":"error""#))
            .cloned()
            .collect();
        assert!(errors.is_empty(), "clients' mistakes logged as errors: {errors:?}");
    }
}
