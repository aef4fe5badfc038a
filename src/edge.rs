//! The Cloudflare Worker entry point (wasm32 only): turns a Worker request into an `http` request,
//! runs [`crate::api::handle`] with a [`WorkerRuntime`], and closes the database connection after
//! the deferred work, inside `wait_until`, so the response is never kept waiting for it.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use base64::Engine as _;
use bytes::Bytes;
use futures_channel::oneshot;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};
use wasm_bindgen::{prelude::wasm_bindgen, JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{console_error, console_log, console_warn, event, ByteStream, Context, Env};

use crate::api::{self, ApiError, MAX_BODY_BYTES};
use crate::db_socket::DbSocket;
use crate::pg_handshake::{self, HandshakeError, Replay};
use crate::runtime::{
    log_line, AllowedOrigins, Config, FetchError, IsolateState, Level, LimitOutcome, OutboundRequest, OutboundResponse,
    Runtime,
};
use crate::scram::SaltedPasswords;
use crate::store::StoreError;
use crate::upload_token::TokenSecret;
use crate::vault::VaultKey;
use crate::webcrypto;

/// The system allocator, counting: the memory report says how many bytes the Worker holds, which
/// the size of its wasm memory (a high-water mark: it never shrinks) cannot tell.
#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// The Hyperdrive binding's name in `wrangler.toml`.
const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

/// What an isolate keeps between requests: its configuration (vars and secrets do not change
/// within an isolate, so they are parsed once) and its [`IsolateState`].
struct Isolate {
    config: Config,
    state: IsolateState,
    /// When [`report_memory`] last logged, in Unix milliseconds (0: never).
    memory_reported_ms: Cell<i64>,
    /// SCRAM's salted passwords, so a new database connection skips the key stretching.
    salted_passwords: RefCell<SaltedPasswords>,
}

thread_local! {
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// This isolate's state, made on its first request. A configuration error is not kept, so
/// fixing the configuration needs no restart.
fn isolate(env: &Env) -> Result<Rc<Isolate>, String> {
    ISOLATE.with(|cell| {
        if let Some(isolate) = cell.get() {
            return Ok(Rc::clone(isolate));
        }
        let config = config(env)?;
        let state = IsolateState::new(config.scope_cache_ttl_secs);
        Ok(Rc::clone(cell.get_or_init(|| {
            Rc::new(Isolate {
                config,
                state,
                memory_reported_ms: Cell::new(0),
                salted_passwords: RefCell::default(),
            })
        })))
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

// The platform's request, not `worker::Request`: making one reads `request.cf`, which workerd
// parses from JSON on every request, and nothing here uses it.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let mut random = [0u8; 8];
    // Without randomness the id is all zeros; a request is never refused for a log field.
    let _ = getrandom::getrandom(&mut random);
    let head = request_head(&req);
    let request_id = match &head {
        Ok(head) => api::request_id(head.headers(), random),
        Err(_) => hex::encode(random),
    };
    let origin = req.headers().get("origin").ok().flatten();
    let isolate = match isolate(&env) {
        Ok(isolate) => isolate,
        Err(reason) => {
            // Without a configuration, CORS still follows ALLOWED_ORIGINS (a var, not a secret),
            // so a browser can read the error.
            let allowed = AllowedOrigins::parse(&env.var("ALLOWED_ORIGINS").map(|v| v.to_string()).unwrap_or_default());
            let e = ApiError::Misconfigured(reason);
            log_error(&request_id, &e);
            return to_platform(api::refuse(&e, &allowed, origin.as_deref(), &request_id));
        }
    };
    let refuse = |e: ApiError| {
        log_error(&request_id, &e);
        to_platform(api::refuse(
            &e,
            &isolate.config.allowed_origins,
            origin.as_deref(),
            &request_id,
        ))
    };
    let head = match head {
        Ok(head) => head,
        Err(e) => return refuse(ApiError::InvalidRequest(format!("unreadable request head: {e}"))),
    };
    let body = match read_body(&req, head.method(), head.headers()).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return refuse(ApiError::BodyTooLarge(MAX_BODY_BYTES)),
        Err(BodyError::Unreadable(e)) => {
            return refuse(ApiError::InvalidRequest(format!("unreadable request body: {e}")))
        }
    };
    let request = head.map(|()| body);
    let rt = WorkerRuntime::new(env, Rc::clone(&isolate), request_id.clone());
    let handled = api::handle(&rt, request).await;
    report_memory(&isolate, rt.now_ms(), &request_id);
    let response = to_platform(handled.response);
    // Only a request that writes the isolate's queue or has a connection to close asks the
    // platform to wait for it: a `wait_until` costs the response time even when its promise
    // settles at once (about 0.03 ms under `wrangler dev`, once 4 ms; BENCHMARKS.md, "What a
    // `wait_until` costs now").
    let write = api::queue_deferred(&rt, handled.deferred);
    if write || rt.db.get().is_some() {
        ctx.wait_until(async move {
            if write {
                api::write_deferred(&rt).await;
            }
            rt.close().await;
        });
    }
    response
}

/// How often an isolate logs the size of its wasm memory.
const MEMORY_REPORT_EVERY_MS: i64 = 60_000;

/// Logs, at most once a minute, the bytes the isolate's Rust code holds and the size of its wasm
/// linear memory, where they live (which only ever grows). A steady figure over hours of traffic
/// shows the Worker keeps nothing per request; the process's RSS under `wrangler dev` also counts
/// the dev tooling's own growth.
fn report_memory(isolate: &Isolate, now_ms: i64, request_id: &str) {
    if now_ms - isolate.memory_reported_ms.get() < MEMORY_REPORT_EVERY_MS {
        return;
    }
    isolate.memory_reported_ms.set(now_ms);
    let kib = core::arch::wasm32::memory_size::<0>() * 64;
    let stats = ALLOCATOR.stats();
    // Cumulative counters (reallocations already counted in them), wrapping at 4 GiB; their
    // difference does not wrap while the Worker holds less than that.
    let held = stats.bytes_allocated.wrapping_sub(stats.bytes_deallocated);
    log(
        Level::Info,
        request_id,
        &format!("isolate memory: {held} bytes held, wasm linear memory {kib} KiB"),
    );
}

/// One structured line on the Worker's console, at the console level matching `level`.
fn log(level: Level, request_id: &str, message: &str) {
    let line = log_line(level, request_id, message);
    match level {
        Level::Error => console_error!("{line}"),
        Level::Warn => console_warn!("{line}"),
        Level::Info => console_log!("{line}"),
    }
}

fn log_error(request_id: &str, e: &ApiError) {
    if let Some(detail) = e.log_detail() {
        log(
            Level::Error,
            request_id,
            &format!("{} ({}): {detail}", e.code(), e.status()),
        );
    }
}

fn config(env: &Env) -> Result<Config, String> {
    let key = env
        .secret("CREDENTIALS_ENCRYPTION_KEY")
        .map_err(|_| "the CREDENTIALS_ENCRYPTION_KEY secret is not set".to_owned())?;
    let vault_key = VaultKey::parse(&key.to_string()).map_err(|e| format!("CREDENTIALS_ENCRYPTION_KEY: {e}"))?;
    let mut config = Config::new(vault_key);
    // Optional: without it, upload tokens are refused and cannot be minted.
    if let Ok(secret) = env.secret("UPLOAD_TOKEN_SECRET") {
        let secret =
            TokenSecret::new(secret.to_string().as_bytes()).map_err(|e| format!("UPLOAD_TOKEN_SECRET: {e}"))?;
        config.upload_tokens = Some(secret);
    }
    // Unset or empty: no browser origin is allowed.
    if let Ok(origins) = env.var("ALLOWED_ORIGINS") {
        config.allowed_origins = AllowedOrigins::parse(&origins.to_string());
    }
    if let Ok(ttl) = env.var("SCOPE_CACHE_TTL_SECS") {
        config.scope_cache_ttl_secs = Config::parse_scope_cache_ttl(&ttl.to_string())?;
    }
    if let Ok(max) = env.var("MAX_OBJECT_KEY_BYTES") {
        config.max_object_key_bytes = Config::parse_max_object_key_bytes(&max.to_string())?;
    }
    if let Ok(on) = env.var("RATE_LIMITS") {
        config.rate_limits = Config::parse_rate_limits(&on.to_string())?;
    }
    if let Ok(max) = env.var("MAX_UPLOAD_BYTES") {
        config.max_upload_bytes = Config::parse_max_upload_bytes(&max.to_string())?;
    }
    Ok(config)
}

/// The request's method, path, query and headers as `http` types.
fn request_head(req: &web_sys::Request) -> Result<http::Request<()>, String> {
    let mut head = http::Request::builder()
        .method(req.method().as_str())
        .uri(api::path_and_query(&req.url()))
        .body(())
        .map_err(|e| e.to_string())?;
    // Straight into the map: each value's string is taken over, not copied, and checked once.
    let headers = head.headers_mut();
    let mut unreadable = None;
    each_header(&req.headers(), |name, value| {
        if unreadable.is_some() {
            return;
        }
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string());
        let value = http::HeaderValue::from_maybe_shared(Bytes::from(value)).map_err(|e| e.to_string());
        match (name, value) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            (Err(e), _) | (_, Err(e)) => unreadable = Some(e),
        }
    });
    unreadable.map_or(Ok(head), Err)
}

/// Calls `f(name, value)` for every header of a platform `Headers`, in one `forEach` call. The
/// platform's iterator (`entries()`) is another runtime object, holding a copy of the headers,
/// for the isolate's collector to finalize, and takes three calls across the wasm boundary per
/// header (BENCHMARKS.md, "The isolate's pauses").
fn each_header(headers: &web_sys::Headers, mut f: impl FnMut(String, String)) {
    headers
        .unchecked_ref::<PlatformHeaders>()
        .for_each(&mut |value, name| f(name, value));
}

/// Headers for a platform constructor (`Response`, `Request`) as `[name, value]` pairs: the
/// platform then makes only the object's own `Headers`. A `Headers` of ours would be one more
/// runtime object, which the constructor copies.
fn header_pairs<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> js_sys::Array {
    let pairs = js_sys::Array::new();
    for (name, value) in headers {
        pairs.push(&js_sys::Array::of2(&name.into(), &value.into()));
    }
    pairs
}

#[wasm_bindgen]
extern "C" {
    /// The platform's `Headers`, for its `forEach`.
    type PlatformHeaders;
    /// `forEach(value, name)`, with a callback that lives for the call only.
    #[wasm_bindgen(method, js_name = forEach)]
    fn for_each(this: &PlatformHeaders, f: &mut dyn FnMut(String, String));
}

/// Why a body was not read.
enum BodyError {
    /// Over [`MAX_BODY_BYTES`], declared or counted.
    TooLarge,
    /// The platform could not hand the body over.
    Unreadable(worker::Error),
}

/// How much of an undeclared (chunked) body over the limit is read and thrown away before the
/// 413 is sent. Answering while the client is still sending makes `wrangler dev`'s proxy (and
/// some clients) report a lost connection instead of the answer; past this, it is the client's
/// problem.
const DRAIN_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// Reads the body of methods that carry one. A declared `Content-Length` over the limit is
/// refused unread; a declared one within it is read in one call; an undeclared one is read in
/// chunks up to the limit, and the rest drained.
async fn read_body(
    req: &web_sys::Request,
    method: &http::Method,
    headers: &http::HeaderMap,
) -> Result<Bytes, BodyError> {
    if matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS) {
        return Ok(Bytes::new());
    }
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(len) = declared {
        if len > MAX_BODY_BYTES as u64 {
            return Err(BodyError::TooLarge);
        }
        let buffer = req.array_buffer().map_err(|e| BodyError::Unreadable(e.into()))?;
        let buffer = JsFuture::from(buffer)
            .await
            .map_err(|e| BodyError::Unreadable(e.into()))?;
        let body = js_sys::Uint8Array::new(&buffer).to_vec();
        return if body.len() > MAX_BODY_BYTES {
            Err(BodyError::TooLarge)
        } else {
            Ok(Bytes::from(body))
        };
    }
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut stream = match req.body() {
        Some(stream) => ByteStream::from(stream),
        // No body at all.
        None => return Ok(Bytes::new()),
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Unreadable)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            let mut drained = body.len() + chunk.len();
            while drained <= DRAIN_LIMIT_BYTES {
                match stream.next().await {
                    Some(Ok(chunk)) => drained += chunk.len(),
                    Some(Err(_)) | None => break,
                }
            }
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The platform's response, made in one constructor call with the headers as pairs.
/// `worker::Response` made two more `Headers` per response (its builder's default and ours), each
/// a runtime object the isolate's garbage collector finalizes later, in bulk: under load, those
/// collections are the isolate's longest pauses (BENCHMARKS.md, "The isolate's pauses").
fn to_platform(response: http::Response<Bytes>) -> worker::Result<web_sys::Response> {
    let (parts, body) = response.into_parts();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let init = web_sys::ResponseInit::new();
    init.set_status(parts.status.as_u16());
    init.set_headers(&header_pairs(headers));
    let body = (!body.is_empty()).then(|| js_sys::Uint8Array::from(&body[..]));
    Ok(web_sys::Response::new_with_opt_buffer_source_and_init(
        body.as_ref().map(AsRef::as_ref),
        &init,
    )?)
}

/// Opens a session on `socket`, with SCRAM's key stretching in WebCrypto, once per password and
/// salt in the isolate (`salted`).
async fn handshake(
    mut socket: DbSocket,
    config: &tokio_postgres::Config,
    salted: &RefCell<SaltedPasswords>,
) -> Result<Replay<DbSocket>, StoreError> {
    let failed = |e: HandshakeError| StoreError::Connect(e.to_string());
    // As tokio-postgres would: ask for TLS unless disabled, and insist on it when required.
    if config.get_ssl_mode() != SslMode::Disable {
        if pg_handshake::request_tls(&mut socket)
            .await
            .map_err(|e| failed(e.into()))?
        {
            socket = socket.start_tls().map_err(|e| failed(e.into()))?;
        } else if config.get_ssl_mode() == SslMode::Require {
            return Err(StoreError::Connect("the database does not offer TLS".into()));
        }
    }
    let mut nonce = [0u8; 18];
    getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Connect(format!("no randomness for SCRAM: {e}")))?;
    let nonce = base64::engine::general_purpose::STANDARD.encode(nonce);
    let stretch = async |password: &[u8], salt: &[u8], iterations: u32| {
        SaltedPasswords::get_or_stretch(salted, password, salt, iterations, webcrypto::pbkdf2_sha256).await
    };
    pg_handshake::start(socket, config, &nonce, stretch)
        .await
        .map_err(failed)
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's global `fetch`.
    #[wasm_bindgen(js_name = fetch)]
    fn platform_fetch(request: &web_sys::Request) -> js_sys::Promise;
}

