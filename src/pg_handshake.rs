//! Opens a PostgreSQL session up to its first `ReadyForQuery`, doing SCRAM-SHA-256 with the key
//! stretching supplied by the caller (or MD5, a cleartext password, or none, as the server asks),
//! then hands the stream to `tokio-postgres` as if the server had accepted it without a password.
//!
//! Why: `tokio-postgres` runs SCRAM's PBKDF2 itself, as wasm in the Worker (≈ 7 ms of CPU per
//! new connection, the bulk of a cold request); the Worker computes it with WebCrypto instead,
//! once per password and salt in an isolate (`scram::SaltedPasswords`).
//! `tokio-postgres` has no hook for that, so this module speaks the start-up protocol (RFC 5802
//! over PostgreSQL's `SASL*` messages) and replays the server's post-authentication messages to
//! it — `AuthenticationOk`, `ParameterStatus`, `BackendKeyData`, `ReadyForQuery` — swallowing
//! the start-up message it then sends. From there on the stream is passed through untouched.
//!
//! It covers every password method `tokio-postgres` does, so the Worker opens every connection
//! this way and carries one connection path, not two (one copy of `tokio-postgres`'s connection
//! code in the bundle, not one per socket type). Channel binding
//! (`SCRAM-SHA-256-PLUS`) needs the server's TLS certificate, which the Workers runtime does not
//! expose, so `channel_binding=require` is refused with an error saying so.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_postgres::config::ChannelBinding;
use tokio_postgres::Config;
use zeroize::Zeroizing;

use crate::scram::{self, ClientFirst, ScramError};

