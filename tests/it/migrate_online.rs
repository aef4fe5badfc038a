//! Migrating a live database: steps give way to the API's locks and retry, an interrupted
//! concurrent index build is rebuilt on the next run, and a migration of a database with a
//! million keys and uploads runs while clients keep looking up keys and inserting uploads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use carcosa_edge::store::migrate::{migrate, migrate_with, MigrateOptions, MIGRATIONS};
use tokio_postgres::Client;

use crate::migrate::{count, schema_snapshot, UPSTREAM_FIXTURE};
use crate::pg::{empty_db, fresh_db, migrated, TestDb};

/// Whether index `name` exists and is valid.
async fn index_valid(client: &Client, name: &str) -> Option<bool> {
    client
        .query_opt(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace",
            &[&name],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// Forgets that migrations 2 and 3 ran, as if a run had stopped before recording them.
async fn forget_from_version_2(db: &TestDb) {
    db.client
        .batch_execute(r#"DELETE FROM "_carcosa_edge_migrations" WHERE "version" >= 2"#)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_step_blocked_by_the_api_gives_way_and_retries() {
    let db = fresh_db().await;
    db.client
        .batch_execute(r#"ALTER TABLE "ApiKey" DROP COLUMN "expiresAt""#)
        .await
        .unwrap();
    forget_from_version_2(&db).await;

    // An API transaction that writes "ApiKey" and stays open for a while: adding the column
    // needs a lock it cannot get meanwhile.
    let writer = db.connect().await;
    writer
        .batch_execute(r#"BEGIN; UPDATE "ApiKey" SET "lastUsedAt" = now() WHERE "id" = 'none'"#)
        .await
        .unwrap();

    let mut migrator = db.connect().await;
    let options = MigrateOptions {
        lock_timeout_ms: 200,
        ..MigrateOptions::default()
    };
    let run = tokio::spawn(async move { migrate_with(&mut migrator, &options).await });

    // Key lookups keep being answered while the migration waits for its lock: it gives up
    // after the lock timeout instead of queueing every reader behind it.
    let reader = db.connect().await;
    let held = Instant::now();
    let mut reads = 0;
    while held.elapsed() < Duration::from_millis(1_500) {
        reader
            .query(r#"SELECT "id" FROM "ApiKey" WHERE "keyHash" = 'x'"#, &[])
            .await
            .unwrap();
        reads += 1;
    }
    assert!(
        !run.is_finished(),
        "the migration cannot finish while the writer holds its lock"
    );
    writer.batch_execute("COMMIT").await.unwrap();

    let report = run
        .await
        .unwrap()
        .expect("the migration finishes once the lock is free");
    assert!(report.retries >= 1, "{report:?}");
    assert_eq!(report.applied.iter().map(|a| a.version).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(
        reads > 1,
        "readers were blocked behind the waiting migration ({reads} reads)"
    );
    let columns = count(
        &db.client,
        "SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'ApiKey' AND column_name = 'expiresAt'",
    )
    .await;
    assert_eq!(columns, 1);
}

#[tokio::test]
async fn an_interrupted_run_resumes_and_rebuilds_the_invalid_index() {
    let db = fresh_db().await;
    // Left as a run stopped part-way leaves them: a foreign key added but not yet validated,
    // an index not yet built.
    db.client
        .batch_execute(
            r#"ALTER TABLE "Upload" DROP CONSTRAINT "Upload_apiKeyId_fkey";
               ALTER TABLE "Upload" ADD CONSTRAINT "Upload_apiKeyId_fkey" FOREIGN KEY ("apiKeyId")
                   REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;
               DROP INDEX "Upload_projectId_idx";"#,
        )
        .await
        .unwrap();
    forget_from_version_2(&db).await;

    // A transaction older than the index build: the build waits for it before it can mark the
    // index valid, which gives this test the moment to cut the migration's connection.
    let old = db.connect().await;
    old.batch_execute(r#"BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM "ApiKey""#)
        .await
        .unwrap();

    let mut migrator = db.connect().await;
    let pid: i32 = migrator.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let run = tokio::spawn(async move { migrate(&mut migrator).await });
    let started = Instant::now();
    loop {
        let waiting = count(
            &db.client,
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = {pid} AND wait_event_type = 'Lock'
                   AND query LIKE 'CREATE INDEX CONCURRENTLY%\"Upload_projectId_idx\"%'"
            ),
        )
        .await;
        if waiting == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the index build never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(index_valid(&db.client, "Upload_projectId_idx").await, Some(false));
    db.client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    run.await.unwrap().expect_err("the migration's connection was cut");
    old.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(index_valid(&db.client, "Upload_projectId_idx").await, Some(false));

    // The next run picks up where that one stopped.
    let mut again = db.connect().await;
    let report = migrated(&mut again).await;
    assert_eq!(report.applied.iter().map(|a| a.version).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(report.rebuilt_indexes, ["Upload_projectId_idx"]);
    assert_eq!(index_valid(&db.client, "Upload_projectId_idx").await, Some(true));
    let unvalidated = count(
        &db.client,
        "SELECT count(*) FROM pg_constraint WHERE NOT convalidated AND connamespace = current_schema()::regnamespace",
    )
    .await;
    assert_eq!(unvalidated, 0);
    let fresh = fresh_db().await;
    assert_eq!(schema_snapshot(&db.client).await, schema_snapshot(&fresh.client).await);
    // And the advisory lock went with the cut connection: a third run does not wait.
    assert!(migrated(&mut again).await.is_noop());
}

const BULK_ROWS: i64 = 1_000_000;

/// Longest time one statement of a load client took, and how many it ran.
#[derive(Debug, Default, Clone, Copy)]
struct Load {
    ops: u64,
    longest: Duration,
}

#[tokio::test]
#[ignore = "builds a million-row database; scripts/test runs it on its own"]
async fn migrating_a_million_rows_under_load() {
    let db = empty_db().await;
    let setup = Instant::now();
    db.client.batch_execute(UPSTREAM_FIXTURE).await.unwrap();
    db.client
        .batch_execute(&format!(
            r#"INSERT INTO "ApiKey" ("id", "projectId", "keyHash", "permissions")
                   SELECT 'bulk_key_' || g, 'prj_web', md5(g::text) || md5('k' || g), '["*"]'
                   FROM generate_series(1, {BULK_ROWS}) g;
               INSERT INTO "Upload" ("id", "projectId", "path", "status", "createdAt")
                   SELECT 'bulk_up_' || g, 'prj_web', 'bulk/' || g, 'completed', now()
                   FROM generate_series(1, {BULK_ROWS}) g;
               ANALYZE "ApiKey"; ANALYZE "Upload";"#
        ))
        .await
        .unwrap();
    let keys_before = count(&db.client, r#"SELECT count(*) FROM "ApiKey""#).await;
    let uploads_before = count(&db.client, r#"SELECT count(*) FROM "Upload""#).await;
    assert!(keys_before > BULK_ROWS && uploads_before > BULK_ROWS);
    eprintln!("setup: {BULK_ROWS} keys and uploads in {:.1?}", setup.elapsed());

    let done = Arc::new(AtomicBool::new(false));
    // What the API does meanwhile: resolve keys by hash, record uploads (upstream's columns).
    let lookups = {
        let client = db.connect().await;
        let done = done.clone();
        tokio::spawn(async move {
            let mut load = Load::default();
            while !done.load(Ordering::Relaxed) {
                let g = (load.ops * 7_919) % u64::try_from(BULK_ROWS).unwrap() + 1;
                let started = Instant::now();
                let rows = client
                    .query(
                        r#"SELECT "id", "projectId", "permissions" FROM "ApiKey"
                           WHERE "keyHash" = md5($1::text) || md5('k' || $1::text) AND "revokedAt" IS NULL"#,
                        &[&g.to_string()],
                    )
                    .await
                    .expect("key lookups never fail during the migration");
                load.longest = load.longest.max(started.elapsed());
                assert_eq!(rows.len(), 1);
                load.ops += 1;
            }
            load
        })
    };
    let inserts = {
        let client = db.connect().await;
        let done = done.clone();
        tokio::spawn(async move {
            let mut load = Load::default();
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                client
                    .execute(
                        r#"INSERT INTO "Upload" ("id", "projectId", "path", "status")
                           VALUES ('load_' || $1::text, 'prj_web', 'load/' || $1::text, 'initiated')"#,
                        &[&load.ops.to_string()],
                    )
                    .await
                    .expect("upload inserts never fail during the migration");
                load.longest = load.longest.max(started.elapsed());
                load.ops += 1;
            }
            load
        })
    };

    let mut migrator = db.connect().await;
    let started = Instant::now();
    let report = migrated(&mut migrator).await;
    let took = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let lookups = lookups.await.unwrap();
    let inserts = inserts.await.unwrap();
    assert!(report.adopted);
    assert_eq!(report.applied.len(), MIGRATIONS.len());

    eprintln!(
        "migrate took {took:.1?} ({} retries); longest stall: key lookup {:.0?} ({} lookups), \
         upload insert {:.0?} ({} inserts)",
        report.retries, lookups.longest, lookups.ops, inserts.longest, inserts.ops
    );
    assert!(lookups.ops > 0 && inserts.ops > 0);

    // No row lost: every key is still there, every upload inserted before or during the run too.
    assert_eq!(count(&db.client, r#"SELECT count(*) FROM "ApiKey""#).await, keys_before);
    let inserted = i64::try_from(inserts.ops).unwrap();
    assert_eq!(
        count(&db.client, r#"SELECT count(*) FROM "Upload""#).await,
        uploads_before + inserted
    );
    assert_eq!(
        count(&db.client, r#"SELECT count(*) FROM "Upload" WHERE "id" LIKE 'load\_%'"#).await,
        inserted
    );
    let invalid = count(&db.client, "SELECT count(*) FROM pg_index WHERE NOT indisvalid").await;
    assert_eq!(invalid, 0);

    // Generous, so that a loaded machine does not fail it; one transaction around the whole run
    // (the old way) stalls the API for all of `took`. The figure itself is printed above.
    let stall = lookups.longest.max(inserts.longest);
    assert!(stall < Duration::from_secs(5), "the API stalled for {stall:?}");
}
