//! One byte stream over a unix socket or TLS on TCP, so the HTTP client and the
//! websockets are the same code for both. TLS pins the server certificate by its
//! exact DER (as upstream's client does with `servercerts/NAME.crt`).

use incus_api::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a server listens, from upstream's address forms.
#[derive(Debug, Clone)]
pub(crate) enum Addr {
    Unix(PathBuf),
    Https { host: String, port: u16 },
}

impl Addr {
    pub(crate) fn parse(addr: &str) -> Result<Addr> {
        if let Some(p) = addr.strip_prefix("unix://") {
            let p = if p.is_empty() {
                "/var/lib/incus/unix.socket"
            } else {
                p
            };
            return Ok(Addr::Unix(PathBuf::from(p)));
        }
        let rest = addr.strip_prefix("https://").ok_or_else(|| {
            Error::invalid(format!(
                "Invalid remote address {addr:?}: expected unix:///PATH or https://HOST[:PORT]"
            ))
        })?;
        let rest = rest.trim_end_matches('/');
        // [v6]:port, host:port, or a bare host (upstream's default port 8443).
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, tail) = r
                .split_once(']')
                .ok_or_else(|| Error::invalid(format!("Invalid remote address {addr:?}")))?;
            (h.to_string(), tail.strip_prefix(':').unwrap_or(""))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (rest.to_string(), ""),
            }
        };
        let port = if port.is_empty() {
            8443
        } else {
            port.parse()
                .map_err(|_| Error::invalid(format!("Invalid port in remote address {addr:?}")))?
        };
        if host.is_empty() {
            return Err(Error::invalid(format!(
                "No host in remote address {addr:?}"
            )));
        }
        Ok(Addr::Https { host, port })
    }

    /// The `Host` header value.
    pub(crate) fn host_header(&self) -> String {
        match self {
            Addr::Unix(_) => "incus".into(),
            Addr::Https { host, port } if host.contains(':') => format!("[{host}]:{port}"),
            Addr::Https { host, port } => format!("{host}:{port}"),
        }
    }
}

pub(crate) enum Stream {
    Unix(UnixStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Unix(s) => write!(f, "Unix({:?})", s.peer_addr().ok()),
            Stream::Tls(s) => write!(f, "Tls({:?})", s.sock.peer_addr().ok()),
        }
    }
}

impl Stream {
    pub(crate) fn set_read_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_read_timeout(d),
            Stream::Tls(s) => s.sock.set_read_timeout(d),
        }
    }

    pub(crate) fn set_write_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_write_timeout(d),
            Stream::Tls(s) => s.sock.set_write_timeout(d),
        }
    }

    /// Whether an idle kept-alive connection can carry another request: nothing
    /// waits to be read (a server that closed it, or said anything unasked, spent it).
    pub(crate) fn is_idle_open(&self) -> bool {
        let peek = |fd: std::os::fd::BorrowedFd<'_>| {
            let mut b = [0u8; 1];
            matches!(
                nix::sys::socket::recv(
                    std::os::fd::AsRawFd::as_raw_fd(&fd),
                    &mut b,
                    nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT,
                ),
                Err(nix::errno::Errno::EAGAIN)
            )
        };
        use std::os::fd::AsFd;
        match self {
            Stream::Unix(s) => peek(s.as_fd()),
            Stream::Tls(s) => peek(s.sock.as_fd()),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => match s.read(buf) {
                // A peer closing without close_notify is an ordinary end here (the
                // HTTP framing tells whether the body is complete).
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
                r => r,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// Opens new streams to one server.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub(crate) addr: Addr,
    tls: Option<Arc<ClientConfig>>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::invalid(format!("TLS: {e}"))
}

/// PEM -> the first certificate's DER.
fn cert_der(pem: &str, what: &str) -> Result<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .ok_or_else(|| Error::invalid(format!("No certificate in the {what} PEM")))?
        .map_err(|e| Error::invalid(format!("Invalid {what} PEM: {e}")))
}