/// Why a session could not be opened. Messages name no credential.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The connection failed or closed.
    #[error("database connection: {0}")]
    Io(#[from] io::Error),
    /// The server answered with an error (bad password, unknown database, shutting down…).
    #[error("the database refused the connection: {message} (SQLSTATE {code})")]
    Server {
        /// The SQLSTATE.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The SCRAM exchange failed.
    #[error("SCRAM: {0}")]
    Scram(#[from] ScramError),
    /// The key stretching failed.
    #[error("SCRAM key stretching: {0}")]
    Stretch(String),
    /// The server sent something the start-up protocol does not allow here.
    #[error("unexpected message from the database during start-up")]
    Protocol,
    /// The configuration names no user.
    #[error("the connection string names no user")]
    NoUser,
    /// The server asks for an authentication this client cannot do (Kerberos, GSSAPI, SSPI,
    /// SASL without SCRAM-SHA-256), or the configuration requires channel binding.
    #[error("the database asks for {0}, which carcosa-edge does not support; use SCRAM-SHA-256, md5 or password")]
    Unsupported(&'static str),
}

/// Whether the server agreed to TLS after an `SSLRequest` (`S`) or not (`N`). The caller wraps
/// the stream when it did.
///
/// # Errors
/// The connection failed.
pub async fn request_tls<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> io::Result<bool> {
    let mut buf = BytesMut::new();
    frontend::ssl_request(&mut buf);
    stream.write_all(&buf).await?;
    let mut answer = [0u8];
    stream.read_exact(&mut answer).await?;
    Ok(answer[0] == b'S')
}

/// Sends the start-up message and authenticates. `nonce` is SCRAM's client nonce (printable,
/// from random bytes); `stretch(password, salt, iterations)` is PBKDF2-HMAC-SHA-256. The
/// authenticated stream goes to `tokio_postgres::Config::connect_raw` with `sslmode=disable`
/// (TLS, if any, is already under it).
///
/// # Errors
/// The connection failed, the server refused, the SCRAM exchange did not verify, or the server
/// asks for an authentication this module does not do.
pub async fn start<S, F>(mut stream: S, config: &Config, nonce: &str, stretch: F) -> Result<Replay<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: AsyncFnOnce(&[u8], &[u8], u32) -> Result<Zeroizing<[u8; 32]>, String>,
{
    let user = config.get_user().ok_or(HandshakeError::NoUser)?;
    if config.get_channel_binding() == ChannelBinding::Require {
        return Err(HandshakeError::Unsupported("channel binding (channel_binding=require)"));
    }
    // The same parameters `tokio-postgres` sends, so the session is the one it would open.
    let mut params = vec![("client_encoding", "UTF8"), ("user", user)];
    if let Some(db) = config.get_dbname() {
        params.push(("database", db));
    }
    if let Some(options) = config.get_options() {
        params.push(("options", options));
    }
    if let Some(name) = config.get_application_name() {
        params.push(("application_name", name));
    }
    let mut out = BytesMut::new();
    frontend::startup_message(params, &mut out)?;
    stream.write_all(&out).await?;

    let mut reader = Frames::default();
    let (tag, body) = reader.next(&mut stream).await?;
    let password = config.get_password().unwrap_or_default();
    match (tag, auth_code(tag, &body)?) {
        (b'R', 0) => {}
        (b'R', 10) if offers_scram(&body) => {
            let password = scram::normalize(password);
            scram_exchange(&mut stream, &mut reader, &password, nonce, stretch).await?;
        }
        // A cleartext password (`password` in pg_hba.conf), as libpq sends it.
        (b'R', 3) => send_password(&mut stream, &mut reader, password).await?,
        // `md5`: "md5" + md5(md5(password + user) + salt), in hex.
        (b'R', 5) => {
            let salt: [u8; 4] = body
                .get(4..8)
                .and_then(|s| s.try_into().ok())
                .ok_or(HandshakeError::Protocol)?;
            let hashed = postgres_protocol::authentication::md5_hash(user.as_bytes(), password, salt);
            send_password(&mut stream, &mut reader, hashed.as_bytes()).await?;
        }
        (b'R', 10) => return Err(HandshakeError::Unsupported("a SASL mechanism other than SCRAM-SHA-256")),
        (b'R', 2) => return Err(HandshakeError::Unsupported("Kerberos")),
        (b'R', 7) => return Err(HandshakeError::Unsupported("GSSAPI")),
        (b'R', 9) => return Err(HandshakeError::Unsupported("SSPI")),
        (b'R', _) => return Err(HandshakeError::Unsupported("an unknown authentication")),
        _ => unreachable_tag(tag, &body)?,
    }

    // Everything up to ReadyForQuery is replayed to tokio-postgres, after an AuthenticationOk.
    let mut replay = BytesMut::new();
    replay.put_u8(b'R');
    replay.put_i32(8);
    replay.put_i32(0);
    loop {
        let (tag, body) = reader.next(&mut stream).await?;
        match tag {
            b'E' => return Err(server_error(&body)),
            b'S' | b'K' | b'N' | b'Z' => {
                replay.put_u8(tag);
                replay.put_i32(i32::try_from(body.len() + 4).map_err(|_| HandshakeError::Protocol)?);
                replay.extend_from_slice(&body);
                if tag == b'Z' {
                    break;
                }
            }
            _ => return Err(HandshakeError::Protocol),
        }
    }
    // Bytes the server sent after ReadyForQuery (none, unless it pipelines a notice) follow.
    replay.extend_from_slice(&reader.buf);
    Ok(Replay {
        inner: stream,
        replay: replay.freeze(),
        swallow: Swallow::Length(Vec::with_capacity(4)),
        shut: false,
    })
}

/// Sends a `PasswordMessage` (cleartext or MD5-hashed) and waits for `AuthenticationOk`.
async fn send_password<S>(stream: &mut S, reader: &mut Frames, password: &[u8]) -> Result<(), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = BytesMut::new();
    frontend::password_message(password, &mut out)?;
    stream.write_all(&out).await?;
    match reader.next(stream).await? {
        (b'R', body) if auth_code(b'R', &body)? == 0 => Ok(()),
        (tag, body) => unreachable_tag(tag, &body),
    }
}

async fn scram_exchange<S, F>(
    stream: &mut S,
    reader: &mut Frames,
    password: &[u8],
    nonce: &str,
    stretch: F,
) -> Result<(), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: AsyncFnOnce(&[u8], &[u8], u32) -> Result<Zeroizing<[u8; 32]>, String>,
{
    let first = ClientFirst::new(nonce);
    let mut out = BytesMut::new();
    frontend::sasl_initial_response(scram::MECHANISM, first.message().as_bytes(), &mut out)?;
    stream.write_all(&out).await?;

    let server_first = match reader.next(stream).await? {
        (b'R', body) if auth_code(b'R', &body)? == 11 => first.server_first(&body[4..])?,
        (tag, body) => return unreachable_tag(tag, &body),
    };
    let salted = stretch(password, server_first.salt(), server_first.iterations())
        .await
        .map_err(HandshakeError::Stretch)?;
    let last = server_first.client_final(&salted);
    out.clear();
    frontend::sasl_response(last.message().as_bytes(), &mut out)?;
    stream.write_all(&out).await?;

    match reader.next(stream).await? {
        (b'R', body) if auth_code(b'R', &body)? == 12 => last.server_final(&body[4..])?,
        (tag, body) => return unreachable_tag(tag, &body),
    }
    match reader.next(stream).await? {
        (b'R', body) if auth_code(b'R', &body)? == 0 => Ok(()),
        (tag, body) => unreachable_tag(tag, &body),
    }
}

/// The authentication request code of an `R` message (0 for other tags).
fn auth_code(tag: u8, body: &[u8]) -> Result<i32, HandshakeError> {
    if tag != b'R' {
        return Ok(0);
    }
    let code: [u8; 4] = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(HandshakeError::Protocol)?;
    Ok(i32::from_be_bytes(code))
}

/// An error for a message that has no place here: the server's error if it is one.
fn unreachable_tag<T>(tag: u8, body: &[u8]) -> Result<T, HandshakeError> {
    Err(if tag == b'E' {
        server_error(body)
    } else {
        HandshakeError::Protocol
    })
}

/// Whether an `AuthenticationSASL` body lists SCRAM-SHA-256.
fn offers_scram(body: &[u8]) -> bool {
    body.get(4..)
        .unwrap_or_default()
        .split(|b| *b == 0)
        .any(|m| m == scram::MECHANISM.as_bytes())
}

/// The SQLSTATE and message of an `ErrorResponse`.
fn server_error(body: &[u8]) -> HandshakeError {
    let (mut code, mut message) = (String::new(), String::new());
    for field in body.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let text = String::from_utf8_lossy(&field[1..]).into_owned();
        match field[0] {
            b'C' => code = text,
            b'M' => message = text,
            _ => {}
        }
    }
    HandshakeError::Server { code, message }
}

/// Reads backend messages: a tag byte, a big-endian length that counts itself, the body.
#[derive(Default)]
struct Frames {
    buf: BytesMut,
}

/// No start-up message is anywhere near this; a larger length means the stream is not
/// PostgreSQL.
const MAX_STARTUP_MESSAGE: usize = 64 * 1024;

impl Frames {
    async fn next<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Result<(u8, Bytes), HandshakeError> {
        loop {
            if self.buf.len() >= 5 {
                let len = usize::try_from(u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]))
                    .map_err(|_| HandshakeError::Protocol)?;
                if !(4..=MAX_STARTUP_MESSAGE).contains(&len) {
                    return Err(HandshakeError::Protocol);
                }
                if self.buf.len() > len {
                    let tag = self.buf.get_u8();
                    self.buf.advance(4);
                    return Ok((tag, self.buf.split_to(len - 4).freeze()));
                }
            }
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
        }
    }
}

