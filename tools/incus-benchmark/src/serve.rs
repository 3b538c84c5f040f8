//! The `serve` scenario group: `incus-serve` answering over its unix socket (and HTTPS
//! with `wrk` when it is installed) with --count running instances: list latency,
//! `GET /1.0` throughput, and the server's resident memory.

use crate::Stats;
use incus_api::{Error, Result};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Requests per second the issue asks of `GET /1.0` on 2 cores.
const RPS_BUDGET: f64 = 500.0;
/// Idle resident memory budget of `incus-serve`, KiB.
const RSS_BUDGET_KIB: u64 = 20 * 1024;
/// Load: connections kept alive at once, and for how long.
const CONNECTIONS: usize = 4;
const LOAD_TIME: Duration = Duration::from_secs(3);

/// Requests per second of one request under load.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub operation: String,
    pub transport: String,
    pub connections: usize,
    pub seconds: f64,
    pub requests: u64,
    pub rps: f64,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub budget_rps: f64,
    pub within_budget: bool,
}

/// Resident memory of `incus-serve` (VmRSS, KiB): started and asked for `/1.0` once
/// (idle), and after the whole group (busy).
#[derive(Debug, Clone, Serialize)]
pub struct ServeMemory {
    pub idle_rss_kib: u64,
    pub busy_rss_kib: u64,
    pub budget_kib: u64,
    pub within_budget: bool,
}

/// CPU time (user + system, all threads) the server spent per request: it does not
/// count the time spent waiting for a core that other work holds, as the latency does.
#[derive(Debug, Clone, Serialize)]
pub struct ServerCpu {
    pub operation: String,
    pub requests: usize,
    pub cpu_ms_per_request: f64,
}

/// What the group measured besides the latency lines.
#[derive(Debug, Default, Serialize)]
pub struct ServeResults {
    pub throughput: Vec<Throughput>,
    pub memory: Option<ServeMemory>,
    pub cpu: Vec<ServerCpu>,
}

/// A running `incus-serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub socket: PathBuf,
    pub https: String,
    dir: PathBuf,
}

impl Server {
    /// Starts `program` on a private socket and a free loopback port; waits (with a
    /// deadline) until the socket answers.
    pub fn start(program: &Path) -> Result<Server> {
        let dir =
            std::env::temp_dir().join(format!("incus-benchmark-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::internal(format!("{e}")))?;
        let socket = dir.join("unix.socket");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::internal(format!("Find a free port: {e}")))?
            .port();
        let https = format!("127.0.0.1:{port}");
        let child = Command::new(program)
            .arg("--socket")
            .arg(&socket)
            .args(["--https", &https])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::internal(format!("Run {}: {e}", program.display())))?;
        let mut server = Server {
            child,
            socket,
            https,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut c) = Conn::unix(&server.socket) {
                if c.get("/1.0").is_ok() {
                    return Ok(server);
                }
            }
            if let Ok(Some(st)) = server.child.try_wait() {
                return Err(Error::internal(format!("incus-serve exited: {st}")));
            }
            if Instant::now() > deadline {
                return Err(Error::internal("incus-serve did not answer within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn rss_kib(&self) -> u64 {
        crate::proc_field(self.child.id(), "VmRSS:").unwrap_or(0)
    }

    /// utime + stime of the server so far, ms (/proc/PID/stat counts in 1/100 s).
    fn cpu_ms(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name, which may hold spaces: utime and stime are
        // the 14th and 15th of the line, the 12th and 13th after ')'.
        let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
        let ticks: u64 = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse::<u64>().ok())
            .sum();
        ticks as f64 * 10.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One keep-alive HTTP/1.1 connection: enough client for our own server's answers
/// (Content-Length or chunked bodies).
pub struct Conn {
    r: BufReader<UnixStream>,
}

impl Conn {
    pub fn unix(path: &Path) -> Result<Conn> {
        let s = UnixStream::connect(path)
            .map_err(|e| Error::internal(format!("Connect {}: {e}", path.display())))?;
        Ok(Conn {
            r: BufReader::new(s),
        })
    }

    /// `GET path`; a status other than 200 is an error.
    pub fn get(&mut self, path: &str) -> Result<Vec<u8>> {
        let io = |e: std::io::Error| Error::internal(format!("GET {path}: {e}"));
        write!(
            self.r.get_mut(),
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: incus-benchmark\r\n\r\n"
        )
        .map_err(io)?;
        let mut line = String::new();
        self.r.read_line(&mut line).map_err(io)?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.r.read_line(&mut line).map_err(io)? == 0 {
                return Err(Error::internal(format!("GET {path}: connection closed")));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    length = v.parse::<usize>().ok();
                } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.r.read_line(&mut line).map_err(io)?;
                let n = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| Error::internal(format!("GET {path}: bad chunk")))?;
                let start = body.len();
                body.resize(start + n + 2, 0);
                self.r.read_exact(&mut body[start..]).map_err(io)?;
                body.truncate(start + n);
                if n == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.r.read_exact(&mut body).map_err(io)?;
        }
        if status != "200" {
            return Err(Error::internal(format!(
                "GET {path}: status {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(body)
    }
}

/// `rounds` requests one after another on one connection; also the server's CPU time
/// per request.
pub fn latency(
    server: &Server,
    op: &str,
    path: &str,
    rounds: usize,
    n: usize,
) -> Result<(Stats, ServerCpu)> {
    let mut c = Conn::unix(&server.socket)?;
    c.get(path)?; // warm: first-use costs (database handle of the worker) are not the median's
    let mut samples = Vec::with_capacity(rounds);
    let cpu = server.cpu_ms();
    for _ in 0..rounds {
        let t = Instant::now();
        c.get(path)?;
        samples.push(t.elapsed());
    }
    let cpu = ServerCpu {
        operation: op.into(),
        requests: rounds,
        cpu_ms_per_request: ((server.cpu_ms() - cpu) / rounds as f64 * 100.0).round() / 100.0,
    };
    Ok((Stats::from(op, 1, n, samples), cpu))
}

/// `GET path` from CONNECTIONS threads for LOAD_TIME, each on its own keep-alive
/// connection.
pub fn load_unix(server: &Server, path: &str) -> Result<Throughput> {
    let started = Instant::now();
    let deadline = started + LOAD_TIME;
    let per_thread: Vec<Result<Vec<Duration>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                s.spawn(|| -> Result<Vec<Duration>> {
                    let mut c = Conn::unix(&server.socket)?;
                    let mut v = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        c.get(path)?;
                        v.push(t.elapsed());
                    }
                    Ok(v)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("load thread panicked")))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut all = Vec::new();
    for r in per_thread {
        all.extend(r?);
    }
    let stats = Stats::from(path, CONNECTIONS, 0, all);
    Ok(throughput(
        path,
        "unix",
        seconds,
        stats.count as u64,
        Some(stats.median_ms),
        Some(stats.p95_ms),
    ))
}

/// `wrk` against the HTTPS listener (untrusted: `GET /1.0` answers those too).
/// `None` when wrk is not installed.
pub fn load_https(server: &Server, path: &str) -> Result<Option<Throughput>> {
    let url = format!("https://{}{path}", server.https);
    let secs = LOAD_TIME.as_secs().to_string();
    let out = match Command::new("wrk")
        .args(["-t", "2", "-c", &CONNECTIONS.to_string(), "-d"])
        .arg(format!("{secs}s"))
        .args(["--latency", &url])
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::internal(format!("Run wrk: {e}"))),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Non-2xx") || text.contains("Socket errors") {
        return Err(Error::internal(format!("wrk {url} failed: {text}")));
    }
    Ok(Some(parse_wrk(path, &text, LOAD_TIME.as_secs_f64())?))
}

/// Requests, requests/s and the median from wrk's `--latency` report.
fn parse_wrk(path: &str, text: &str, seconds: f64) -> Result<Throughput> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_string()))
    };
    let bad = || Error::internal(format!("wrk: unexpected output: {text}"));
    let rps: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(bad)?;
    let requests: u64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .ok_or_else(bad)?;
    let median = field("50%").and_then(|v| wrk_ms(&v));
    let mut t = throughput(path, "https", seconds, requests, median, None);
    t.rps = (rps * 10.0).round() / 10.0;
    t.within_budget = t.rps >= RPS_BUDGET;
    Ok(t)
}

