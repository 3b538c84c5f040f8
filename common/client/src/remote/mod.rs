//! The remote backend: upstream's REST API on an `incus-serve` (or an upstream
//! server), over its unix socket or HTTPS with a client certificate. Only the mapping
//! lives here; every rule is the server's.

mod backend;
mod backups;
mod files;
mod http;
mod stdio;
mod transport;

pub use transport::fetch_server_certificate;

use http::{Body, Response};
use incus_api::{Error, ErrorKind, Result};
use serde_json::Value;
use transport::{Addr, Connector};

/// How to reach one server.
#[derive(Debug, Clone, Default)]
pub struct RemoteSpec {
    /// "unix:///path/to/unix.socket" or "https://HOST:PORT" (upstream's addr forms)
    pub addr: String,
    /// PEM of the client certificate and key presented over HTTPS (ignored over unix).
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// PEM of the server certificate to pin: the handshake succeeds only when the server's
    /// leaf certificate is exactly this one. None: refuse (callers must pin; `remote add` fetches it first).
    pub server_cert: Option<String>,
    /// Project sent as ?project= (default "default").
    pub project: String,
}

/// A client of one server: REST calls go through one `ureq` agent (its pool keeps
/// connections alive); websockets open their own streams.
pub struct Remote {
    conn: Connector,
    agents: http::Agents,
    project: String,
}

impl Remote {
    /// Checks the address and the PEMs; the server is first contacted by the first call.
    pub fn connect(spec: RemoteSpec) -> Result<Remote> {
        let addr = Addr::parse(&spec.addr)?;
        let conn = Connector::new(
            addr,
            spec.client_cert.as_deref(),
            spec.client_key.as_deref(),
            spec.server_cert.as_deref(),
        )?;
        let agents = http::agents(conn.clone());
        let project = if spec.project.is_empty() {
            "default".to_string()
        } else {
            spec.project
        };
        Ok(Remote {
            conn,
            agents,
            project,
        })
    }

    /// One REST call: method, path starting with /1.0 (query string allowed), optional JSON body.
    /// Returns the response's `metadata`; an async response is waited for (operations/ID/wait) and
    /// the finished operation's metadata is returned. HTTP errors map to incus_api::Error with the
    /// ErrorKind of the status and upstream's `error` text as the message.
    pub fn query(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let env = self.query_raw(method, path, body)?;
        if env["type"] == "async" {
            let op = self.wait_operation(&env)?;
            return Ok(op["metadata"].clone());
        }
        Ok(env["metadata"].clone())
    }

    /// Like query, without waiting for async operations and returning the whole envelope.
    pub fn query_raw(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = body.map(serde_json::to_vec).transpose()?;
        let mut headers = Vec::new();
        let b = match &bytes {
            Some(b) => {
                headers.push(("Content-Type", "application/json".to_string()));
                Body::Bytes(b)
            }
            None => Body::None,
        };
        let resp = self.request(method, path, &headers, b, None)?;
        envelope(resp)
    }

    /// Waits for the operation of an async envelope; its failure is an error (with
    /// the kind the server recorded, else Internal).
    pub(crate) fn wait_operation(&self, env: &Value) -> Result<Value> {
        let url = env["operation"]
            .as_str()
            .ok_or_else(|| Error::internal("Async response without an operation"))?;
        let op = self.query_raw("GET", &format!("{url}/wait?timeout=-1"), None)?;
        let op = op["metadata"].clone();
        operation_result(op)
    }

    /// The path with `project=` added (when not the default project).
    pub(crate) fn url(&self, path: &str) -> String {
        if self.project == "default" || path.contains("project=") {
            return path.to_string();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}project={}", encode(&self.project))
    }

    /// One request (bodies streamed both ways), the response head read.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Body<'_>,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<Response> {
        let url = format!("{}{}", self.agents.base, self.url(path));
        http::request(&self.agents, method, &url, headers, body, progress)
    }
}

