//! `incus-serve`: the Incus REST API over `$INCUS_DIR/unix.socket` (trusted) and, when
//! `core.https_address` is set, HTTPS with client certificates checked against the
//! trust store. Every route calls the same core functions as the tools.

mod app;
mod limit;
mod ops;
mod restrict;
mod routes;
mod tls;

use app::{App, AppRef, Caller};
use hyper_util::rt::TokioIo;
use incus_api::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

/// Serve the Incus REST API on the unix socket (and HTTPS when core.https_address is set)
#[derive(Debug, clap::Parser)]
#[command(name = "incus-serve", version, about)]
pub struct Cli {
    /// Unix socket to listen on (default: $INCUS_DIR/unix.socket)
    #[arg(long, env = "INCUS_SOCKET")]
    socket: Option<PathBuf>,
    /// HTTPS address, overriding core.https_address (ADDR:PORT)
    #[arg(long)]
    https: Option<String>,
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn main() -> std::process::ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("Start the runtime: {e}")))?;
        rt.block_on(serve(cli))?;
        Ok(std::process::ExitCode::SUCCESS)
    })
}

async fn serve(cli: Cli) -> Result<()> {
    let (incus_dir, https_cfg) = app::core(|ctx| {
        Ok((
            ctx.incus_dir.clone(),
            incus_core::server::get(ctx, "core.https_address").unwrap_or_default(),
        ))
    })
    .await?;
    let socket = cli.socket.unwrap_or_else(|| incus_dir.join("unix.socket"));
    let instance_tool = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("incus-instance")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("incus-instance"));
    let (events, _) = tokio::sync::broadcast::channel(1024);
    let app: AppRef = Arc::new(App {
        ops: ops::Ops::new(events.clone()),
        events,
        instance_tool,
        server_cert: std::sync::Mutex::new(None),
        https_addresses: std::sync::Mutex::new(Vec::new()),
        token_limiter: limit::TokenLimiter::default(),
    });
    let router = routes::router(app.clone());
    tokio::spawn(routes::events::tail(app.clone()));

    let limits = Limits::from_env();
    let run_dir = app::core(|ctx| Ok(ctx.run_dir.clone())).await?;
    let fixed = cli.https.is_some();
    let https = cli.https.unwrap_or(https_cfg);
    let mut current = None;
    if !https.is_empty() {
        current = Some(start_https(&app, &router, &https, limits).await?);
    }
    // A change of core.https_address by any tool (stamp file written by core after
    // every server config write, seen through inotify) starts, moves or stops the
    // listener at once. `--https` pins it.
    if !fixed {
        // The run directory is made on first use (locks); a fresh installation may
        // not have it yet.
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| Error::internal(format!("Create {}: {e}", run_dir.display())))?;
        // DirWatch owns its descriptor, which is what `new`'s deprecation is about.
        #[allow(deprecated)]
        let watch = incus_sys::watch::DirWatch::new(&run_dir)
            .and_then(tokio::io::unix::AsyncFd::new)
            .map_err(|e| Error::internal(format!("Watch {}: {e}", run_dir.display())))?;
        let (app, router) = (app.clone(), router.clone());
        tokio::spawn(follow_https(watch, app, router, limits, https, current));
    } else {
        // Detached: it serves until the process ends.
        drop(current);
    }

    if socket.exists() {
        // A live server answers on it; a stale file from a killed one is replaced.
        if tokio::net::UnixStream::connect(&socket).await.is_ok() {
            return Err(Error::conflict(format!(
                "Another server is listening on {}",
                socket.display()
            )));
        }
        std::fs::remove_file(&socket)?;
    }
    let listener = tokio::net::UnixListener::bind(&socket)
        .map_err(|e| Error::internal(format!("Listen on {}: {e}", socket.display())))?;
    socket_access(&socket)?;
    // Clustering (docs/cluster.md): a clustered member hosts its cowsql node here;
    // a standalone installation gets None and loads nothing.
    let member = {
        let dir = incus_dir.clone();
        tokio::task::spawn_blocking(move || incus_membership::member::host(&dir))
            .await
            .map_err(|e| Error::internal(format!("cluster member: {e}")))??
    };
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            conn = listener.accept() => {
                let Ok((stream, _)) = conn else {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let router = router.clone();
                tokio::spawn(serve_conn(stream, router, Caller {
                    trusted: true,
                    protocol: "unix",
                    fingerprint: None,
                    cert_der: None,
                    addr: None,
                }, limits));
            }
        }
    }
    let _ = std::fs::remove_file(&socket);
    if let Some(m) = member {
        // Leadership handed over before the node stops.
        let _ = tokio::task::spawn_blocking(move || m.stop()).await;
    }
    Ok(())
}

