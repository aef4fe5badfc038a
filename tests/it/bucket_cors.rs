//! `carcosa-edge bucket cors`, run as a process against a fresh database and the local
//! signature-checking S3 server.
//!
//! That server (s3s-fs 0.14) checks the signature of every request and parses the
//! `CORSConfiguration` body, but does not store CORS rules: it answers a well-signed, well-formed
//! `PutBucketCors` with `501 NotImplemented`. So these tests show the request is signed and
//! formed as S3 accepts it (501, where a bad signature gets 403 and a bad body 400), and that
//! refusals reach the operator with the server's code; the success path (the rules printed) needs
//! a server that implements CORS (S3, R2, MinIO).

use std::process::Command;

use serde_json::Value;

use crate::pg;
use crate::s3;

const BIN: &str = env!("CARGO_BIN_EXE_carcosa-edge");
/// The key bytes 0, 1, …, 31.
const VAULT_KEY: &str = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(db_url: &str, args: &[&str]) -> Outcome {
    let out = Command::new(BIN)
        .env_remove("CARCOSA_BUCKET_ACCESS_KEY_ID")
        .env_remove("CARCOSA_BUCKET_SECRET_ACCESS_KEY")
        .env("CREDENTIALS_ENCRYPTION_KEY", VAULT_KEY)
        .args(["--database-url", db_url])
        .args(args)
        .output()
        .expect("run carcosa-edge");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(db_url: &str, args: &[&str]) -> Value {
    let out = run(db_url, &[&["--json"], args].concat());
    assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

/// A team and a bucket on the test S3 server whose stored credentials are `access`/`secret`;
/// returns the bucket id.
async fn bucket(db_url: &str, access: &str, secret: &str) -> String {
    let server = s3::server();
    let name = server.new_bucket().await;
    let slug = format!("cors-{}", hex::encode(s3::rand_bytes()));
    let org = ok(db_url, &["org", "create", "--name", "Acme", "--slug", &slug]);
    let org_id = org["organization"]["id"].as_str().unwrap();
    let team = ok(
        db_url,
        &["team", "create", "--org", org_id, "--name", "Web", "--slug", "web"],
    );
    let team_id = team["team"]["id"].as_str().unwrap();
    let created = ok(
        db_url,
        &[
            "bucket",
            "create",
            "--team",
            team_id,
            "--name",
            "Uploads",
            "--provider",
            "s3",
            "--bucket-name",
            &name,
            "--endpoint",
            &server.endpoint,
            "--access-key-id",
            access,
            "--secret-access-key",
            secret,
        ],
    );
    created["bucket"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn put_bucket_cors_is_signed_as_the_server_accepts() {
    let db = pg::fresh_db().await;
    let server = s3::server();
    let id = bucket(&db.url, &server.access_key, &server.secret_key).await;

    let out = run(
        &db.url,
        &[
            "bucket",
            "cors",
            "--bucket",
            &id,
            "--origin",
            "http://127.0.0.1:9243",
            "--origin",
            "https://app.example.com",
        ],
    );
    // Past the signature check and the body parser: the server just does not keep CORS rules.
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("refused PutBucketCors") && out.stderr.contains("501 NotImplemented"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&server.secret_key), "no secret in errors");
}

#[tokio::test]
async fn refusals_name_the_server_code() {
    let db = pg::fresh_db().await;
    let server = s3::server();
    let wrong_secret = bucket(&db.url, &server.access_key, "not-the-secret").await;
    let out = run(&db.url, &["bucket", "cors", "--bucket", &wrong_secret, "--origin", "*"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("403 SignatureDoesNotMatch"), "{}", out.stderr);
    assert!(!out.stderr.contains("not-the-secret"), "no secret in errors");

    let unknown = run(
        &db.url,
        &["bucket", "cors", "--bucket", "cnosuchbucket", "--origin", "*"],
    );
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("no bucket with id cnosuchbucket"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
async fn bad_origins_are_refused_before_any_request() {
    let db = pg::fresh_db().await;
    for origin in ["app.example.com", "https://app.example.com/", "https://a.example/path"] {
        let out = run(&db.url, &["bucket", "cors", "--bucket", "cany", "--origin", origin]);
        assert_eq!(out.code, Some(1), "{origin}");
        assert!(out.stderr.contains("origin"), "{origin}: {}", out.stderr);
    }
    let usage = run(&db.url, &["bucket", "cors", "--bucket", "cany"]);
    assert_eq!(usage.code, Some(2), "--origin is required");
}
