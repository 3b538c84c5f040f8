//! A small HTTP/1.1 client over [`Stream`]: bodies sent with a length or chunked,
//! responses read with Content-Length, chunked or to the end of the stream, all as
//! streams. A connection whose response was read to its end can be kept alive.

use super::transport::Stream;
use incus_api::{Error, Result};
use std::io::{BufRead, BufReader, Read, Write};

/// What a request carries.
pub(crate) enum Body<'a> {
    None,
    Bytes(&'a [u8]),
    /// A stream, with its length when known (else sent chunked).
    Reader(&'a mut dyn Read, Option<u64>),
}

pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: BodyReader,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The whole body, and the connection when it can carry another request.
    pub(crate) fn finish(mut self) -> Result<(u16, Vec<u8>, Option<Stream>)> {
        let mut v = Vec::new();
        self.body
            .read_to_end(&mut v)
            .map_err(|e| Error::internal(format!("Read response: {e}")))?;
        let close = self
            .header("Connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let reusable = !close
            && matches!(self.body.mode, Mode::Done | Mode::Length(0))
            && self.body.r.buffer().is_empty();
        Ok((self.status, v, reusable.then(|| self.body.r.into_inner())))
    }

    pub(crate) fn bytes(mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body
            .read_to_end(&mut v)
            .map_err(|e| Error::internal(format!("Read response: {e}")))?;
        Ok(v)
    }
}

/// Why a request failed.
pub(crate) enum Failure {
    /// Nothing came back: on a kept-alive connection, the server had closed it and
    /// the request can be sent again on a new one.
    Unanswered(Error),
    Other(Error),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::Unanswered(e) | Failure::Other(e) => e,
        }
    }
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::internal(format!("{what}: {e}"))
}

/// What to send.
pub(crate) struct Request<'a> {
    pub host: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'a str, String)],
    pub keep_alive: bool,
}

/// Sends one request; `progress` sees the body bytes sent so far.
pub(crate) fn request(
    stream: Stream,
    req: &Request<'_>,
    body: Body<'_>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<Response, Failure> {
    let mut stream = stream;
    send(&mut stream, req, body, progress).map_err(Failure::Unanswered)?;
    read_response(stream, req.method == "HEAD")
}

fn send(
    stream: &mut Stream,
    req: &Request<'_>,
    body: Body<'_>,
    progress: Option<&dyn Fn(u64)>,
) -> Result<()> {
    let Request {
        host,
        method,
        path,
        headers,
        keep_alive,
    } = req;
    let conn = if *keep_alive { "keep-alive" } else { "close" };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: incus-rs\r\nConnection: {conn}\r\n"
    );
    for (k, v) in headers.iter() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let chunked = match &body {
        Body::None => false,
        Body::Bytes(b) => {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
            false
        }
        Body::Reader(_, Some(n)) => {
            head.push_str(&format!("Content-Length: {n}\r\n"));
            false
        }
        Body::Reader(_, None) => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            true
        }
    };
    head.push_str("\r\n");
    let send = io_err("Send request");
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, stream);
    w.write_all(head.as_bytes()).map_err(&send)?;
    match body {
        Body::None => {}
        Body::Bytes(b) => w.write_all(b).map_err(&send)?,
        Body::Reader(r, _) => {
            let mut buf = vec![0u8; 64 * 1024];
            let mut sent = 0u64;
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::from(e).context("Read request body")),
                };
                if chunked {
                    w.write_all(format!("{n:x}\r\n").as_bytes())
                        .map_err(&send)?;
                }
                w.write_all(&buf[..n]).map_err(&send)?;
                if chunked {
                    w.write_all(b"\r\n").map_err(&send)?;
                }
                sent += n as u64;
                if let Some(p) = progress {
                    p(sent);
                }
            }
            if chunked {
                w.write_all(b"0\r\n\r\n").map_err(&send)?;
            }
        }
    }
    w.flush().map_err(&send)?;
    Ok(())
}

fn read_response(stream: Stream, head_only: bool) -> Result<Response, Failure> {
    let mut r = BufReader::with_capacity(64 * 1024, stream);
    let recv = io_err("Read response");
    let mut raw = Vec::new();
    // A failure before the first byte of the answer is "unanswered".
    let fail = |raw: &Vec<u8>, e: Error| {
        if raw.is_empty() {
            Failure::Unanswered(e)
        } else {
            Failure::Other(e)
        }
    };
    loop {
        let n = match r.read_until(b'\n', &mut raw) {
            Ok(n) => n,
            Err(e) => return Err(fail(&raw, recv(e))),
        };
        if n == 0 {
            let e = Error::internal("The server closed the connection without answering");
            return Err(fail(&raw, e));
        }
        if raw.ends_with(b"\r\n\r\n") || raw.ends_with(b"\n\n") {
            break;
        }
        if raw.len() > 1 << 20 {
            return Err(Failure::Other(Error::internal("Response head too large")));
        }
    }
    let mut hdrs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hdrs);
    resp.parse(&raw)
        .map_err(|e| Failure::Other(Error::internal(format!("Invalid HTTP response: {e}"))))?;
    let status = resp.code.unwrap_or(0);
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).trim().to_string(),
            )
        })
        .collect();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mode = if head_only || status == 204 || status == 304 {
        Mode::Length(0)
    } else if find("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        Mode::Chunk(0)
    } else if let Some(n) = find("Content-Length").and_then(|v| v.parse().ok()) {
        Mode::Length(n)
    } else {
        Mode::Eof
    };
    Ok(Response {
        status,
        headers,
        body: BodyReader { r, mode },
    })
}