/// How long [`WorkerRuntime::close`] waits for the server to close a connection.
const CLOSE_WAIT_MS: u64 = 5_000;

/// The Worker's side of [`Runtime`]: Hyperdrive for Postgres, `fetch` for S3, `Date.now()`.
struct WorkerRuntime {
    env: Env,
    isolate: Rc<Isolate>,
    request_id: String,
    db: OnceCell<Client>,
    /// Fires when the connection task ends, so [`WorkerRuntime::close`] can wait for it.
    closed: RefCell<Option<oneshot::Receiver<()>>>,
}

impl WorkerRuntime {
    fn new(env: Env, isolate: Rc<Isolate>, request_id: String) -> Self {
        Self {
            env,
            isolate,
            request_id,
            db: OnceCell::new(),
            closed: RefCell::new(None),
        }
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let hyperdrive = self
            .env
            .hyperdrive(HYPERDRIVE_BINDING)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let config: tokio_postgres::Config = hyperdrive
            .connection_string()
            .parse()
            .map_err(|_| StoreError::Connect("the Hyperdrive connection string does not parse".into()))?;
        let socket =
            DbSocket::connect(&hyperdrive.host(), hyperdrive.port()).map_err(|e| StoreError::Connect(e.to_string()))?;
        // The start-up and authentication here (pg_handshake: SCRAM with WebCrypto's PBKDF2),
        // then tokio-postgres on the open session.
        let session = handshake(socket, &config, &self.isolate.salted_passwords).await?;
        let mut rest = config.clone();
        rest.ssl_mode(SslMode::Disable);
        let (client, connection) = rest.connect_raw(session, NoTls).await?;
        let (done, closed) = oneshot::channel();
        let request_id = self.request_id.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = connection.await {
                let e = ApiError::from(StoreError::from(e));
                log(
                    Level::Error,
                    &request_id,
                    &format!(
                        "database connection ended with an error: {}",
                        e.log_detail().unwrap_or_default()
                    ),
                );
            }
            let _ = done.send(());
        });
        *self.closed.borrow_mut() = Some(closed);
        Ok(client)
    }

    /// Ends the connection gracefully: drop the client, then wait for the connection task (it
    /// ends when the server has closed its side, see `pg_handshake::Replay`). A request that
    /// ends with its connection still open breaks the local Hyperdrive proxy. Bounded, so a
    /// server that never closes cannot hold the request for the platform's whole allowance.
    async fn close(self) {
        let closed = self.closed.borrow_mut().take();
        drop(self);
        if let Some(closed) = closed {
            let limit = worker::Delay::from(std::time::Duration::from_millis(CLOSE_WAIT_MS));
            let _ = futures_util::future::select(closed, limit).await;
        }
    }
}

