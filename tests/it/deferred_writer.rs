//! The isolate's deferred writer under a steady stream of requests, in-process as the Worker runs
//! it: each request queues its rows after answering, and the one that finds no writer becomes it
//! (here a local task, in the Worker `wait_until`). A busy isolate must write one batch per delay,
//! not chase its queue a few rows at a time; a writer must stop after its lifetime and hand over;
//! and nothing may be left in the queue without a writer.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use carcosa_edge::api;
use carcosa_edge::runtime::IsolateState;

use crate::target::{native_config, scope_ttl_secs, NativeRuntime, Target};
use crate::world::World;

/// What a stream of uploads left behind.
struct Stream {
    /// The `"Upload"` row id of every upload presigned.
    row_ids: Vec<String>,
    /// How many requests became the writer.
    writers: usize,
    elapsed: Duration,
}

/// Presigns uploads one after another for `run`, in one isolate whose writer waits `delay_ms`
/// before each batch and lives `lifetime_ms`; then waits for every writer to finish.
async fn stream(t: &Target, w: &World, delay_ms: u32, lifetime_ms: u32, run: Duration) -> Stream {
    let url = t.native_db_url().unwrap().to_owned();
    let isolate = Rc::new(IsolateState::new(scope_ttl_secs()));
    let local = tokio::task::LocalSet::new();
    let stream = local
        .run_until(async {
            let started = Instant::now();
            let mut row_ids = Vec::new();
            let mut writers = Vec::new();
            while started.elapsed() < run {
                let mut config = native_config();
                config.write_batch_delay_ms = delay_ms;
                config.writer_lifetime_ms = lifetime_ms;
                let rt = Rc::new(NativeRuntime::new(&url, config, Rc::clone(&isolate)));
                let req = http::Request::builder()
                    .method("POST")
                    .uri("/v1/uploads")
                    .header("authorization", format!("Bearer {}", w.key))
                    .header("content-type", "application/json")
                    .body(Bytes::from_static(
                        br#"{"filename":"a.txt","contentType":"text/plain","size":5}"#,
                    ))
                    .unwrap();
                let handled = api::handle(&*rt, req).await;
                assert_eq!(handled.response.status(), 201, "{:?}", handled.response.body());
                let body: serde_json::Value = serde_json::from_slice(handled.response.body()).unwrap();
                let upload_id = body["uploadId"].as_str().unwrap();
                row_ids.push(upload_id.split('.').next().unwrap().to_owned());
                if api::queue_deferred(&*rt, handled.deferred) {
                    writers.push(tokio::task::spawn_local(async move { api::write_deferred(&*rt).await }));
                }
                // Let the writers run between requests, as the isolate's event loop does.
                tokio::task::yield_now().await;
            }
            let count = writers.len();
            for writer in writers {
                writer.await.unwrap();
            }
            Stream {
                row_ids,
                writers: count,
                elapsed: started.elapsed(),
            }
        })
        .await;
    assert!(isolate.pending.borrow().is_empty(), "rows left in the queue");
    assert!(!isolate.flushing.get(), "a writer still holds the queue");
    stream
}

/// Checks that every upload of `s` has its row, and returns how many batches wrote them: each
/// batch's `INSERT` is one statement, one transaction, so its rows share their `xmin`.
async fn batches(t: &Target, s: &Stream) -> i64 {
    let row =
        t.db.query_one(
            r#"SELECT count(*), count(DISTINCT xmin::text) FROM "Upload" WHERE id = ANY($1)"#,
            &[&s.row_ids],
        )
        .await
        .unwrap();
    let written: i64 = row.get(0);
    assert_eq!(
        written,
        i64::try_from(s.row_ids.len()).unwrap(),
        "every presigned upload is recorded"
    );
    row.get(1)
}

#[tokio::test]
async fn a_busy_isolate_writes_one_batch_per_delay() {
    let t = Target::native().await;
    let w = World::new(&t).await;
    let s = stream(&t, &w, 100, 500, Duration::from_millis(1500)).await;
    let batches = batches(&t, &s).await;
    // A writer waits the delay before each batch, so however fast or slow this machine is, the
    // run holds at most one batch per delay of its length, plus each writer's last one. Writing
    // at once what arrived during the last batch made hundreds.
    let delays = i64::try_from(s.elapsed.as_millis() / 100).unwrap() + 1;
    let bound = delays + i64::try_from(s.writers).unwrap();
    assert!(
        batches <= bound,
        "{batches} batches for {} rows in {:?} (at most {bound}: one per delay, and per writer)",
        s.row_ids.len(),
        s.elapsed
    );
}

#[tokio::test]
async fn a_writer_past_its_lifetime_writes_one_last_batch_and_hands_over() {
    let t = Target::native().await;
    let w = World::new(&t).await;
    // Lifetime 0: every writer is past it at its first batch. Without a delay the next requests
    // queue their rows while that batch is written, and must each time find no writer and become
    // the next one: as many batches as writers, and nothing left behind (checked in `stream`).
    let s = stream(&t, &w, 0, 0, Duration::from_millis(500)).await;
    let batches = batches(&t, &s).await;
    assert!(s.writers >= 2, "{} writers for {} rows", s.writers, s.row_ids.len());
    assert_eq!(batches, i64::try_from(s.writers).unwrap(), "one batch per writer");
}