enum Mode {
    Length(u64),
    /// Bytes left in the current chunk (0: read the next size line).
    Chunk(u64),
    Done,
    Eof,
}

/// A response body, decoded.
pub(crate) struct BodyReader {
    r: BufReader<Stream>,
    mode: Mode,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Error as IoError, ErrorKind};
        loop {
            match self.mode {
                Mode::Done | Mode::Length(0) => return Ok(0),
                Mode::Eof => return self.r.read(buf),
                Mode::Length(left) => {
                    let max = buf.len().min(left as usize);
                    let n = self.r.read(&mut buf[..max])?;
                    if n == 0 {
                        return Err(IoError::new(ErrorKind::UnexpectedEof, "body cut short"));
                    }
                    self.mode = Mode::Length(left - n as u64);
                    return Ok(n);
                }
                Mode::Chunk(0) => {
                    let mut line = String::new();
                    self.r.read_line(&mut line)?;
                    let size = line.trim().split(';').next().unwrap_or("");
                    let size = u64::from_str_radix(size, 16).map_err(|_| {
                        IoError::new(ErrorKind::InvalidData, format!("bad chunk size {line:?}"))
                    })?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        loop {
                            line.clear();
                            if self.r.read_line(&mut line)? == 0 || line.trim().is_empty() {
                                break;
                            }
                        }
                        self.mode = Mode::Done;
                        return Ok(0);
                    }
                    self.mode = Mode::Chunk(size);
                }
                Mode::Chunk(left) => {
                    let max = buf.len().min(left as usize);
                    let n = self.r.read(&mut buf[..max])?;
                    if n == 0 {
                        return Err(IoError::new(ErrorKind::UnexpectedEof, "chunk cut short"));
                    }
                    let left = left - n as u64;
                    if left == 0 {
                        let mut crlf = String::new();
                        self.r.read_line(&mut crlf)?;
                    }
                    // Chunk(0) after a finished chunk reads the next size line.
                    self.mode = Mode::Chunk(left);
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// The response parsed from `raw` (what a server sent), and the rest of the
    /// stream's bytes after it.
    fn parse(raw: &[u8], head_only: bool) -> (u16, Vec<u8>, bool) {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(raw).unwrap();
        drop(b);
        let resp = match read_response(Stream::Unix(a), head_only) {
            Ok(r) => r,
            Err(f) => panic!("{}", Error::from(f)),
        };
        let (status, body, stream) = resp.finish().unwrap();
        (status, body, stream.is_some())
    }

    #[test]
    fn bodies_by_length_chunks_and_end_of_stream() {
        let (s, b, keep) = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: x\r\n\r\nhello",
            false,
        );
        assert_eq!((s, b.as_slice(), keep), (200, &b"hello"[..], true));
        let (s, b, keep) = parse(
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
            false,
        );
        assert_eq!((s, b.as_slice(), keep), (404, &b"abcde"[..], true));
        // No length: the body runs to the end, and the connection is spent.
        let (s, b, keep) = parse(b"HTTP/1.1 200 OK\r\n\r\nto the end", false);
        assert_eq!((s, b.as_slice(), keep), (200, &b"to the end"[..], false));
        // The server says close: not kept.
        let (_, _, keep) = parse(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false,
        );
        assert!(!keep);
        // HEAD: a length but no body.
        let (s, b, keep) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true);
        assert_eq!((s, b.len(), keep), (200, 0, true));
    }

    #[test]
    fn cut_and_missing_answers() {
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
            .unwrap();
        drop(b);
        let Ok(resp) = read_response(Stream::Unix(a), false) else {
            panic!("head should parse")
        };
        assert!(resp.finish().is_err(), "a cut body is an error");
        // Nothing at all: unanswered (a kept-alive connection may be sent again).
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        assert!(matches!(
            read_response(Stream::Unix(a), false),
            Err(Failure::Unanswered(_))
        ));
        // Half a head: not unanswered.
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
        drop(b);
        assert!(matches!(
            read_response(Stream::Unix(a), false),
            Err(Failure::Other(_))
        ));
    }

    #[test]
    fn request_bodies_are_framed() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let req = Request {
            host: "incus",
            method: "POST",
            path: "/1.0/x?y=1",
            headers: &[("X-Incus-type", "file".into())],
            keep_alive: false,
        };
        let mut input: &[u8] = b"streamed";
        let sent = std::cell::Cell::new(0);
        let progress = |n: u64| sent.set(n);
        send(
            &mut Stream::Unix(a),
            &req,
            Body::Reader(&mut input, None),
            Some(&progress),
        )
        .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = b.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.starts_with("POST /1.0/x?y=1 HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.contains("X-Incus-type: file\r\n"), "{text}");
        assert!(
            text.ends_with("Transfer-Encoding: chunked\r\n\r\n8\r\nstreamed\r\n0\r\n\r\n"),
            "{text}"
        );
        assert_eq!(sent.get(), 8);
    }
}
