//! The Cloudflare Worker entry point (wasm32 only): turns a Worker request into an `http` request,
//! runs [`crate::api::handle`] with a [`WorkerRuntime`], and closes the database connection after
//! the deferred work, inside `wait_until`, so the response is never kept waiting for it.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use bytes::Bytes;
use futures_channel::oneshot;
use tokio_postgres::Client;
use worker::postgres_tls::PassthroughTls;
use worker::{
    console_error, console_log, event, Context, Env, Fetch, Headers, Method, Request, RequestInit, Response,
    SecureTransport, Socket,
};

use crate::api::{self, MAX_BODY_BYTES};
use crate::runtime::{
    AllowedOrigins, Config, FetchError, IsolateState, Level, OutboundRequest, OutboundResponse, Runtime,
};
use crate::store::StoreError;
use crate::upload_token::TokenSecret;
use crate::vault::VaultKey;

/// The Hyperdrive binding's name in `wrangler.toml`.
const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

/// What an isolate keeps between requests: its configuration (vars and secrets do not change
/// within an isolate, so they are parsed once) and its [`IsolateState`].
struct Isolate {
    config: Config,
    state: IsolateState,
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
        Ok(Rc::clone(cell.get_or_init(|| Rc::new(Isolate { config, state }))))
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let isolate = match isolate(&env) {
        Ok(isolate) => isolate,
        Err(reason) => {
            console_error!("carcosa-edge is misconfigured: {reason}");
            return Response::from_json(&serde_json::json!({
                "error": "misconfigured",
                "message": "the service is not configured; see its logs",
            }))
            .map(|r| r.with_status(500));
        }
    };
    let request = match to_http(req).await {
        Ok(request) => request,
        Err(e) => {
            console_error!("unreadable request: {e}");
            return Response::from_json(&serde_json::json!({
                "error": "invalid_request",
                "message": "the request could not be read",
            }))
            .map(|r| r.with_status(400));
        }
    };
    let rt = WorkerRuntime::new(env, isolate);
    let handled = api::handle(&rt, request).await;
    let response = to_worker(handled.response);
    ctx.wait_until(async move {
        api::run_deferred(&rt, handled.deferred).await;
        rt.close().await;
    });
    response
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
    if let Ok(origins) = env.var("ALLOWED_ORIGINS") {
        config.allowed_origins = AllowedOrigins::parse(&origins.to_string());
    }
    if let Ok(ttl) = env.var("SCOPE_CACHE_TTL_SECS") {
        config.scope_cache_ttl_secs = Config::parse_scope_cache_ttl(&ttl.to_string())?;
    }
    if let Ok(max) = env.var("MAX_OBJECT_KEY_BYTES") {
        config.max_object_key_bytes = Config::parse_max_object_key_bytes(&max.to_string())?;
    }
    if let Ok(max) = env.var("MAX_UPLOAD_BYTES") {
        config.max_upload_bytes = Config::parse_max_upload_bytes(&max.to_string())?;
    }
    Ok(config)
}

/// Reads the request into `http` types. The body is read only up to one byte past the limit, so
/// an oversized body is refused without buffering all of it.
async fn to_http(mut req: Request) -> worker::Result<http::Request<Bytes>> {
    // The path (already parsed by `worker`) and the query of the serialised URL: no URL parser
    // (and its IDNA tables) in the bundle. A serialised URL has no raw `?` before its query, and
    // no raw `#` before its fragment.
    let url = req.inner().url();
    let without_fragment = url.split_once('#').map_or(url.as_str(), |(before, _)| before);
    let path_and_query = match without_fragment.split_once('?') {
        Some((_, q)) => format!("{}?{q}", req.path()),
        None => req.path(),
    };
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        .uri(path_and_query);
    for (name, value) in req.headers().entries() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    if !matches!(req.method(), Method::Get | Method::Head | Method::Options) {
        use futures_util::StreamExt;
        let mut stream = req.stream()?;
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk?);
            if body.len() > MAX_BODY_BYTES {
                break;
            }
        }
    }
    builder
        .body(Bytes::from(body))
        .map_err(|e| worker::Error::RustError(e.to_string()))
}

