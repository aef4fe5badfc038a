//! Secrets reach the command line without flags: bucket credentials from standard input or the
//! environment, the database password from `PGPASSWORD`.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::cli::{carcosa, run_with, s, vault, Run, ACCESS_KEY, SECRET_KEY};
use crate::pg::{self, TestDb};

/// Runs with `--json` and `input` on standard input: (exit code, stdout, stderr).
fn with_stdin(run: Run, args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let mut cmd = run.cmd;
    let mut child = cmd
        .arg("--json")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn team(db: &TestDb) -> String {
    let org = carcosa(db).ok(&["org", "create", "--name", "Acme", "--slug", "acme"]);
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
    s(&team["team"]["id"]).to_owned()
}

fn bucket_args<'a>(team: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "bucket",
        "create",
        "--team",
        team,
        "--name",
        name,
        "--provider",
        "s3",
        "--bucket-name",
        name,
        "--endpoint",
        "http://127.0.0.1:9000",
    ]
}

/// The decrypted credentials stored for a bucket.
async fn stored(db: &TestDb, bucket_id: &str) -> (String, String) {
    let row = db
        .client
        .query_one(
            r#"SELECT "encryptedAccessKey", "encryptedSecretKey" FROM "Bucket" WHERE id = $1"#,
            &[&bucket_id],
        )
        .await
        .unwrap();
    let open = |i| vault().decrypt(&row.get::<_, String>(i)).unwrap().as_str().to_owned();
    (open(0), open(1))
}

#[tokio::test]
async fn bucket_credentials_come_from_stdin_or_the_environment() {
    let db = pg::fresh_db().await;
    let team = team(&db);

    let (code, stdout, stderr) = with_stdin(
        carcosa(&db),
        &[&bucket_args(&team, "piped")[..], &["--credentials-stdin"]].concat(),
        &format!("{ACCESS_KEY}\n{SECRET_KEY}\n"),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains(SECRET_KEY) && !stdout.contains(ACCESS_KEY), "{stdout}");
    let bucket: Value = serde_json::from_str(&stdout).unwrap();
    let piped = stored(&db, s(&bucket["bucket"]["id"])).await;
    assert_eq!(piped, (ACCESS_KEY.to_owned(), SECRET_KEY.to_owned()));

    let bucket = carcosa(&db)
        .env("CARCOSA_BUCKET_ACCESS_KEY_ID", "AKIDFROMENV")
        .env("CARCOSA_BUCKET_SECRET_ACCESS_KEY", "secret-from-env")
        .ok(&bucket_args(&team, "from-env"));
    let from_env = stored(&db, s(&bucket["bucket"]["id"])).await;
    assert_eq!(from_env, ("AKIDFROMENV".to_owned(), "secret-from-env".to_owned()));

    // The same for the demo setup.
    let (code, _, stderr) = with_stdin(
        carcosa(&db),
        &[
            "demo",
            "--endpoint",
            "http://127.0.0.1:9000",
            "--bucket-name",
            "demo",
            "--credentials-stdin",
        ],
        &format!("{ACCESS_KEY}\r\n{SECRET_KEY}\r\n"),
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_refused_clearly() {
    let db = pg::fresh_db().await;
    let team = team(&db);
    let err = carcosa(&db).fails(&bucket_args(&team, "none"));
    assert!(
        err.contains("CARCOSA_BUCKET_SECRET_ACCESS_KEY") && err.contains("--credentials-stdin"),
        "{err}"
    );
    for input in ["", "only-one-line\n", "a\nb\nc\n"] {
        let (code, stdout, stderr) = with_stdin(
            carcosa(&db),
            &[&bucket_args(&team, "bad")[..], &["--credentials-stdin"]].concat(),
            input,
        );
        assert_eq!(code, Some(1), "{input:?}: {stdout}");
        assert!(stderr.contains("expects two lines"), "{input:?}: {stderr}");
        assert!(!stderr.contains("only-one-line"), "input echoed: {stderr}");
    }
    let count: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "Bucket""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "nothing is stored on refusal");
}

#[tokio::test]
async fn the_database_password_can_come_from_pgpassword() {
    let db = pg::fresh_db().await;
    // The test URL is postgres://postgres:postgres@…; take the password out.
    let without = db.url.replacen(":postgres@", "@", 1);
    assert_ne!(without, db.url);
    let v = run_with(Some(&without))
        .env("PGPASSWORD", "postgres")
        .ok(&["migrate", "--status"]);
    assert_eq!(v["pending"], 0);
    let err = run_with(Some(&without))
        .env("PGPASSWORD", "wrong-password")
        .fails(&["migrate", "--status"]);
    assert!(err.contains("could not connect to the database"), "{err}");
    assert!(!err.contains("wrong-password"), "the password leaked: {err}");
    // The URL's own password wins, as in libpq.
    let v = carcosa(&db)
        .env("PGPASSWORD", "wrong-password")
        .ok(&["migrate", "--status"]);
    assert_eq!(v["pending"], 0);
}
