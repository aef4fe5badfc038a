//! Listing and deleting files and uploads: `/v1/files`, `/v1/uploads` and the upstream SDK's
//! `listFiles`, `listUploads` and `deleteFile` routes, in-process and against the wasm Worker.

use serde_json::{json, Value};

use crate::target::{Resp, Target};
use crate::world::World;

scenarios!(
    sdk_routes_have_upstream_shapes,
    v1_files_page_with_cursors,
    v1_uploads_page_with_cursors,
    tenants_and_projects_are_kept_apart,
    delete_removes_object_and_rows,
    delete_permissions,
);

async fn get(t: &Target, path: &str, key: &str) -> Resp {
    t.call("GET", path, &[("authorization", &format!("Bearer {key}"))], None)
        .await
}

pub(crate) async fn delete(t: &Target, path: &str, key: &str, body: Option<&Value>) -> Resp {
    let auth = format!("Bearer {key}");
    let body = body.map(Value::to_string);
    t.call(
        "DELETE",
        path,
        &[("authorization", &auth), ("content-type", "application/json")],
        body.as_deref(),
    )
    .await
}

/// Presigns, uploads and completes a small text file; returns the completed `file`.
pub(crate) async fn upload(t: &Target, key: &str, filename: &str, tenant: Option<&str>) -> Value {
    let body = filename.as_bytes();
    let r = t
        .post(
            "/v1/uploads",
            key,
            &json!({"filename": filename, "contentType": "text/plain", "size": body.len(), "tenant": tenant}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, text) = crate::flows::put(&r.s("url"), &r.body["headers"], body).await;
    assert_eq!(status, 200, "{text}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    done.body["file"].clone()
}

/// Waits until the project has `n` upload rows: the Worker writes them after its response.
async fn await_upload_rows(t: &Target, project_id: &str, n: i64) {
    for _ in 0..100 {
        let count: i64 =
            t.db.query_one(
                r#"SELECT count(*) FROM "Upload" WHERE "projectId" = $1"#,
                &[&project_id],
            )
            .await
            .unwrap()
            .get(0);
        if count >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} upload rows did not appear within 5 s");
}

fn strings(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap().to_owned())
        .collect()
}

async fn sdk_routes_have_upstream_shapes(t: &Target) {
    let w = World::new(t).await;
    let a = upload(t, &w.key, "a.txt", None).await;
    let b = upload(t, &w.key, "b.txt", None).await;
    let base = format!("/api/v1/projects/{}", w.project.id);

    // listFiles: `{files, pagination}`, newest first, each an upstream File.
    let r = get(t, &format!("{base}/files"), &w.key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["pagination"],
        json!({"total": 2, "limit": 50, "offset": 0, "hasMore": false})
    );
    let files = &r.body["files"];
    assert_eq!(strings(files, "id"), [b["id"].clone(), a["id"].clone()]);
    let f = &files[0];
    assert_eq!(f["projectId"], json!(w.project.id));
    assert_eq!(f["path"], b["key"]);
    assert_eq!((f["filename"].as_str(), f["size"].as_i64()), (Some("b.txt"), Some(5)));
    assert_eq!(
        (f["mimeType"].as_str(), f["version"].as_str()),
        (Some("text/plain"), Some("v1"))
    );
    assert_eq!(f["tenantId"], Value::Null);
    assert_eq!(f["uploadedAt"], b["uploadedAt"]);

    // Offset pages and the upstream filters.
    let r = get(t, &format!("{base}/files?limit=1&offset=1"), &w.key).await;
    assert_eq!(strings(&r.body["files"], "id"), [a["id"].clone()]);
    assert_eq!(
        r.body["pagination"],
        json!({"total": 2, "limit": 1, "offset": 1, "hasMore": false})
    );
    let r = get(t, &format!("{base}/files?limit=1"), &w.key).await;
    assert_eq!(r.body["pagination"]["hasMore"], json!(true));
    let r = get(t, &format!("{base}/files?version=v2"), &w.key).await;
    assert_eq!(
        (
            r.body["files"].as_array().unwrap().len(),
            &r.body["pagination"]["total"]
        ),
        (0, &json!(0))
    );
    let r = get(t, &format!("{base}/files?path={}", a["key"].as_str().unwrap()), &w.key).await;
    assert_eq!(strings(&r.body["files"], "id"), [a["id"].clone()]);
    let r = get(t, &format!("{base}/files?offset=5"), &w.key).await;
    assert_eq!((r.status, r.body["files"].as_array().unwrap().len()), (200, 0));
    assert_eq!(r.body["pagination"]["total"], json!(2));
    for bad in ["limit=0", "limit=101", "offset=-1", "limit=x"] {
        let r = get(t, &format!("{base}/files?{bad}"), &w.key).await;
        assert_eq!((r.status, r.code()), (400, "invalid_field"), "{bad}");
    }

    // listUploads: `{uploads}` with upstream's fields.
    await_upload_rows(t, &w.project.id, 2).await;
    let r = get(t, &format!("{base}/uploads"), &w.key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uploads = r.body["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0]["path"], b["key"]);
    assert_eq!(uploads[0]["status"], json!("completed"));
    assert_eq!(uploads[0]["projectId"], json!(w.project.id));
    assert!(uploads[0]["createdAt"].as_str().unwrap().ends_with('Z'));

    // deleteFile: `{deletedFiles, errors, success}`.
    let r = delete(t, &format!("{base}/files"), &w.key, Some(&json!({"paths": [a["key"]]}))).await;
    assert_eq!(
        (r.status, r.code()),
        (403, "permission_denied"),
        "STANDARD keys may not delete"
    );
    let deleter = w.key_with(t, &["files:read", "files:delete"]).await;
    let r = delete(
        t,
        &format!("{base}/files"),
        &deleter,
        Some(&json!({"paths": [a["key"]]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"deletedFiles": [a["key"]], "errors": [], "success": true})
    );
    assert_eq!(t.s3.get(&w.s3_bucket, a["key"].as_str().unwrap()).await.status, 404);
    let r = get(t, &format!("{base}/files"), &w.key).await;
    assert_eq!(strings(&r.body["files"], "id"), [b["id"].clone()]);

    // Another project's id in the path is refused, whatever the route.
    let other = World::new(t).await;
    let wrong = format!("/api/v1/projects/{}", other.project.id);
    for r in [
        get(t, &format!("{wrong}/files"), &w.key).await,
        get(t, &format!("{wrong}/uploads"), &w.key).await,
        delete(
            t,
            &format!("{wrong}/files"),
            &deleter,
            Some(&json!({"paths": [b["key"]]})),
        )
        .await,
    ] {
        assert_eq!((r.status, r.code()), (403, "project_mismatch"), "{}", r.body);
    }
    // Bad bodies.
    for body in [json!({"paths": []}), json!({"paths": "x"}), json!({})] {
        let r = delete(t, &format!("{base}/files"), &deleter, Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
    }
}

async fn v1_files_page_with_cursors(t: &Target) {
    let w = World::new(t).await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(upload(t, &w.key, &format!("f{i}.txt"), None).await["id"].clone());
    }
    made.reverse(); // newest first

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/files?limit=2&cursor={c}"),
            None => "/v1/files?limit=2".to_owned(),
        };
        let r = get(t, &path, &w.key).await;
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        let files = r.body["files"].as_array().unwrap();
        assert!(files.len() <= 2);
        for f in files {
            assert_eq!(f["contentType"], json!("text/plain"));
            assert!(f["key"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/default/{}/", w.org.slug, w.project.slug)));
            seen.push(f["id"].clone());
        }
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every file once, newest first");

    let r = get(t, "/v1/files?limit=5", &w.key).await;
    assert_eq!(
        (r.body["files"].as_array().unwrap().len(), &r.body["nextCursor"]),
        (5, &Value::Null)
    );
    let prefix = format!("{}/default/{}/nothing-here", w.org.slug, w.project.slug);
    let r = get(t, &format!("/v1/files?prefix={prefix}"), &w.key).await;
    assert_eq!(r.body["files"], json!([]));
    for bad in ["cursor=nope", "cursor=1.a%20b", "limit=1000"] {
        let r = get(t, &format!("/v1/files?{bad}"), &w.key).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let r = t.call("PUT", "/v1/files", &[], None).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, DELETE")));
}

async fn v1_uploads_page_with_cursors(t: &Target) {
    let w = World::new(t).await;
    let done = upload(t, &w.key, "done.txt", None).await;
    for i in 0..2 {
        let r = t
            .post("/v1/uploads", &w.key, &json!({"filename": format!("p{i}.txt")}))
            .await;
        assert_eq!(r.status, 201);
    }
    await_upload_rows(t, &w.project.id, 3).await;

    let first = get(t, "/v1/uploads?limit=2", &w.key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = get(
        t,
        &format!("/v1/uploads?limit=2&cursor={}", first.s("nextCursor")),
        &w.key,
    )
    .await;
    assert_eq!(second.body["nextCursor"], Value::Null);
    let all: Vec<Value> = [&first, &second]
        .iter()
        .flat_map(|r| r.body["uploads"].as_array().unwrap().clone())
        .collect();
    assert_eq!(all.len(), 3);
    let mut names: Vec<&str> = all.iter().map(|u| u["filename"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, ["done.txt", "p0.txt", "p1.txt"]);
    let completed = all.iter().find(|u| u["filename"] == json!("done.txt")).unwrap();
    assert_eq!(completed["status"], json!("completed"));
    assert_eq!(completed["fileId"], done["id"]);
    assert_eq!(completed["key"], done["key"]);
    assert!(completed["completedAt"].is_string());
    let pending = all.iter().find(|u| u["filename"] == json!("p0.txt")).unwrap();
    assert_eq!(
        (&pending["status"], &pending["fileId"]),
        (&json!("initiated"), &Value::Null)
    );
}

async fn tenants_and_projects_are_kept_apart(t: &Target) {
    let (w, tenants) = World::with_tenants(t, &["blue", "red"]).await;
    let blue = &tenants[0];
    let b = upload(t, &w.key, "b.txt", Some("blue")).await;
    let r = upload(t, &w.key, "r.txt", Some("red")).await;
    await_upload_rows(t, &w.project.id, 2).await;

    // Project-wide with the key; one tenant when named (by either parameter name).
    let all = get(t, "/v1/files", &w.key).await;
    assert_eq!(strings(&all.body["files"], "id"), [r["id"].clone(), b["id"].clone()]);
    let only_blue = get(t, "/v1/files?tenant=blue", &w.key).await;
    assert_eq!(strings(&only_blue.body["files"], "id"), [b["id"].clone()]);
    assert_eq!(only_blue.body["files"][0]["tenantId"], json!(blue.id));
    let sdk = get(
        t,
        &format!("/api/v1/projects/{}/files?tenantId=blue", w.project.id),
        &w.key,
    )
    .await;
    assert_eq!(strings(&sdk.body["files"], "id"), [b["id"].clone()]);
    let uploads = get(t, "/v1/uploads?tenant=red", &w.key).await;
    assert_eq!(strings(&uploads.body["uploads"], "key"), [r["key"].clone()]);
    let r404 = get(t, "/v1/files?tenant=green", &w.key).await;
    assert_eq!((r404.status, r404.code()), (404, "tenant_not_found"));

    // A token bound to a tenant sees that tenant only, and cannot ask for another.
    let token = t
        .post(
            "/v1/tokens",
            &w.key,
            &json!({"tenant": "blue", "permissions": ["files:read"]}),
        )
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    let token = token.s("token");
    let mine = get(t, "/v1/files", &token).await;
    assert_eq!(strings(&mine.body["files"], "id"), [b["id"].clone()]);
    let mine = get(t, "/v1/uploads", &token).await;
    assert_eq!(strings(&mine.body["uploads"], "key"), [b["key"].clone()]);
    let theirs = get(t, "/v1/files?tenant=red", &token).await;
    assert_eq!((theirs.status, theirs.code()), (400, "tenant_mismatch"));

    // Another project sees none of it, and cannot delete it.
    let other = World::new(t).await;
    let seen = get(t, "/v1/files", &other.key).await;
    assert_eq!((seen.status, &seen.body["files"]), (200, &json!([])));
    let seen = get(t, "/v1/uploads", &other.key).await;
    assert_eq!(seen.body["uploads"], json!([]));
    let deleter = other.key_with(t, &["files:delete"]).await;
    let d = delete(
        t,
        &format!("/v1/files?key={}", b["key"].as_str().unwrap()),
        &deleter,
        None,
    )
    .await;
    assert_eq!((d.status, d.code()), (403, "key_outside_scope"));
    assert_eq!(t.s3.get(&w.s3_bucket, b["key"].as_str().unwrap()).await.status, 200);
}

async fn delete_removes_object_and_rows(t: &Target) {
    let w = World::new(t).await;
    let f = upload(t, &w.key, "gone.txt", None).await;
    let kept = upload(t, &w.key, "kept.txt", None).await;
    let key = f["key"].as_str().unwrap();
    let deleter = w.key_with(t, &["files:read", "files:delete"]).await;

    let r = delete(t, "/v1/files", &deleter, None).await;
    assert_eq!((r.status, r.code()), (400, "invalid_key"));
    let r = delete(t, &format!("/v1/files?key={key}"), &deleter, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"key": key, "deleted": true}));

    assert_eq!(t.s3.get(&w.s3_bucket, key).await.status, 404);
    let rows: i64 =
        t.db.query_one(r#"SELECT count(*) FROM "File" WHERE id = $1"#, &[&f["id"].as_str()])
            .await
            .unwrap()
            .get(0);
    assert_eq!(rows, 0);
    let upload_status: String =
        t.db.query_one(r#"SELECT status FROM "Upload" WHERE path = $1"#, &[&key])
            .await
            .unwrap()
            .get(0);
    assert_eq!(upload_status, "deleted");
    let listed = get(t, "/v1/files", &deleter).await;
    assert_eq!(strings(&listed.body["files"], "id"), [kept["id"].clone()]);
    assert_eq!(t.s3.get(&w.s3_bucket, kept["key"].as_str().unwrap()).await.status, 200);

    // Deleting it again, or a key that never was a file, is a 404 and touches nothing.
    let again = delete(t, &format!("/v1/files?key={key}"), &deleter, None).await;
    assert_eq!((again.status, again.code()), (404, "file_not_found"));
    let never = format!("{}/default/{}/cnothing/x.txt", w.org.slug, w.project.slug);
    let r = delete(
        t,
        &format!("/api/v1/projects/{}/files", w.project.id),
        &deleter,
        Some(&json!({"paths": [kept["key"], never]})),
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "file_not_found"), "{}", r.body);
    assert_eq!(t.s3.get(&w.s3_bucket, kept["key"].as_str().unwrap()).await.status, 200);
    let listed = get(t, "/v1/files", &deleter).await;
    assert_eq!(strings(&listed.body["files"], "id"), [kept["id"].clone()]);
}

async fn delete_permissions(t: &Target) {
    let w = World::new(t).await;
    let f = upload(t, &w.key, "x.txt", None).await;
    let path = format!("/v1/files?key={}", f["key"].as_str().unwrap());

    let no_read = w.key_with(t, &["uploads:create"]).await;
    let r = get(t, "/v1/files", &no_read).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let r = get(t, "/v1/uploads", &no_read).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let r = delete(t, &path, &w.key, None).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let r = get(t, "/v1/files", "carc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((r.status, r.code()), (401, "invalid_api_key"));
    let r = t.call("GET", "/v1/files", &[], None).await;
    assert_eq!((r.status, r.code()), (401, "missing_api_key"));

    // A token carries only what it was given, even from a key that may delete.
    let admin = w.key_with(t, &["*"]).await;
    let token = t
        .post("/v1/tokens", &admin, &json!({"permissions": ["files:read"]}))
        .await
        .s("token");
    let r = delete(t, &path, &token, None).await;
    assert_eq!((r.status, r.code()), (403, "permission_denied"));
    let token = t
        .post("/v1/tokens", &admin, &json!({"permissions": ["files:delete"]}))
        .await
        .s("token");
    let r = delete(t, &path, &token, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(t.s3.get(&w.s3_bucket, f["key"].as_str().unwrap()).await.status, 404);
}