/// A finished operation's object, or its failure as an error.
fn operation_result(op: Value) -> Result<Value> {
    let code = op["status_code"].as_i64().unwrap_or(0);
    if code == 200 {
        return Ok(op);
    }
    let msg = op["err"].as_str().unwrap_or("").to_string();
    let msg = if msg.is_empty() {
        format!("Operation {}", op["status"].as_str().unwrap_or("failed"))
    } else {
        msg
    };
    // incus-serve records the kind of a failure (as the HTTP status it would have
    // answered with), so exit codes are the ones of the local tools.
    let kind = op["metadata"]["error_code"]
        .as_u64()
        .map(|c| ErrorKind::from_http_status(c as u16))
        .unwrap_or(ErrorKind::Internal);
    Err(Error::new(kind, msg))
}

/// The JSON envelope of a response; an error status becomes an error.
pub(crate) fn envelope(resp: Response) -> Result<Value> {
    let status = resp.status;
    let body = resp.bytes()?;
    envelope_of(status, &body)
}

fn envelope_of(status: u16, body: &[u8]) -> Result<Value> {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        return Err(status_error(status, &v, body));
    }
    if v.is_null() {
        return Err(Error::internal(format!(
            "Invalid response (HTTP {status}): {}",
            String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .collect::<String>()
        )));
    }
    Ok(v)
}

/// An error status as an error: the kind from the status, upstream's `error` text.
pub(crate) fn status_error(status: u16, v: &Value, raw: &[u8]) -> Error {
    let msg = v["error"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let t = String::from_utf8_lossy(raw).trim().to_string();
            if t.is_empty() {
                format!("HTTP {status}")
            } else {
                t
            }
        });
    Error::new(ErrorKind::from_http_status(status), msg)
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`encode`] (names in URL lists).
pub(crate) fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_encode_and_decode() {
        for s in ["plain", "a b/c", "ünï", "100%", "x?y=z&w"] {
            assert_eq!(decode(&encode(s)), s);
        }
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(decode("bad%zz%4"), "bad%zz%4");
    }

    #[test]
    fn error_statuses_map_to_kinds_with_the_message() {
        let v =
            serde_json::json!({"type": "error", "error": "Instance not found", "error_code": 404});
        let e = envelope_of(404, v.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::NotFound, "Instance not found")
        );
        for (status, kind) in [
            (400, ErrorKind::Invalid),
            (403, ErrorKind::Forbidden),
            (409, ErrorKind::Conflict),
            (501, ErrorKind::Unsupported),
            (503, ErrorKind::Busy),
            (500, ErrorKind::Internal),
        ] {
            assert_eq!(envelope_of(status, b"oops").unwrap_err().kind, kind);
        }
        assert_eq!(envelope_of(502, b"").unwrap_err().message, "HTTP 502");
        assert!(envelope_of(200, b"not json").is_err());
    }

    #[test]
    fn failed_operations_keep_their_kind() {
        let op = serde_json::json!({"status_code": 400, "status": "Failure",
            "err": "The instance is already running", "metadata": {"error_code": 400}});
        let e = operation_result(op).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        // An upstream server says nothing of the kind.
        let op = serde_json::json!({"status_code": 400, "err": "boom", "metadata": null});
        assert_eq!(operation_result(op).unwrap_err().kind, ErrorKind::Internal);
        let op = serde_json::json!({"status_code": 200, "metadata": {"return": 3}});
        assert_eq!(operation_result(op).unwrap()["metadata"]["return"], 3);
    }

    #[test]
    fn project_goes_in_the_query() {
        let r = Remote::connect(RemoteSpec {
            addr: "unix:///nonexistent".into(),
            project: "p1".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.url("/1.0/instances"), "/1.0/instances?project=p1");
        assert_eq!(r.url("/1.0/x?recursion=1"), "/1.0/x?recursion=1&project=p1");
        let d = Remote::connect(RemoteSpec {
            addr: "unix:///nonexistent".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.url("/1.0/instances"), "/1.0/instances");
        let e = d.query("GET", "/1.0", None).unwrap_err();
        assert!(e.message.contains("/nonexistent"), "{e:?}");
    }
}
