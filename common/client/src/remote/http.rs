//! HTTP/1.1 by `ureq`: one agent per remote (its pool keeps connections alive),
//! over our own connector (`transport.rs`: the unix socket, or TLS with the pinned
//! server certificate and the client certificate). Bodies are streamed both ways.

use super::transport::{self, Addr, Stream};
use incus_api::{Error, Result};
use std::io::Read;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

/// What a request carries.
pub(crate) enum Body<'a> {
    None,
    Bytes(&'a [u8]),
    /// A stream, with its length when known (else sent chunked).
    Reader(&'a mut dyn Read, Option<u64>),
}

pub(crate) struct Response {
    pub status: u16,
    headers: ureq::http::HeaderMap,
    pub body: ureq::BodyReader<'static>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn bytes(mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body
            .read_to_end(&mut v)
            .map_err(|e| Error::internal(format!("Read response: {e}")))?;
        Ok(v)
    }
}

/// The agents of one server: `pooled` keeps connections alive (requests whose body
/// can be sent again); `once` opens a connection per request (streamed bodies, which
/// cannot be sent again when a kept-alive connection turns out closed).
pub(crate) struct Agents {
    pooled: ureq::Agent,
    once: ureq::Agent,
    /// "http://incus" (unix socket) or "https://HOST:PORT".
    pub base: String,
}

/// The agents of one server, and the base of its URLs.
pub(crate) fn agents(conn: transport::Connector) -> Agents {
    let base = match &conn.addr {
        // The authority is a name only ureq sees: the connector knows the socket.
        Addr::Unix(_) => "http://incus".to_string(),
        a @ Addr::Https { .. } => format!("https://{}", a.host_header()),
    };
    let config = |idle: usize| {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("incus-rs")
            .max_idle_connections(idle)
            .max_idle_connections_per_host(idle)
            .build()
    };
    Agents {
        pooled: ureq::Agent::with_parts(config(3), Connect(conn.clone()), NoDns),
        once: ureq::Agent::with_parts(config(0), Connect(conn), NoDns),
        base,
    }
}

/// Sends one request; `progress` sees the body bytes sent so far.
pub(crate) fn request(
    agents: &Agents,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Body<'_>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<Response> {
    let request = |len: Option<u64>| {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        if let Some(n) = len {
            b = b.header("Content-Length", n);
        }
        b.body(())
            .map_err(|e| Error::invalid(format!("Invalid request: {e}")))
    };
    let resp = match body {
        Body::Reader(r, len) => {
            let mut counted = Counted {
                r,
                sent: 0,
                progress,
            };
            let (parts, ()) = request(len)?.into_parts();
            let req =
                ureq::http::Request::from_parts(parts, ureq::SendBody::from_reader(&mut counted));
            agents.once.run(req)
        }
        Body::None | Body::Bytes(_) => {
            let bytes = match body {
                Body::Bytes(b) => Some(b),
                _ => None,
            };
            let send = || -> Result<std::result::Result<_, ureq::Error>> {
                let (parts, ()) = request(None)?.into_parts();
                Ok(match bytes {
                    None => agents
                        .pooled
                        .run(ureq::http::Request::from_parts(parts, ())),
                    Some(b) => agents.pooled.run(ureq::http::Request::from_parts(parts, b)),
                })
            };
            // A kept-alive connection that the server closed as the request went
            // out: nothing was answered, so the request goes again on a new one.
            match send()? {
                Err(ureq::Error::Other(e)) if e.is::<Stale>() => send()?,
                r => r,
            }
        }
    }
    .map_err(from_ureq)?;
    let (parts, body) = resp.into_parts();
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.into_reader(),
    })
}

/// Nothing came back on a kept-alive connection: the server had closed it.
#[derive(Debug)]
struct Stale;

impl std::fmt::Display for Stale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("The server closed the connection without answering")
    }
}

impl std::error::Error for Stale {}

