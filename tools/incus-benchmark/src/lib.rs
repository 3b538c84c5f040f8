//! `incus-benchmark`: times instance operations the way a user runs them (one
//! `incus ...` process per operation) and prints medians beside the performance
//! budget of docs/architecture.md. Upstream's subcommands (`init`, `launch`, `start`, `stop`,
//! `delete`) work on the `benchmark-N` instances; the other scenarios make what they
//! need and remove it again. No timing is ever asserted: the report says pass/over.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use incus_api::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

mod compare;
mod serve;

/// Measure instance operations and compare them with the performance budget.
#[derive(Debug, Parser)]
#[command(name = "incus-benchmark", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub opts: Opts,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// Number of instances (or repetitions, for exec/config/list/snapshot)
    #[arg(long, global = true, default_value_t = 10)]
    pub count: usize,
    /// Operations run at the same time
    #[arg(long, global = true, default_value_t = 1)]
    pub parallel: usize,
    /// Image alias or fingerprint
    #[arg(long, global = true, default_value = "busybox")]
    pub image: String,
    /// Storage pool for new instances (default: the default profile's)
    #[arg(long, short = 's', global = true)]
    pub storage: Option<String>,
    /// Append one CSV line per operation to this file (header when new)
    #[arg(long, global = true)]
    pub report_file: Option<PathBuf>,
    /// Output format
    #[arg(long, short = 'f', global = true, value_enum, default_value_t = OutFormat::Table)]
    pub format: OutFormat,
    /// Call the tools directly (incus-instance ...) instead of through `incus`
    #[arg(long, global = true)]
    pub direct: bool,
    /// Create virtual machines (`--vm`; the image must be a VM image)
    #[arg(long, global = true)]
    pub vm: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create benchmark-1..N (not started)
    Init,
    /// Create and start benchmark-1..N
    Launch,
    /// Start every benchmark-N instance
    Start,
    /// Stop (-f) every benchmark-N instance
    Stop,
    /// Delete (-f) every benchmark-N instance
    Delete,
    /// `exec -- true`, --count times, in one running instance
    Exec,
    /// `list --format json` with --count running instances
    List,
    /// Live `config set limits.memory`, --count times, on one running instance
    Config,
    /// Snapshot create and restore (running), --count times
    Snapshot,
    /// The standard set: launch, stop, start, exec, config, list, snapshot, delete
    Standard,
    /// incus-serve with --count running instances: REST list latency, `GET /1.0`
    /// requests/s (unix socket; HTTPS with wrk when installed), idle memory, `list`
    Serve,
    /// Upstream's daemon (through upstream's client) against ours, the same chain of
    /// operations interleaved A B / B A, medians and ratios upstream/ours (`make compare`)
    Compare(CompareArgs),
    /// Launch N running instances (--parallel at a time), then time `list -f csv`,
    /// `list -f json` and `exec true` among them, measure host memory per instance
    /// (MemAvailable before and after), and delete them all
    Scale(ScaleArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScaleArgs {
    /// Running instances to launch
    #[arg(long, default_value_t = 1000)]
    pub instances: usize,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Rounds (one instance per side goes through the whole chain in each)
    #[arg(long, default_value_t = 15)]
    pub rounds: usize,
    /// Upstream's client
    #[arg(long, default_value = "/usr/bin/incus")]
    pub upstream_client: PathBuf,
    /// Upstream daemon's directory (INCUS_DIR of upstream's client)
    #[arg(long, default_value = "/var/lib/incus")]
    pub upstream_dir: PathBuf,
    /// Image upstream launches (default: --image)
    #[arg(long)]
    pub upstream_image: Option<String>,
    /// Instance name prefix (the process id and round are appended)
    #[arg(long, default_value = "bench-cmp")]
    pub prefix: String,
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let bench = Bench::new(cli.opts)?;
        if let Cmd::Compare(c) = &cli.command {
            return bench.compare(c);
        }
        let results = bench.run(&cli.command)?;
        bench.report(&results)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The budget of docs/architecture.md and upstream's median here, in ms, by
/// operation. `api-*` are REST requests to incus-serve over its unix socket.
fn budget(op: &str) -> Option<(f64, Option<f64>)> {
    Some(match op {
        "launch" => (30.0, Some(290.0)),
        "start" => (25.0, Some(290.0)),
        "stop" => (15.0, Some(740.0)),
        "exec" => (5.0, Some(55.0)),
        "snapshot" => (15.0, Some(150.0)),
        "restore" => (60.0, Some(1080.0)),
        "list" => (20.0, Some(1020.0)),
        "list-csv" => (50.0, None),
        "list-json" => (100.0, None),
        "config" => (5.0, Some(57.0)),
        "api-full" => (30.0, None),
        _ => return None,
    })
}

/// One operation's timings.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub operation: String,
    pub count: usize,
    pub parallel: usize,
    /// Instances present while it ran (list).
    pub instances: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub p95_ms: f64,
    pub budget_ms: Option<f64>,
    pub upstream_ms: Option<f64>,
    pub within_budget: Option<bool>,
}

/// Peak memory of the instance monitors seen during the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonitorMemory {
    pub monitors: usize,
    pub peak_rss_kib_max: u64,
    pub peak_rss_kib_median: u64,
}

