//! A cluster member: hosts its cowsql node (through cowsql-node, so libcowsql is loaded
//! only here), serves the members' HTTPS listener, writes its heartbeat, and answers the
//! membership questions (tokens, join, list).
//!
//! Files in the member's directory: `cluster.crt`/`cluster.key` (0600), `local.db`
//! (member-local state), `global/` (the node's raft log and snapshots).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cowsql_client::{Cluster, Role};
use cowsql_node::Node;
use incus_api::{Error, Result};
use incus_db::backend::{migrate_global, Backend};
use incus_db::cluster as q;

use crate::tls::{join_client_config, ClusterCert};
use crate::token::{self, JoinToken};
use crate::tunnel::{self, JoinRequest, JoinResponse, Server};

/// The replicated database's name.
pub const DATABASE: &str = "incus.db";
/// `cluster.max_voters` and `cluster.max_standby` defaults.
pub const MAX_VOTERS: usize = 3;
pub const MAX_STANDBY: usize = 2;

#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub name: String,
    /// `cluster.https_address`: `HOST:PORT` (also the raft address).
    pub address: String,
    pub dir: PathBuf,
    pub heartbeat: Duration,
    /// `cluster.offline_threshold`.
    pub offline_threshold: Duration,
    pub latency_ms: u32,
    pub arch: String,
    /// `cluster.join_token_expiry`.
    pub token_expiry: String,
    pub timeout: Duration,
}