fn to_worker(response: http::Response<Bytes>) -> worker::Result<Response> {
    let (parts, body) = response.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.append(name.as_str(), value)?;
        }
    }
    let response = if body.is_empty() {
        Response::empty()?
    } else {
        Response::from_bytes(body.to_vec())?
    };
    Ok(response.with_status(parts.status.as_u16()).with_headers(headers))
}

/// The Worker's side of [`Runtime`]: Hyperdrive for Postgres, `fetch` for S3, `Date.now()`.
struct WorkerRuntime {
    env: Env,
    isolate: Rc<Isolate>,
    db: OnceCell<Client>,
    /// Fires when the connection task ends, so [`WorkerRuntime::close`] can wait for it.
    closed: RefCell<Option<oneshot::Receiver<()>>>,
}

impl WorkerRuntime {
    fn new(env: Env, isolate: Rc<Isolate>) -> Self {
        Self {
            env,
            isolate,
            db: OnceCell::new(),
            closed: RefCell::new(None),
        }
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let hyperdrive = self
            .env
            .hyperdrive(HYPERDRIVE_BINDING)
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let socket = Socket::builder()
            .secure_transport(SecureTransport::StartTls)
            .connect(hyperdrive.host(), hyperdrive.port())
            .map_err(|e| StoreError::Connect(e.to_string()))?;
        let config: tokio_postgres::Config = hyperdrive
            .connection_string()
            .parse()
            .map_err(|_| StoreError::Connect("the Hyperdrive connection string does not parse".into()))?;
        let (client, connection) = config
            .connect_raw(socket, PassthroughTls)
            .await
            .map_err(StoreError::from)?;
        let (done, closed) = oneshot::channel();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = connection.await {
                console_error!("database connection ended with an error: {e}");
            }
            let _ = done.send(());
        });
        *self.closed.borrow_mut() = Some(closed);
        Ok(client)
    }

    /// Ends the connection gracefully: drop the client, then wait for the connection task. A
    /// request that ends with its connection still open breaks the local Hyperdrive proxy.
    async fn close(self) {
        let closed = self.closed.borrow_mut().take();
        drop(self);
        if let Some(closed) = closed {
            let _ = closed.await;
        }
    }
}

impl Runtime for WorkerRuntime {
    fn now_ms(&self) -> i64 {
        // Whole milliseconds since the epoch fit an f64 exactly.
        #[allow(clippy::cast_possible_truncation)]
        let now = worker::Date::now().as_millis() as i64;
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

    async fn fetch(&self, request: OutboundRequest) -> Result<OutboundResponse, FetchError> {
        let err = |e: worker::Error| FetchError(e.to_string());
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(err)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(request.method.as_str().to_owned()))
            .with_headers(headers);
        if !request.body.is_empty() {
            init.with_body(Some(worker::js_sys::Uint8Array::from(request.body.as_ref()).into()));
        }
        let req = Request::new_with_init(&request.url, &init).map_err(err)?;
        let mut response = Fetch::Request(req).send().await.map_err(err)?;
        let status = response.status_code();
        let headers = response
            .headers()
            .entries()
            .map(|(n, v)| (n.to_ascii_lowercase(), v))
            .collect();
        // S3's answers here are small XML documents (or nothing, for HEAD).
        let body = response.bytes().await.map_err(err)?.into();
        Ok(OutboundResponse { status, headers, body })
    }

    async fn sleep(&self, ms: u32) {
        worker::Delay::from(std::time::Duration::from_millis(u64::from(ms))).await;
    }

    fn log(&self, level: Level, message: &str) {
        match level {
            Level::Error => console_error!("{message}"),
            Level::Info => console_log!("{message}"),
        }
    }
}
