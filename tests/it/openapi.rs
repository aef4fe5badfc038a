//! `openapi.yaml` held to the code: every route the router serves is described (and nothing
//! else is), and real answers, successes and errors, in-process and from the wasm Worker, have a
//! status the document lists for their operation, the headers it requires, and a body that
//! validates against its schema.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::post_policy::post;
use crate::target::{Resp, Target};
use crate::world::World;

scenarios!(answers_match_the_document);

/// The document, as JSON.
fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        serde_yaml_ng::from_str(&text).unwrap()
    })
}

/// `v` with a local `$ref` followed (responses, headers and parameters are referenced whole).
fn deref(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => deref(
            doc()
                .pointer(r.strip_prefix('#').unwrap())
                .unwrap_or_else(|| panic!("dangling $ref {r}")),
        ),
        None => v,
    }
}

/// The document's path template for a request path: the one whose literal segments all match,
/// preferring literals over `{parameters}` (`…/batch` over `…/{partNumber}`).
fn template_for(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    doc()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').skip(1).collect();
            let fits =
                parts.len() == segments.len() && parts.iter().zip(&segments).all(|(p, s)| p.starts_with('{') || p == s);
            fits.then(|| (parts.iter().filter(|p| !p.starts_with('{')).count(), template.as_str()))
        })
        .max()
        .map(|(_, template)| template)
}

/// Validates `instance` against `schema`, a schema of the document: its `#/components/…`
/// references resolve against a copy of the document's components placed at its root.
fn validate(schema: &Value, instance: &Value, what: &str) {
    let mut root = schema.clone();
    root["components"] = doc()["components"].clone();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{what}: the document's schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {instance} does not fit the document: {errors:#?}"
    );
}

/// Checks one answer against the document and returns the operation it belongs to
/// (`"POST /v1/uploads"`), or `None` for answers outside any operation (preflights, unknown
/// paths, other methods).
fn check(method: &str, path: &str, r: &Resp) -> Option<String> {
    let path = path.split('?').next().unwrap();
    let what = format!("{method} {path} → {}", r.status);
    let components = &doc()["components"]["responses"];
    let template = template_for(path);
    let operation = template.and_then(|t| doc()["paths"][t].get(method.to_ascii_lowercase()));
    let (response, op) = match (method, template, operation) {
        ("OPTIONS", ..) => {
            assert_eq!(r.status, 204, "{what}");
            (&components["Preflight"], None)
        }
        (_, None, _) => {
            assert_eq!(r.status, 404, "{what}: a path outside the document must be unknown");
            (&components["NotFound"], None)
        }
        (_, Some(t), None) => {
            assert_eq!(r.status, 405, "{what}: a method the document does not list for {t}");
            (&components["MethodNotAllowed"], None)
        }
        (_, Some(t), Some(op)) => {
            let status = r.status.to_string();
            let response = op["responses"].get(&status).unwrap_or_else(|| {
                panic!(
                    "{what}: status {status} is not documented for {method} {t} ({})",
                    r.body
                )
            });
            (response, Some(format!("{method} {t}")))
        }
    };
    let response = deref(response);
    assert!(
        r.header("x-request-id").is_some_and(|v| !v.is_empty()),
        "{what}: no x-request-id"
    );
    if let Some(headers) = response.get("headers").and_then(Value::as_object) {
        for (name, header) in headers {
            let header = deref(header);
            let Some(value) = r.header(name) else {
                assert!(header["required"] != true, "{what}: no {name} header");
                continue;
            };
            let value = if header["schema"]["type"] == "integer" {
                value
                    .parse::<i64>()
                    .map_or(Value::String(value.to_owned()), Value::from)
            } else {
                Value::String(value.to_owned())
            };
            validate(&header["schema"], &value, &format!("{what}, header {name}"));
        }
    }
    match response.get("content") {
        Some(content) => {
            let schema = content
                .get("application/json")
                .unwrap_or_else(|| panic!("{what}: the document describes no JSON body"));
            assert!(
                r.header("content-type")
                    .is_some_and(|v| v.starts_with("application/json")),
                "{what}: not labelled JSON"
            );
            validate(&schema["schema"], &r.body, &what);
        }
        // HTTP carries no body in an answer to HEAD (in-process, the handler's is still there).
        None if method == "HEAD" => {}
        None => assert_eq!(r.body, Value::Null, "{what}: the document describes no body"),
    }
    op
}

