//! Usage counters and audit rows, read back with the queries the upstream dashboard runs:
//! `"UsageDaily"` for the project and today's (midnight UTC) row, and `"AuditLog"` joined to its
//! user, newest first. They are written after the response, batched, so the reads wait for them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::target::Target;
use crate::world::World;

scenarios!(
    usage_counts_uploads_and_stored_bytes,
    audit_log_records_uploads_completions_and_tokens
);

/// Upstream's `findUnique({projectId_day: {projectId, day: today}})`, today at midnight UTC:
/// (uploads, transforms, bandwidthBytes), or `None` while there is no row.
async fn today(t: &Target, project_id: &str) -> Option<(i32, i32, i64)> {
    t.db.query_opt(
        r#"SELECT "uploads", "transforms", "bandwidthBytes" FROM "UsageDaily"
           WHERE "projectId" = $1 AND "day" = date_trunc('day', now() AT TIME ZONE 'UTC')"#,
        &[&project_id],
    )
    .await
    .unwrap()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
}

/// Polls `read` until it returns `want`, for up to 15 s (the Worker batches its writes for a
/// second); returns the last value read.
async fn eventually<T, F, Fut>(want: &T, mut read: F) -> T
where
    T: PartialEq,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut last = read().await;
    for _ in 0..150 {
        if last == *want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = read().await;
    }
    last
}

/// Presigns, PUTs and completes one upload of `bytes`; returns its upload id and object key.
async fn upload(t: &Target, w: &World, name: &str, bytes: &[u8]) -> (String, String) {
    let r = t
        .post(
            "/v1/uploads",
            &w.key,
            &json!({"filename": name, "contentType": "text/plain", "size": bytes.len()}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, body) = crate::flows::put(&r.s("url"), &r.body["headers"], bytes).await;
    assert_eq!(status, 200, "{body}");
    let upload_id = r.s("uploadId");
    let done = t
        .post(&format!("/v1/uploads/{upload_id}/complete"), &w.key, &json!({}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    (upload_id, r.s("key"))
}

async fn usage_counts_uploads_and_stored_bytes(t: &Target) {
    let w = World::new(t).await;
    upload(t, &w, "a.txt", b"hello world").await;
    // Completing twice stores nothing more.
    let (again, _) = upload(t, &w, "b.txt", b"12345").await;
    let repeat = t
        .post(&format!("/v1/uploads/{again}/complete"), &w.key, &json!({}))
        .await;
    assert_eq!(repeat.status, 200, "{}", repeat.body);
    // Handed out but never sent: it counts as an upload (as upstream counts at init), no bytes.
    let pending = t.post("/v1/uploads", &w.key, &json!({"filename": "c.txt"})).await;
    assert_eq!(pending.status, 201, "{}", pending.body);

    let want = Some((3, 0, 16));
    let got = eventually(&want, || today(t, &w.project.id)).await;
    assert_eq!(
        got, want,
        "today's UsageDaily row (uploads, transforms, bandwidthBytes)"
    );

    // The chart: the project's rows of the last 30 days, oldest first; all of it is today's.
    let rows =
        t.db.query(
            r#"SELECT "day", "uploads", "bandwidthBytes" FROM "UsageDaily"
               WHERE "projectId" = $1 AND "day" >= (now() AT TIME ZONE 'UTC') - interval '30 days'
               ORDER BY "day" ASC"#,
            &[&w.project.id],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].get::<_, i32>(1), rows[0].get::<_, i64>(2)), (3, 16));
}

async fn audit_log_records_uploads_completions_and_tokens(t: &Target) {
    let w = World::new(t).await;
    let (upload_id, key) = upload(t, &w, "report.txt", b"quarterly").await;
    let minted = t
        .post(
            "/v1/tokens",
            &w.key,
            &json!({"permissions": ["uploads:create"], "expiresIn": 60}),
        )
        .await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.s("token");

    // Upstream's project audit page: the project's rows with their user, newest first.
    let read = || async {
        t.db.query(
            r#"SELECT a."action", a."resource", a."details", u."id", u."email"
               FROM "AuditLog" a JOIN "User" u ON u."id" = a."userId"
               WHERE a."projectId" = $1 ORDER BY a."createdAt" DESC"#,
            &[&w.project.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let action: String = r.get(0);
            let resource: String = r.get(1);
            let details: Value = r.get(2);
            let user: (String, String) = (r.get(3), r.get(4));
            (action, resource, details, user)
        })
        .collect::<Vec<_>>()
    };
    let mut rows = read().await;
    for _ in 0..150 {
        if rows.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = read().await;
    }
    let mut actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["upload.completed", "upload.initialized", "upload_token.created"]
    );

    let row_id = carcosa_edge::upload_id::row_id(&upload_id);
    for (action, resource, details, user) in &rows {
        // Attributed to the project's owner: the column is a required user upstream.
        assert_eq!(user, &(w.user.id.clone(), w.user.email.clone()));
        assert_eq!(details["apiKeyId"], json!(w.key_id), "{action}");
        let text = details.to_string();
        assert!(!text.contains(&w.key) && !text.contains(&token), "{action}: {text}");
        match action.as_str() {
            "upload.initialized" => {
                assert_eq!(resource, &key);
                assert_eq!(details["uploadId"], json!(row_id));
                assert_eq!(details["size"], json!(9));
            }
            "upload.completed" => {
                assert_eq!(resource, &key);
                assert_eq!(details["uploadId"], json!(row_id));
                assert_eq!(details["size"], json!(9));
                assert!(details["fileId"].is_string());
            }
            _ => {
                assert_eq!(resource, &w.key_id);
                assert_eq!(details["permissions"], json!(["uploads:create"]));
                assert_eq!(details["expiresIn"], json!(60));
            }
        }
    }
}
