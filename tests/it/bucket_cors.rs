//! `carcosa-edge bucket cors`, run as a process against a fresh database and two S3-compatible
//! servers that both check SigV4 signatures:
//!
//! - s3s-fs 0.14, the suite's server, parses the `CORSConfiguration` body but does not keep CORS
//!   rules: it answers a well-signed, well-formed `PutBucketCors` with `501 NotImplemented` (where
//!   a bad signature gets 403 and a bad body 400), so refusals reach the operator with the
//!   server's code.
//! - `@20minutes/s3rver` 4.0.4 (`tests/s3rver.cjs`, started per test on a free port) keeps the
//!   rules, answers `GetBucketCors` with them and applies them to preflights and cross-origin
//!   requests: the success path. It checks the signature of every signed request (a wrong secret
//!   is refused), but, unlike S3, lets an unsigned request through as anonymous.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use carcosa_edge::sigv4::{
    Bucket, CreateBucket, Credentials, Expiry, GetBucketCors, Presign as _, PutObject, SigningTime, UrlStyle,
};
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
    provision(db_url, &server.endpoint, &name, access, secret)
}

/// An organisation, a team and its bucket `name` at `endpoint` with the stored credentials
/// `access`/`secret`; returns the bucket id.
fn provision(db_url: &str, endpoint: &str, name: &str, access: &str, secret: &str) -> String {
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
            name,
            "--endpoint",
            endpoint,
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

/// A `@20minutes/s3rver` process (`tests/s3rver.cjs`) on a free port with its own key pair and
/// data folder; stopped (and its folder removed) on drop. It also exits when the test process
/// goes away, since its standard input closes.
struct CorsStore {
    child: Child,
    dir: PathBuf,
    endpoint: String,
    access_key: String,
    secret_key: String,
}

impl CorsStore {
    fn start() -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let suffix = hex::encode(s3::rand_bytes());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("s3rver-{suffix}"));
        let access_key = "carcosa-cors".to_owned();
        let secret_key = format!("carcosa-cors-secret-{suffix}");
        let node = format!("{root}/node_modules/.bin/node");
        let mut child = Command::new(&node)
            .arg(format!("{root}/tests/s3rver.cjs"))
            .arg(&dir)
            .arg("0")
            .args([&access_key, &secret_key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {node} ({e}): run `bash scripts/lib.sh ensure_toolchain`"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("s3rver did not start (printed {line:?}); is @20minutes/s3rver in node_modules?"))
            .to_owned();
        Self {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key,
            secret_key,
        }
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(&self.endpoint, UrlStyle::Path, name, "us-east-1").unwrap()
    }

    fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key.clone(), self.secret_key.clone())
    }

    /// Creates a bucket with a random name (our own signed `CreateBucket`); returns the name.
    async fn new_bucket(&self) -> String {
        let name = format!("cors-{}", hex::encode(s3::rand_bytes()));
        let url = CreateBucket::new(&self.bucket(&name), &self.credentials())
            .presign_uncached(now(), expiry())
            .unwrap()
            .url;
        let resp = reqwest::Client::new().put(&url).send().await.unwrap();
        let status = resp.status();
        assert_eq!(status, 200, "CreateBucket {name}: {}", resp.text().await.unwrap());
        name
    }

    /// `GetBucketCors`, signed: status and body.
    async fn get_cors(&self, name: &str) -> (u16, String) {
        let url = GetBucketCors::new(&self.bucket(name), &self.credentials())
            .presign_uncached(now(), expiry())
            .unwrap()
            .url;
        let resp = reqwest::get(&url).await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

impl Drop for CorsStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now() -> SigningTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SigningTime::from_unix(i64::try_from(secs).unwrap()).unwrap()
}

fn expiry() -> Expiry {
    Expiry::from_secs(300).unwrap()
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get(name).map(|v| v.to_str().unwrap().to_owned())
}

const PAGE: &str = "https://app.example.com";
const OTHER_PAGE: &str = "https://elsewhere.example.net";