/// Sends requests through a [`Target`], checks each answer against the document, and keeps the
/// operations answered with a success.
struct Checked<'t> {
    t: &'t Target,
    succeeded: BTreeSet<String>,
    statuses: BTreeSet<(String, u16)>,
}

impl<'t> Checked<'t> {
    fn new(t: &'t Target) -> Self {
        Self {
            t,
            succeeded: BTreeSet::new(),
            statuses: BTreeSet::new(),
        }
    }

    /// `method path` with `credential` as a bearer (if any) and a JSON body (if any).
    async fn call(&mut self, method: &str, path: &str, credential: Option<&str>, body: Option<Value>) -> Resp {
        let auth = credential.map(|c| format!("Bearer {c}"));
        let mut headers = vec![("origin", "https://app.example")];
        if let Some(auth) = &auth {
            headers.push(("authorization", auth));
        }
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string());
        self.raw(method, path, &headers, body.as_deref()).await
    }

    async fn raw(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let r = self.t.call(method, path, headers, body).await;
        if let Some(op) = check(method, path, &r) {
            if (200..300).contains(&r.status) {
                self.succeeded.insert(op.clone());
            }
            self.statuses.insert((op, r.status));
        }
        r
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn put(url: &str, headers: &Value, body: &'static [u8]) -> (u16, Option<String>) {
    let mut req = reqwest::Client::new().put(url).body(body);
    for (n, v) in headers.as_object().into_iter().flatten() {
        // The HTTP client sets Content-Length from the body itself.
        if n != "content-length" {
            req = req.header(n, v.as_str().unwrap());
        }
    }
    let resp = req.send().await.unwrap();
    let etag = resp.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), etag)
}