/// The authenticated stream, as `tokio-postgres` expects a fresh one: the first message it
/// writes (its start-up message) is dropped, and its first reads get the recorded answer.
pub struct Replay<S> {
    inner: S,
    replay: Bytes,
    swallow: Swallow,
    /// Whether the writing side is closed: a shutdown polled again while it drains the reading
    /// side must not close it twice (a closed stream refuses a second close).
    shut: bool,
}

enum Swallow {
    /// Collecting the start-up message's 4-byte length.
    Length(Vec<u8>),
    /// This many bytes of it are still to come.
    Rest(usize),
    Done,
}

impl<S: AsyncRead + Unpin> AsyncRead for Replay<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.replay.is_empty() {
            let n = self.replay.len().min(buf.remaining());
            buf.put_slice(&self.replay.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Replay<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let mut taken = 0;
        loop {
            match &mut self.swallow {
                Swallow::Done => break,
                Swallow::Length(len) => {
                    let Some(&byte) = data.get(taken) else { break };
                    len.push(byte);
                    taken += 1;
                    if len.len() == 4 {
                        let total = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
                        self.swallow = Swallow::Rest(total.saturating_sub(4));
                    }
                }
                Swallow::Rest(0) => self.swallow = Swallow::Done,
                Swallow::Rest(rest) => {
                    let n = (*rest).min(data.len() - taken);
                    if n == 0 {
                        break;
                    }
                    *rest -= n;
                    taken += n;
                }
            }
        }
        if taken > 0 {
            return Poll::Ready(Ok(taken));
        }
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, data))?;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// Closes the writing side, then reads until the server closes its side, which it does on
    /// the `Terminate` sent just before. On the Workers runtime a read still pending when its
    /// request ends never settles, and what waits on it (the promise's callbacks, the task's
    /// waker) is never freed: a few hundred bytes per connection, for the isolate's life.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?;
            self.shut = true;
        }
        let mut scratch = [0u8; 512];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut self.inner).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {}
                // End of stream, or a broken one: nothing is left pending either way.
                Ok(()) | Err(_) => return Poll::Ready(Ok(())),
            }
        }
    }
}