impl MemberConfig {
    pub fn new(name: &str, address: &str, dir: impl Into<PathBuf>) -> MemberConfig {
        MemberConfig {
            name: name.into(),
            address: address.into(),
            dir: dir.into(),
            heartbeat: Duration::from_secs(4),
            offline_threshold: Duration::from_secs(20),
            latency_ms: 20,
            arch: std::env::consts::ARCH.to_string(),
            token_expiry: token::DEFAULT_EXPIRY.into(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One row of `incus cluster list`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberInfo {
    pub name: String,
    pub url: String,
    pub roles: Vec<String>,
    pub architecture: String,
    pub failure_domain: String,
    pub description: String,
    pub status: String,
    pub message: String,
    pub id: u64,
}

struct Shared {
    cfg: MemberConfig,
    id: u64,
    cert: ClusterCert,
    client_tls: Arc<rustls::ClientConfig>,
    node_socket: String,
    handle: tokio::runtime::Handle,
}

impl Shared {
    /// A client of the replicated database: this member's node directly (same
    /// process), the others through the mutual-TLS upgrade.
    fn cluster(&self, addresses: Vec<String>) -> Cluster {
        let me = self.cfg.address.clone();
        let socket = self.node_socket.clone();
        let handle = self.handle.clone();
        let tls = self.client_tls.clone();
        let mut all = vec![me.clone()];
        all.extend(addresses.into_iter().filter(|a| *a != me));
        Cluster::new(all, DATABASE)
            .with_retry_for(self.cfg.timeout)
            .with_timeout(self.cfg.timeout)
            .with_dialer(move |address, timeout| {
                if address == me {
                    return cowsql_client::dial(&socket, timeout);
                }
                let s = tunnel::dial(&handle, tls.clone(), address, timeout)?;
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
                Ok(Box::new(s) as Box<dyn cowsql_client::Transport>)
            })
    }
}

/// A client of the replicated database from outside any member (another process
/// holding the cluster certificate): every address through the mutual-TLS upgrade.
pub fn external_client(
    cert: &ClusterCert,
    addresses: Vec<String>,
    handle: tokio::runtime::Handle,
    timeout: Duration,
) -> Result<Cluster> {
    let tls = cert.client_config()?;
    Ok(Cluster::new(addresses, DATABASE)
        .with_retry_for(timeout)
        .with_timeout(timeout)
        .with_dialer(move |address, timeout| {
            let s = tunnel::dial(&handle, tls.clone(), address, timeout)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            Ok(Box::new(s) as Box<dyn cowsql_client::Transport>)
        }))
}

pub struct Member {
    shared: Arc<Shared>,
    node: Option<Node>,
    local: Arc<Mutex<q::LocalDb>>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn io(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

fn write_private(path: &std::path::Path, data: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    f.write_all(data.as_bytes()).map_err(io)
}

fn db_err(e: cowsql_client::Error) -> Error {
    incus_db::backend::cowsql_err(e)
}

fn node_err(e: cowsql_node::Error) -> Error {
    Error::internal(e.to_string())
}

impl Member {
    /// Makes this installation the first member of a new cluster (raft id 1).
    pub fn bootstrap(cfg: MemberConfig) -> Result<Member> {
        validate_name(&cfg.name)?;
        std::fs::create_dir_all(&cfg.dir).map_err(io)?;
        if cfg.dir.join("local.db").exists() {
            return Err(Error::conflict("This member is already clustered"));
        }
        let cert = ClusterCert::generate(&cfg.name)?;
        write_private(&cfg.dir.join("cluster.crt"), &cert.cert_pem)?;
        write_private(&cfg.dir.join("cluster.key"), &cert.key_pem)?;
        let mut local = q::LocalDb::open(&cfg.dir.join("local.db"))?;
        local.set_raft_nodes(&[(1, cfg.address.clone(), Role::Voter.code())])?;
        let m = Member::start(cfg, 1, cert, local)?;
        let mut b = Backend::Cowsql(m.cluster());
        if let Backend::Cowsql(c) = &mut b {
            migrate_global(c)?;
        }
        let me = q::MemberRow {
            id: 1,
            name: m.shared.cfg.name.clone(),
            address: m.shared.cfg.address.clone(),
            description: String::new(),
            arch: m.shared.cfg.arch.clone(),
            failure_domain: "default".into(),
            heartbeat: now_ms(),
        };
        b.write(|tx| {
            q::apply_cluster_schema(tx)?;
            q::member_add(tx, &me)
        })?;
        m.record_identity("1")?;
        Ok(m)
    }

    /// Joins the cluster a token was issued by, as the member the token names.
    pub fn join(cfg: MemberConfig, token_text: &str) -> Result<Member> {
        validate_name(&cfg.name)?;
        let token = JoinToken::decode(token_text)?;
        if token.server_name != cfg.name {
            return Err(Error::invalid(format!(
                "The join token was issued for {:?}, not {:?}",
                token.server_name, cfg.name
            )));
        }
        std::fs::create_dir_all(&cfg.dir).map_err(io)?;
        if cfg.dir.join("local.db").exists() {
            return Err(Error::conflict("This member is already clustered"));
        }
        let runtime = runtime()?;
        let tls = join_client_config(&token.fingerprint)?;
        let req = JoinRequest {
            secret: token.secret.clone(),
            name: cfg.name.clone(),
            address: cfg.address.clone(),
            arch: cfg.arch.clone(),
        };
        let mut last = Error::internal("The token lists no address");
        let mut resp: Option<JoinResponse> = None;
        for a in &token.addresses {
            match tunnel::post_join(runtime.handle(), tls.clone(), a, &req, cfg.timeout) {
                Ok(r) => {
                    resp = Some(r);
                    break;
                }
                // The secret was checked and refused: asking another member won't help.
                Err(e) if e.kind != incus_api::ErrorKind::Internal => return Err(e),
                Err(e) => last = e,
            }
        }
        let resp = resp.ok_or(last)?;
        let cert = ClusterCert::from_pem(&resp.cluster_certificate, &resp.cluster_key)?;
        if cert.fingerprint() != token.fingerprint {
            return Err(Error::forbidden(
                "The cluster sent a certificate the token does not name",
            ));
        }
        write_private(&cfg.dir.join("cluster.crt"), &cert.cert_pem)?;
        write_private(&cfg.dir.join("cluster.key"), &cert.key_pem)?;
        let mut local = q::LocalDb::open(&cfg.dir.join("local.db"))?;
        local.set_raft_nodes(&resp.members)?;
        local.set_config("cluster.name", &cfg.name)?;
        local.set_config("cluster.https_address", &cfg.address)?;
        local.set_config("cluster.member_id", &resp.id.to_string())?;
        drop(runtime);
        let m = Member::start(cfg, resp.id, cert, local)?;
        m.rebalance()?;
        Ok(m)
    }

    /// Starts an existing member again from its directory (after a stop or a crash).
    pub fn restart(cfg: MemberConfig) -> Result<Member> {
        let local = q::LocalDb::open(&cfg.dir.join("local.db"))?;
        let id: u64 = local
            .config("cluster.member_id")?
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::not_found("This member is not clustered"))?;
        let read = |f: &str| std::fs::read_to_string(cfg.dir.join(f)).map_err(io);
        let cert = ClusterCert::from_pem(&read("cluster.crt")?, &read("cluster.key")?)?;
        Member::start(cfg, id, cert, local)
    }

    fn start(cfg: MemberConfig, id: u64, cert: ClusterCert, local: q::LocalDb) -> Result<Member> {
        let runtime = runtime()?;
        let client_tls = cert.client_config()?;
        let gdir = cfg.dir.join("global");
        std::fs::create_dir_all(&gdir).map_err(io)?;
        let mut node = Node::create(id, &cfg.address, &gdir).map_err(node_err)?;
        node.set_bind_address("@").map_err(node_err)?;
        node.set_network_latency_ms(cfg.latency_ms)
            .map_err(node_err)?;
        {
            let handle = runtime.handle().clone();
            let tls = client_tls.clone();
            let timeout = cfg.timeout;
            node.set_connect_func(Box::new(move |address: &str| {
                let s = tunnel::dial(&handle, tls.clone(), address, timeout)?;
                Ok(s.into())
            }))
            .map_err(node_err)?;
        }
        node.start().map_err(node_err)?;
        let node_socket = node
            .bind_address()
            .ok_or_else(|| Error::internal("the node has no bind address"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(&cfg.address))
            .map_err(|e| Error::internal(format!("{}: {e}", cfg.address)))?;
        let shared = Arc::new(Shared {
            cfg,
            id,
            cert: cert.clone(),
            client_tls,
            node_socket: node_socket.clone(),
            handle: runtime.handle().clone(),
        });
        let local = Arc::new(Mutex::new(local));
        let join: tunnel::JoinHandler = {
            let shared = shared.clone();
            let local = local.clone();
            Arc::new(move |req| accept_join(&shared, &local, req))
        };
        let server = Arc::new(Server {
            tls: cert.server_config()?,
            cluster_der: cert.der().to_vec(),
            node_socket,
            join,
        });
        runtime.spawn(tunnel::serve(listener, server));
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let shared = shared.clone();
            let local = local.clone();
            let stop = stop.clone();
            std::thread::spawn(move || heartbeat_loop(&shared, &local, &stop))
        };
        Ok(Member {
            shared,
            node: Some(node),
            local,
            runtime: Some(runtime),
            stop,
            heartbeat: Some(heartbeat),
        })
    }

    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// Writes what `host` needs to start this member again (the member id last: a
    /// directory without it is not a member yet).
    fn record_identity(&self, id: &str) -> Result<()> {
        let l = self.local();
        l.set_config("cluster.name", &self.shared.cfg.name)?;
        l.set_config("cluster.https_address", &self.shared.cfg.address)?;
        l.set_config("cluster.member_id", id)
    }

    pub fn fingerprint(&self) -> String {
        self.shared.cert.fingerprint()
    }

    fn local(&self) -> std::sync::MutexGuard<'_, q::LocalDb> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client of the replicated database (for this member's own use).
    pub fn cluster(&self) -> Cluster {
        let known = self
            .local()
            .raft_nodes()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, a, _)| a)
            .collect();
        self.shared.cluster(known)
    }

    /// `incus cluster add NAME`: a single-use join token for a new member `name`.
    pub fn add_token(&self, name: &str) -> Result<String> {
        validate_name(name)?;
        let expiry = token::parse_expiry(&self.shared.cfg.token_expiry)?;
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(expiry).map_err(|e| Error::invalid(e.to_string()))?;
        let secret = token::new_secret()?;
        let hash = token::secret_hash(&secret);
        let mut b = Backend::Cowsql(self.cluster());
        let addresses = b.write(|tx| {
            q::token_add(tx, name, &hash, expires.timestamp())?;
            let now = now_ms();
            let threshold = self.shared.cfg.offline_threshold.as_millis() as i64;
            Ok(q::member_list(tx)?
                .into_iter()
                .filter(|m| now - m.heartbeat < threshold)
                .map(|m| m.address)
                .collect::<Vec<_>>())
        })?;
        Ok(JoinToken {
            server_name: name.into(),
            fingerprint: self.fingerprint(),
            addresses,
            secret,
            expires_at: expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
        .encode())
    }

    /// `incus cluster list-tokens`: (name, expiry in seconds).
    pub fn tokens(&self) -> Result<Vec<(String, i64)>> {
        Backend::Cowsql(self.cluster()).read(q::token_list)
    }

    /// Promotes this member as upstream's rebalancing would: voter while there are
    /// fewer than `MAX_VOTERS`, then stand-by while fewer than `MAX_STANDBY`.
    fn rebalance(&self) -> Result<()> {
        let id = self.shared.id;
        let mut c = self.cluster();
        let members = c.members().map_err(db_err)?;
        let count = |r: Role| members.iter().filter(|m| m.role == r && m.id != id).count();
        let role = if count(Role::Voter) < MAX_VOTERS {
            Role::Voter
        } else if count(Role::StandBy) < MAX_STANDBY {
            Role::StandBy
        } else {
            return Ok(());
        };
        c.with_leader(|conn| conn.assign(id, role)).map_err(db_err)
    }

    /// `incus cluster list`.
    pub fn list(&self) -> Result<Vec<MemberInfo>> {
        let mut c = self.cluster();
        let raft = c.members().map_err(db_err)?;
        let leader = c
            .find_leader()
            .and_then(|mut conn| conn.leader())
            .map_err(db_err)?
            .map(|(id, _)| id);
        let rows = Backend::Cowsql(c).read(q::member_list)?;
        let now = now_ms();
        let threshold = self.shared.cfg.offline_threshold;
        Ok(rows
            .into_iter()
            .map(|m| {
                let role = raft.iter().find(|r| r.id == m.id).map(|r| r.role);
                let mut roles = Vec::new();
                if leader == Some(m.id) {
                    roles.push("database-leader".to_string());
                }
                match role {
                    Some(Role::Voter) => roles.push("database".into()),
                    Some(Role::StandBy) => roles.push("database-standby".into()),
                    _ => {}
                }
                let age = Duration::from_millis((now - m.heartbeat).max(0) as u64);
                let (status, message) = if age < threshold {
                    ("ONLINE", "Fully operational".to_string())
                } else {
                    ("OFFLINE", format!("No heartbeat for {}s", age.as_secs()))
                };
                MemberInfo {
                    url: format!("https://{}", m.address),
                    name: m.name,
                    roles,
                    architecture: m.arch,
                    failure_domain: m.failure_domain,
                    description: m.description,
                    status: status.into(),
                    message,
                    id: m.id,
                }
            })
            .collect())
    }

    /// A graceful stop: leadership and the voter role handed over, then the node stops.
    pub fn stop(mut self) {
        self.shutdown(true);
    }

    fn shutdown(&mut self, handover: bool) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        if let Some(mut node) = self.node.take() {
            if handover {
                // Fails when no spare can take the voter role; leadership has moved.
                let _ = node.handover();
            }
            let _ = node.stop();
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.shutdown(false);
    }
}

/// Where an installation keeps its member state: `INCUS_DIR/cluster`.
pub fn member_dir(incus_dir: &std::path::Path) -> PathBuf {
    incus_dir.join("cluster")
}

/// What `incus-serve` calls at start: `None` on a standalone installation (nothing is
/// loaded: libcowsql is only opened when a node is created); on a clustered member, the
/// member started again from `INCUS_DIR/cluster` (name and address from its `local.db`).
/// Blocking: call it outside async code.
pub fn host(incus_dir: &std::path::Path) -> Result<Option<Member>> {
    let dir = member_dir(incus_dir);
    if !dir.join("local.db").exists() {
        return Ok(None);
    }
    let local = q::LocalDb::open(&dir.join("local.db"))?;
    let get = |k: &str| {
        local
            .config(k)?
            .ok_or_else(|| Error::internal(format!("{}: no {k}", dir.display())))
    };
    let cfg = MemberConfig::new(&get("cluster.name")?, &get("cluster.https_address")?, &dir);
    drop(local);
    Member::restart(cfg).map(Some)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io)
}

fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid member name {name:?}")))
    }
}

