//! The members' HTTPS listener and its two internal routes, and the client side.
//!
//! - `POST /internal/database` with `Upgrade: dqlite` (cluster certificate required):
//!   answered `101 Switching Protocols`, then the stream carries the cowsql protocol,
//!   spliced into this member's node (an abstract socket only this process can reach).
//! - `POST /internal/join` (no client certificate; the token's secret authenticates):
//!   a JSON [`JoinRequest`], answered with a [`JoinResponse`] or an error.
//!
//! Client side, [`dial`] opens the upgrade and returns one end of a unix socket pair
//! whose other end is pumped to the TLS stream: libcowsql (connect function) and
//! cowsql-client (dialer) take plain sockets.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::tls::{peer_is, server_name};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub secret: String,
    pub name: String,
    pub address: String,
    pub arch: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinResponse {
    pub id: u64,
    pub cluster_certificate: String,
    pub cluster_key: String,
    /// The raft members: (id, address, role code).
    pub members: Vec<(u64, String, u64)>,
}

pub type JoinHandler =
    Arc<dyn Fn(JoinRequest) -> incus_api::Result<JoinResponse> + Send + Sync + 'static>;

/// What the listener needs.
pub struct Server {
    pub tls: Arc<rustls::ServerConfig>,
    /// DER of the cluster certificate (required on `/internal/database`).
    pub cluster_der: Vec<u8>,
    /// The node's own (abstract) socket, `@name`.
    pub node_socket: String,
    pub join: JoinHandler,
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, server: Arc<Server>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let server = server.clone();
        tokio::spawn(async move {
            let _ = handle(stream, server).await;
        });
    }
}

const MAX_HEAD: usize = 8192;
const MAX_BODY: usize = 65536;

/// Reads an HTTP head byte by byte (nothing after it is consumed: the upgraded stream
/// starts right after).
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP head too long",
            ));
        }
        let b = s.read_u8().await?;
        head.push(b);
    }
    String::from_utf8(head).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn respond<S: AsyncWrite + Unpin>(s: &mut S, status: &str, body: &str) -> io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(msg.as_bytes()).await?;
    s.shutdown().await
}

fn error_body(m: &str) -> String {
    serde_json::json!({ "error": m }).to_string()
}

async fn handle(stream: TcpStream, server: Arc<Server>) -> io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(server.tls.clone());
    let mut tls = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake"))??;
    let head = tokio::time::timeout(Duration::from_secs(10), read_head(&mut tls))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "HTTP head"))??;
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    match (method, path) {
        ("POST", "/internal/database") => {
            if !peer_is(tls.get_ref().1, &server.cluster_der) {
                return respond(
                    &mut tls,
                    "403 Forbidden",
                    &error_body("Not the cluster certificate"),
                )
                .await;
            }
            if !header(&head, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("dqlite")) {
                return respond(
                    &mut tls,
                    "400 Bad Request",
                    &error_body("Missing Upgrade: dqlite"),
                )
                .await;
            }
            let mut node = connect_node(&server.node_socket)?;
            tls.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: dqlite\r\nConnection: Upgrade\r\n\r\n")
                .await?;
            tls.flush().await?;
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut node).await;
            Ok(())
        }
        ("POST", "/internal/join") => {
            let len: usize = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
            if len > MAX_BODY {
                return respond(
                    &mut tls,
                    "400 Bad Request",
                    &error_body("Bad Content-Length"),
                )
                .await;
            }
            let mut body = vec![0; len];
            tls.read_exact(&mut body).await?;
            let req: JoinRequest = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(e) => {
                    return respond(&mut tls, "400 Bad Request", &error_body(&e.to_string())).await
                }
            };
            let join = server.join.clone();
            let out = tokio::task::spawn_blocking(move || join(req))
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            match out {
                Ok(r) => {
                    respond(
                        &mut tls,
                        "200 OK",
                        &serde_json::to_string(&r).expect("serialisable"),
                    )
                    .await
                }
                Err(e) => {
                    let status = match e.kind {
                        incus_api::ErrorKind::Forbidden => "403 Forbidden",
                        incus_api::ErrorKind::Conflict => "409 Conflict",
                        incus_api::ErrorKind::Invalid | incus_api::ErrorKind::Usage => {
                            "400 Bad Request"
                        }
                        _ => "500 Internal Server Error",
                    };
                    respond(&mut tls, status, &error_body(&e.message)).await
                }
            }
        }
        _ => respond(&mut tls, "404 Not Found", &error_body("Not found")).await,
    }
}

