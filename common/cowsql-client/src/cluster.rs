//! Leader discovery and retries over a set of known nodes.

use std::time::{Duration, Instant};

use crate::codec::NodeInfo;
use crate::conn::{dial, Conn, ExecResult, Rows, Transport};
use crate::{Error, Result, Value, SQLITE_IOERR_NOT_LEADER};

type Dialer = Box<dyn Fn(&str, Duration) -> Result<Box<dyn Transport>> + Send>;

/// A database on a cluster: keeps a connection to the leader, finds the new leader when
/// leadership moves.
///
/// Retries are bounded by a deadline (`retry_for`, 10 s by default). [`Cluster::exec`]
/// retries only where nothing ran (no leader reachable, `NOT_LEADER`);
/// [`Cluster::exec_idempotent`] and [`Cluster::query`] also retry after
/// `LEADERSHIP_LOST` or a connection lost mid-request, where a write may or may not have
/// been committed.
pub struct Cluster {
    addresses: Vec<String>,
    database: String,
    timeout: Duration,
    retry_for: Duration,
    dialer: Dialer,
    conn: Option<Conn>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("addresses", &self.addresses)
            .field("database", &self.database)
            .field("conn", &self.conn)
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Only errors that guarantee the request did not run.
    NothingRan,
    /// Also leadership loss and broken connections mid-request.
    Idempotent,
}

impl Cluster {
    /// A cluster known by some of its nodes' addresses, using database `database`.
    pub fn new<S: Into<String>>(addresses: impl IntoIterator<Item = S>, database: &str) -> Self {
        Cluster {
            addresses: addresses.into_iter().map(Into::into).collect(),
            database: database.to_string(),
            timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(10),
            dialer: Box::new(dial),
            conn: None,
        }
    }

    /// Bound on each connect, read and write.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long to keep retrying while there is no usable leader.
    pub fn with_retry_for(mut self, retry_for: Duration) -> Self {
        self.retry_for = retry_for;
        self
    }

    /// Replaces how addresses are dialled (e.g. an HTTPS upgrade, or a local proxy).
    pub fn with_dialer(
        mut self,
        dialer: impl Fn(&str, Duration) -> Result<Box<dyn Transport>> + Send + 'static,
    ) -> Self {
        self.dialer = Box::new(dialer);
        self
    }

    fn connect(&self, address: &str) -> Result<Conn> {
        Conn::handshake((self.dialer)(address, self.timeout)?, address)
    }

    /// Asks the known nodes, in order, who leads; follows the answer and returns a
    /// connection to a node that confirms it is the leader.
    pub fn find_leader(&self) -> Result<Conn> {
        let mut tried = Vec::new();
        for address in &self.addresses {
            match self.ask(address) {
                Ok(conn) => return Ok(conn),
                Err(e) => tried.push(format!("{address}: {e}")),
            }
        }
        if tried.is_empty() {
            tried.push("no node addresses".into());
        }
        Err(Error::NoLeader(tried.join("; ")))
    }

    fn ask(&self, address: &str) -> Result<Conn> {
        let mut conn = self.connect(address)?;
        let Some((id, leader)) = conn.leader()? else {
            return Err(Error::NoLeader("knows no leader".into()));
        };
        if leader == address {
            return Ok(conn);
        }
        drop(conn);
        let mut conn = self.connect(&leader)?;
        match conn.leader()? {
            Some((confirmed, _)) if confirmed == id => Ok(conn),
            _ => Err(Error::NoLeader(format!(
                "{leader} (named leader) does not confirm it leads"
            ))),
        }
    }

    /// The leader connection, with the database open (found again if needed).
    fn leader(&mut self) -> Result<&mut Conn> {
        if self.conn.as_ref().is_some_and(|c| !c.is_usable()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let mut conn = self.find_leader()?;
            conn.open(&self.database)?;
            // Try the last leader first next time.
            if let Some(i) = self.addresses.iter().position(|a| a == conn.address()) {
                self.addresses[..=i].rotate_right(1);
            }
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("set above"))
    }

    fn run<T>(&mut self, retry: Retry, mut f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.retry_for;
        let mut backoff = Duration::from_millis(10);
        loop {
            let (result, ran) = match self.leader() {
                Ok(conn) => (f(conn), true),
                Err(e) => (Err(e), false),
            };
            let e = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let again = match &e {
                // Finding the leader failed: nothing was sent.
                _ if !ran => matches!(e, Error::Io(_) | Error::NoLeader(_)) || e.is_leadership(),
                Error::Server { code, .. } if *code == SQLITE_IOERR_NOT_LEADER => true,
                e if e.is_db_closed() || e.is_busy() => true,
                e if e.is_leadership() || matches!(e, Error::Io(_)) => retry == Retry::Idempotent,
                _ => false,
            };
            if e.is_leadership()
                || e.is_db_closed()
                || matches!(e, Error::Io(_) | Error::Protocol(_))
            {
                self.conn = None;
            }
            let now = Instant::now();
            if !again || now >= deadline {
                return Err(e);
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }

    /// Runs `f` on the leader's connection; retries, on the new leader, only errors that
    /// guarantee nothing ran.
    pub fn with_leader<T>(&mut self, f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        self.run(Retry::NothingRan, f)
    }

    /// Runs `sql` on the leader, retrying only where it certainly did not run. Several
    /// statements in one `sql` are separate commits unless wrapped in a transaction
    /// (see [`Cluster::transaction`]).
    pub fn exec(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        self.run(Retry::NothingRan, |c| c.exec(sql, params))
    }

    /// Runs `sql` on the leader, retrying also after leadership loss: only for writes that
    /// may safely run twice.
    pub fn exec_idempotent(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        self.run(Retry::Idempotent, |c| c.exec(sql, params))
    }

    /// Runs `f` in a transaction on the leader. A `NOT_LEADER` anywhere before the commit
    /// succeeded means nothing was committed, so the whole transaction is run again on
    /// the new leader (`f` may run more than once; it must only touch the database).
    /// `LEADERSHIP_LOST` is returned as is: the commit may or may not have happened.
    pub fn transaction<T>(&mut self, mut f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        self.run(Retry::NothingRan, |c| c.transaction(&mut f))
    }

    /// Runs a query on the leader (reads go to the leader too), retrying on a new leader.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        self.run(Retry::Idempotent, |c| c.query(sql, params))
    }

    /// The members and their roles, as the leader knows them.
    pub fn members(&mut self) -> Result<Vec<NodeInfo>> {
        self.run(Retry::Idempotent, |c| c.cluster())
    }
}
