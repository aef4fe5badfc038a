//! Per-project upload size limits on every upload path, against the signature-checking S3
//! server: a declared size over the limit is refused before signing, a POST policy carries the
//! limit (and S3 itself refuses more), multipart part URLs stop where the limit does, and an
//! object over the limit that declared no size is deleted at completion, with no `File`. The
//! limit is set as `carcosa-edge project limit` sets it (`provision::set_project_upload_limit`).

use base64::Engine as _;
use carcosa_edge::store::provision as p;
use serde_json::{json, Value};

use crate::flows::put;
use crate::post_policy::post;
use crate::target::{answer_changes_within_bound, max_upload_bytes, Resp, Target};
use crate::world::{now_ms, World};

scenarios!(
    declared_size_over_the_project_limit_is_refused_before_signing,
    post_policy_carries_the_project_limit_and_s3_enforces_it,
    undeclared_upload_over_the_limit_is_deleted_at_confirm,
    multipart_over_the_limit_is_refused_at_complete_and_deleted,
    no_project_limit_means_the_deployment_limit,
    a_changed_limit_takes_effect_within_the_cache_ttl,
);

/// The project limit the scenarios set: small, so that one byte more is cheap to send.
const LIMIT: u64 = 64;

/// Sets (or clears) the project's limit the way the CLI does.
async fn set_limit(t: &Target, w: &World, bytes: Option<u64>) {
    let project = p::set_project_upload_limit(&t.db, &w.project.id, bytes, now_ms())
        .await
        .unwrap();
    assert_eq!(project.max_upload_bytes, bytes.map(|b| i64::try_from(b).unwrap()));
}

/// A `World` whose project allows uploads of up to [`LIMIT`] bytes.
async fn limited_world(t: &Target) -> World {
    let w = World::new(t).await;
    set_limit(t, &w, Some(LIMIT)).await;
    w
}

async fn presign(t: &Target, w: &World, size: Option<u64>) -> Resp {
    let mut body = json!({"filename": "f.bin", "contentType": "application/octet-stream"});
    if let Some(size) = size {
        body["size"] = size.into();
    }
    t.post("/v1/uploads", &w.key, &body).await
}

fn assert_too_large(r: &Resp, limit: u64) {
    assert_eq!((r.status, r.code()), (413, "file_too_large"), "{}", r.body);
    let message = r.body["message"].as_str().unwrap();
    assert!(message.contains(&limit.to_string()), "{message}");
}

