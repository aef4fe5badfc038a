//! wasm32 only: the database connection's TCP socket (`cloudflare:sockets`), holding its
//! stream's reader and writer for the connection's whole life.
//!
//! Why not `worker::Socket`: it takes the stream's lock before every read and write and releases
//! it after, and in workerd that costs more than the reading and writing. A CPU profile of the
//! Worker answering uncached uploads (one PostgreSQL connection each) had `releaseLock` at 12 %
//! of the isolate's samples, `getReader`/`getWriter` at 2 %, against 12 % for the socket's
//! `read`/`write` themselves (BENCHMARKS.md, "Where a cold request's CPU goes"). The
//! JavaScript `pg` driver's socket for Workers keeps its reader and writer the same way, and
//! likewise releases them only to upgrade to TLS. workers-rs offers no socket that keeps its
//! locks, so this one is written here.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::FutureExt as _;
use js_sys::{Object, Reflect, Uint8Array};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, WritableStreamDefaultWriter};
use worker::worker_sys;

#[wasm_bindgen]
extern "C" {
    /// What `ReadableStreamDefaultReader.read()` resolves to.
    type ReadResult;
    #[wasm_bindgen(method, getter)]
    fn done(this: &ReadResult) -> bool;
    #[wasm_bindgen(method, getter)]
    fn value(this: &ReadResult) -> Option<Uint8Array>;
}

/// A TCP connection opened with `secureTransport: "starttls"`, as `tokio` reads and writes one.
pub struct DbSocket {
    socket: worker_sys::Socket,
    reader: ReadableStreamDefaultReader,
    writer: WritableStreamDefaultWriter,
    /// The read in flight.
    reading: Option<JsFuture>,
    /// What is left of the last chunk read, from this offset.
    chunk: Option<(Uint8Array, u32)>,
    /// The write in flight, and how many bytes it carries.
    writing: Option<(JsFuture, usize)>,
    /// Closing the writing side, once.
    closing: Option<JsFuture>,
    closed: bool,
}

impl DbSocket {
    /// Opens a connection to `host:port` that can later be upgraded with [`DbSocket::start_tls`].
    ///
    /// # Errors
    /// The runtime refused to open it (e.g. a bad address).
    pub fn connect(host: &str, port: u16) -> io::Result<Self> {
        let address = Object::new();
        let options = Object::new();
        let set = |target: &Object, key: &str, value: JsValue| {
            Reflect::set(target, &JsValue::from_str(key), &value).map_err(io_error)
        };
        set(&address, "hostname", JsValue::from_str(host))?;
        set(&address, "port", JsValue::from(port))?;
        set(&options, "secureTransport", JsValue::from_str("starttls"))?;
        set(&options, "allowHalfOpen", JsValue::FALSE)?;
        let socket = worker_sys::connect(address.into(), options.into()).map_err(io_error)?;
        Self::new(socket)
    }

    fn new(socket: worker_sys::Socket) -> io::Result<Self> {
        let reader = socket.readable().map_err(io_error)?.get_reader().unchecked_into();
        let writer = socket.writable().map_err(io_error)?.get_writer().map_err(io_error)?;
        Ok(Self {
            socket,
            reader,
            writer,
            reading: None,
            chunk: None,
            writing: None,
            closing: None,
            closed: false,
        })
    }

    /// The same connection under TLS, after the server agreed to it. Called between messages,
    /// with nothing in flight.
    ///
    /// # Errors
    /// The runtime refused the upgrade.
    pub fn start_tls(self) -> io::Result<Self> {
        // The plain streams' locks go first: the runtime hands out new streams for TLS.
        self.reader.release_lock();
        self.writer.release_lock();
        Self::new(self.socket.start_tls().map_err(io_error)?)
    }
}

fn io_error(value: JsValue) -> io::Error {
    let message = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "socket error".to_owned());
    io::Error::other(message)
}

impl AsyncRead for DbSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if let Some((chunk, at)) = this.chunk.take() {
                let left = chunk.length() - at;
                let n = left.min(u32::try_from(buf.remaining()).unwrap_or(u32::MAX));
                let into = buf.initialize_unfilled_to(n as usize);
                if at == 0 && n == left {
                    chunk.copy_to(into);
                } else {
                    chunk.subarray(at, at + n).copy_to(into);
                    if n < left {
                        this.chunk = Some((chunk, at + n));
                    }
                }
                buf.advance(n as usize);
                return Poll::Ready(Ok(()));
            }
            let reader = &this.reader;
            let read = this.reading.get_or_insert_with(|| JsFuture::from(reader.read()));
            let result = ready!(read.poll_unpin(cx));
            this.reading = None;
            let result: ReadResult = result.map_err(io_error)?.unchecked_into();
            if result.done() {
                // The end of the stream: nothing filled.
                return Poll::Ready(Ok(()));
            }
            this.chunk = result.value().filter(|c| c.length() > 0).map(|c| (c, 0));
        }
    }
}

impl DbSocket {
    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some((write, len)) = &mut self.writing else {
            return Poll::Ready(Ok(0));
        };
        let result = ready!(write.poll_unpin(cx));
        let len = *len;
        self.writing = None;
        Poll::Ready(result.map(|_| len).map_err(io_error))
    }
}

impl AsyncWrite for DbSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.writing.is_none() {
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            // A copy: the stream keeps the chunk until it is sent.
            let chunk = Uint8Array::from(buf);
            this.writing = Some((JsFuture::from(this.writer.write_with_chunk(&chunk)), buf.len()));
        }
        this.poll_written(cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_written(cx).map_ok(|_| ())
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        let this = &mut *self;
        if this.closed {
            return Poll::Ready(Ok(()));
        }
        let writer = &this.writer;
        let close = this.closing.get_or_insert_with(|| JsFuture::from(writer.close()));
        let result = ready!(close.poll_unpin(cx));
        this.closing = None;
        this.closed = true;
        Poll::Ready(result.map(|_| ()).map_err(io_error))
    }
}