#[tokio::test]
async fn rules_are_kept_and_applied_by_a_store_that_implements_cors() {
    let db = pg::fresh_db().await;
    let store = CorsStore::start();
    let name = store.new_bucket().await;
    let id = provision(&db.url, &store.endpoint, &name, &store.access_key, &store.secret_key);

    // A first set of rules, then the real one: PutBucketCors replaces, it does not add.
    let first = ok(
        &db.url,
        &["bucket", "cors", "--bucket", &id, "--origin", "https://old.example.org"],
    );
    assert_eq!(first["applied"], true);
    assert_eq!(first["bucketName"], name.as_str());
    assert_eq!(
        first["rules"][0]["allowedOrigins"],
        serde_json::json!(["https://old.example.org"])
    );
    assert_eq!(
        first["rules"][0]["allowedMethods"],
        serde_json::json!(["GET", "PUT", "POST", "DELETE", "HEAD"])
    );
    assert_eq!(
        first["rules"][0]["exposeHeaders"],
        serde_json::json!(["ETag", "Location"])
    );

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
            PAGE,
            "--max-age-secs",
            "600",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for line in [
        format!("CORS rules applied to bucket {name} ({id}):"),
        format!("  origins:  http://127.0.0.1:9243, {PAGE}"),
        "  methods:  GET, PUT, POST, DELETE, HEAD".to_owned(),
        "  headers:  *".to_owned(),
        "  exposed:  ETag, Location".to_owned(),
        "  max age:  600 s".to_owned(),
    ] {
        assert!(out.stdout.lines().any(|l| l == line), "{line:?} in {}", out.stdout);
    }
    assert!(!out.stdout.contains(&store.secret_key) && !out.stderr.contains(&store.secret_key));

    // The store keeps exactly what was printed.
    let (status, xml) = store.get_cors(&name).await;
    assert_eq!(status, 200, "{xml}");
    for element in [
        "<AllowedOrigin>http://127.0.0.1:9243</AllowedOrigin>",
        "<AllowedOrigin>https://app.example.com</AllowedOrigin>",
        "<AllowedMethod>PUT</AllowedMethod>",
        "<AllowedMethod>POST</AllowedMethod>",
        "<AllowedMethod>GET</AllowedMethod>",
        "<AllowedMethod>DELETE</AllowedMethod>",
        "<AllowedMethod>HEAD</AllowedMethod>",
        "<AllowedHeader>*</AllowedHeader>",
        "<ExposeHeader>ETag</ExposeHeader>",
        "<ExposeHeader>Location</ExposeHeader>",
        "<MaxAgeSeconds>600</MaxAgeSeconds>",
    ] {
        assert!(xml.contains(element), "{element} in {xml}");
    }
    assert!(!xml.contains("old.example.org"), "replaced, not added: {xml}");

    // A browser's preflight for a presigned PUT, from the page and from elsewhere.
    let http = reqwest::Client::new();
    let object_url = format!("{}/{name}/uploads/a.txt", store.endpoint);
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &object_url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight(PAGE).await.unwrap();
    assert_eq!(allowed.status(), 200);
    let methods = header(&allowed, "access-control-allow-methods").unwrap_or_default();
    for method in ["GET", "PUT", "POST", "DELETE", "HEAD"] {
        assert!(methods.split(", ").any(|m| m == method), "{method} in {methods:?}");
    }
    assert!(header(&allowed, "access-control-allow-origin").is_some());
    assert_eq!(
        header(&allowed, "access-control-allow-headers").as_deref(),
        Some("content-type")
    );
    let refused = preflight(OTHER_PAGE).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    assert_eq!(header(&refused, "access-control-allow-methods"), None);

    // The upload itself: the page may read its ETag and Location; another page may read nothing.
    let creds = store.credentials();
    let bucket = store.bucket(&name);
    let put = |origin: &'static str, key: &'static str| {
        let url = PutObject::new(&bucket, &creds, key)
            .presign_uncached(now(), expiry())
            .unwrap()
            .url;
        http.put(url).header("origin", origin).body("hello").send()
    };
    let uploaded = put(PAGE, "uploads/a.txt").await.unwrap();
    assert_eq!(uploaded.status(), 200);
    assert!(header(&uploaded, "etag").is_some());
    assert_eq!(header(&uploaded, "access-control-allow-origin").as_deref(), Some(PAGE));
    assert_eq!(
        header(&uploaded, "access-control-expose-headers").as_deref(),
        Some("ETag, Location")
    );
    let elsewhere = put(OTHER_PAGE, "uploads/b.txt").await.unwrap();
    assert_eq!(elsewhere.status(), 200, "CORS is the browser's check, not the store's");
    assert_eq!(header(&elsewhere, "access-control-allow-origin"), None);
    assert_eq!(header(&elsewhere, "access-control-expose-headers"), None);
}

#[tokio::test]
async fn a_store_that_implements_cors_refuses_a_wrong_secret() {
    let db = pg::fresh_db().await;
    let store = CorsStore::start();
    let name = store.new_bucket().await;
    let id = provision(&db.url, &store.endpoint, &name, &store.access_key, "not-the-secret");

    let out = run(&db.url, &["bucket", "cors", "--bucket", &id, "--origin", PAGE]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("403 SignatureDoesNotMatch"), "{}", out.stderr);
    assert!(!out.stderr.contains("not-the-secret"), "no secret in errors");
    let (status, xml) = store.get_cors(&name).await;
    assert_eq!(status, 404, "nothing was applied: {xml}");
    assert!(xml.contains("NoSuchCORSConfiguration"), "{xml}");
}