/// `File` rows for an object key.
async fn files(t: &Target, key: &str) -> i64 {
    t.db.query_one(r#"SELECT count(*) FROM "File" WHERE path = $1"#, &[&key])
        .await
        .unwrap()
        .get(0)
}

async fn upload_status(t: &Target, upload_id: &str) -> Option<String> {
    let id = carcosa_edge::upload_id::row_id(upload_id);
    t.db.query_opt(r#"SELECT status FROM "Upload" WHERE id = $1"#, &[&id])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// The upstream SDK's confirm.
async fn sdk_confirm(t: &Target, w: &World, upload_id: &str) -> Resp {
    let path = format!("/api/v1/projects/{}/uploads/confirm", w.project.id);
    t.post(&path, &w.key, &json!({ "uploadId": upload_id })).await
}

/// A Companion route with the key in `Authorization` (Uppy 5).
async fn companion(t: &Target, method: &str, path: &str, key: &str, body: Option<&Value>) -> Resp {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = body.map(Value::to_string);
    t.call(method, &format!("/v1/companion/s3/{path}"), &headers, body.as_deref())
        .await
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The form fields of a `params` answer.
fn fields(r: &Resp) -> Vec<(String, String)> {
    r.body["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The `content-length-range` condition of a signed POST policy.
fn length_range(fields: &[(String, String)]) -> (u64, u64) {
    let (_, policy) = fields.iter().find(|(n, _)| n == "Policy").unwrap();
    let policy = base64::engine::general_purpose::STANDARD.decode(policy).unwrap();
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    let range = policy["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "content-length-range")
        .unwrap_or_else(|| panic!("no content-length-range in {policy}"));
    (range[1].as_u64().unwrap(), range[2].as_u64().unwrap())
}

async fn declared_size_over_the_project_limit_is_refused_before_signing(t: &Target) {
    let w = limited_world(t).await;
    let r = presign(t, &w, Some(LIMIT + 1)).await;
    assert_too_large(&r, LIMIT);
    assert!(r.body.get("url").is_none(), "{}", r.body);

    // At the limit: the exact length is signed, and the upload completes.
    let r = presign(t, &w, Some(LIMIT)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["headers"]["content-length"], LIMIT.to_string(), "{}", r.body);
    let bytes = vec![1u8; usize::try_from(LIMIT).unwrap()];
    let (status, text) = put(&r.s("url"), &r.body["headers"], &bytes).await;
    assert_eq!(status, 200, "{text}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), &w.key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["file"]["size"], LIMIT);
}

async fn post_policy_carries_the_project_limit_and_s3_enforces_it(t: &Target) {
    let w = limited_world(t).await;
    let r = companion(t, "GET", "params?filename=form.bin", &w.key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let form = fields(&r);
    assert_eq!(length_range(&form), (0, LIMIT));
    let key = r.body["fields"]["key"].as_str().unwrap().to_owned();

    // S3 itself refuses one byte more: nothing is stored.
    let (status, body) = post(&r.s("url"), &form, &vec![2u8; usize::try_from(LIMIT).unwrap() + 1]).await;
    assert!(status == 400 && body.contains("EntityTooLarge"), "{status} {body}");
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 404);

    // The limit itself is accepted, and the upload completes.
    let (status, body) = post(&r.s("url"), &form, &vec![2u8; usize::try_from(LIMIT).unwrap()]).await;
    assert_eq!(status, 201, "{body}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), &w.key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(files(t, &key).await, 1);
}

async fn undeclared_upload_over_the_limit_is_deleted_at_confirm(t: &Target) {
    let w = limited_world(t).await;
    // The upstream SDK's init declares no size: its URL signs no length.
    let init = t
        .post(
            &format!("/api/v1/projects/{}/uploads/init", w.project.id),
            &w.key,
            &json!({"fileName": "big.bin", "contentType": "application/octet-stream"}),
        )
        .await;
    assert_eq!(init.status, 200, "{}", init.body);
    let url = init.body["uploadUrl"]["url"].as_str().unwrap();
    let headers = &init.body["uploadUrl"]["headers"];
    assert!(headers.get("content-length").is_none(), "{headers}");
    let key = init.s("path");
    let (status, text) = put(url, headers, &vec![3u8; usize::try_from(LIMIT).unwrap() + 1]).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 200);

    let r = sdk_confirm(t, &w, &init.s("uploadId")).await;
    assert_too_large(&r, LIMIT);
    // The Worker deleted the object with its own signed request, recorded no file and refused
    // the upload for good.
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 404);
    assert_eq!(files(t, &key).await, 0);
    assert_eq!(upload_status(t, &init.s("uploadId")).await.as_deref(), Some("refused"));
    let again = sdk_confirm(t, &w, &init.s("uploadId")).await;
    assert_eq!(
        (again.status, again.code()),
        (409, "upload_not_pending"),
        "{}",
        again.body
    );

    // `/v1/uploads` without a size is held to the limit the same way.
    let r = presign(t, &w, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, text) = put(&r.s("url"), &r.body["headers"], &[4u8; 100]).await;
    assert_eq!(status, 200, "{text}");
    let done = t
        .post(&format!("/v1/uploads/{}/complete", r.s("uploadId")), &w.key, &json!({}))
        .await;
    assert_too_large(&done, LIMIT);
    assert_eq!(t.s3.get(&w.s3_bucket, &r.s("key")).await.status, 404);
    assert_eq!(files(t, &r.s("key")).await, 0);

    // Within the limit, the same route completes.
    let init = t
        .post(
            &format!("/api/v1/projects/{}/uploads/init", w.project.id),
            &w.key,
            &json!({"fileName": "small.bin", "contentType": "application/octet-stream"}),
        )
        .await;
    let url = init.body["uploadUrl"]["url"].as_str().unwrap();
    let (status, text) = put(url, &init.body["uploadUrl"]["headers"], b"small").await;
    assert_eq!(status, 200, "{text}");
    let r = sdk_confirm(t, &w, &init.s("uploadId")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["file"]["size"], 5);
}

async fn multipart_over_the_limit_is_refused_at_complete_and_deleted(t: &Target) {
    let w = limited_world(t).await;
    // A declared size over the limit creates nothing.
    let body = json!({"filename": "big.mp4", "type": "video/mp4", "size": LIMIT + 1});
    let r = companion(t, "POST", "multipart", &w.key, Some(&body)).await;
    assert_too_large(&r, LIMIT);

    let body = json!({"filename": "movie.mp4", "type": "video/mp4"});
    let r = companion(t, "POST", "multipart", &w.key, Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (key, id) = (r.s("key"), r.s("uploadId"));
    let q = format!("?key={}", enc(&key));
    // Under 5 MiB the whole file is one part: no URL for part 2.
    let r = companion(t, "GET", &format!("multipart/{id}/2{q}"), &w.key, None).await;
    assert_too_large(&r, LIMIT);
    let r = companion(
        t,
        "GET",
        &format!("multipart/{id}/batch{q}&partNumbers=1,2"),
        &w.key,
        None,
    )
    .await;
    assert_too_large(&r, LIMIT);

    let r = companion(t, "GET", &format!("multipart/{id}/1{q}"), &w.key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let resp = reqwest::Client::new()
        .put(r.s("url"))
        .body(vec![5u8; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();

    let parts = json!({"parts": [{"PartNumber": 1, "ETag": etag}]});
    let r = companion(t, "POST", &format!("multipart/{id}/complete{q}"), &w.key, Some(&parts)).await;
    assert_too_large(&r, LIMIT);
    assert_eq!(t.s3.get(&w.s3_bucket, &key).await.status, 404);
    assert_eq!(files(t, &key).await, 0);
    assert_eq!(upload_status(t, &id).await.as_deref(), Some("refused"));
}

async fn no_project_limit_means_the_deployment_limit(t: &Target) {
    let w = World::new(t).await;
    assert_eq!(w.project.max_upload_bytes, None);
    let max = max_upload_bytes();
    let r = presign(t, &w, Some(max + 1)).await;
    assert_too_large(&r, max);
    let r = presign(t, &w, Some(max)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = companion(t, "GET", "params?filename=form.bin", &w.key, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(length_range(&fields(&r)), (0, max));

    // A project limit above the deployment's is capped by it.
    let w2 = World::new(t).await;
    set_limit(t, &w2, Some(max * 2)).await;
    let r = presign(t, &w2, Some(max + 1)).await;
    assert_too_large(&r, max);
}

async fn a_changed_limit_takes_effect_within_the_cache_ttl(t: &Target) {
    let w = World::new(t).await;
    // Resolved and cached without a project limit.
    assert_eq!(presign(t, &w, Some(LIMIT + 1)).await.status, 201);
    set_limit(t, &w, Some(LIMIT)).await;
    let r = answer_changes_within_bound(
        || presign(t, &w, Some(LIMIT + 1)),
        |r| r.status == 201,
        |r| r.status == 413,
    )
    .await;
    assert_too_large(&r, LIMIT);
    // Cleared again: back to the deployment's limit within the same bound.
    set_limit(t, &w, None).await;
    answer_changes_within_bound(
        || presign(t, &w, Some(LIMIT + 1)),
        |r| (r.status, r.code()) == (413, "file_too_large"),
        |r| r.status == 201,
    )
    .await;
}

/// `project create --max-upload-bytes`, `project limit` and `project list`, as an operator runs them.
#[tokio::test]
async fn the_cli_sets_shows_and_clears_a_project_limit() {
    use crate::cli::{carcosa, org_team_bucket, s};
    let db = crate::pg::fresh_db().await;
    let (_, team_id, bucket_id) = org_team_bucket(&db, "acme");
    let create = [
        "project", "create", "--team", &team_id, "--bucket", &bucket_id, "--name", "Site", "--slug", "site",
    ];
    let project = carcosa(&db).ok(&[&create[..], &["--max-upload-bytes", "5MiB"]].concat());
    assert_eq!(project["project"]["maxUploadBytes"], 5 * 1024 * 1024);
    let id = s(&project["project"]["id"]).to_owned();
    let stored: Option<i64> = db
        .client
        .query_one(r#"SELECT "edgeMaxUploadBytes" FROM "Project" WHERE id = $1"#, &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, Some(5 * 1024 * 1024));

    let set = carcosa(&db).ok(&["project", "limit", "--project", &id, "--max-upload-bytes", "1024"]);
    assert_eq!(set["project"]["maxUploadBytes"], 1024);
    let list = carcosa(&db).ok(&["project", "list"]);
    assert_eq!(list["projects"][0]["maxUploadBytes"], 1024);
    let text = carcosa(&db).output(&["project", "list"]);
    assert!(text.stdout.contains("max upload 1024 bytes"), "{}", text.stdout);

    let cleared = carcosa(&db).ok(&["project", "limit", "--project", &id, "--default"]);
    assert_eq!(cleared["project"]["maxUploadBytes"], Value::Null);
    let text = carcosa(&db).output(&["project", "list"]);
    assert!(text.stdout.contains("max upload default"), "{}", text.stdout);

    // Out of range, malformed, or neither a size nor --default: refused, nothing changed.
    let err = carcosa(&db).fails(&["project", "limit", "--project", &id, "--max-upload-bytes", "6GiB"]);
    assert!(err.contains("1 to 5368709120 bytes"), "{err}");
    let err = carcosa(&db).fails(&["project", "limit", "--project", &id, "--max-upload-bytes", "0"]);
    assert!(err.contains("1 to 5368709120 bytes"), "{err}");
    let err = carcosa(&db).fails_with(2, &["project", "limit", "--project", &id, "--max-upload-bytes", "5MB"]);
    assert!(err.contains("not a size"), "{err}");
    carcosa(&db).fails_with(2, &["project", "limit", "--project", &id]);
    carcosa(&db).fails_with(
        2,
        &[
            "project",
            "limit",
            "--project",
            &id,
            "--default",
            "--max-upload-bytes",
            "1",
        ],
    );
    let err = carcosa(&db).fails(&[
        "project",
        "limit",
        "--project",
        "cnosuchproject000000000000",
        "--default",
    ]);
    assert!(err.contains("no project"), "{err}");
    let list = carcosa(&db).ok(&["project", "list"]);
    assert_eq!(list["projects"][0]["maxUploadBytes"], Value::Null);
}

/// A database without the column (migrated before it existed) is named by `doctor`, and
/// `migrate` adds it.
#[tokio::test]
async fn doctor_names_a_missing_limit_column_and_migrate_adds_it() {
    use crate::cli::carcosa;
    let db = crate::pg::fresh_db().await;
    db.client
        .batch_execute(
            r#"ALTER TABLE "Project" DROP COLUMN "edgeMaxUploadBytes";
               DELETE FROM "_carcosa_edge_migrations" WHERE version = 4;"#,
        )
        .await
        .unwrap();
    let doctor = |run: crate::cli::Run| {
        let out = run.output(&["--json", "doctor", "--timeout", "5"]);
        let report: Value = serde_json::from_str(&out.stdout).unwrap();
        (out.code, report)
    };
    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(1), "{report}");
    let schema = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "schema")
        .unwrap();
    assert_eq!(schema["ok"], false, "{schema}");
    assert!(
        schema["detail"].as_str().unwrap().contains("edgeMaxUploadBytes"),
        "{schema}"
    );

    carcosa(&db).ok(&["migrate"]);
    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(0), "{report}");
}
