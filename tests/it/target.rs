//! Where scenario tests send their requests: the API in-process over a native [`Runtime`]
//! (real PostgreSQL, real S3 server), or the real wasm Worker under `wrangler dev`. Scenarios are
//! written once against [`Target`] and run against both.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use carcosa_edge::api;
use carcosa_edge::rate_limit::{self, FixedWindow};
use carcosa_edge::runtime::{
    log_line, AllowedOrigins, Config, FetchError, IsolateState, Level, LimitOutcome, OutboundRequest, OutboundResponse,
    Runtime,
};
use carcosa_edge::store::StoreError;
use carcosa_edge::upload_token::TokenSecret;
use carcosa_edge::vault::VaultKey;
use serde_json::Value;
use tokio_postgres::{Client, NoTls};

use crate::pg::{self, TestDb};
use crate::s3::{self, TestS3};

/// The key bucket credentials are encrypted with: `CREDENTIALS_ENCRYPTION_KEY` (which the Worker
/// under test must share), or a fixed one for in-process runs.
pub fn vault_key_text() -> String {
    std::env::var("CREDENTIALS_ENCRYPTION_KEY")
        .ok()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "base64:Y2FyY29zYS1lZGdlLXRlc3QtdmF1bHQta2V5LTAwMzI=".to_owned())
}