/// A ureq error as ours: the connector's own errors come back as they were made.
fn from_ureq(e: ureq::Error) -> Error {
    match e {
        ureq::Error::Other(b) => match b.downcast::<Error>() {
            Ok(e) => *e,
            Err(b) => Error::internal(format!("HTTP: {b}")),
        },
        ureq::Error::Io(e) => Error::from(e).context("HTTP"),
        e => Error::internal(format!("HTTP: {e}")),
    }
}

/// A request body that reports how much of it was sent.
struct Counted<'a> {
    r: &'a mut dyn Read,
    sent: u64,
    progress: Option<&'a dyn Fn(u64)>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.sent += n as u64;
        if let (Some(p), true) = (self.progress, n > 0) {
            p(self.sent);
        }
        Ok(n)
    }
}

/// Names are not looked up by ureq: the connector reaches its one server itself.
#[derive(Debug)]
struct NoDns;

impl Resolver for NoDns {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let mut v = self.empty();
        v.push(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        Ok(v)
    }
}

#[derive(Debug)]
struct Connect(transport::Connector);

impl Connector for Connect {
    type Out = StreamTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> std::result::Result<Option<StreamTransport>, ureq::Error> {
        let stream = self
            .0
            .connect()
            .map_err(|e| ureq::Error::Other(Box::new(e)))?;
        let c = details.config;
        Ok(Some(StreamTransport {
            stream,
            buffers: LazyBuffers::new(c.input_buffer_size(), c.output_buffer_size()),
            read_timeout: None,
            write_timeout: None,
            answered_before: false,
            reused: false,
            answered: false,
        }))
    }
}

/// A [`Stream`] as ureq's transport.
#[derive(Debug)]
struct StreamTransport {
    stream: Stream,
    buffers: LazyBuffers,
    read_timeout: Option<std::time::Duration>,
    write_timeout: Option<std::time::Duration>,
    /// Bytes came in before the request being sent (so the connection is a kept-alive one).
    answered_before: bool,
    /// The request being sent went out on a kept-alive connection.
    reused: bool,
    /// Bytes came in since the request being sent went out.
    answered: bool,
}

impl StreamTransport {
    /// A failure on a kept-alive connection before any answer is [`Stale`].
    fn fail(&self, e: std::io::Error, t: NextTimeout) -> ureq::Error {
        use std::io::ErrorKind::*;
        let closed = matches!(
            e.kind(),
            UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted
        );
        if closed && self.reused && !self.answered {
            return ureq::Error::Other(Box::new(Stale));
        }
        timeout_err(e, t)
    }
}

fn timeout_err(e: std::io::Error, t: NextTimeout) -> ureq::Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            ureq::Error::Timeout(t.reason)
        }
        _ => ureq::Error::Io(e),
    }
}

impl Transport for StreamTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        use std::io::Write;
        let t = timeout.for_write();
        let want = t.not_zero().map(|d| *d);
        if want != self.write_timeout {
            self.stream.set_write_timeout(want)?;
            self.write_timeout = want;
        }
        if self.answered {
            // A new request: the previous one was answered on this connection.
            self.answered_before = true;
            self.answered = false;
        }
        self.reused = self.answered_before;
        let out = &self.buffers.output()[..amount];
        let r = self.stream.write_all(out).and_then(|_| self.stream.flush());
        r.map_err(|e| self.fail(e, t))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        let t = timeout.for_read();
        let want = t.not_zero().map(|d| *d);
        if want != self.read_timeout {
            self.stream.set_read_timeout(want)?;
            self.read_timeout = want;
        }
        let n = loop {
            match self.stream.read(self.buffers.input_append_buf()) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Ok(0) if !self.answered => {
                    let eof = std::io::ErrorKind::UnexpectedEof.into();
                    return Err(self.fail(eof, t));
                }
                r => break r.map_err(|e| self.fail(e, t))?,
            }
        };
        self.answered |= n > 0;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.is_idle_open()
    }

    fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }
}