fn connect_node(socket: &str) -> io::Result<tokio::net::UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let name = socket
        .strip_prefix('@')
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "node socket"))?;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    let s = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    s.set_nonblocking(true)?;
    tokio::net::UnixStream::from_std(s)
}

async fn open_tls(
    cfg: Arc<rustls::ClientConfig>,
    address: &str,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    tokio_rustls::TlsConnector::from(cfg)
        .connect(server_name(), tcp)
        .await
}

/// Opens `/internal/database` on the member at `address` and returns a plain socket
/// carrying the database protocol (blocking; callable from any non-async thread).
pub fn dial(
    handle: &tokio::runtime::Handle,
    cfg: Arc<rustls::ClientConfig>,
    address: &str,
    timeout: Duration,
) -> io::Result<std::os::unix::net::UnixStream> {
    let (mine, theirs) = std::os::unix::net::UnixStream::pair()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let address = address.to_string();
    handle.spawn(async move {
        let opened = tokio::time::timeout(timeout, async {
            let mut tls = open_tls(cfg, &address).await?;
            tls.write_all(
                format!("POST /internal/database HTTP/1.1\r\nHost: {address}\r\nUpgrade: dqlite\r\nConnection: Upgrade\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
            tls.flush().await?;
            let head = read_head(&mut tls).await?;
            if !head.starts_with("HTTP/1.1 101") {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{address}: {}", head.lines().next().unwrap_or("")),
                ));
            }
            Ok(tls)
        })
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "upgrade timed out")));
        match opened {
            Ok(mut tls) => {
                let _ = tx.send(Ok(()));
                let pumped = theirs
                    .set_nonblocking(true)
                    .and_then(|_| tokio::net::UnixStream::from_std(theirs));
                if let Ok(mut local) = pumped {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut local).await;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    rx.recv_timeout(timeout + Duration::from_secs(1))
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "upgrade timed out"))??;
    Ok(mine)
}

/// Asks the member at `address` to admit us (blocking).
pub fn post_join(
    handle: &tokio::runtime::Handle,
    cfg: Arc<rustls::ClientConfig>,
    address: &str,
    req: &JoinRequest,
    timeout: Duration,
) -> incus_api::Result<JoinResponse> {
    let body = serde_json::to_string(req).expect("serialisable");
    let shown = address.to_string();
    let address = address.to_string();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let r = tokio::time::timeout(timeout, async {
            let mut tls = open_tls(cfg, &address).await?;
            tls.write_all(
                format!(
                    "POST /internal/join HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await?;
            tls.flush().await?;
            let head = read_head(&mut tls).await?;
            let len: usize = header(&head, "content-length")
                .and_then(|v| v.parse().ok())
                .filter(|l| *l <= MAX_BODY)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "Content-Length"))?;
            let mut b = vec![0; len];
            tls.read_exact(&mut b).await?;
            Ok::<_, io::Error>((head, b))
        })
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "join timed out")));
        let _ = tx.send(r);
    });
    let (head, body) = rx
        .recv()
        .map_err(|_| incus_api::Error::internal("join: no answer"))?
        .map_err(|e| incus_api::Error::internal(format!("Joining through {shown}: {e}")))?;
    if head.starts_with("HTTP/1.1 200") {
        return serde_json::from_slice(&body)
            .map_err(|e| incus_api::Error::internal(format!("join answer: {e}")));
    }
    let msg = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| head.lines().next().unwrap_or("").to_string());
    Err(if head.starts_with("HTTP/1.1 403") {
        incus_api::Error::forbidden(msg)
    } else if head.starts_with("HTTP/1.1 409") {
        incus_api::Error::conflict(msg)
    } else if head.starts_with("HTTP/1.1 400") {
        incus_api::Error::invalid(msg)
    } else {
        incus_api::Error::internal(msg)
    })
}