/// The largest request head (request line and headers) read from a client.
const MAX_HEAD: usize = 64 << 10;

/// Bounds on what one remote peer costs the server.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// The TLS handshake must finish within this.
    handshake: std::time::Duration,
    /// A request head must arrive whole within this (idle kept-alive connections too).
    header: std::time::Duration,
    /// HTTPS connections open at once (handshaking or serving requests; websockets,
    /// once upgraded, are no longer counted); more are closed at once.
    max_connections: usize,
    /// HTTPS connections open at once from one address.
    max_per_address: usize,
}

impl Limits {
    const HANDSHAKE: u64 = 10;
    const HEADER: u64 = 30;
    const MAX_CONNECTIONS: usize = 512;
    const MAX_PER_ADDRESS: usize = 64;

    /// The constants above; `INCUS_SERVE_HANDSHAKE_TIMEOUT`, `INCUS_SERVE_HEADER_TIMEOUT`
    /// (seconds), `INCUS_SERVE_MAX_CONNECTIONS` and `INCUS_SERVE_MAX_PER_ADDRESS` override
    /// them (tests, tuning).
    fn from_env() -> Limits {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        }
        Limits {
            handshake: std::time::Duration::from_secs(
                var("INCUS_SERVE_HANDSHAKE_TIMEOUT", Self::HANDSHAKE).max(1),
            ),
            header: std::time::Duration::from_secs(
                var("INCUS_SERVE_HEADER_TIMEOUT", Self::HEADER).max(1),
            ),
            max_connections: var("INCUS_SERVE_MAX_CONNECTIONS", Self::MAX_CONNECTIONS).max(1),
            max_per_address: var("INCUS_SERVE_MAX_PER_ADDRESS", Self::MAX_PER_ADDRESS).max(1),
        }
    }
}

/// The unix socket is `0660`, owned by root and the `incus-admin` group when that
/// group exists (as upstream): its callers are trusted as admins.
fn socket_access(socket: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let group = nix::unistd::Group::from_name("incus-admin")
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw());
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(socket, Some(0), Some(group.unwrap_or(0)))?;
    }
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o660))?;
    Ok(())
}

/// One HTTP/1.1 connection (with upgrades for websockets); the caller rides along in
/// the request extensions.
async fn serve_conn<S>(stream: S, router: axum::Router, caller: Caller, limits: Limits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = router.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(caller.clone());
        req
    });
    let svc = hyper_util::service::TowerToHyperService::new(svc);
    // A request head must arrive whole within the header timeout (a client that sends
    // nothing, or trickles a header, is cut off); an idle kept-alive connection too.
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header)
        .max_buf_size(MAX_HEAD)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades()
        .await;
}

/// A running HTTPS listener: its accept task.
struct Https {
    task: tokio::task::JoinHandle<()>,
}

