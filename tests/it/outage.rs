//! PostgreSQL going away under the running Worker: a key the isolate knows keeps getting upload
//! URLs (the warm path needs no database, and the upload rows it could not write are recreated
//! on completion), other requests get 503 with `Retry-After`, and the Worker recovers by itself
//! when the database is back. Stopping the shared server would break
//! every other test, so this runs alone: `scripts/test` runs it after the rest with `--ignored`.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::target::Target;
use crate::world::World;

fn lib_sh(args: &[&str]) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set; run `scripts/test`"));
    let dir = var("CARCOSA_TEST_PG_DIR");
    let port = var("CARCOSA_TEST_PG_PORT");
    let args: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "DIR" {
                dir.as_str()
            } else if *a == "PORT" {
                port.as_str()
            } else {
                a
            }
        })
        .collect();
    let status = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/lib.sh"))
        .args(&args)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/lib.sh {args:?} failed");
}

#[tokio::test]
#[ignore = "stops and restarts PostgreSQL; scripts/test runs it on its own"]
async fn database_outage_gives_503_then_recovers() {
    let t = Target::worker().await;
    let w = World::new(&t).await;
    let cold = World::new(&t).await;
    let body = json!({"filename": "a.txt"});
    assert_eq!(t.post("/v1/uploads", &w.key, &body).await.status, 201);

    lib_sh(&["pg_stop", "DIR"]);
    // Warm: answered from the isolate's cache, no database needed. (Only while the cached scope
    // is fresh, so this comes first.)
    let during = t
        .post("/v1/uploads", &w.key, &json!({"filename": "during.txt", "size": 6}))
        .await;
    assert_eq!(during.status, 201, "a warm presign needs no database: {}", during.body);
    // With the headers the answer names (`If-None-Match: *` is signed).
    let mut put = reqwest::Client::new().put(during.s("url")).body(&b"outage"[..]);
    for (name, value) in during.body["headers"].as_object().into_iter().flatten() {
        if name != "content-length" {
            put = put.header(name, value.as_str().unwrap());
        }
    }
    let put = put.send().await.unwrap();
    assert_eq!(put.status(), 200);
    // Cold: this key was never seen, so it needs the database.
    for _ in 0..3 {
        let r = t.post("/v1/uploads", &cold.key, &body).await;
        assert_eq!((r.status, r.code()), (503, "database_unavailable"), "{}", r.body);
        assert_eq!(r.header("retry-after"), Some("2"));
        assert!(!r.body.to_string().contains("postgres://"));
    }
    // Health does not depend on the database.
    assert_eq!(t.call("GET", "/v1/health", &[], None).await.status, 200);

    lib_sh(&["pg_start", "DIR", "PORT"]);
    let started = Instant::now();
    loop {
        let r = t.post("/v1/uploads", &cold.key, &body).await;
        if r.status == 201 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no recovery after 30 s: {} {}",
            r.status,
            r.body
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The upload presigned during the outage completes: its row is recreated from its id.
    let id = during.s("uploadId");
    let done = t.post(&format!("/v1/uploads/{id}/complete"), &w.key, &json!({})).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["file"]["size"], 6);
}