/// MemAvailable before and after `scale` launched its instances.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleMemory {
    pub instances: usize,
    pub mem_available_drop_kib: i64,
    pub kib_per_instance: i64,
}

#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub operations: Vec<Stats>,
    pub monitor_memory: Option<MonitorMemory>,
    /// Host memory per running instance (`scale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleMemory>,
    /// The `serve` group's throughput and memory (absent for the other scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serve: Option<serve::ServeResults>,
}

impl Stats {
    fn from(
        operation: &str,
        parallel: usize,
        instances: usize,
        mut samples: Vec<Duration>,
    ) -> Self {
        samples.sort();
        let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        let n = samples.len();
        let at = |q: f64| {
            // Nearest rank.
            let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
            ms(samples[rank - 1])
        };
        let median = if n == 0 {
            0.0
        } else if n % 2 == 1 {
            ms(samples[n / 2])
        } else {
            ((ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0 * 100.0).round() / 100.0
        };
        let b = budget(operation);
        Stats {
            operation: operation.into(),
            count: n,
            parallel,
            instances,
            median_ms: median,
            min_ms: samples.first().map(|d| ms(*d)).unwrap_or(0.0),
            max_ms: samples.last().map(|d| ms(*d)).unwrap_or(0.0),
            p95_ms: if n == 0 { 0.0 } else { at(0.95) },
            budget_ms: b.map(|b| b.0),
            upstream_ms: b.and_then(|b| b.1),
            within_budget: b.filter(|_| n > 0).map(|b| median <= b.0),
        }
    }
}

struct Bench {
    opts: Opts,
    /// Where `incus` (or the tools, with --direct) live: beside this binary first.
    bin_dir: Option<PathBuf>,
    monitors: std::sync::Mutex<std::collections::HashMap<u32, u64>>,
}

const PREFIX: &str = "benchmark-";

impl Bench {
    fn new(opts: Opts) -> Result<Bench> {
        if opts.count == 0 || opts.parallel == 0 {
            return Err(Error::invalid("--count and --parallel must be at least 1"));
        }
        let bin_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .filter(|d| d.join("incus").is_file());
        Ok(Bench {
            opts,
            bin_dir,
            monitors: Default::default(),
        })
    }

    /// The command for `incus ARGS` (or the tool it dispatches to, with --direct).
    fn command(&self, args: &[&str]) -> Command {
        let (program, rest): (String, &[&str]) = if self.opts.direct {
            match args.first().copied() {
                Some("snapshot") => ("incus-snapshot".into(), &args[1..]),
                _ => ("incus-instance".into(), args),
            }
        } else {
            ("incus".into(), args)
        };
        let program = match &self.bin_dir {
            Some(d) if d.join(&program).is_file() => d.join(&program),
            _ => PathBuf::from(program),
        };
        let mut cmd = Command::new(program);
        cmd.args(rest);
        cmd
    }

