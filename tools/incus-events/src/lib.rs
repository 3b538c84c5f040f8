//! `incus-events`: upstream's `incus monitor`. Every tool appends its lifecycle events
//! to the events table; this follows it (locally: the table; a remote: its /1.0/events
//! websocket, through `Backend::events_follow`), printing
//! each new event as upstream does: YAML documents by default, one JSON object per
//! line with `--format json`.

use clap::{CommandFactory, Parser, ValueEnum};
use incus_api::{Error, Result};
use incus_cli::GlobalArgs;
use std::io::Write;
use std::process::ExitCode;

/// Follow events as they are recorded.
#[derive(Debug, Parser)]
#[command(name = "incus-events", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// [REMOTE:] to follow (the default remote when omitted)
    pub remote: Option<String>,
    /// Event types to show (repeatable: lifecycle, logging, operation); all by default
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t = EventFormat::Yaml)]
    pub format: EventFormat,
    /// Also print the last N stored events first (ours)
    #[arg(long, default_value_t = 0)]
    pub since: usize,
    /// Exit after printing N events (ours; for scripts and tests)
    #[arg(long)]
    pub count: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    Yaml,
    Json,
    /// Human-readable: timestamp, type, action and source on one line
    Pretty,
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        for t in &cli.types {
            if !matches!(t.as_str(), "lifecycle" | "logging" | "operation") {
                return Err(Error::invalid(format!(
                    "Invalid event type \"{t}\" (lifecycle, logging or operation)"
                )));
            }
        }
        let mut cli = cli;
        let b = incus_client::connect_args(&cli.global.project, cli.remote.iter_mut().collect())?;
        let mut printed = 0;
        let mut failed = None;
        let stdout = std::io::stdout();
        // Prints one event; false ends the command (a closed pipe, or --count reached).
        let mut emit = |ev: serde_json::Value| -> bool {
            if ev["project"]
                .as_str()
                .is_some_and(|p| p != cli.global.project)
            {
                return true;
            }
            let text = match render(&ev, cli.format) {
                Ok(t) => t,
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            };
            let mut out = stdout.lock();
            // A closed pipe (`| head`) ends the command quietly.
            if out
                .write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .is_err()
            {
                return false;
            }
            printed += 1;
            match cli.count {
                Some(n) => printed < n,
                None => true,
            }
        };
        let types: Vec<&str> = cli.types.iter().map(String::as_str).collect();
        let wanted = |ev: &serde_json::Value| {
            types.is_empty() || types.contains(&ev["type"].as_str().unwrap_or(""))
        };
        let mut more = true;
        if cli.since > 0 {
            let last = b.event_last_id()?;
            for (_, ev) in b.events_since((last - cli.since as i64).max(0))? {
                if wanted(&ev) && !emit(ev) {
                    more = false;
                    break;
                }
            }
        }
        if more {
            b.events_follow(&types, &mut emit)?;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(ExitCode::SUCCESS),
        }
    })
}

fn render(ev: &serde_json::Value, format: EventFormat) -> Result<String> {
    Ok(match format {
        EventFormat::Json => format!("{ev}\n"),
        EventFormat::Yaml => format!("{}\n", incus_cli::to_yaml(ev)?.trim_end()) + "\n",
        EventFormat::Pretty => format!(
            "{} {} {} {}\n",
            ev["timestamp"].as_str().unwrap_or(""),
            ev["type"].as_str().unwrap_or(""),
            ev["metadata"]["action"].as_str().unwrap_or(""),
            ev["metadata"]["source"].as_str().unwrap_or("")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ev = serde_json::json!({"type": "lifecycle", "timestamp": "t",
            "metadata": {"action": "instance-created", "source": "/1.0/instances/c1"},
            "location": "none", "project": "default"});
        assert_eq!(render(&ev, EventFormat::Json).unwrap().lines().count(), 1);
        let y = render(&ev, EventFormat::Yaml).unwrap();
        assert!(y.contains("action: instance-created"), "{y}");
        assert_eq!(
            render(&ev, EventFormat::Pretty).unwrap(),
            "t lifecycle instance-created /1.0/instances/c1\n"
        );
    }
}
