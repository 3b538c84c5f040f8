//! `list` with upstream's column letters and filters.

use clap::Args;
use incus_api::{Error, Instance, Result};
use incus_cli::{Format, ListFormat};
use incus_client::{Backend, Filter};
use std::process::ExitCode;

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Filters: a name prefix, or KEY=VALUE on config (also type=, status=)
    pub filters: Vec<String>,
    /// Columns (upstream letters: n s 4 6 t S a b c d f F l m M N p P u D e)
    #[arg(short = 'c', long = "columns", default_value = "ns46tS")]
    pub columns: String,
    #[command(flatten)]
    pub format: ListFormat,
    /// Fast mode (same as -c nsacPt)
    #[arg(long)]
    pub fast: bool,
    /// Show instances of all projects
    #[arg(long)]
    pub all_projects: bool,
}

/// Header of a column letter (upstream's names).
fn header(c: char) -> Result<&'static str> {
    Ok(match c {
        'n' => "NAME",
        's' => "STATE",
        '4' => "IPV4",
        '6' => "IPV6",
        't' => "TYPE",
        'S' => "SNAPSHOTS",
        'a' => "ARCHITECTURE",
        'b' => "STORAGE POOL",
        'c' => "CREATED AT",
        'd' => "DESCRIPTION",
        'f' | 'F' => "BASE IMAGE",
        'l' => "LAST USED AT",
        'm' => "MEMORY USAGE",
        'M' => "MEMORY USAGE%",
        'N' => "PROCESSES",
        'p' => "PID",
        'P' => "PROFILES",
        'u' => "CPU USAGE",
        'D' => "DISK USAGE",
        'e' => "PROJECT",
        'L' => {
            return Err(Error::invalid(
                "Column \"L\" (location) needs a cluster; this server is standalone",
            ))
        }
        other => return Err(Error::usage(format!("Invalid column letter \"{other}\""))),
    })
}

/// A column of `list -c`: a letter, or (as upstream) a comma-separated entry
/// `[config:]KEY[:NAME[:MAXWIDTH]]` or `devices:DEV.KEY[:NAME[:MAXWIDTH]]`; an entry
/// without a period is a run of letters.
struct Column {
    name: String,
    kind: ColumnKind,
}

enum ColumnKind {
    Letter(char),
    /// A config key: the local value, else the expanded one.
    Config(String, Option<usize>),
    /// `DEV.KEY` of a device: local, else expanded.
    Device(String, Option<usize>),
}

fn parse_columns(spec: &str) -> Result<Vec<Column>> {
    let mut cols = Vec::new();
    for entry in spec.split(',') {
        if entry.is_empty() {
            return Err(Error::usage(format!(
                "Empty column entry (redundant, leading or trailing command) in '{spec}'"
            )));
        }
        if !entry.contains('.') {
            for c in entry.chars() {
                cols.push(Column {
                    name: header(c)?.to_string(),
                    kind: ColumnKind::Letter(c),
                });
            }
            continue;
        }
        let mut parts: Vec<&str> = entry.split(':').collect();
        let device = match parts[0] {
            "config" | "devices" if parts.len() > 1 => parts.remove(0) == "devices",
            _ => false,
        };
        if parts.len() > 3 {
            return Err(Error::usage(format!(
                "Invalid config key column format (too many fields): '{entry}'"
            )));
        }
        let key = parts[0].to_string();
        let name = match parts.get(1) {
            Some(n) if n.is_empty() && parts.len() != 3 => {
                return Err(Error::usage(format!(
                    "Invalid name in '{entry}', empty string is only allowed when defining maxWidth"
                )))
            }
            Some(n) if !n.is_empty() => n.to_string(),
            _ => key.clone(),
        };
        let max = match parts.get(2) {
            None => None,
            Some(w) => match w.parse::<i64>() {
                Ok(-1) => None,
                Ok(0) => Some(name.len()),
                Ok(n) if n > 0 => Some(n as usize),
                _ => {
                    return Err(Error::usage(format!(
                        "Invalid max width (must -1, 0 or a positive integer) '{w}' in '{entry}'"
                    )))
                }
            },
        };
        cols.push(Column {
            name,
            kind: if device {
                ColumnKind::Device(key, max)
            } else {
                ColumnKind::Config(key, max)
            },
        });
    }
    Ok(cols)
}

impl Column {
    fn cell(&self, i: &Instance) -> String {
        let cut = |v: Option<&String>, max: &Option<usize>| {
            let v = v.cloned().unwrap_or_default();
            match max {
                Some(m) if v.len() > *m => v.chars().take(*m).collect(),
                _ => v,
            }
        };
        match &self.kind {
            ColumnKind::Letter(c) => cell(i, *c),
            ColumnKind::Config(k, max) => {
                cut(i.config.get(k).or_else(|| i.expanded_config.get(k)), max)
            }
            ColumnKind::Device(k, max) => match k.split_once('.') {
                Some((dev, key)) => cut(
                    i.devices
                        .get(dev)
                        .and_then(|d| d.get(key))
                        .or_else(|| i.expanded_devices.get(dev).and_then(|d| d.get(key))),
                    max,
                ),
                None => String::new(),
            },
        }
    }
}

