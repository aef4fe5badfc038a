//! The `carcosa-edge` command line, run as a process against a fresh database: provisioning from
//! organization to revoked key, bucket sharing, the demo setup, migrations, and how bad input is
//! refused. Rows are checked in PostgreSQL and, where it matters, through the edge's own scope
//! query, so a key the command line creates is proven usable by the request path.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use carcosa_edge::scope::{authorize, Operation};
use carcosa_edge::store::migrate::MIGRATIONS;
use carcosa_edge::store::{resolve_scope, KeyRef};
use carcosa_edge::vault::VaultKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::pg::{self, TestDb};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_carcosa-edge");
/// The key bytes 0, 1, …, 31.
pub(crate) const VAULT_KEY: &str = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub(crate) const ACCESS_KEY: &str = "AKIAEXAMPLEACCESS";
pub(crate) const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ENV_VARS: [&str; 7] = [
    "DATABASE_URL",
    "CREDENTIALS_ENCRYPTION_KEY",
    "CARCOSA_BUCKET_ACCESS_KEY_ID",
    "CARCOSA_BUCKET_SECRET_ACCESS_KEY",
    "PGPASSWORD",
    "PGSSLMODE",
    "PGSSLROOTCERT",
];

/// One invocation of the binary, with a clean environment apart from what the test sets.
pub(crate) struct Run {
    pub(crate) cmd: Command,
}

pub(crate) fn carcosa(db: &TestDb) -> Run {
    run_with(Some(&db.url))
}

pub(crate) fn run_with(url: Option<&str>) -> Run {
    let mut cmd = Command::new(BIN);
    for var in ENV_VARS {
        cmd.env_remove(var);
    }
    cmd.env("CREDENTIALS_ENCRYPTION_KEY", VAULT_KEY);
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    Run { cmd }
}

pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub(crate) fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub(crate) fn output(mut self, args: &[&str]) -> Outcome {
        let out = self.cmd.args(args).output().expect("run carcosa-edge");
        Outcome {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Runs with `--json`; asserts success and exactly one JSON object on stdout.
    #[track_caller]
    pub(crate) fn ok(self, args: &[&str]) -> Value {
        let out = self.output(&[&["--json"], args].concat());
        assert_eq!(out.code, Some(0), "{args:?} failed:\n{}", out.stderr);
        assert!(out.stderr.is_empty(), "{args:?} wrote to stderr:\n{}", out.stderr);
        assert_eq!(
            out.stdout.lines().count(),
            1,
            "{args:?}: one line of JSON expected:\n{}",
            out.stdout
        );
        let value: Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
        assert!(value.is_object(), "{value}");
        value
    }

    /// Runs (text output); asserts failure with exit status `code`, nothing on stdout, and returns
    /// stderr.
    #[track_caller]
    pub(crate) fn fails_with(self, code: i32, args: &[&str]) -> String {
        let out = self.output(args);
        assert_eq!(
            out.code,
            Some(code),
            "{args:?}: stdout {:?} stderr {:?}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} wrote to stdout on failure: {}",
            out.stdout
        );
        assert!(!out.stderr.trim().is_empty(), "{args:?}: no error message");
        out.stderr
    }

    /// A runtime error: exit status 1.
    #[track_caller]
    pub(crate) fn fails(self, args: &[&str]) -> String {
        self.fails_with(1, args)
    }
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

pub(crate) fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) fn vault() -> VaultKey {
    VaultKey::parse(VAULT_KEY).unwrap()
}

/// An organization, a team and a bucket owned by it: (org id, team id, bucket id).
pub(crate) fn org_team_bucket(db: &TestDb, org_slug: &str) -> (String, String, String) {
    let org = carcosa(db).ok(&["org", "create", "--name", "Acme", "--slug", org_slug]);
    let org_id = s(&org["organization"]["id"]).to_owned();
    let team = carcosa(db).ok(&["team", "create", "--org", &org_id, "--name", "Web", "--slug", "web"]);
    let team_id = s(&team["team"]["id"]).to_owned();
    let bucket = carcosa(db).ok(&[
        "bucket",
        "create",
        "--team",
        &team_id,
        "--name",
        "Uploads",
        "--provider",
        "s3",
        "--bucket-name",
        "uploads",
        "--endpoint",
        "http://127.0.0.1:9000",
        "--access-key-id",
        ACCESS_KEY,
        "--secret-access-key",
        SECRET_KEY,
    ]);
    (org_id, team_id, s(&bucket["bucket"]["id"]).to_owned())
}

#[tokio::test]
async fn provisions_an_organization_through_to_a_revoked_key() {
    let db = pg::fresh_db().await;
    let c = &db.client;

    // Organization, owned by a user created on the way, who is its OWNER member.
    let org = carcosa(&db).ok(&[
        "org",
        "create",
        "--name",
        "Acme Corp",
        "--slug",
        "acme",
        "--owner-email",
        "ops@acme.test",
    ]);
    assert_eq!(org["owner"]["email"], "ops@acme.test");
    assert_eq!(org["owner"]["created"], true);
    assert_eq!(org["organization"]["slug"], "acme");
    let org_id = s(&org["organization"]["id"]);
    let owner_id = s(&org["owner"]["id"]);
    let row = c
        .query_one(
            r#"SELECT m."userId", m.role::text, o."ownerId", o."updatedAt" IS NOT NULL,
                      o."createdAt" > (now() AT TIME ZONE 'UTC') - interval '1 minute'
               FROM "Organization" o JOIN "OrganizationMember" m ON m."organizationId" = o.id WHERE o.id = $1"#,
            &[&org_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), owner_id);
    assert_eq!(row.get::<_, String>(1), "OWNER");
    assert_eq!(row.get::<_, String>(2), owner_id);
    assert!(
        row.get::<_, bool>(3) && row.get::<_, bool>(4),
        "timestamps are set, in UTC"
    );

    // Team, whose OWNER member is the organization's owner.
    let team = carcosa(&db).ok(&["team", "create", "--org", org_id, "--name", "Web", "--slug", "web"]);
    assert_eq!(team["team"]["organizationSlug"], "acme");
    let team_id = s(&team["team"]["id"]);
    let role: String = c
        .query_one(
            r#"SELECT role::text FROM "TeamMember" WHERE "teamId" = $1 AND "userId" = $2"#,
            &[&team_id, &owner_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "OWNER");

    // Bucket, credentials from the environment, stored encrypted.
    let bucket = carcosa(&db)
        .env("CARCOSA_BUCKET_ACCESS_KEY_ID", ACCESS_KEY)
        .env("CARCOSA_BUCKET_SECRET_ACCESS_KEY", SECRET_KEY)
        .ok(&[
            "bucket",
            "create",
            "--team",
            team_id,
            "--name",
            "Uploads",
            "--provider",
            "s3",
            "--bucket-name",
            "acme-uploads",
            "--region",
            "eu-west-1",
            "--endpoint",
            "http://127.0.0.1:9000/",
        ]);
    let b = &bucket["bucket"];
    assert_eq!(b["bucketName"], "acme-uploads");
    assert_eq!(b["endpoint"], "http://127.0.0.1:9000", "trailing slash dropped");
    assert_eq!(b["status"], "pending");
    assert_eq!(b["ownerTeamId"], team_id);
    let bucket_text = bucket.to_string();
    assert!(!bucket_text.contains(ACCESS_KEY) && !bucket_text.contains(SECRET_KEY) && !bucket_text.contains("v1:"));
    let bucket_id = s(&b["id"]);
    let row = c
        .query_one(
            r#"SELECT "encryptedAccessKey", "encryptedSecretKey", "updatedAt" IS NOT NULL FROM "Bucket" WHERE id = $1"#,
            &[&bucket_id],
        )
        .await
        .unwrap();
    let (enc_access, enc_secret): (String, String) = (row.get(0), row.get(1));
    for (stored, plain) in [(&enc_access, ACCESS_KEY), (&enc_secret, SECRET_KEY)] {
        assert!(stored.starts_with("v1:"), "{stored}");
        assert!(!stored.contains(plain));
        assert_eq!(vault().decrypt(stored).unwrap().as_str(), plain);
    }
    assert_ne!(enc_access, enc_secret);
    assert!(row.get::<_, bool>(2));

    // A multi-tenant project (owner: the organization's owner) with its active version v1.
    let project = carcosa(&db).ok(&[
        "project",
        "create",
        "--team",
        team_id,
        "--bucket",
        bucket_id,
        "--name",
        "Site",
        "--slug",
        "site",
        "--multi-tenant",
    ]);
    let p = &project["project"];
    assert_eq!(
        (p["slug"].clone(), p["multiTenant"].clone(), p["ownerId"].clone()),
        (json!("site"), json!(true), json!(owner_id))
    );
    let project_id = s(&p["id"]);
    let versions = c
        .query(
            r#"SELECT "versionName", "isActive" FROM "Version" WHERE "projectId" = $1"#,
            &[&project_id],
        )
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (versions[0].get::<_, String>(0), versions[0].get::<_, bool>(1)),
        ("v1".to_owned(), true)
    );

    // A tenant.
    let tenant = carcosa(&db).ok(&[
        "tenant",
        "create",
        "--project",
        project_id,
        "--slug",
        "blue",
        "--metadata",
        r#"{"plan":"pro"}"#,
    ]);
    assert_eq!(tenant["tenant"]["slug"], "blue");
    assert_eq!(tenant["tenant"]["metadata"], json!({ "plan": "pro" }));

    // A key with explicit permissions and an expiry.
    let before = now_ms();
    let created = carcosa(&db).ok(&[
        "key",
        "create",
        "--project",
        project_id,
        "--label",
        "ci",
        "--permission",
        "files:read",
        "--permission",
        "uploads:*",
        "--permission",
        "files:read",
        "--expires-in-days",
        "7",
    ]);
    let raw = s(&created["apiKey"]).to_owned();
    assert!(raw.starts_with("carc_") && raw.len() == 48, "{raw}");
    assert!(
        raw[5..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{raw}"
    );
    let key_id = s(&created["key"]["id"]).to_owned();
    assert_eq!(created["key"]["permissions"], json!(["files:read", "uploads:*"]));
    assert_eq!(created["key"]["status"], "active");
    let row = c
        .query_one(
            r#"SELECT "keyHash", permissions, label, (EXTRACT(EPOCH FROM "expiresAt") * 1000)::int8, "revokedAt" IS NULL
               FROM "ApiKey" WHERE id = $1"#,
            &[&key_id],
        )
        .await
        .unwrap();
    let hash: String = row.get(0);
    assert_eq!(hash, sha256_hex(&raw));
    assert!(!created.to_string().contains(&hash), "the hash is never printed");
    assert_eq!(row.get::<_, Value>(1), json!(["files:read", "uploads:*"]));
    assert_eq!(row.get::<_, Option<String>>(2).as_deref(), Some("ci"));
    let expires: i64 = row.get(3);
    let week = 7 * 86_400_000;
    assert!(
        (before + week..=now_ms() + week).contains(&expires),
        "expires {expires}"
    );
    assert!(row.get::<_, bool>(4));

    // A key with the default group (STANDARD), which the edge accepts for uploads into a tenant.
    let standard = carcosa(&db).ok(&["key", "create", "--project", project_id]);
    let standard_raw = s(&standard["apiKey"]).to_owned();
    assert_eq!(standard["key"]["permissions"].as_array().unwrap().len(), 9);
    assert_ne!(standard_raw, raw);
    let scope = resolve_scope(c, KeyRef::Hash(&sha256_hex(&standard_raw)), Some("blue"))
        .await
        .unwrap()
        .expect("edge finds the key");
    let allowed = authorize(&scope, Operation::Upload, Some("blue"), now_ms()).expect("upload allowed");
    assert_eq!(allowed.prefix.as_str(), "acme/web/site/tenants/blue");
    assert_eq!(allowed.bucket.id, bucket_id);

    // Listing shows both keys, never a hash.
    let list = carcosa(&db).ok(&["key", "list", "--project", project_id]);
    let keys = list["apiKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["id"], json!(key_id));
    assert_eq!(keys[0]["label"], "ci");
    let list_text = list.to_string();
    assert!(!list_text.contains(&hash) && !list_text.contains(&sha256_hex(&standard_raw)));
    assert!(!list_text.contains("keyHash") && !list_text.contains("carc_"));
    let human = carcosa(&db).output(&["key", "list", "--project", project_id]);
    assert_eq!(human.code, Some(0));
    assert!(
        human.stdout.contains(&key_id) && !human.stdout.contains(&hash),
        "{}",
        human.stdout
    );

    // Revoking sets revokedAt once; revoking again is harmless and keeps it.
    let revoked = carcosa(&db).ok(&["key", "revoke", "--id", s(&standard["key"]["id"])]);
    assert_eq!(revoked["alreadyRevoked"], false);
    assert_eq!(revoked["key"]["status"], "revoked");
    let revoked_at = revoked["key"]["revokedAt"].clone();
    assert!(revoked_at.is_string());
    let again = carcosa(&db).ok(&["key", "revoke", "--id", s(&standard["key"]["id"])]);
    assert_eq!(again["alreadyRevoked"], true);
    assert_eq!(again["key"]["revokedAt"], revoked_at);
    assert!(
        resolve_scope(c, KeyRef::Hash(&sha256_hex(&standard_raw)), None)
            .await
            .unwrap()
            .is_none(),
        "the edge refuses it"
    );
    let list = carcosa(&db).ok(&["key", "list", "--project", project_id]);
    assert_eq!(list["apiKeys"][1]["status"], "revoked");
    assert_eq!(list["apiKeys"][0]["status"], "active");
}

#[tokio::test]
async fn buckets_are_shared_and_unshared() {
    let db = pg::fresh_db().await;
    let (org_id, owner_team, bucket_id) = org_team_bucket(&db, "acme");
    let other = carcosa(&db).ok(&["team", "create", "--org", &org_id, "--name", "Data", "--slug", "data"]);
    let other_team = s(&other["team"]["id"]).to_owned();
    let project_args = [
        "project",
        "create",
        "--team",
        &other_team,
        "--bucket",
        &bucket_id,
        "--name",
        "Lake",
        "--slug",
        "lake",
    ];

    // Without a share the other team cannot put a project on the bucket.
    let err = carcosa(&db).fails(&project_args);
    assert!(
        err.contains("neither owns bucket") && err.contains("READ_WRITE"),
        "{err}"
    );

    let share = carcosa(&db).ok(&[
        "bucket",
        "share",
        "--bucket",
        &bucket_id,
        "--team",
        &other_team,
        "--level",
        "READ_ONLY",
    ]);
    assert_eq!(share["created"], true);
    assert_eq!(share["share"]["accessLevel"], "READ_ONLY");
    let err = carcosa(&db).fails(&project_args);
    assert!(err.contains("neither owns bucket"), "read-only is not enough: {err}");

    // Sharing again changes the level of the one share (levels are case-insensitive).
    let share = carcosa(&db).ok(&[
        "bucket",
        "share",
        "--bucket",
        &bucket_id,
        "--team",
        &other_team,
        "--level",
        "read_write",
    ]);
    assert_eq!(share["created"], false);
    assert_eq!(share["share"]["accessLevel"], "READ_WRITE");
    let levels: Vec<String> = db
        .client
        .query(
            r#"SELECT "accessLevel" FROM "BucketTeamAccess" WHERE "bucketId" = $1"#,
            &[&bucket_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(levels, ["READ_WRITE"]);
    let project = carcosa(&db).ok(&project_args);
    assert_eq!(project["project"]["teamId"], json!(other_team));

    // The owner team has nothing to be shared; unknown teams and levels are refused.
    let err = carcosa(&db).fails(&[
        "bucket",
        "share",
        "--bucket",
        &bucket_id,
        "--team",
        &owner_team,
        "--level",
        "ADMIN",
    ]);
    assert!(err.contains("owns bucket"), "{err}");
    let err = carcosa(&db).fails(&[
        "bucket",
        "share",
        "--bucket",
        &bucket_id,
        "--team",
        "cnosuchteam",
        "--level",
        "ADMIN",
    ]);
    assert!(err.contains("no team with id 'cnosuchteam'"), "{err}");
    let err = carcosa(&db).fails(&[
        "bucket",
        "share",
        "--bucket",
        "cnosuchbucket",
        "--team",
        &other_team,
        "--level",
        "ADMIN",
    ]);
    assert!(err.contains("no bucket with id 'cnosuchbucket'"), "{err}");
    let err = carcosa(&db).fails_with(
        2,
        &[
            "bucket",
            "share",
            "--bucket",
            &bucket_id,
            "--team",
            &other_team,
            "--level",
            "OWNER",
        ],
    );
    assert!(err.contains("OWNER") && err.contains("READ_ONLY"), "{err}");

    // Unsharing removes the row; a second unshare finds nothing and changes nothing.
    let removed = carcosa(&db).ok(&["bucket", "unshare", "--bucket", &bucket_id, "--team", &other_team]);
    assert_eq!(removed["removed"], true);
    let removed = carcosa(&db).ok(&["bucket", "unshare", "--bucket", &bucket_id, "--team", &other_team]);
    assert_eq!(removed["removed"], false);
    let count: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "BucketTeamAccess""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

#[tokio::test]
async fn demo_is_idempotent_except_for_its_new_key() {
    let db = pg::empty_db().await;
    let demo = |secret: &str| {
        carcosa(&db).ok(&[
            "demo",
            "--endpoint",
            "http://127.0.0.1:9100",
            "--bucket-name",
            "carcosa-demo",
            "--access-key-id",
            ACCESS_KEY,
            "--secret-access-key",
            secret,
        ])
    };
    let first = demo(SECRET_KEY);
    assert_eq!(
        first["migrations"]["applied"].as_array().unwrap().len(),
        MIGRATIONS.len()
    );
    for part in ["organization", "team", "bucket", "project"] {
        assert_eq!(first[part]["created"], true, "{part}");
    }
    assert_eq!(first["organization"]["slug"], "demo");
    assert_eq!(first["team"]["slug"], "default");
    assert_eq!(first["project"]["slug"], "demo");
    assert_eq!(first["bucket"]["endpoint"], "http://127.0.0.1:9100");

    let second = demo("rotated-secret");
    assert_eq!(second["migrations"]["applied"], json!([]));
    for part in ["organization", "team", "bucket", "project"] {
        assert_eq!(second[part]["id"], first[part]["id"], "{part}");
        assert_eq!(second[part]["created"], false, "{part}");
    }
    let (key1, key2) = (s(&first["apiKey"]), s(&second["apiKey"]));
    assert_ne!(key1, key2);

    let c = &db.client;
    for table in ["Organization", "Team", "Bucket", "Project", "User"] {
        let n: i64 = c
            .query_one(&format!(r#"SELECT count(*) FROM "{table}""#), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{table}");
    }
    let project_id = s(&first["project"]["id"]);
    let keys = c
        .query(
            r#"SELECT "keyHash", permissions, "revokedAt" IS NULL FROM "ApiKey" WHERE "projectId" = $1 ORDER BY "createdAt""#,
            &[&project_id],
        )
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    let hashes: Vec<String> = keys.iter().map(|r| r.get(0)).collect();
    assert_eq!(hashes, [sha256_hex(key1), sha256_hex(key2)]);
    for k in &keys {
        assert_eq!(k.get::<_, Value>(1).as_array().unwrap().len(), 9, "STANDARD");
        assert!(k.get::<_, bool>(2), "earlier keys stay live");
    }

    // The second run re-encrypted the new secret; the edge resolves either key to the demo scope.
    let stored: String = c
        .query_one(r#"SELECT "encryptedSecretKey" FROM "Bucket""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(vault().decrypt(&stored).unwrap().as_str(), "rotated-secret");
    for key in [key1, key2] {
        let scope = resolve_scope(c, KeyRef::Hash(&sha256_hex(key)), None)
            .await
            .unwrap()
            .unwrap();
        let allowed = authorize(&scope, Operation::Upload, None, now_ms()).unwrap();
        assert_eq!(allowed.prefix.as_str(), "demo/default/demo");
        assert_eq!(allowed.bucket.endpoint.as_deref(), Some("http://127.0.0.1:9100"));
    }
}

#[tokio::test]
async fn migrate_applies_reports_and_lists() {
    let db = pg::empty_db().await;
    let status = carcosa(&db).ok(&["migrate", "--status"]);
    assert_eq!(status["pending"], MIGRATIONS.len());

    let first = carcosa(&db).ok(&["migrate"]);
    assert_eq!(first["applied"].as_array().unwrap().len(), MIGRATIONS.len());
    assert_eq!(first["applied"][0], json!({ "version": 1, "name": MIGRATIONS[0].name }));
    assert_eq!(
        (first["upToDate"].clone(), first["adopted"].clone()),
        (json!(false), json!(false))
    );

    let second = carcosa(&db).ok(&["migrate"]);
    assert_eq!(second["upToDate"], true);
    assert_eq!(second["alreadyApplied"], MIGRATIONS.len());
    let human = carcosa(&db).output(&["migrate"]);
    assert_eq!(human.code, Some(0));
    assert!(human.stdout.contains("up to date"), "{}", human.stdout);

    let status = carcosa(&db).ok(&["migrate", "--status"]);
    assert_eq!(status["pending"], 0);
    for m in status["migrations"].as_array().unwrap() {
        assert_eq!(m["applied"], true);
        assert!(s(&m["appliedAt"]).ends_with('Z'), "{m}");
    }
}

/// The live-migration limits are flags: a step that cannot get its lock within
/// `--lock-timeout-ms` gives way, and after `--max-attempts` tries the run stops, saying which
/// migration and why and that a new run resumes; the API's transaction is untouched, and the next
/// run finishes. Zero
/// (which PostgreSQL reads as "wait forever") is refused.
#[tokio::test]
async fn migrate_takes_its_lock_limits_from_flags() {
    let db = pg::fresh_db().await;
    // Migration 2 not yet applied, as on a database migrated by an older release.
    db.client
        .batch_execute(
            r#"ALTER TABLE "ApiKey" DROP COLUMN "expiresAt";
               DELETE FROM "_carcosa_edge_migrations" WHERE "version" >= 2"#,
        )
        .await
        .unwrap();
    // An API transaction holding a lock on "ApiKey" that adding the column needs.
    let writer = db.connect().await;
    writer
        .batch_execute(r#"BEGIN; UPDATE "ApiKey" SET "lastUsedAt" = now() WHERE "id" = 'none'"#)
        .await
        .unwrap();
    let err = carcosa(&db).fails(&["migrate", "--lock-timeout-ms", "50", "--max-attempts", "2"]);
    assert!(err.contains("running migrate again resumes"), "{err}");
    assert!(err.contains("migration 3 (edge_columns) failed"), "{err}");
    assert!(err.contains("lock timeout"), "{err}");
    writer.batch_execute("COMMIT").await.unwrap();

    let done = carcosa(&db).ok(&[
        "migrate",
        "--lock-timeout-ms",
        "2000",
        "--statement-timeout-ms",
        "60000",
    ]);
    // Migration 2 (concurrent index builds) needed no such lock and was applied by the first run.
    let versions: Vec<i64> = done["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        versions,
        (3..=i64::try_from(MIGRATIONS.len()).unwrap()).collect::<Vec<_>>()
    );
    assert_eq!(carcosa(&db).ok(&["migrate", "--status"])["pending"], 0);

    for (flag, value) in [
        ("--lock-timeout-ms", "0"),
        ("--statement-timeout-ms", "0"),
        ("--max-attempts", "0"),
        ("--lock-timeout-ms", "2147483648"),
    ] {
        let err = carcosa(&db).fails_with(2, &["migrate", flag, value]);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}

#[tokio::test]
async fn keygen_prints_a_fresh_usable_key() {
    let a = run_with(None).ok(&["keygen"]);
    let b = run_with(None).ok(&["keygen"]);
    let (a, b) = (s(&a["credentialsEncryptionKey"]), s(&b["credentialsEncryptionKey"]));
    assert_ne!(a, b);
    let key = VaultKey::parse(a).expect("keygen output parses as a vault key");
    assert_eq!(key.decrypt(&key.encrypt("x", [1; 24])).unwrap().as_str(), "x");
}

#[tokio::test]
async fn text_output_shows_a_new_key_exactly_once() {
    let db = pg::fresh_db().await;
    let (_, team_id, bucket_id) = org_team_bucket(&db, "acme");
    let project = carcosa(&db).ok(&[
        "project", "create", "--team", &team_id, "--bucket", &bucket_id, "--name", "S", "--slug", "s",
    ]);
    let out = carcosa(&db).output(&[
        "key",
        "create",
        "--project",
        s(&project["project"]["id"]),
        "--group",
        "read_only",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.matches("carc_").count(), 1, "{}", out.stdout);
    let raw = out.stdout.split_whitespace().find(|w| w.starts_with("carc_")).unwrap();
    let permissions: Value = db
        .client
        .query_one(
            r#"SELECT permissions FROM "ApiKey" WHERE "keyHash" = $1"#,
            &[&sha256_hex(raw)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(permissions.as_array().unwrap().len(), 5, "READ_ONLY");
    assert!(out.stdout.contains("only time"), "{}", out.stdout);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message() {
    let db = pg::fresh_db().await;
    let (org_id, team_id, bucket_id) = org_team_bucket(&db, "acme");
    let project = carcosa(&db).ok(&[
        "project", "create", "--team", &team_id, "--bucket", &bucket_id, "--name", "Site", "--slug", "site",
    ]);
    let project_id = s(&project["project"]["id"]).to_owned();
    let key = |extra: &[&'static str]| {
        let mut args = vec!["key", "create", "--project", project_id.as_str()];
        args.extend_from_slice(extra);
        args
    };

    // Permissions and groups.
    let err = carcosa(&db).fails_with(2, &key(&["--group", "EVERYTHING"]));
    assert!(err.contains("EVERYTHING") && err.contains("STANDARD"), "{err}");
    let err = carcosa(&db).fails(&key(&["--permission", "files:reed"]));
    assert!(err.contains("invalid permission 'files:reed'"), "{err}");
    let err = carcosa(&db).fails(&key(&["--permission", "*", "--permission", "files:read"]));
    assert!(err.contains("'*'") && err.contains("alone"), "{err}");
    let err = carcosa(&db).fails_with(2, &key(&["--permission", "files:read", "--group", "FULL"]));
    assert!(err.contains("--group"), "{err}");
    let err = carcosa(&db).fails_with(2, &key(&["--expires-in-days", "0"]));
    assert!(err.contains("--expires-in-days"), "{err}");
    let err = carcosa(&db).fails(&["key", "create", "--project", "cnosuchproject"]);
    assert!(err.contains("no project with id 'cnosuchproject'"), "{err}");
    let err = carcosa(&db).fails(&["key", "revoke", "--id", "cnosuchkey"]);
    assert!(err.contains("no API key with id 'cnosuchkey'"), "{err}");
    let err = carcosa(&db).fails(&["key", "list", "--project", "no such project"]);
    assert!(err.contains("not a valid project id"), "{err}");
    let keys: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "ApiKey""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 0, "no key was stored by a refused command");

    // The encryption key: missing, or not 32 bytes.
    let bucket = |name: &str| {
        [
            "bucket",
            "create",
            "--team",
            team_id.as_str(),
            "--name",
            name,
            "--provider",
            "s3",
            "--bucket-name",
            name,
            "--access-key-id",
            ACCESS_KEY,
            "--secret-access-key",
            SECRET_KEY,
        ]
        .map(str::to_owned)
    };
    let args = bucket("second");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = carcosa(&db).env_remove("CREDENTIALS_ENCRYPTION_KEY").fails(&args);
    assert!(
        err.contains("CREDENTIALS_ENCRYPTION_KEY is not set") && err.contains("keygen"),
        "{err}"
    );
    let err = carcosa(&db)
        .env("CREDENTIALS_ENCRYPTION_KEY", "base64:dGVzdGtleQ==")
        .fails(&args);
    assert!(
        err.contains("CREDENTIALS_ENCRYPTION_KEY is invalid") && err.contains("32 bytes"),
        "{err}"
    );
    let err = carcosa(&db).env_remove("CREDENTIALS_ENCRYPTION_KEY").fails(&[
        "demo",
        "--endpoint",
        "http://127.0.0.1:9",
        "--bucket-name",
        "b",
        "--access-key-id",
        "a",
        "--secret-access-key",
        "s",
    ]);
    assert!(err.contains("CREDENTIALS_ENCRYPTION_KEY is not set"), "{err}");
    let err = carcosa(&db).fails(&[&args[..], &["--endpoint", "ftp://127.0.0.1:9000"]].concat());
    assert!(err.contains("could not sign") && err.contains("scheme"), "{err}");
    let err = carcosa(&db).fails(
        &[
            &args[..4],
            &["--name", "r", "--provider", "r2", "--bucket-name", "r"],
            &args[10..],
        ]
        .concat(),
    );
    assert!(err.contains("endpoint"), "{err}");
    let buckets: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "Bucket""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(buckets, 1);

    // Duplicates are named, and a refused organization leaves no new owner behind.
    let users_before: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "User""#, &[])
        .await
        .unwrap()
        .get(0);
    let err = carcosa(&db).fails(&[
        "org",
        "create",
        "--name",
        "Again",
        "--slug",
        "acme",
        "--owner-email",
        "new@x.test",
    ]);
    assert!(err.contains("an organization with slug 'acme' already exists"), "{err}");
    assert!(!err.contains("SQLSTATE") && !err.contains("duplicate key"), "{err}");
    let users_after: i64 = db
        .client
        .query_one(r#"SELECT count(*) FROM "User""#, &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(users_after, users_before);
    let err = carcosa(&db).fails(&["team", "create", "--org", &org_id, "--name", "Web", "--slug", "web"]);
    assert!(err.contains("already has a team with slug 'web'"), "{err}");
    let err = carcosa(&db).fails(&[
        "project", "create", "--team", &team_id, "--bucket", &bucket_id, "--name", "X", "--slug", "site",
    ]);
    assert!(err.contains("a project with slug 'site' already exists"), "{err}");
    let dup = bucket("uploads");
    let dup: Vec<&str> = dup.iter().map(String::as_str).collect();
    let err = carcosa(&db).fails(&dup);
    assert!(err.contains("already has an s3 bucket named 'uploads'"), "{err}");

    // Slugs, ids, tenants.
    let err = carcosa(&db).fails(&["org", "create", "--name", "Big", "--slug", "Big Corp"]);
    assert!(err.contains("invalid organization slug 'Big Corp'"), "{err}");
    let err = carcosa(&db).fails(&["team", "create", "--org", "cnosuchorg", "--name", "T", "--slug", "t"]);
    assert!(err.contains("no organization with id 'cnosuchorg'"), "{err}");
    let err = carcosa(&db).fails(&["tenant", "create", "--project", &project_id, "--slug", "blue"]);
    assert!(err.contains("not multi-tenant"), "{err}");

    // Errors as JSON on stderr with --json, nothing on stdout.
    let out = carcosa(&db).output(&["--json", "key", "revoke", "--id", "cnosuchkey"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty());
    let err: Value = serde_json::from_str(&out.stderr).expect("JSON error");
    assert_eq!(err["error"], "no API key with id 'cnosuchkey'");

    // No database, or one that cannot be reached: the password is never echoed.
    let err = run_with(None).fails(&["key", "list", "--project", &project_id]);
    assert!(
        err.contains("no database given") && err.contains("DATABASE_URL"),
        "{err}"
    );
    let err = run_with(Some("postgres://carcosa:hunter2secret@127.0.0.1:1/carcosa")).fails(&["migrate"]);
    assert!(err.contains("could not connect to the database"), "{err}");
    assert!(!err.contains("hunter2secret"), "{err}");
}
