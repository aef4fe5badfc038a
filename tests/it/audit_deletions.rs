//! `"AuditLog"` rows for file deletions (`DELETE /v1/files` and the SDK's `deleteFile`), read back
//! the way the upstream dashboard filters its audit page: the project's rows of one action, with
//! their user, newest first. Written after the response, batched, so the read waits for them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::listing::{delete, upload};
use crate::target::Target;
use crate::world::World;

scenarios!(deletions_are_audited);

/// Upstream's `GET /projects/:id/audit-logs?action=…`: (resource, details, user id) per row.
async fn audit_rows(t: &Target, project_id: &str, action: &str) -> Vec<(String, Value, String)> {
    t.db.query(
        r#"SELECT a."resource", a."details", u."id"
           FROM "AuditLog" a JOIN "User" u ON u."id" = a."userId"
           WHERE a."projectId" = $1 AND a."action" = $2 ORDER BY a."createdAt" DESC"#,
        &[&project_id, &action],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

async fn deletions_are_audited(t: &Target) {
    let w = World::new(t).await;
    let by_v1 = upload(t, &w.key, "v1.txt", None).await;
    let by_sdk = upload(t, &w.key, "sdk.txt", None).await;
    let kept = upload(t, &w.key, "kept.txt", None).await;
    let deleter = w.key_with(t, &["files:read", "files:delete"]).await;
    let deleter_id: String =
        t.db.query_one(
            r#"SELECT "id" FROM "ApiKey" WHERE "projectId" = $1 AND "id" <> $2"#,
            &[&w.project.id, &w.key_id],
        )
        .await
        .unwrap()
        .get(0);

    let v1_key = by_v1["key"].as_str().unwrap();
    let r = delete(t, &format!("/v1/files?key={v1_key}"), &deleter, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sdk_key = by_sdk["key"].as_str().unwrap();
    let r = delete(
        t,
        &format!("/api/v1/projects/{}/files", w.project.id),
        &deleter,
        Some(&json!({"paths": [sdk_key]})),
    )
    .await;
    assert_eq!(r.body["deletedFiles"], json!([sdk_key]), "{}", r.body);
    // Refused deletions leave no row: a key that is no longer a file, and a key without the
    // permission.
    let again = delete(t, &format!("/v1/files?key={v1_key}"), &deleter, None).await;
    assert_eq!((again.status, again.code()), (404, "file_not_found"));
    let kept_key = kept["key"].as_str().unwrap();
    let denied = delete(t, &format!("/v1/files?key={kept_key}"), &w.key, None).await;
    assert_eq!((denied.status, denied.code()), (403, "permission_denied"));

    let mut rows = audit_rows(t, &w.project.id, "file.deleted").await;
    for _ in 0..150 {
        if rows.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = audit_rows(t, &w.project.id, "file.deleted").await;
    }
    // Anything late would have arrived by now: the batch that carried these was written.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    rows = audit_rows(t, &w.project.id, "file.deleted").await;
    let mut resources: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    resources.sort_unstable();
    let mut want = [v1_key, sdk_key];
    want.sort_unstable();
    assert_eq!(resources, want, "one row per deleted file, none for refusals");

    for (resource, details, user) in &rows {
        // Attributed to the project's owner, as upstream's required user.
        assert_eq!(user, &w.user.id);
        let file = if resource == v1_key { &by_v1 } else { &by_sdk };
        assert_eq!(
            details,
            &json!({"fileIds": [file["id"]], "apiKeyId": deleter_id, "tenantId": null}),
            "{resource}"
        );
        let text = details.to_string();
        assert!(
            !text.contains(&deleter) && !text.contains(&w.key),
            "no key in details: {text}"
        );
    }
    // The upload and completion rows are still there beside them.
    assert_eq!(audit_rows(t, &w.project.id, "upload.completed").await.len(), 3);
}