/// The accepting side of `/internal/join`: consumes the token (single use, expiry,
/// name), records the member, ADDs its node as a spare, and hands over the cluster
/// certificate and the raft members.
fn accept_join(
    shared: &Shared,
    local: &Mutex<q::LocalDb>,
    req: JoinRequest,
) -> Result<JoinResponse> {
    validate_name(&req.name)?;
    if req.address.parse::<std::net::SocketAddr>().is_err() {
        return Err(Error::invalid(format!(
            "Invalid cluster address {:?} (HOST:PORT)",
            req.address
        )));
    }
    let known = local
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .raft_nodes()?
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    let mut c = shared.cluster(known);
    let id = cowsql_node::generate_node_id(&req.address).map_err(node_err)?;
    let hash = token::secret_hash(&req.secret);
    let now = now_ms();
    let row = q::MemberRow {
        id,
        name: req.name.clone(),
        address: req.address.clone(),
        description: String::new(),
        arch: req.arch.clone(),
        failure_domain: "default".into(),
        heartbeat: now,
    };
    let mut b = Backend::Cowsql(c);
    b.write(|tx| {
        let name = q::token_take(tx, &hash, now / 1000)?;
        if name != req.name {
            return Err(Error::forbidden(format!(
                "The join token was issued for {name:?}, not {:?}",
                req.name
            )));
        }
        q::member_add(tx, &row)
    })?;
    c = match b {
        Backend::Cowsql(c) => c,
        Backend::Local(_) => unreachable!(),
    };
    if let Err(e) = c.with_leader(|conn| conn.add(id, &req.address)) {
        let _ = Backend::Cowsql(shared.cluster(vec![])).write(|tx| q::member_remove(tx, id));
        return Err(db_err(e));
    }
    let members = c
        .members()
        .map_err(db_err)?
        .into_iter()
        .map(|m| (m.id, m.address, m.role.code()))
        .collect();
    Ok(JoinResponse {
        id,
        cluster_certificate: shared.cert.cert_pem.clone(),
        cluster_key: shared.cert.key_pem.clone(),
        members,
    })
}

fn heartbeat_loop(shared: &Shared, local: &Mutex<q::LocalDb>, stop: &AtomicBool) {
    let mut next = std::time::Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if std::time::Instant::now() >= next {
            next = std::time::Instant::now() + shared.cfg.heartbeat;
            let known: Vec<String> = local
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .raft_nodes()
                .unwrap_or_default()
                .into_iter()
                .map(|(_, a, _)| a)
                .collect();
            let mut c = shared.cluster(known).with_retry_for(shared.cfg.heartbeat);
            let _ = c.exec_idempotent(
                "UPDATE nodes SET heartbeat = ? WHERE id = ?",
                &[
                    cowsql_client::Value::Integer(now_ms()),
                    cowsql_client::Value::Integer(shared.id as i64),
                ],
            );
            if let Ok(members) = c.members() {
                let nodes: Vec<_> = members
                    .into_iter()
                    .map(|m| (m.id, m.address, m.role.code()))
                    .collect();
                let _ = local
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .set_raft_nodes(&nodes);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