fn cell(i: &Instance, c: char) -> String {
    let state = i.state.as_ref();
    let running = matches!(i.status.as_str(), "Running" | "Ready");
    match c {
        'n' => i.name.clone(),
        's' => i.status.to_uppercase(),
        '4' | '6' => {
            let family = if c == '4' { "inet" } else { "inet6" };
            let mut addrs: Vec<String> = state
                .and_then(|s| s.network.as_ref())
                .map(|nets| {
                    nets.iter()
                        .filter(|(n, _)| n.as_str() != "lo")
                        .flat_map(|(n, net)| {
                            net.addresses
                                .iter()
                                .filter(|a| a.family == family && a.scope != "link")
                                .map(move |a| format!("{} ({n})", a.address))
                        })
                        .collect()
                })
                .unwrap_or_default();
            addrs.sort();
            addrs.reverse();
            addrs.join("\n")
        }
        't' => {
            let t = if i.instance_type == "virtual-machine" {
                "VIRTUAL-MACHINE"
            } else {
                "CONTAINER"
            };
            if i.ephemeral {
                format!("{t} (EPHEMERAL)")
            } else {
                t.to_string()
            }
        }
        'S' => i
            .snapshots
            .as_ref()
            .map(|s| s.len().to_string())
            .unwrap_or_else(|| "0".into()),
        'a' => i.architecture.clone(),
        'b' => i
            .expanded_devices
            .values()
            .find(|d| d.get("path").map(String::as_str) == Some("/"))
            .and_then(|d| d.get("pool").cloned())
            .unwrap_or_default(),
        'c' => incus_cli::list_date(&i.created_at),
        'd' => i.description.clone(),
        'f' => i
            .config
            .get("volatile.base_image")
            .map(|f| f.chars().take(12).collect())
            .unwrap_or_default(),
        'F' => i
            .config
            .get("volatile.base_image")
            .cloned()
            .unwrap_or_default(),
        'l' => incus_cli::list_date(&i.last_used_at),
        'm' if running => state
            .map(|s| incus_cli::human_size(s.memory.usage))
            .unwrap_or_default(),
        'M' if running => state
            .filter(|s| s.memory.total > 0)
            .map(|s| {
                format!(
                    "{:.2}%",
                    s.memory.usage as f64 * 100.0 / s.memory.total as f64
                )
            })
            .unwrap_or_default(),
        'N' if running => state.map(|s| s.processes.to_string()).unwrap_or_default(),
        'p' if running => state.map(|s| s.pid.to_string()).unwrap_or_default(),
        'P' => i.profiles.join("\n"),
        'u' if running => state
            .map(|s| format!("{}s", s.cpu.usage / 1_000_000_000))
            .unwrap_or_default(),
        'D' => state
            .and_then(|s| s.disk.get("root"))
            .map(|d| incus_cli::human_size(d.usage))
            .unwrap_or_default(),
        'e' => i.project.clone(),
        _ => String::new(),
    }
}

pub fn list(backend: &dyn Backend, args: ListArgs) -> Result<ExitCode> {
    list_many(&[backend], args)
}

/// The instances of several backends (one per project with `--all-projects`, which
/// adds the PROJECT column first to the default columns, as upstream).
pub fn list_many(backends: &[&dyn Backend], args: ListArgs) -> Result<ExitCode> {
    let columns = if args.fast {
        if args.columns != "ns46tS" {
            return Err(Error::usage("Can't specify --fast with --columns"));
        }
        "nsacPt".to_string()
    } else if args.all_projects && args.columns == "ns46tS" {
        format!("e{}", args.columns)
    } else {
        args.columns.clone()
    };
    let cols = parse_columns(&columns)?;
    let headers: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    // State and snapshots are needed for these columns and for json/yaml (InstanceFull).
    let full = matches!(args.format.format, Format::Json | Format::Yaml)
        || cols
            .iter()
            .any(|c| matches!(c.kind, ColumnKind::Letter(l) if "46SmMNpuD".contains(l)));
    let filter = Filter::from_cli(&args.filters);
    let mut instances: Vec<Instance> = Vec::new();
    for backend in backends {
        instances.extend(
            backend
                .instances(full)?
                .into_iter()
                .filter(|i| filter.matches(i)),
        );
    }
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|i| cols.iter().map(|c| c.cell(i)).collect())
        .collect();
    incus_cli::print_list(args.format, &headers, &rows, &instances)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(i: &Instance, filters: &[String]) -> bool {
        Filter::from_cli(filters).matches(i)
    }

    #[test]
    fn filters() {
        let i = Instance {
            name: "web1".into(),
            instance_type: "container".into(),
            status: "Stopped".into(),
            expanded_config: [("security.privileged".to_string(), "true".to_string())].into(),
            ..Default::default()
        };
        assert!(matches(&i, &["web".into()]));
        assert!(!matches(&i, &["db".into()]));
        assert!(matches(&i, &["s.privileged=true".into()]));
        assert!(matches(
            &i,
            &["status=stopped".into(), "type=container".into()]
        ));
        assert!(!matches(&i, &["security.privileged=false".into()]));
    }

    #[test]
    fn columns() {
        assert!(header('L').is_err());
        assert!(header('z').is_err());
        let i = Instance {
            name: "c1".into(),
            status: "Stopped".into(),
            instance_type: "container".into(),
            ephemeral: true,
            ..Default::default()
        };
        assert_eq!(cell(&i, 's'), "STOPPED");
        assert_eq!(cell(&i, 't'), "CONTAINER (EPHEMERAL)");
    }
}