/// The configuration of in-process runs; the upload-token secret is `UPLOAD_TOKEN_SECRET` (which
/// the Worker under test shares) or a fixed one.
pub fn native_config() -> Config {
    let mut config = Config::new(VaultKey::parse(&vault_key_text()).unwrap());
    let secret = std::env::var("UPLOAD_TOKEN_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "carcosa-edge-tests-upload-token-secret".to_owned());
    config.upload_tokens = Some(TokenSecret::new(secret.as_bytes()).unwrap());
    // As wrangler.toml's ALLOWED_ORIGINS for the Worker under test.
    config.allowed_origins = AllowedOrigins::Any;
    config.scope_cache_ttl_secs = scope_ttl_secs();
    // In-process, each request awaits its deferred writes before the next is sent, so waiting
    // for company would only slow the tests down; the Worker under test keeps the default.
    config.write_batch_delay_ms = 0;
    config.max_object_key_bytes = max_key_bytes();
    config.max_upload_bytes = max_upload_bytes();
    config
}

/// The form-upload size limit of the runs: `MAX_UPLOAD_BYTES`, as `scripts/test` passes it to
/// `wrangler dev`, or 8 MiB (small enough to send one byte more in a test).
pub fn max_upload_bytes() -> u64 {
    std::env::var("MAX_UPLOAD_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8 * 1024 * 1024)
}

/// The longest object key the local S3 server stores (it keeps each key as one file name):
/// `MAX_OBJECT_KEY_BYTES`, as `scripts/test` passes it to `wrangler dev`, or 150.
pub fn max_key_bytes() -> usize {
    std::env::var("MAX_OBJECT_KEY_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

/// How long the Worker under test (and in-process runs) trust a resolved scope:
/// `SCOPE_CACHE_TTL_SECS`, as `scripts/test` passes it to `wrangler dev`, or 5 seconds.
pub fn scope_ttl_secs() -> u32 {
    std::env::var("SCOPE_CACHE_TTL_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// The revocation bound the tests hold the service to, counted to when a request is sent: the
/// scope TTL, plus a second for the way from the test to the Worker's check on a busy machine.
pub fn revocation_bound() -> Duration {
    Duration::from_secs(u64::from(scope_ttl_secs()) + 1)
}

/// Sends `request` every 100 ms, after a change in the database, until its answer `is_new`, and
/// returns that answer. Every earlier answer must be the old one (`is_old`), and only requests
/// *sent* within the revocation bound of the change may get it: the time a slow answer spends on
/// the way back is not the Worker remembering the old scope.
pub async fn answer_changes_within_bound<F, Fut>(
    mut request: F,
    is_old: impl Fn(&Resp) -> bool,
    is_new: impl Fn(&Resp) -> bool,
) -> Resp
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Resp>,
{
    let changed = std::time::Instant::now();
    loop {
        let sent = changed.elapsed();
        let r = request().await;
        if is_new(&r) {
            return r;
        }
        assert!(
            is_old(&r),
            "neither the old answer nor the new one: {} {}",
            r.status,
            r.body
        );
        assert!(
            sent <= revocation_bound(),
            "a request sent {sent:?} after the change still got the old answer {} (bound {:?})",
            r.status,
            revocation_bound()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An answer from the API.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// In-process runs: whether the handler used the database before answering.
    pub db_before_response: Option<bool>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `error` code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// A string field of the body.
    pub fn s(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field:?} in {}", self.body))
            .to_owned()
    }
}

enum Kind {
    // Boxed: a test database handle is much larger than a URL. The isolate state is shared by
    // the target's requests, as a Worker isolate shares it.
    Native {
        db: Box<TestDb>,
        isolate: Rc<IsolateState>,
        limiter: Rc<RefCell<FixedWindow>>,
    },
    Worker {
        base_url: String,
    },
}

/// A target plus a connection to the database it serves from.
pub struct Target {
    kind: Kind,
    /// The database the target reads (for provisioning and checks).
    pub db: Client,
    /// The S3 server.
    pub s3: TestS3,
    /// The credentials key.
    pub vault: VaultKey,
    http: reqwest::Client,
    /// In-process runs: every line the handlers logged, as the Worker writes them.
    pub logs: RefCell<Vec<String>>,
    /// The client address (`cf-connecting-ip`) of requests that do not send their own: one per
    /// target, so that each test is a client of its own to the per-address limits.
    pub client_ip: String,
}

impl Target {
    /// The API in-process, over a fresh database.
    pub async fn native() -> Self {
        let db = pg::fresh_db().await;
        let client = db.connect().await;
        let isolate = Rc::new(IsolateState::new(scope_ttl_secs()));
        Self::new(
            Kind::Native {
                db: Box::new(db),
                isolate,
                limiter: Rc::default(),
            },
            client,
        )
    }

    /// The wasm Worker under `wrangler dev` (`CARCOSA_TEST_WORKER_URL`), and the database it is
    /// bound to (`CARCOSA_TEST_WORKER_DATABASE_URL`).
    pub async fn worker() -> Self {
        let var = |name: &str| {
            std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
                panic!("{name} is not set: the Worker tests need `wrangler dev`; run them with `scripts/test`")
            })
        };
        let base_url = var("CARCOSA_TEST_WORKER_URL");
        let client = pg::connect(&var("CARCOSA_TEST_WORKER_DATABASE_URL")).await;
        Self::new(Kind::Worker { base_url }, client)
    }

    fn new(kind: Kind, db: Client) -> Self {
        let vault = VaultKey::parse(&vault_key_text()).unwrap();
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).unwrap();
        let client_ip = format!(
            "2001:db8:7e57:{:x}:{:x}::{:x}",
            u16::from_be_bytes([random[0], random[1]]),
            u16::from_be_bytes([random[2], random[3]]),
            u16::from_be_bytes([random[4], random[5]])
        );
        Self {
            kind,
            db,
            s3: s3::server(),
            vault,
            http: reqwest::Client::new(),
            logs: RefCell::default(),
            client_ip,
        }
    }

    /// In-process runs: the database URL their runtimes connect to; `None` for the Worker.
    pub fn native_db_url(&self) -> Option<&str> {
        match &self.kind {
            Kind::Native { db, .. } => Some(&db.url),
            Kind::Worker { .. } => None,
        }
    }

    /// The Worker's base URL, for requests `call` cannot make (raw chunked bodies); `None`
    /// in-process.
    pub fn worker_url(&self) -> Option<&str> {
        match &self.kind {
            Kind::Worker { base_url } => Some(base_url),
            Kind::Native { .. } => None,
        }
    }

    /// Sends a request. `body` is sent as is (JSON text, or anything else for error tests).
    pub async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
        self.call_raw(method, path, &headers, body.map(str::as_bytes))
            .await
            .unwrap_or_else(|| panic!("{method} {path}: not a valid HTTP request"))
    }

    /// Sends any bytes as header values and body; `None` when the HTTP client (or, in-process,
    /// the `http` crate) cannot express the request at all.
    pub async fn call_raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &[u8])],
        body: Option<&[u8]>,
    ) -> Option<Resp> {
        let mut headers = headers.to_vec();
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("cf-connecting-ip")) {
            headers.push(("cf-connecting-ip", self.client_ip.as_bytes()));
        }
        match &self.kind {
            Kind::Native { db, isolate, limiter } => {
                let mut req = http::Request::builder().method(method).uri(path);
                for (n, v) in &headers {
                    req = req.header(*n, http::HeaderValue::from_bytes(v).ok()?);
                }
                let req = req.body(Bytes::from(body.unwrap_or_default().to_vec())).ok()?;
                let mut rt = NativeRuntime::new(&db.url, native_config(), Rc::clone(isolate));
                rt.limiter = Rc::clone(limiter);
                // As the Worker does: cf-ray when present, else random.
                let mut random = [0u8; 8];
                getrandom::getrandom(&mut random).unwrap();
                rt.request_id = api::request_id(req.headers(), random);
                let handled = api::handle(&rt, req).await;
                let db_before_response = Some(rt.db.get().is_some());
                api::run_deferred(&rt, handled.deferred).await;
                self.logs.borrow_mut().extend(rt.logs.take());
                let (parts, bytes) = handled.response.into_parts();
                let headers = parts
                    .headers
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
                    .collect();
                Some(Resp {
                    status: parts.status.as_u16(),
                    headers,
                    body: parse_body(&bytes),
                    db_before_response,
                })
            }
            Kind::Worker { base_url } => {
                let method = reqwest::Method::from_bytes(method.as_bytes()).ok()?;
                let mut req = self.http.request(method, format!("{base_url}{path}"));
                for (n, v) in &headers {
                    req = req.header(*n, reqwest::header::HeaderValue::from_bytes(v).ok()?);
                }
                if let Some(body) = body {
                    req = req.body(body.to_vec());
                }
                let req = req.build().ok()?;
                let resp = self
                    .http
                    .execute(req)
                    .await
                    .unwrap_or_else(|e| panic!("the Worker is unreachable: {e}"));
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let bytes = resp.bytes().await.unwrap();
                Some(Resp {
                    status,
                    headers,
                    body: parse_body(&bytes),
                    db_before_response: None,
                })
            }
        }
    }

    /// `POST path` with a JSON body and an API key.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {key}");
        self.call(
            "POST",
            path,
            &[("authorization", &auth), ("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .await
    }
}

fn parse_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The native [`Runtime`]: tokio-postgres over TCP, reqwest for S3, the system clock. One per
/// request, as the Worker makes one per request.
pub struct NativeRuntime {
    db_url: String,
    config: Config,
    isolate: Rc<IsolateState>,
    db: OnceCell<Client>,
    http: reqwest::Client,
    /// This request's id (see `api::request_id`).
    pub request_id: String,
    /// Every line logged (structured, as the Worker writes them), to check that nothing secret is.
    pub logs: RefCell<Vec<String>>,
    /// Stands in for the platform's rate limiters (Cloudflare's, not PostgreSQL or S3): the
    /// limits `wrangler.toml` declares, counted in fixed windows as `wrangler dev` counts them.
    pub limiter: Rc<RefCell<FixedWindow>>,
}

impl NativeRuntime {
    pub fn new(db_url: &str, config: Config, isolate: Rc<IsolateState>) -> Self {
        Self {
            db_url: db_url.to_owned(),
            config,
            isolate,
            db: OnceCell::new(),
            http: reqwest::Client::new(),
            request_id: String::new(),
            logs: RefCell::default(),
            limiter: Rc::default(),
        }
    }
}

impl Runtime for NativeRuntime {
    fn now_ms(&self) -> i64 {
        i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn isolate(&self) -> &IsolateState {
        &self.isolate
    }

    async fn db(&self) -> Result<&Client, StoreError> {
        if let Some(client) = self.db.get() {
            return Ok(client);
        }
        let (client, connection) = tokio_postgres::connect(&self.db_url, NoTls).await?;
        tokio::spawn(connection);
        Ok(self.db.get_or_init(|| client))
    }

    async fn fetch(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError> {
        let mut req = self.http.request(request.method, &request.url);
        for (n, v) in &request.headers {
            req = req.header(n, v);
        }
        if !request.body.is_empty() {
            req = req.body(request.body);
        }
        let resp = req.send().await.map_err(|e| FetchError(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = resp.bytes().await.map_err(|e| FetchError(e.to_string()))?;
        Ok(OutboundResponse { status, headers, body })
    }

    async fn rate_limit(&self, binding: &'static str, key: &str) -> LimitOutcome {
        let Some(limit) = rate_limit::limit_of(binding) else {
            return LimitOutcome::Unavailable("no such binding".into());
        };
        if self.limiter.borrow_mut().hit(binding, key, limit, self.now_ms()) {
            LimitOutcome::Allowed
        } else {
            LimitOutcome::Exceeded
        }
    }

    async fn sleep(&self, ms: u32) {
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
    }

    fn request_id(&self) -> &str {
        &self.request_id
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push(log_line(level, &self.request_id, message));
    }
}