    /// Runs `incus ARGS`, returning its duration; a failure stops the benchmark.
    fn time(&self, args: &[&str]) -> Result<Duration> {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| Error::internal(format!("Run incus {}: {e}", args.join(" "))))?;
        let took = started.elapsed();
        if !out.status.success() {
            return Err(Error::internal(format!(
                "incus {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(took)
    }

    fn output(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::internal(format!("Run incus {}: {e}", args.join(" "))))?;
        if !out.status.success() {
            return Err(Error::internal(format!(
                "incus {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `op` on every item, `--parallel` at a time; returns each duration.
    fn each<T: Sync>(
        &self,
        items: &[T],
        op: impl Fn(&T) -> Result<Duration> + Sync,
    ) -> Result<Vec<Duration>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
        let first_error = std::sync::Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..self.opts.parallel.min(items.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    match op(item) {
                        Ok(d) => results.lock().unwrap().push(d),
                        Err(e) => {
                            first_error.lock().unwrap().get_or_insert(e);
                            break;
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner().unwrap() {
            return Err(e);
        }
        Ok(results.into_inner().unwrap())
    }

    /// The benchmark-N instances that exist, by name.
    fn existing(&self) -> Result<Vec<String>> {
        let out = self.output(&["list", "--format", "json"])?;
        let list: Vec<serde_json::Value> = serde_json::from_str(&out)
            .map_err(|e| Error::internal(format!("incus list: not JSON: {e}")))?;
        let mut names: Vec<String> = list
            .iter()
            .filter_map(|i| i["name"].as_str())
            .filter(|n| n.starts_with(PREFIX))
            .map(String::from)
            .collect();
        names.sort_by_key(|n| n[PREFIX.len()..].parse::<u64>().unwrap_or(u64::MAX));
        Ok(names)
    }

    /// Names for `count` new instances after the existing ones.
    fn new_names(&self) -> Result<Vec<String>> {
        let existing = self.existing()?;
        let start = existing
            .iter()
            .filter_map(|n| n[PREFIX.len()..].parse::<usize>().ok())
            .max()
            .unwrap_or(0);
        Ok((start + 1..=start + self.opts.count)
            .map(|i| format!("{PREFIX}{i}"))
            .collect())
    }

    fn create_args<'a>(&'a self, verb: &'a str, name: &'a str) -> Vec<&'a str> {
        let mut args = vec![verb, self.opts.image.as_str(), name];
        if let Some(pool) = &self.opts.storage {
            args.extend(["-s", pool.as_str()]);
        }
        if self.opts.vm {
            args.push("--vm");
        }
        args
    }

    fn create(&self, verb: &str) -> Result<Stats> {
        let names = self.new_names()?;
        let samples = self.each(&names, |n| self.time(&self.create_args(verb, n)))?;
        if verb == "launch" {
            self.sample_monitors(&names);
        }
        Ok(Stats::from(verb, self.opts.parallel, names.len(), samples))
    }

    fn on_all(&self, op: &str, args: &[&str]) -> Result<Stats> {
        let names = self.existing()?;
        if names.is_empty() {
            return Err(Error::not_found(
                "No benchmark-N instances: run `incus-benchmark init` or `launch` first",
            ));
        }
        let samples = self.each(&names, |n| {
            let mut a: Vec<&str> = args.to_vec();
            a.insert(1, n);
            self.time(&a)
        })?;
        if op == "start" {
            self.sample_monitors(&names);
        }
        Ok(Stats::from(op, self.opts.parallel, names.len(), samples))
    }

    /// A running instance for the single-instance scenarios, removed by the guard.
    fn scratch(&self, suffix: &str) -> Result<Scratch<'_>> {
        let name = format!("{PREFIX}{suffix}-{}", std::process::id());
        self.time(&self.create_args("launch", &name))?;
        Ok(Scratch { bench: self, name })
    }

    fn repeat(&self, op: &str, args: &(dyn Fn(usize) -> Vec<String> + Sync)) -> Result<Stats> {
        let rounds: Vec<usize> = (0..self.opts.count).collect();
        let samples = self.each(&rounds, |i| {
            let a = args(*i);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            self.time(&a)
        })?;
        Ok(Stats::from(op, self.opts.parallel, 1, samples))
    }

    fn exec(&self) -> Result<Stats> {
        let c = self.scratch("exec")?;
        self.repeat("exec", &|_| {
            ["exec", &c.name, "--", "true"].map(String::from).to_vec()
        })
    }

    fn config(&self) -> Result<Stats> {
        let c = self.scratch("config")?;
        self.repeat("config", &|i| {
            let value = format!("limits.memory={}MiB", 64 + i % 2 * 64);
            ["config", "set", &c.name, &value]
                .map(String::from)
                .to_vec()
        })
    }

    /// Runs `f(instances)` with at least --count running instances (made here when
    /// fewer exist, and deleted again afterwards).
    fn with_running<T>(&self, f: impl FnOnce(usize) -> Result<T>) -> Result<T> {
        let existing = self.existing()?;
        let missing = self.opts.count.saturating_sub(existing.len());
        let made: Vec<String> = (0..missing)
            .map(|i| format!("{PREFIX}list{i}-{}", std::process::id()))
            .collect();
        let run = || -> Result<T> {
            self.each(&made, |n| self.time(&self.create_args("launch", n)))?;
            for n in &existing {
                // Start the stopped ones (already running is fine).
                let _ = self.time(&["start", n]);
            }
            f(existing.len() + made.len())
        };
        let result = run();
        self.each(&made, |n| self.time(&["delete", "-f", n]))?;
        result
    }

    /// `list --format json`, 15 rounds.
    fn list_rounds(&self, instances: usize) -> Result<Stats> {
        let rounds: Vec<usize> = (0..15).collect();
        let samples = self.each(&rounds, |_| self.time(&["list", "--format", "json"]))?;
        Ok(Stats::from("list", self.opts.parallel, instances, samples))
    }

    /// `list` with --count running instances.
    fn list(&self) -> Result<Stats> {
        self.with_running(|n| self.list_rounds(n))
    }

    /// The `serve` group (see serve.rs): REST latency of `GET /1.0` and of the list at
    /// both recursion depths, `GET /1.0` under load, the server's memory, and `list`.
    fn serve(&self, out: &mut Results) -> Result<()> {
        let program = self.tool_path("incus-serve");
        self.with_running(|n| {
            let server = serve::Server::start(&program)?;
            let idle = server.rss_kib();
            let mut group = serve::ServeResults::default();
            for (op, path, rounds) in [
                ("api-root", "/1.0", 51),
                ("api-list", "/1.0/instances?recursion=1", 21),
                ("api-full", "/1.0/instances?recursion=2", 21),
            ] {
                let (stats, cpu) = serve::latency(&server, op, path, rounds, n)?;
                out.operations.push(stats);
                group.cpu.push(cpu);
            }
            group.throughput.push(serve::load_unix(&server, "/1.0")?);
            match serve::load_https(&server, "/1.0")? {
                Some(t) => group.throughput.push(t),
                None => eprintln!("(wrk is not installed: no HTTPS load figure)"),
            }
            group.memory = Some(serve::memory(idle, server.rss_kib()));
            drop(server);
            out.operations.push(self.list_rounds(n)?);
            out.serve = Some(group);
            Ok(())
        })
    }

    fn snapshot(&self) -> Result<Vec<Stats>> {
        let c = self.scratch("snap")?;
        let snap = self.repeat("snapshot", &|i| {
            ["snapshot", "create", &c.name, &format!("s{i}")]
                .map(String::from)
                .to_vec()
        })?;
        // Restores one after another: each stops, swaps and restarts the instance.
        let rounds: Vec<usize> = (0..self.opts.count).collect();
        let mut samples = Vec::new();
        for i in rounds {
            samples.push(self.time(&["snapshot", "restore", &c.name, &format!("s{i}")])?);
        }
        Ok(vec![snap, Stats::from("restore", 1, 1, samples)])
    }

    fn run(&self, cmd: &Cmd) -> Result<Results> {
        let mut out = Results::default();
        match cmd {
            Cmd::Init => out.operations.push(self.create("init")?),
            Cmd::Launch => out.operations.push(self.create("launch")?),
            Cmd::Start => out.operations.push(self.on_all("start", &["start"])?),
            Cmd::Stop => out.operations.push(self.on_all("stop", &["stop", "-f"])?),
            Cmd::Delete => out
                .operations
                .push(self.on_all("delete", &["delete", "-f"])?),
            Cmd::Exec => out.operations.push(self.exec()?),
            Cmd::List => out.operations.push(self.list()?),
            Cmd::Serve => self.serve(&mut out)?,
            Cmd::Config => out.operations.push(self.config()?),
            Cmd::Snapshot => out.operations.extend(self.snapshot()?),
            Cmd::Compare(_) => unreachable!("handled in main"),
            Cmd::Scale(a) => self.scale(a, &mut out)?,
            Cmd::Standard => {
                if !self.existing()?.is_empty() {
                    return Err(Error::conflict(
                        "benchmark-N instances exist already: run `incus-benchmark delete` first",
                    ));
                }
                out.operations.push(self.create("launch")?);
                out.operations.push(self.on_all("stop", &["stop", "-f"])?);
                out.operations.push(self.on_all("start", &["start"])?);
                out.operations.push(self.exec()?);
                out.operations.push(self.config()?);
                out.operations.push(self.list()?);
                if self.has_tool("incus-snapshot") {
                    out.operations.extend(self.snapshot()?);
                }
                out.operations
                    .push(self.on_all("delete", &["delete", "-f"])?);
            }
        }
        out.monitor_memory = self.monitor_memory();
        Ok(out)
    }

    fn scale(&self, a: &ScaleArgs, out: &mut Results) -> Result<()> {
        if a.instances == 0 {
            return Err(Error::invalid("--instances must be at least 1"));
        }
        let names: Vec<String> = (0..a.instances)
            .map(|i| format!("{PREFIX}scale{i}-{}", std::process::id()))
            .collect();
        let before = mem_available_kib();
        let mut run = || -> Result<()> {
            let samples = self.each(&names, |n| self.time(&self.create_args("launch", n)))?;
            out.operations.push(Stats::from(
                "launch",
                self.opts.parallel,
                names.len(),
                samples,
            ));
            let after = mem_available_kib();
            self.sample_monitors(&names);
            if let (Some(b), Some(f)) = (before, after) {
                out.scale = Some(ScaleMemory {
                    instances: names.len(),
                    mem_available_drop_kib: b - f,
                    kib_per_instance: (b - f) / names.len() as i64,
                });
            }
            let existing = self.existing()?.len();
            for (op, format) in [("list-csv", "csv"), ("list-json", "json")] {
                let rounds: Vec<usize> = (0..7).collect();
                let samples = self.each(&rounds, |_| self.time(&["list", "--format", format]))?;
                out.operations
                    .push(Stats::from(op, self.opts.parallel, existing, samples));
            }
            let rounds: Vec<usize> = (0..15).collect();
            let samples = self.each(&rounds, |_| self.time(&["exec", &names[0], "--", "true"]))?;
            out.operations
                .push(Stats::from("exec", self.opts.parallel, existing, samples));
            Ok(())
        };
        let result = run();
        let deleted = self.each(&names, |n| self.time(&["delete", "-f", n]));
        result?;
        out.operations.push(Stats::from(
            "delete",
            self.opts.parallel,
            names.len(),
            deleted?,
        ));
        Ok(())
    }

    fn compare(&self, c: &CompareArgs) -> Result<ExitCode> {
        if c.rounds == 0 {
            return Err(Error::invalid("--rounds must be at least 1"));
        }
        let up_dir = c.upstream_dir.to_string_lossy().into_owned();
        let sides = [
            compare::Side {
                label: "upstream",
                client: c.upstream_client.clone(),
                env: vec![("INCUS_DIR".into(), up_dir)],
                image: c.upstream_image.clone().unwrap_or(self.opts.image.clone()),
            },
            compare::Side {
                label: "ours",
                client: self.tool_path("incus"),
                env: vec![],
                image: self.opts.image.clone(),
            },
        ];
        let rows = compare::run(&sides, c.rounds, &c.prefix)?;
        match self.opts.format {
            OutFormat::Json => println!(
                "{}",
                serde_json::to_string_pretty(&rows).map_err(|e| Error::internal(e.to_string()))?
            ),
            OutFormat::Table => print!("{}", compare::render(&rows)),
        }
        Ok(ExitCode::SUCCESS)
    }

    /// A tool beside this binary, else by name on PATH.
    fn tool_path(&self, tool: &str) -> PathBuf {
        match &self.bin_dir {
            Some(d) if d.join(tool).is_file() => d.join(tool),
            _ => PathBuf::from(tool),
        }
    }

    fn has_tool(&self, tool: &str) -> bool {
        match &self.bin_dir {
            Some(d) if d.join(tool).is_file() => true,
            _ => std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file())),
        }
    }

    /// Records the peak RSS (VmHWM) of each running instance's monitor: the parent of
    /// the instance's init.
    fn sample_monitors(&self, names: &[String]) {
        let Ok(out) = self.output(&["list", "--format", "json"]) else {
            return;
        };
        let Ok(list) = serde_json::from_str::<Vec<serde_json::Value>>(&out) else {
            return;
        };
        let mut seen = self.monitors.lock().unwrap();
        for inst in list.iter().filter(|i| {
            i["name"]
                .as_str()
                .is_some_and(|n| names.iter().any(|m| m == n))
        }) {
            let Some(pid) = inst["state"]["pid"].as_i64().filter(|p| *p > 0) else {
                continue;
            };
            let Some(monitor) = proc_field(pid as u32, "PPid:") else {
                continue;
            };
            if let Some(hwm) = proc_field(monitor as u32, "VmHWM:") {
                let e = seen.entry(monitor as u32).or_default();
                *e = (*e).max(hwm);
            }
        }
    }

    fn monitor_memory(&self) -> Option<MonitorMemory> {
        let seen = self.monitors.lock().unwrap();
        if seen.is_empty() {
            return None;
        }
        let mut v: Vec<u64> = seen.values().copied().collect();
        v.sort();
        Some(MonitorMemory {
            monitors: v.len(),
            peak_rss_kib_max: *v.last().unwrap(),
            peak_rss_kib_median: v[v.len() / 2],
        })
    }

    fn report(&self, r: &Results) -> Result<()> {
        if let Some(path) = &self.opts.report_file {
            write_csv(path, r)?;
        }
        match self.opts.format {
            OutFormat::Json => {
                let s =
                    serde_json::to_string_pretty(r).map_err(|e| Error::internal(e.to_string()))?;
                println!("{s}");
            }
            OutFormat::Table => print!("{}", render_table(r)),
        }
        Ok(())
    }
}

/// Deletes a scratch instance even when the scenario failed.
struct Scratch<'a> {
    bench: &'a Bench,
    name: String,
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let _ = self.bench.time(&["delete", "-f", &self.name]);
    }
}

/// MemAvailable of /proc/meminfo, in KiB.
fn mem_available_kib() -> Option<i64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// A numeric field of /proc/PID/status (kB for memory fields).
fn proc_field(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// `rps` and `rss_kib` are for the serve group's throughput (`api-root-rps-<transport>`)
/// and memory (`serve-memory`, idle RSS) lines.
const CSV_HEADER: &str =
    "timestamp,operation,count,parallel,instances,median_ms,min_ms,max_ms,p95_ms,budget_ms,within_budget,rps,rss_kib";

fn write_csv(path: &std::path::Path, r: &Results) -> Result<()> {
    use std::io::Write;
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::invalid(format!("Open report file {}: {e}", path.display())))?;
    let mut text = String::new();
    if new {
        text.push_str(CSV_HEADER);
        text.push('\n');
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for s in &r.operations {
        text.push_str(&format!(
            "{now},{},{},{},{},{},{},{},{},{},{},,\n",
            s.operation,
            s.count,
            s.parallel,
            s.instances,
            s.median_ms,
            s.min_ms,
            s.max_ms,
            s.p95_ms,
            s.budget_ms.map(|b| b.to_string()).unwrap_or_default(),
            s.within_budget.map(|b| b.to_string()).unwrap_or_default(),
        ));
    }
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for t in r.serve.iter().flat_map(|g| &g.throughput) {
        text.push_str(&format!(
            "{now},api-root-rps-{},{},{},,{},,,{},,{},{},\n",
            t.transport,
            t.requests,
            t.connections,
            opt(t.median_ms),
            opt(t.p95_ms),
            t.within_budget,
            t.rps,
        ));
    }
    if let Some(m) = r.serve.as_ref().and_then(|g| g.memory.as_ref()) {
        text.push_str(&format!(
            "{now},serve-memory,1,1,,,,,,,{},,{}\n",
            m.within_budget, m.idle_rss_kib
        ));
    }
    f.write_all(text.as_bytes())
        .map_err(|e| Error::internal(format!("Write {}: {e}", path.display())))
}

fn render_table(r: &Results) -> String {
    let mut out = format!(
        "{:<10} {:>5} {:>4} {:>5} {:>9} {:>9} {:>9} {:>9} {:>8} {:>6} {:>10}\n",
        "operation",
        "count",
        "par",
        "inst",
        "median",
        "min",
        "max",
        "p95",
        "budget",
        "",
        "vs upstream"
    );
    for s in &r.operations {
        let verdict = match s.within_budget {
            Some(true) => "pass",
            Some(false) => "OVER",
            None => "",
        };
        let ratio = match (s.upstream_ms, s.budget_ms) {
            (Some(u), _) if s.median_ms > 0.0 => format!("{:.1}x faster", u / s.median_ms),
            (None, Some(b)) => format!("{:.2} of budget", s.median_ms / b),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<10} {:>5} {:>4} {:>5} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>8} {:>6} {:>10}\n",
            s.operation,
            s.count,
            s.parallel,
            s.instances,
            s.median_ms,
            s.min_ms,
            s.max_ms,
            s.p95_ms,
            s.budget_ms.map(|b| format!("{b}ms")).unwrap_or_default(),
            verdict,
            ratio
        ));
    }
    for t in r.serve.iter().flat_map(|g| &g.throughput) {
        let lat = match (t.median_ms, t.p95_ms) {
            (Some(m), Some(p)) => format!("; median {m:.2} ms, p95 {p:.2} ms"),
            (Some(m), None) => format!("; median {m:.2} ms"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{} over {}: {:.0} req/s ({} connections, {:.1} s{lat}); budget {} req/s: {} ({:.1}x)\n",
            t.operation,
            t.transport,
            t.rps,
            t.connections,
            t.seconds,
            t.budget_rps,
            if t.within_budget { "pass" } else { "UNDER" },
            t.rps / t.budget_rps
        ));
    }
    if let Some(g) = r.serve.as_ref().filter(|g| !g.cpu.is_empty()) {
        let each: Vec<String> = g
            .cpu
            .iter()
            .map(|c| format!("{} {:.2} ms", c.operation, c.cpu_ms_per_request))
            .collect();
        out.push_str(&format!(
            "incus-serve CPU time per request (all threads; less sensitive to other load than latency): {}\n",
            each.join(", ")
        ));
    }
    if let Some(m) = r.serve.as_ref().and_then(|g| g.memory.as_ref()) {
        out.push_str(&format!(
            "incus-serve RSS: idle {:.1} MiB, after the group {:.1} MiB (budget {} MiB idle: {}, {:.2} of budget)\n",
            m.idle_rss_kib as f64 / 1024.0,
            m.busy_rss_kib as f64 / 1024.0,
            m.budget_kib / 1024,
            if m.within_budget { "pass" } else { "OVER" },
            m.idle_rss_kib as f64 / m.budget_kib as f64
        ));
    }
    if let Some(m) = &r.scale {
        out.push_str(&format!(
            "host memory: MemAvailable fell by {:.1} MiB for {} running instances: {:.2} MiB each (goal 1 MiB)\n",
            m.mem_available_drop_kib as f64 / 1024.0,
            m.instances,
            m.kib_per_instance as f64 / 1024.0
        ));
    }
    if let Some(m) = &r.monitor_memory {
        out.push_str(&format!(
            "monitor peak RSS: median {:.1} MiB, max {:.1} MiB over {} monitors (budget 2 MiB per running container: {})\n",
            m.peak_rss_kib_median as f64 / 1024.0,
            m.peak_rss_kib_max as f64 / 1024.0,
            m.monitors,
            if m.peak_rss_kib_max <= 2048 { "pass" } else { "OVER" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn stats_median_p95_and_budget() {
        let s = Stats::from("exec", 1, 1, ms(&[9, 1, 3, 7, 5]));
        assert_eq!(
            (s.median_ms, s.min_ms, s.max_ms, s.p95_ms),
            (5.0, 1.0, 9.0, 9.0)
        );
        assert_eq!(s.within_budget, Some(true));
        let s = Stats::from("exec", 1, 1, ms(&[4, 8]));
        assert_eq!(s.median_ms, 6.0);
        assert_eq!(s.within_budget, Some(false));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(Stats::from("x", 1, 1, ms(&twenty)).p95_ms, 19.0);
        assert_eq!(Stats::from("init", 1, 1, ms(&[1])).within_budget, None);
    }

    #[test]
    fn table_and_csv_name_every_operation() {
        let r = Results {
            operations: vec![Stats::from("launch", 2, 3, ms(&[40, 20, 30]))],
            monitor_memory: Some(MonitorMemory {
                monitors: 3,
                peak_rss_kib_max: 1500,
                peak_rss_kib_median: 1400,
            }),
            serve: None,
            scale: None,
        };
        let t = render_table(&r);
        assert!(
            t.contains("launch") && t.contains("pass") && t.contains("9.7x faster"),
            "{t}"
        );
        assert!(t.contains("monitor peak RSS"), "{t}");
        let dir = std::env::temp_dir().join(format!("bench-csv-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        write_csv(&dir, &r).unwrap();
        write_csv(&dir, &r).unwrap();
        let text = std::fs::read_to_string(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "one header, one line per run: {text}");
        assert_eq!(lines[0], CSV_HEADER);
        assert!(
            lines[1].contains(",launch,3,2,3,30,20,40,40,30,true"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn serve_group_in_table_and_csv() {
        let r = Results {
            operations: vec![Stats::from("api-full", 1, 200, ms(&[10, 20, 30]))],
            monitor_memory: None,
            scale: None,
            serve: Some(serve::ServeResults {
                throughput: vec![serve::throughput(
                    "/1.0",
                    "unix",
                    2.0,
                    3000,
                    Some(1.0),
                    Some(2.5),
                )],
                memory: Some(serve::memory(12 * 1024, 30 * 1024)),
                cpu: vec![serve::ServerCpu {
                    operation: "api-full".into(),
                    requests: 21,
                    cpu_ms_per_request: 12.5,
                }],
            }),
        };
        let t = render_table(&r);
        assert!(
            t.contains("api-full") && t.contains("0.67 of budget"),
            "{t}"
        );
        assert!(
            t.contains("GET /1.0 over unix: 1500 req/s") && t.contains("pass (3.0x)"),
            "{t}"
        );
        assert!(t.contains("api-full 12.50 ms"), "{t}");
        assert!(
            t.contains("idle 12.0 MiB") && t.contains("budget 20 MiB idle: pass"),
            "{t}"
        );
        let f = std::env::temp_dir().join(format!("bench-csv-serve-{}", std::process::id()));
        let _ = std::fs::remove_file(&f);
        write_csv(&f, &r).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        std::fs::remove_file(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        let cols = CSV_HEADER.split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols), "{text}");
        assert!(
            lines[2].contains(",api-root-rps-unix,3000,4,,1,,,2.5,,true,1500,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].ends_with(",serve-memory,1,1,,,,,,,true,,12288"),
            "{}",
            lines[3]
        );
    }
}