/// wrk's durations: `812.00us`, `1.20ms`, `1.01s`.
fn wrk_ms(v: &str) -> Option<f64> {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    num.parse::<f64>()
        .ok()
        .map(|n| (n * scale * 100.0).round() / 100.0)
}

pub(crate) fn throughput(
    path: &str,
    transport: &str,
    seconds: f64,
    requests: u64,
    median_ms: Option<f64>,
    p95_ms: Option<f64>,
) -> Throughput {
    let rps = ((requests as f64 / seconds) * 10.0).round() / 10.0;
    Throughput {
        operation: format!("GET {path}"),
        transport: transport.into(),
        connections: CONNECTIONS,
        seconds: (seconds * 100.0).round() / 100.0,
        requests,
        rps,
        median_ms,
        p95_ms,
        budget_rps: RPS_BUDGET,
        within_budget: rps >= RPS_BUDGET,
    }
}

pub fn memory(idle_rss_kib: u64, busy_rss_kib: u64) -> ServeMemory {
    ServeMemory {
        idle_rss_kib,
        busy_rss_kib,
        budget_kib: RSS_BUDGET_KIB,
        within_budget: idle_rss_kib <= RSS_BUDGET_KIB,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_report() {
        let text = "Running 3s test @ https://127.0.0.1:1/1.0\n  2 threads and 4 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency     2.10ms    1.00ms  20.00ms   90.00%\n  Latency Distribution\n     50%    1.50ms\n     75%    2.00ms\n     90%    3.00ms\n     99%    9.00ms\n  4000 requests in 3.00s, 1.00MB read\nRequests/sec:   1333.33\nTransfer/sec:    341.33KB\n";
        let t = parse_wrk("/1.0", text, 3.0).unwrap();
        assert_eq!(
            (t.requests, t.rps, t.median_ms, t.within_budget),
            (4000, 1333.3, Some(1.5), true)
        );
        assert_eq!(wrk_ms("812.00us"), Some(0.81));
        assert_eq!(wrk_ms("1.01s"), Some(1010.0));
        assert!(parse_wrk("/1.0", "garbage", 3.0).is_err());
    }
}