/// Re-reads `core.https_address` whenever the stamp file changes and restarts the
/// listener when the value differs. A bind failure is logged and leaves no listener.
async fn follow_https(
    watch: tokio::io::unix::AsyncFd<incus_sys::watch::DirWatch>,
    app: AppRef,
    router: axum::Router,
    limits: Limits,
    initial: String,
    mut current: Option<Https>,
) {
    let mut configured = initial;
    // The first pass looks at once: a change made before the watch existed is seen.
    let mut first = true;
    loop {
        if !first {
            let Ok(mut guard) = watch.readable().await else {
                return;
            };
            let names = match guard.get_inner().drain() {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("incus-serve: reading the config watch: {e}");
                    return;
                }
            };
            guard.clear_ready();
            if !names.iter().any(|n| n == incus_core::server::CHANGE_STAMP) {
                continue;
            }
        }
        first = false;
        let Ok(want) = app::core(|ctx| incus_core::server::get(ctx, "core.https_address")).await
        else {
            continue;
        };
        if want == configured {
            continue;
        }
        if let Some(old) = current.take() {
            old.task.abort();
            let _ = old.task.await;
        }
        app.https_addresses.lock().expect("addresses lock").clear();
        configured = want.clone();
        if want.is_empty() {
            continue;
        }
        match start_https(&app, &router, &want, limits).await {
            Ok(h) => current = Some(h),
            Err(e) => eprintln!("incus-serve: core.https_address={want}: {e}"),
        }
    }
}

/// Binds `https` (ADDR:PORT, ADDR or :PORT) and accepts TLS connections on it.
async fn start_https(
    app: &AppRef,
    router: &axum::Router,
    https: &str,
    limits: Limits,
) -> Result<Https> {
    let (pem, config) = app::core(tls::load_or_create).await?;
    *app.server_cert.lock().expect("cert lock") = Some(pem);
    let addr = if https.starts_with(':') {
        format!("[::]{https}")
    } else if https.contains(':') {
        https.to_string()
    } else {
        format!("{https}:8443")
    };
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| Error::invalid(format!("Listen on {addr}: {e}")))?;
    if let Ok(a) = listener.local_addr() {
        *app.https_addresses.lock().expect("addresses lock") =
            incus_core::server::listen_addresses(a);
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let router = router.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let per_address = limit::PerAddress::new(limits.max_per_address);
    let task = tokio::spawn(async move {
        let mut last_full_log: Option<std::time::Instant> = None;
        let mut last_addr_log: Option<std::time::Instant> = None;
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                // Out of descriptors, most likely: let connections finish.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            // Over a cap, a connection is closed at once: it costs a descriptor
            // for no longer than this, and nothing is queued. One address cannot
            // take every slot.
            let Some(addr_slot) = per_address.take(peer.ip()) else {
                if last_addr_log.is_none_or(|t| t.elapsed().as_secs() >= 10) {
                    eprintln!(
                            "incus-serve: {} connections open from {}, the limit per address: refusing more (logged once per 10 s)",
                            limits.max_per_address,
                            peer.ip()
                        );
                    last_addr_log = Some(std::time::Instant::now());
                }
                drop(tcp);
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                if last_full_log.is_none_or(|t| t.elapsed().as_secs() >= 10) {
                    eprintln!(
                            "incus-serve: {} connections open, the limit: refusing {peer} (and others for 10 s)",
                            limits.max_connections
                        );
                    last_full_log = Some(std::time::Instant::now());
                }
                drop(tcp);
                continue;
            };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let _slots = (slot, addr_slot);
                // A peer that connects and never finishes the handshake is cut off.
                let Ok(Ok(stream)) =
                    tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await
                else {
                    return;
                };
                let der = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                let fingerprint = der.as_deref().map(tls::fingerprint);
                // Trust is decided per request (routes::guard).
                let caller = Caller {
                    trusted: false,
                    protocol: "tls",
                    fingerprint,
                    cert_der: der,
                    addr: Some(peer.ip()),
                };
                serve_conn(stream, router, caller, limits).await;
            });
        }
    });
    Ok(Https { task })
}