impl Connector {
    pub(crate) fn new(
        addr: Addr,
        client_cert: Option<&str>,
        client_key: Option<&str>,
        server_cert: Option<&str>,
    ) -> Result<Connector> {
        let tls = match &addr {
            Addr::Unix(_) => None,
            Addr::Https { .. } => {
                let pem = server_cert.ok_or_else(|| {
                    Error::invalid(
                        "No pinned server certificate for this remote (add the remote first)",
                    )
                })?;
                let verifier = Arc::new(Pinned {
                    der: cert_der(pem, "server certificate")?,
                    provider: provider(),
                    seen: None,
                });
                Some(Arc::new(client_config(verifier, client_cert, client_key)?))
            }
        };
        Ok(Connector { addr, tls })
    }

    pub(crate) fn connect(&self) -> Result<Stream> {
        match (&self.addr, &self.tls) {
            (Addr::Unix(p), _) => UnixStream::connect(p)
                .map(Stream::Unix)
                .map_err(|e| Error::from(e).context(format!("Connect to {}", p.display()))),
            (Addr::Https { host, port }, Some(cfg)) => tls_connect(host, *port, cfg.clone()),
            (Addr::Https { .. }, None) => Err(Error::internal("TLS not configured")),
        }
    }
}

fn client_config(
    verifier: Arc<Pinned>,
    client_cert: Option<&str>,
    client_key: Option<&str>,
) -> Result<ClientConfig> {
    let b = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (client_cert, client_key) {
        (Some(c), Some(k)) => {
            let certs = rustls_pemfile::certs(&mut c.as_bytes())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::invalid(format!("Invalid client certificate PEM: {e}")))?;
            if certs.is_empty() {
                return Err(Error::invalid(
                    "No certificate in the client certificate PEM",
                ));
            }
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut k.as_bytes())
                .map_err(|e| Error::invalid(format!("Invalid client key PEM: {e}")))?
                .ok_or_else(|| Error::invalid("No private key in the client key PEM"))?;
            b.with_client_auth_cert(certs, key).map_err(tls_err)
        }
        (None, None) => Ok(b.with_no_client_auth()),
        _ => Err(Error::invalid(
            "A client certificate needs its key (and a key its certificate)",
        )),
    }
}

/// How long a connect and the TLS handshake may take: a peer that accepts TCP and
/// never answers (an address from a stale token) must not hang `remote add`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn tls_connect(host: &str, port: u16, cfg: Arc<ClientConfig>) -> Result<Stream> {
    tls_connect_within(host, port, cfg, HANDSHAKE_TIMEOUT)
}

fn tls_connect_within(
    host: &str,
    port: u16,
    cfg: Arc<ClientConfig>,
    timeout: Duration,
) -> Result<Stream> {
    use std::net::ToSocketAddrs;
    let connect_err =
        |e: std::io::Error| Error::from(e).context(format!("Connect to {host}:{port}"));
    let mut last = None;
    let mut tcp = None;
    for a in (host, port).to_socket_addrs().map_err(connect_err)? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(t) => {
                tcp = Some(t);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let tcp = tcp.ok_or_else(|| {
        connect_err(last.unwrap_or_else(|| std::io::ErrorKind::AddrNotAvailable.into()))
    })?;
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(timeout)).map_err(connect_err)?;
    tcp.set_write_timeout(Some(timeout)).map_err(connect_err)?;
    // The name is not checked (the certificate is pinned), but SNI wants one.
    let name = ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::try_from("incus").expect("static name"));
    let conn = ClientConnection::new(cfg, name).map_err(tls_err)?;
    let mut s = StreamOwned::new(conn, tcp);
    // Handshake now, so a refused certificate is a clear error here and not a
    // confusing one on the first request.
    while s.conn.is_handshaking() {
        s.conn
            .complete_io(&mut s.sock)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Error::internal(
                    format!("TLS handshake with {host}:{port}: no answer within {timeout:?}"),
                ),
                _ => Error::forbidden(format!("TLS handshake with {host}:{port}: {e}")),
            })?;
    }
    // Later reads wait as long as the call does (operations, exec, events).
    s.sock.set_read_timeout(None).map_err(connect_err)?;
    s.sock.set_write_timeout(None).map_err(connect_err)?;
    Ok(Stream::Tls(Box::new(s)))
}

