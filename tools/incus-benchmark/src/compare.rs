//! `incus-benchmark compare`: upstream's daemon (through upstream's `incus` client)
//! against ours on the same operations, interleaved operation by operation (the side
//! that goes first alternates every round), medians and the ratio upstream/ours.
//! One instance per side per round goes through the whole chain: launch, snapshot
//! create, restore while running, live `config set limits.memory`, `exec true`, `list`
//! (the few instances there are), `stop -f`, `start`, `delete -f`.

use incus_api::{Error, Result};
use serde::Serialize;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The chain, in order: (operation, command line with `{}` for the instance).
const CHAIN: &[(&str, &[&str])] = &[
    ("launch", &["launch", "{image}", "{}"]),
    ("snapshot", &["snapshot", "create", "{}", "s0"]),
    ("restore", &["snapshot", "restore", "{}", "s0"]),
    ("config", &["config", "set", "{}", "limits.memory=128MiB"]),
    ("exec", &["exec", "{}", "--", "true"]),
    ("list", &["list", "--format", "csv"]),
    ("stop", &["stop", "-f", "{}"]),
    ("start", &["start", "{}"]),
    ("delete", &["delete", "-f", "{}"]),
];

/// One side: a client binary, its environment and the image to launch.
pub struct Side {
    pub label: &'static str,
    pub client: PathBuf,
    pub env: Vec<(String, String)>,
    pub image: String,
}

impl Side {
    fn command(&self, args: &[String]) -> Command {
        let mut c = Command::new(&self.client);
        c.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    fn time(&self, args: &[String]) -> Result<Duration> {
        let started = Instant::now();
        let out = self.command(args).output().map_err(|e| {
            Error::internal(format!(
                "{}: run {}: {e}",
                self.label,
                self.client.display()
            ))
        })?;
        let took = started.elapsed();
        if !out.status.success() {
            return Err(Error::internal(format!(
                "{}: incus {} failed: {}",
                self.label,
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(took)
    }

    fn args(&self, template: &[&str], name: &str) -> Vec<String> {
        template
            .iter()
            .map(|a| match *a {
                "{}" => name.to_string(),
                "{image}" => self.image.clone(),
                a => a.to_string(),
            })
            .collect()
    }
}

/// Medians of one operation on both sides.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub operation: String,
    pub rounds: usize,
    pub upstream_median_ms: f64,
    pub ours_median_ms: f64,
    pub upstream_min_ms: f64,
    pub ours_min_ms: f64,
    /// upstream / ours.
    pub ratio: f64,
}

fn median_ms(v: &mut [Duration]) -> f64 {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = v.len();
    if n == 0 {
        return 0.0;
    }
    let m = if n % 2 == 1 {
        ms(v[n / 2])
    } else {
        (ms(v[n / 2 - 1]) + ms(v[n / 2])) / 2.0
    };
    (m * 100.0).round() / 100.0
}

/// Deletes the round's instances on both sides even when the round failed.
struct Cleanup<'a> {
    sides: &'a [Side; 2],
    name: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for s in self.sides {
            let _ = s
                .command(&["delete".into(), "-f".into(), self.name.clone()])
                .output();
        }
    }
}

/// Runs `rounds` rounds; `sides[0]` is upstream, `sides[1]` ours.
pub fn run(sides: &[Side; 2], rounds: usize, prefix: &str) -> Result<Vec<Row>> {
    let mut samples: Vec<[Vec<Duration>; 2]> = CHAIN.iter().map(|_| Default::default()).collect();
    for round in 0..rounds {
        let name = format!("{prefix}-{}-{round}", std::process::id());
        let _guard = Cleanup {
            sides,
            name: name.clone(),
        };
        for (i, (_, template)) in CHAIN.iter().enumerate() {
            // A B on even rounds, B A on odd ones.
            for k in 0..2 {
                let side = (k + round) % 2;
                let s = &sides[side];
                samples[i][side].push(s.time(&s.args(template, &name))?);
            }
        }
        eprintln!("round {}/{rounds} done", round + 1);
    }
    Ok(CHAIN
        .iter()
        .zip(samples.iter_mut())
        .map(|((op, _), [up, ours])| {
            let (u, o) = (median_ms(up), median_ms(ours));
            Row {
                operation: op.to_string(),
                rounds,
                upstream_median_ms: u,
                ours_median_ms: o,
                upstream_min_ms: (up[0].as_secs_f64() * 100_000.0).round() / 100.0,
                ours_min_ms: (ours[0].as_secs_f64() * 100_000.0).round() / 100.0,
                ratio: if o > 0.0 {
                    (u / o * 10.0).round() / 10.0
                } else {
                    0.0
                },
            }
        })
        .collect())
}

pub fn render(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<10} {:>6} {:>12} {:>12} {:>8}\n",
        "operation", "rounds", "upstream", "ours", "ratio"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<10} {:>6} {:>10.1}ms {:>10.1}ms {:>7.1}x\n",
            r.operation, r.rounds, r.upstream_median_ms, r.ours_median_ms, r.ratio
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_table() {
        let mut v: Vec<Duration> = [30, 10, 20, 40].map(Duration::from_millis).to_vec();
        assert_eq!(median_ms(&mut v), 25.0);
        let t = render(&[Row {
            operation: "exec".into(),
            rounds: 3,
            upstream_median_ms: 50.0,
            ours_median_ms: 5.0,
            upstream_min_ms: 40.0,
            ours_min_ms: 4.0,
            ratio: 10.0,
        }]);
        assert!(t.contains("exec") && t.contains("10.0x"), "{t}");
    }

    #[test]
    fn chain_fills_name_and_image() {
        let s = Side {
            label: "ours",
            client: "incus".into(),
            env: vec![],
            image: "busybox".into(),
        };
        assert_eq!(s.args(CHAIN[0].1, "c1"), ["launch", "busybox", "c1"]);
        assert_eq!(s.args(CHAIN[5].1, "c1"), ["list", "--format", "csv"]);
    }
}