/// Drives every operation in the document to a success and most of them to their errors, and
/// checks each answer against the document.
async fn answers_match_the_document(t: &Target) {
    let w = World::new(t).await;
    let key = w.key.as_str();
    let reader = w.key_with(t, &["files:read"]).await;
    let mut c = Checked::new(t);

    // Outside any operation: preflight, unknown path, other method.
    c.call("OPTIONS", "/v1/uploads", None, None).await;
    c.call("GET", "/v1/nothing-here", None, None).await;
    let r = c.call("PUT", "/v1/uploads", Some(key), None).await;
    assert_eq!(r.header("allow"), Some("GET, POST"));
    c.call("PUT", "/v1/companion/s3/params", Some(key), None).await;

    c.call("GET", "/v1/health", None, None).await;
    c.call("HEAD", "/v1/health", None, None).await;

    // Direct uploads.
    let up = c
        .call(
            "POST",
            "/v1/uploads",
            Some(key),
            Some(json!({"filename": "a.txt", "contentType": "text/plain", "size": 5, "metadata": {"k": "v"}})),
        )
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    c.call("POST", "/v1/uploads", None, Some(json!({"filename": "a.txt"})))
        .await;
    c.call(
        "POST",
        "/v1/uploads",
        Some("carc_not_a_key"),
        Some(json!({"filename": "a"})),
    )
    .await;
    c.call("POST", "/v1/uploads", Some(key), Some(json!({"filename": ".."})))
        .await;
    c.call(
        "POST",
        "/v1/uploads",
        Some(key),
        Some(json!({"filename": "a", "size": 1u64 << 40})),
    )
    .await;
    c.call(
        "POST",
        "/v1/uploads",
        Some(key),
        Some(json!({"filename": "a", "tenant": "t1"})),
    )
    .await;
    c.call("POST", "/v1/uploads", Some(&reader), Some(json!({"filename": "a"})))
        .await;
    let r = c
        .raw(
            "POST",
            "/v1/uploads",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "text/xml"),
            ],
            Some("<a/>"),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = c
        .raw(
            "POST",
            "/v1/uploads",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("content-type", "application/json"),
            ],
            Some("{"),
        )
        .await;
    assert_eq!(r.code(), "invalid_json");

    let complete = format!("/v1/uploads/{}/complete", up.s("uploadId"));
    let r = c.call("POST", &complete, Some(key), None).await;
    assert_eq!(r.code(), "object_not_uploaded");
    let (status, _) = put(&up.s("url"), &up.body["headers"], b"hello").await;
    assert_eq!(status, 200);
    let r = c.call("POST", &complete, Some(key), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.call("POST", "/v1/uploads/nope/complete", Some(key), None).await;

    // Downloads.
    let r = c
        .call(
            "POST",
            "/v1/downloads",
            Some(key),
            Some(json!({"key": up.s("key"), "disposition": "inline"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.call(
        "POST",
        "/v1/downloads",
        Some(key),
        Some(json!({"key": "elsewhere/a.txt"})),
    )
    .await;
    c.call(
        "POST",
        "/v1/downloads",
        Some(key),
        Some(json!({"key": "a.html", "disposition": "inline"})),
    )
    .await;
    c.call(
        "POST",
        "/v1/downloads",
        Some(key),
        Some(json!({"key": up.s("key"), "expiresIn": 0})),
    )
    .await;

    // Tokens.
    let r = c.call("POST", "/v1/tokens", Some(key), Some(json!({}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.s("token");
    c.call("POST", "/v1/tokens", Some(&token), Some(json!({}))).await;
    c.call("POST", "/v1/tokens", Some(key), Some(json!({"expiresIn": 7200})))
        .await;
    c.call(
        "POST",
        "/v1/tokens",
        Some(&reader),
        Some(json!({"permissions": ["uploads:create"]})),
    )
    .await;

    // The upstream SDK's routes.
    let project = w.project.id.as_str();
    let init = format!("/api/v1/projects/{project}/uploads/init");
    let r = c
        .call(
            "POST",
            &init,
            Some(key),
            Some(json!({"fileName": "b.txt", "contentType": "text/plain"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _) = put(
        r.body["uploadUrl"]["url"].as_str().unwrap(),
        &r.body["uploadUrl"]["headers"],
        b"sdk!",
    )
    .await;
    assert_eq!(status, 200);
    let confirm = format!("/api/v1/projects/{project}/uploads/confirm");
    let done = c
        .call("POST", &confirm, Some(key), Some(json!({"uploadId": r.s("uploadId")})))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    c.call(
        "POST",
        "/api/v1/projects/other/uploads/init",
        Some(key),
        Some(json!({"fileName": "b"})),
    )
    .await;
    c.call("POST", &confirm, Some(key), Some(json!({}))).await;

    // Listing and deleting.
    let r = c.call("GET", "/v1/uploads?limit=1", Some(&reader), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.call("GET", "/v1/files?limit=1", Some(&reader), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.call("GET", "/v1/files?limit=0", Some(&reader), None).await;
    c.call("GET", "/v1/files?cursor=forged", Some(&reader), None).await;
    c.call("GET", "/v1/uploads", Some(key), None).await;
    let r = c
        .call(
            "GET",
            &format!("/api/v1/projects/{project}/uploads"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c
        .call(
            "GET",
            &format!("/api/v1/projects/{project}/files?limit=5"),
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deleter = w.key_with(t, &["files:delete"]).await;
    let r = c
        .call(
            "DELETE",
            &format!("/v1/files?key={}", enc(&up.s("key"))),
            Some(&deleter),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.call(
        "DELETE",
        &format!("/v1/files?key={}", enc(&up.s("key"))),
        Some(&deleter),
        None,
    )
    .await;
    let sdk_path = done.body["file"]["path"].as_str().unwrap().to_owned();
    let r = c
        .call(
            "DELETE",
            &format!("/api/v1/projects/{project}/files"),
            Some(&deleter),
            Some(json!({"paths": [sdk_path]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.call(
        "DELETE",
        &format!("/api/v1/projects/{project}/files"),
        Some(&deleter),
        Some(json!({"paths": []})),
    )
    .await;

    // Companion, under both prefixes.
    for prefix in ["/v1/companion/s3".to_owned(), format!("/v1/companion/t/{token}/s3")] {
        let cred = if prefix.contains("/t/") { None } else { Some(key) };
        let r = c
            .call(
                "GET",
                &format!("{prefix}/params?filename=f.txt&type=text%2Fplain"),
                cred,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let fields: Vec<(String, String)> = r.body["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let (status, body) = post(&r.s("url"), &fields, b"form").await;
        assert_eq!(status, 201, "{body}");
        c.call("GET", &format!("{prefix}/params?filename="), cred, None).await;

        let r = c
            .call(
                "POST",
                &format!("{prefix}/multipart"),
                cred,
                Some(json!({"filename": "m.bin", "type": "application/octet-stream"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (object, id) = (r.s("key"), r.s("uploadId"));
        let q = format!("key={}", enc(&object));
        let r = c
            .call("GET", &format!("{prefix}/multipart/{id}/1?{q}"), cred, None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let (status, etag) = put(&r.s("url"), &Value::Null, b"one part").await;
        assert_eq!(status, 200);
        let r = c
            .call(
                "GET",
                &format!("{prefix}/multipart/{id}/batch?{q}&partNumbers=1,2"),
                cred,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        c.call("GET", &format!("{prefix}/multipart/{id}/0?{q}"), cred, None)
            .await;
        c.call("GET", &format!("{prefix}/multipart/{id}?key=other"), cred, None)
            .await;
        let r = c.call("GET", &format!("{prefix}/multipart/{id}?{q}"), cred, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let parts = json!({"parts": [{"PartNumber": 1, "ETag": etag.unwrap()}]});
        let r = c
            .call(
                "POST",
                &format!("{prefix}/multipart/{id}/complete?{q}"),
                cred,
                Some(parts),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        let r = c
            .call(
                "POST",
                &format!("{prefix}/multipart"),
                cred,
                Some(json!({"filename": "gone.bin"})),
            )
            .await;
        let q = format!("key={}", enc(&r.s("key")));
        let r = c
            .call(
                "DELETE",
                &format!("{prefix}/multipart/{}?{q}", r.s("uploadId")),
                cred,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        let inside = format!("{}/x.bin", object.rsplit_once('/').unwrap().0);
        let r = c
            .call(
                "POST",
                &format!("{prefix}/presign"),
                cred,
                Some(json!({"method": "PUT", "key": inside})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        c.call(
            "POST",
            &format!("{prefix}/presign"),
            cred,
            Some(json!({"method": "PUT", "key": "x/y"})),
        )
        .await;
        c.call(
            "POST",
            &format!("{prefix}/presign"),
            cred,
            Some(json!({"method": "HEAD", "key": inside})),
        )
        .await;
    }
    c.call("GET", "/v1/companion/t/not-a-token/s3/params?filename=a", None, None)
        .await;
    c.call("GET", "/v1/companion/s3/params?filename=a", None, None).await;

    // Every operation the document describes was answered with a success and checked.
    let operations: BTreeSet<String> = documented_operations()
        .into_iter()
        .map(|(method, template)| format!("{method} {template}"))
        .collect();
    let missed: Vec<&String> = operations.difference(&c.succeeded).collect();
    assert!(
        missed.is_empty(),
        "operations never answered with a success: {missed:#?}"
    );
    // And so were a good share of the errors (each one checked above against its operation).
    let errors = c.statuses.iter().filter(|(_, s)| *s >= 400).count();
    assert!(errors >= 20, "only {errors} error answers checked: {:?}", c.statuses);
}

/// Every `(METHOD, path template)` the document describes.
fn documented_operations() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (template, item) in doc()["paths"].as_object().unwrap() {
        for method in ["get", "head", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), template.clone()));
            }
        }
    }
    out
}

/// The body of the function `signature` starts in `source`, up to its closing brace at the
/// start of a line.
fn function<'s>(source: &'s str, signature: &str) -> &'s str {
    let start = source
        .find(signature)
        .unwrap_or_else(|| panic!("no {signature:?} in the router's source"));
    let body = &source[start..];
    &body[..body.find("\n}\n").unwrap()]
}

/// The segments of a slice pattern (`"v1", "uploads", id, "complete"`): each literal, `*` for a
/// binding, alternatives expanded (`action @ ("init" | "confirm")`); `None` for a rest pattern.
fn pattern_paths(pattern: &str) -> Vec<Option<Vec<String>>> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for element in pattern.split(", ").map(str::trim) {
        if element.ends_with("..") {
            return paths
                .into_iter()
                .map(|mut p| {
                    p.push("..".into());
                    Some(p)
                })
                .collect();
        }
        let alternatives: Vec<String> = if element.contains('"') {
            element.split('"').skip(1).step_by(2).map(str::to_owned).collect()
        } else {
            vec!["*".to_owned()]
        };
        paths = paths
            .into_iter()
            .flat_map(|p| {
                alternatives.iter().map(move |a| {
                    let mut p = p.clone();
                    p.push(a.clone());
                    p
                })
            })
            .collect();
    }
    paths.into_iter().map(Some).collect()
}

/// `(METHOD, segments)` of every route the router's source matches: the arms of `api::route`
/// (methods from their `Method::…` arms), with each `rest @ ..` arm expanded by the arms of
/// `companion::route`.
fn routed_operations() -> BTreeSet<(String, Vec<String>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let api = std::fs::read_to_string(format!("{root}/src/api/mod.rs")).unwrap();
    let companion = std::fs::read_to_string(format!("{root}/src/api/companion.rs")).unwrap();

    let mut companion_routes = Vec::new();
    for line in function(&companion, "async fn route<").lines().map(str::trim) {
        let Some(arm) = line.strip_prefix("([") else { continue };
        let (pattern, rest) = arm.split_once("], ").unwrap();
        let method = rest.split(')').next().unwrap();
        if let Some(method) = method.strip_prefix("Method::") {
            for path in pattern_paths(pattern).into_iter().flatten() {
                companion_routes.push((method.to_owned(), path));
            }
        }
    }
    assert!(!companion_routes.is_empty(), "no companion routes found in the source");

    let mut out = BTreeSet::new();
    let body = function(&api, "async fn route<");
    let arms: Vec<(usize, &str)> = body
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter_map(|i| {
            let line = body[i..].lines().next().unwrap_or_default();
            let trimmed = line.trim_start();
            (trimmed.starts_with('[') && trimmed.contains("] =>")).then_some((i, trimmed))
        })
        .collect();
    for (n, (start, line)) in arms.iter().enumerate() {
        let pattern = &line[1..line.find("] =>").unwrap()];
        let end = arms.get(n + 1).map_or(body.len(), |(next, _)| *next);
        let arm = &body[*start..end];
        for path in pattern_paths(pattern).into_iter().flatten() {
            if path.last().is_some_and(|s| s == "..") {
                for (method, tail) in &companion_routes {
                    let mut full = path[..path.len() - 1].to_vec();
                    full.extend(tail.iter().cloned());
                    out.insert((method.clone(), full));
                }
                continue;
            }
            let methods: BTreeSet<&str> = arm
                .split("Method::")
                .skip(1)
                .map(|m| m.split(|c: char| !c.is_ascii_uppercase()).next().unwrap())
                .filter(|m| !m.is_empty())
                .collect();
            assert!(!methods.is_empty(), "no methods found for the route [{pattern}]");
            for method in methods {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_routed_operation_is_documented_and_nothing_else() {
    let shape = |segments: &[String]| {
        segments
            .iter()
            .map(|s| if s.starts_with('{') { "*" } else { s.as_str() })
            .collect::<Vec<_>>()
            .join("/")
    };
    let routed: BTreeSet<(String, String)> = routed_operations()
        .into_iter()
        .map(|(method, path)| (method, shape(&path)))
        .collect();
    let documented: BTreeSet<(String, String)> = documented_operations()
        .into_iter()
        .map(|(method, template)| {
            let segments: Vec<String> = template.split('/').skip(1).map(str::to_owned).collect();
            (method, shape(&segments))
        })
        .collect();
    assert!(routed.len() >= 20, "the router's source was not read: {routed:#?}");
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:#?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "openapi.yaml describes routes the router lacks: {unrouted:#?}"
    );
}

#[test]
fn the_error_codes_are_the_code_s() {
    // Every code `ApiError::code` can answer is in the document's list, and the list has no other.
    let root = env!("CARGO_MANIFEST_DIR");
    let mut in_code = BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(format!("{root}/src/api"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&file).unwrap();
        let source = source.split("#[cfg(test)]").next().unwrap();
        let code_fn = (name == "error.rs").then(|| function(source, "pub fn code(&self)"));
        // Codes are string literals: `=> "code"` in `ApiError::code`, and the first argument of
        // `bad_request(…)`/`conflict(…)` elsewhere.
        let texts: Vec<&str> = match code_fn {
            Some(f) => f.split("=> \"").skip(1).collect(),
            None => source
                .split("bad_request(")
                .chain(source.split("conflict("))
                .skip(1)
                .filter_map(|s| s.trim_start().strip_prefix('"'))
                .collect(),
        };
        for text in texts {
            let code = text.split('"').next().unwrap();
            if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !code.is_empty() {
                in_code.insert(code.to_owned());
            }
        }
    }
    let documented: BTreeSet<String> = doc()["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert!(
        in_code.len() >= 30,
        "the codes were not read from the source: {in_code:?}"
    );
    assert_eq!(
        in_code, documented,
        "ErrorCode in openapi.yaml differs from the code's codes"
    );
}