/// Accepts exactly one server certificate; or, with `seen`, any (recording it).
#[derive(Debug)]
struct Pinned {
    der: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
    seen: Option<Arc<Mutex<Option<Vec<u8>>>>>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(seen) = &self.seen {
            *seen.lock().expect("seen lock") = Some(end_entity.to_vec());
            return Ok(ServerCertVerified::assertion());
        }
        if end_entity.as_ref() == self.der.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the server certificate is not the pinned one".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The leaf certificate (PEM) a HTTPS server presents, not verified.
pub fn fetch_server_certificate(addr: &str) -> Result<String> {
    let Addr::Https { host, port } = Addr::parse(addr)? else {
        return Err(Error::invalid(
            "Only https:// remotes have a server certificate",
        ));
    };
    let seen = Arc::new(Mutex::new(None));
    let verifier = Arc::new(Pinned {
        der: CertificateDer::from(Vec::new()),
        provider: provider(),
        seen: Some(seen.clone()),
    });
    let cfg = Arc::new(client_config(verifier, None, None)?);
    tls_connect(&host, port, cfg)?;
    let der = seen
        .lock()
        .expect("seen lock")
        .take()
        .ok_or_else(|| Error::internal("The server presented no certificate"))?;
    Ok(incus_core::trust::pem_of(&der))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn https(a: &str) -> (String, u16) {
        match Addr::parse(a).unwrap() {
            Addr::Https { host, port } => (host, port),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_silent_peer_times_out_instead_of_hanging() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        // Accepted by the kernel's backlog, never answered.
        let verifier = Arc::new(Pinned {
            der: CertificateDer::from(Vec::new()),
            provider: provider(),
            seen: None,
        });
        let cfg = Arc::new(client_config(verifier, None, None).unwrap());
        let err = match tls_connect_within("127.0.0.1", port, cfg, Duration::from_millis(200)) {
            Ok(_) => panic!("a silent peer completed a handshake"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("no answer within"), "{err}");
        drop(l);
    }

    #[test]
    fn address_forms() {
        assert!(
            matches!(Addr::parse("unix:///run/x.socket").unwrap(), Addr::Unix(p) if p == Path::new("/run/x.socket"))
        );
        assert!(
            matches!(Addr::parse("unix://").unwrap(), Addr::Unix(p) if p == Path::new("/var/lib/incus/unix.socket"))
        );
        assert_eq!(https("https://h.example"), ("h.example".into(), 8443));
        assert_eq!(https("https://10.0.0.1:9443/"), ("10.0.0.1".into(), 9443));
        assert_eq!(https("https://[::1]:7443"), ("::1".into(), 7443));
        assert_eq!(https("https://[fd00::2]"), ("fd00::2".into(), 8443));
        assert_eq!(
            Addr::parse("https://[::1]:7443").unwrap().host_header(),
            "[::1]:7443"
        );
        for bad in ["http://h:1", "h:8443", "https://h:notaport", "https://:1"] {
            assert_eq!(
                Addr::parse(bad).unwrap_err().kind,
                incus_api::ErrorKind::Invalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn https_needs_a_pin_and_a_key_with_a_certificate() {
        let a = || Addr::parse("https://127.0.0.1:1").unwrap();
        let e = Connector::new(a(), None, None, None).err().unwrap();
        assert!(e.message.contains("pinned"), "{e:?}");
        let e = Connector::new(a(), None, None, Some("not a pem"))
            .err()
            .unwrap();
        assert_eq!(e.kind, incus_api::ErrorKind::Invalid);
        let pem = incus_core::trust::pem_of(b"\x30\x03\x02\x01\x01");
        let e = Connector::new(a(), Some(&pem), None, Some(&pem))
            .err()
            .unwrap();
        assert!(e.message.contains("key"), "{e:?}");
    }
}
