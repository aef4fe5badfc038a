//! `carcosa-edge doctor` on a good deployment and on broken ones: a wrong encryption key, a
//! bucket that cannot be reached, one that does not exist, refused credentials, an unmigrated
//! database. Real PostgreSQL and the signature-checking S3 server; the bucket check is a signed
//! HEAD, so a good answer proves the stored credentials work.

use serde_json::Value;

use crate::cli::{carcosa, s, Run};
use crate::pg::{self, TestDb};
use crate::s3;

/// Runs `doctor --json`: (exit code, the report from stdout).
fn doctor(run: Run) -> (Option<i32>, Value) {
    let out = run.output(&["--json", "doctor", "--timeout", "5"]);
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {:?} / {:?}", out.stdout, out.stderr));
    (out.code, report)
}

/// The check named `name` in a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

/// A team, and a bucket of it at `endpoint` named `bucket_name` with these credentials: its id.
fn bucket(db: &TestDb, slug: &str, endpoint: &str, bucket_name: &str, access: &str, secret: &str) -> String {
    let org = carcosa(db).ok(&["org", "create", "--name", "Acme", "--slug", slug]);
    let team = carcosa(db).ok(&[
        "team",
        "create",
        "--org",
        s(&org["organization"]["id"]),
        "--name",
        "Web",
        "--slug",
        "web",
    ]);
    let bucket = carcosa(db)
        .env("CARCOSA_BUCKET_ACCESS_KEY_ID", access)
        .env("CARCOSA_BUCKET_SECRET_ACCESS_KEY", secret)
        .ok(&[
            "bucket",
            "create",
            "--team",
            s(&team["team"]["id"]),
            "--name",
            "Uploads",
            "--provider",
            "s3",
            "--bucket-name",
            bucket_name,
            "--endpoint",
            endpoint,
        ]);
    s(&bucket["bucket"]["id"]).to_owned()
}

#[tokio::test]
async fn a_good_deployment_passes_every_check() {
    let db = pg::fresh_db().await;
    let s3 = s3::server();
    let name = s3.new_bucket().await;
    let id = bucket(&db, "acme", &s3.endpoint, &name, &s3.access_key, &s3.secret_key);

    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["connection"]["database"], db.name.as_str());
    assert!(report["connection"]["tls"].is_null(), "the test server has no TLS");
    for name in ["migrations", "schema", "buckets"] {
        assert_eq!(check(&report, name)["ok"], true, "{report}");
    }
    assert_eq!(check(&report, &format!("bucket {id} credentials"))["ok"], true);
    let head = check(&report, &format!("bucket {id} HEAD"));
    assert_eq!(head["ok"], true, "{head}");
    assert!(s(&head["detail"]).ends_with("answered 200"), "{head}");
    let text = carcosa(&db).output(&["doctor"]).stdout;
    assert!(text.trim_end().ends_with("no problems found"), "{text}");
    assert!(!text.contains(&s3.secret_key), "{text}");
}

#[tokio::test]
async fn broken_buckets_and_a_wrong_key_are_named() {
    let db = pg::fresh_db().await;
    let s3 = s3::server();
    let name = s3.new_bucket().await;
    let good = bucket(&db, "good", &s3.endpoint, &name, &s3.access_key, &s3.secret_key);
    // Nothing listens on port 9 of this machine.
    let unreachable = bucket(&db, "down", "http://127.0.0.1:9", &name, &s3.access_key, &s3.secret_key);
    let missing = bucket(
        &db,
        "gone",
        &s3.endpoint,
        "no-such-bucket-anywhere",
        &s3.access_key,
        &s3.secret_key,
    );
    let refused = bucket(&db, "refused", &s3.endpoint, &name, &s3.access_key, "not-the-secret");

    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(check(&report, &format!("bucket {good} HEAD"))["ok"], true, "{report}");
    let detail = |id: &str| {
        let c = check(&report, &format!("bucket {id} HEAD"));
        assert_eq!(c["ok"], false, "{c}");
        s(&c["detail"]).to_owned()
    };
    assert!(detail(&unreachable).contains("is unreachable"), "{report}");
    assert!(detail(&missing).contains("404: no such bucket"), "{report}");
    assert!(detail(&refused).contains("credentials were refused"), "{report}");
    assert_eq!(report["problems"].as_array().unwrap().len(), 3, "{report}");
    let all = report.to_string();
    assert!(
        !all.contains("X-Amz-Signature") && !all.contains("not-the-secret"),
        "{all}"
    );

    // Another encryption key: nothing decrypts, and the report says which key to look at.
    let other_key = "base64:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let (code, report) = doctor(carcosa(&db).env("CREDENTIALS_ENCRYPTION_KEY", other_key));
    assert_eq!(code, Some(1));
    for id in [&good, &unreachable, &missing, &refused] {
        let c = check(&report, &format!("bucket {id} credentials"));
        assert_eq!(c["ok"], false, "{c}");
        assert!(s(&c["detail"]).contains("CREDENTIALS_ENCRYPTION_KEY"), "{c}");
    }
    // No key at all: said once, the buckets counted.
    let (code, report) = doctor(carcosa(&db).env_remove("CREDENTIALS_ENCRYPTION_KEY"));
    assert_eq!(code, Some(1));
    let c = check(&report, "encryption key");
    assert!(
        s(&c["detail"]).contains("is not set") && s(&c["detail"]).contains("4 bucket(s) not checked"),
        "{c}"
    );
}

#[tokio::test]
async fn an_unmigrated_database_is_named() {
    let db = pg::empty_db().await;
    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(1), "{report}");
    let migrations = check(&report, "migrations");
    assert_eq!(migrations["ok"], false);
    assert!(
        s(&migrations["detail"]).contains("run `carcosa-edge migrate`"),
        "{migrations}"
    );
    let schema = check(&report, "schema");
    assert_eq!(schema["ok"], false);
    assert!(s(&schema["detail"]).contains("does not exist"), "{schema}");
    assert_eq!(check(&report, "buckets")["ok"], false);

    // After migrating, the same database is healthy.
    carcosa(&db).ok(&["migrate"]);
    let (code, report) = doctor(carcosa(&db));
    assert_eq!(code, Some(0), "{report}");
}

#[tokio::test]
async fn the_report_says_whether_the_connection_is_encrypted() {
    let url = std::env::var("CARCOSA_TEST_TLS_DATABASE_URL")
        .expect("CARCOSA_TEST_TLS_DATABASE_URL: the TLS-only PostgreSQL that scripts/test starts");
    // The TLS server's admin database is not migrated: the report still describes the connection.
    let (code, report) = doctor(crate::cli::run_with(Some(&format!("{url}?sslmode=require"))));
    assert_eq!(code, Some(1));
    let tls = s(&report["connection"]["tls"]);
    assert!(tls.starts_with("TLSv1."), "{report}");
}