impl Runtime for WorkerRuntime {
    fn now_ms(&self) -> i64 {
        // Whole milliseconds since the epoch fit an f64 exactly. `Date.now()`, not
        // `worker::Date::now()`, which makes a `Date` object for the collector each time.
        #[allow(clippy::cast_possible_truncation)]
        let now = js_sys::Date::now() as i64;
        now
    }

    fn config(&self) -> &Config {
        &self.isolate.config
    }

    fn isolate(&self) -> &IsolateState {
        &self.isolate.state
    }

    async fn db(&self) -> Result<&Client, StoreError> {
        if let Some(client) = self.db.get() {
            return Ok(client);
        }
        let client = self.connect().await?;
        Ok(self.db.get_or_init(|| client))
    }

    // The platform's `fetch` and `Request`, not `worker::Fetch`: its `RequestInit` carries
    // Cloudflare's `cf` options (image resizing and more), whose conversion code was about 18 KB
    // of the bundle for requests that never set them.
    async fn fetch(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError> {
        let err = |e: JsValue| FetchError(worker::Error::from(e).to_string());
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        // The signer's headers, one of each name.
        init.set_headers(&header_pairs(
            request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        ));
        if !request.body.is_empty() {
            init.set_body(&js_sys::Uint8Array::from(request.body.as_ref()));
        }
        let req = web_sys::Request::new_with_str_and_init(&request.url, &init).map_err(err)?;
        let response: web_sys::Response = JsFuture::from(platform_fetch(&req))
            .await
            .map_err(err)?
            .unchecked_into();
        let status = response.status();
        let mut headers = Vec::new();
        each_header(&response.headers(), |name, value| {
            headers.push((name.to_ascii_lowercase(), value))
        });
        // S3's answers here are small XML documents (or nothing, for HEAD).
        let body = JsFuture::from(response.array_buffer().map_err(err)?)
            .await
            .map_err(err)?;
        let body = js_sys::Uint8Array::new(&body).to_vec().into();
        Ok(OutboundResponse { status, headers, body })
    }

    async fn rate_limit(&self, binding: &'static str, key: &str) -> LimitOutcome {
        // Looked up per request: a binding is a property of this request's `env`.
        let limiter = match self.env.rate_limiter(binding) {
            Ok(limiter) => limiter,
            Err(_) => return LimitOutcome::Unavailable("no such binding".into()),
        };
        match limiter.limit(key.to_owned()).await {
            Ok(outcome) if outcome.success => LimitOutcome::Allowed,
            Ok(_) => LimitOutcome::Exceeded,
            Err(e) => LimitOutcome::Unavailable(e.to_string()),
        }
    }

    async fn sleep(&self, ms: u32) {
        worker::Delay::from(std::time::Duration::from_millis(u64::from(ms))).await;
    }

    fn request_id(&self) -> &str {
        &self.request_id
    }

    fn log(&self, level: Level, message: &str) {
        log(level, &self.request_id, message);
    }
}
