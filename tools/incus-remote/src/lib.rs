//! `incus-remote`: upstream's `incus remote` commands (the client configuration) and
//! `incus query` (one raw REST call to a remote).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result};
use incus_cli::{Format, GlobalArgs, ListFormat};
use incus_client::config::RemoteConfig;
use incus_client::config::{valid_remote_name, ClientConfig};
use incus_client::enrol::{add_remote, normalize_addr, save_remote, AddOptions, Added};
use incus_client::remote::fetch_server_certificate;
use incus_client::remote::Remote;
use std::io::{BufRead, IsTerminal, Read};
use std::process::ExitCode;

/// Manage the remotes of the client configuration.
#[derive(Debug, Parser)]
#[command(name = "incus-remote", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Add a remote: NAME [URL|TOKEN] (a join token, an https:// or unix:// URL, a host)
    Add {
        name: String,
        addr: Option<String>,
        /// Accept the server certificate without asking
        #[arg(long)]
        accept_certificate: bool,
        /// Join token to redeem on a server that does not trust this client yet
        #[arg(long, default_value = "")]
        token: String,
        /// Removed upstream (trust passwords are gone): refused
        #[arg(long, hide = true)]
        password: Option<String>,
        /// Server protocol (incus or simplestreams)
        #[arg(long, default_value = "incus")]
        protocol: String,
        /// Authentication type (only tls)
        #[arg(long, default_value = "tls")]
        auth_type: String,
        /// Public image server (no authentication)
        #[arg(long)]
        public: bool,
        /// Project to use on the remote by default (also taken from --project)
        #[arg(long = "remote-project", default_value = "")]
        remote_project: String,
    },
    /// List the remotes
    #[command(visible_alias = "ls")]
    List {
        /// Columns (n name, u URL, p protocol, a auth type, P public, s static, g global)
        #[arg(short = 'c', long = "columns", default_value = "nupaPsg")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Remove remotes
    #[command(visible_alias = "rm")]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Rename a remote
    #[command(visible_alias = "mv")]
    Rename { name: String, new_name: String },
    /// Make a remote the default
    #[command(visible_alias = "set-default")]
    Switch { name: String },
    /// Print the default remote
    GetDefault,
    /// Change a remote's URL
    SetUrl { name: String, url: String },
    /// Print the client certificate (made on first use)
    GetClientCertificate,
    /// Make the client certificate if there is none
    GenerateCertificate,
    /// Print the client's and a server's version (`incus version [REMOTE:]`)
    Version {
        /// [REMOTE:] (the default remote when omitted)
        remote: Option<String>,
    },
    /// Manage command aliases (`incus alias`)
    Alias {
        #[command(subcommand)]
        command: AliasCmd,
    },
    /// Runs the alias the command line starts with (what `incus` does with an unknown
    /// command word)
    #[command(hide = true)]
    ExpandAlias {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// One REST call: [REMOTE:]PATH (what `incus query` runs)
    Query {
        path: String,
        /// HTTP method
        #[arg(short = 'X', long = "request", default_value = "GET")]
        method: String,
        /// Request body (JSON; `-` reads stdin)
        #[arg(short = 'd', long = "data", default_value = "")]
        data: String,
        /// Wait for an asynchronous operation to finish
        #[arg(long)]
        wait: bool,
        /// Print the whole response, not only its metadata
        #[arg(long)]
        raw: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Add an alias: NAME TARGET (`@ARGS@`, `@ARG1@`... take the arguments)
    Add { name: String, target: String },
    /// List the aliases
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        format: ListFormat,
    },
    /// Remove an alias
    #[command(visible_alias = "rm")]
    Remove { name: String },
    /// Rename an alias
    #[command(visible_alias = "mv")]
    Rename { name: String, new_name: String },
}

/// Upstream's built-in alias.
const DEFAULT_ALIASES: &[(&str, &str)] = &[("shell", "exec @ARGS@ -- su -l")];

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        exec(cli.command, &cli.global)?;
        Ok(ExitCode::SUCCESS)
    })
}

fn exec(cmd: Cmd, global: &GlobalArgs) -> Result<()> {
    match cmd {
        Cmd::Add {
            name,
            addr,
            accept_certificate,
            token,
            password,
            protocol,
            auth_type,
            public,
            remote_project,
        } => {
            if password.is_some() {
                return Err(Error::unsupported(
                    "--password was removed upstream (trust passwords are gone): use a join token (incus config trust add NAME on the server)",
                ));
            }
            if protocol == "simplestreams" {
                return add_simplestreams(
                    &name,
                    addr.as_deref().unwrap_or(&name),
                    accept_certificate,
                );
            }
            if protocol != "incus" {
                return Err(Error::invalid(format!("Invalid protocol: {protocol}")));
            }
            if auth_type != "tls" {
                return Err(Error::unsupported(format!(
                    "Authentication type {auth_type:?} is not supported (only tls)"
                )));
            }
            let addr = addr.unwrap_or_else(|| name.clone());
            let opts = AddOpts {
                accept_certificate,
                token,
                public,
                // Upstream's `remote add --project P` (our global flag) or ours.
                project: if remote_project.is_empty() && global.project != "default" {
                    global.project.clone()
                } else {
                    remote_project
                },
                quiet: global.quiet,
            };
            add(&name, &addr, &opts)?;
        }
        Cmd::List { columns, format } => list(&columns, format.into())?,
        Cmd::Remove { names } => ClientConfig::update_then(
            |cfg| {
                for n in &names {
                    let r = cfg.remote(n)?;
                    if r.is_static {
                        return Err(Error::invalid(format!(
                            "Remote {n} is static and can't be removed"
                        )));
                    }
                    if cfg.default_remote == *n {
                        return Err(Error::invalid("Can't remove the default remote"));
                    }
                }
                for n in &names {
                    cfg.remotes.remove(n);
                }
                Ok(())
            },
            |cfg, _| {
                for n in &names {
                    cfg.remove_server_cert(n)?;
                }
                Ok(())
            },
        )?,
        Cmd::Rename { name, new_name } => ClientConfig::update_then(
            |cfg| {
                valid_remote_name(&new_name)?;
                let r = cfg.remote(&name)?.clone();
                if r.is_static {
                    return Err(Error::invalid(format!(
                        "Remote {name} is static and can't be renamed"
                    )));
                }
                if cfg.remotes.contains_key(&new_name) {
                    return Err(Error::conflict(format!("Remote {new_name} already exists")));
                }
                cfg.remotes.remove(&name);
                cfg.remotes.insert(new_name.clone(), r);
                cfg.copy_server_cert(&name, &new_name)?;
                if cfg.default_remote == name {
                    cfg.default_remote = new_name.clone();
                }
                Ok(())
            },
            |cfg, _| cfg.remove_server_cert(&name),
        )?,
        Cmd::Switch { name } => ClientConfig::update(|cfg| {
            cfg.remote(&name)?;
            cfg.default_remote = name.clone();
            Ok(())
        })?,
        Cmd::GetDefault => println!("{}", ClientConfig::load()?.current_remote()),
        Cmd::SetUrl { name, url } => ClientConfig::update(|cfg| {
            let addr = normalize_addr(&url)?;
            let r = cfg
                .remotes
                .get_mut(&name)
                .ok_or_else(|| Error::not_found(format!("The remote \"{name}\" doesn't exist")))?;
            if r.is_static {
                return Err(Error::invalid(format!(
                    "Remote {name} is static and can't be modified"
                )));
            }
            r.addr = addr;
            Ok(())
        })?,
        Cmd::GetClientCertificate => print!("{}", ClientConfig::load()?.client_cert()?.0),
        Cmd::GenerateCertificate => {
            ClientConfig::load()?.client_cert()?;
        }
        Cmd::Version { mut remote } => {
            let cfg = ClientConfig::load()?;
            let name = incus_client::target::strip_remote(&cfg, remote.iter_mut().collect())?;
            println!("Client version: {}", env!("CARGO_PKG_VERSION"));
            // As upstream: a server that does not answer is "unreachable", not an error.
            match incus_client::connect_remote(&cfg, &name, &global.project)
                .and_then(|b| b.server())
            {
                Ok(s) => println!("Server version: {}", s.environment.server_version),
                Err(_) => println!("Server version: unreachable"),
            }
        }
        Cmd::Alias { command } => alias(command)?,
        Cmd::ExpandAlias { args } => expand_alias(global, args)?,
        Cmd::Query {
            path,
            method,
            data,
            wait,
            raw,
        } => query(global, path, &method, &data, wait, raw)?,
    }
    Ok(())
}

fn alias(cmd: AliasCmd) -> Result<()> {
    match cmd {
        AliasCmd::Add { name, target } => ClientConfig::update(|cfg| {
            if cfg.aliases.contains_key(&name) {
                return Err(Error::conflict(format!("Alias {name} already exists")));
            }
            cfg.aliases.insert(name.clone(), target.clone());
            Ok(())
        }),
        AliasCmd::Remove { name } => ClientConfig::update(|cfg| {
            cfg.aliases
                .remove(&name)
                .map(|_| ())
                .ok_or_else(|| Error::not_found(format!("Alias {name} doesn't exist")))
        }),
        AliasCmd::Rename { name, new_name } => ClientConfig::update(|cfg| {
            if cfg.aliases.contains_key(&new_name) {
                return Err(Error::conflict(format!("Alias {new_name} already exists")));
            }
            let target = cfg
                .aliases
                .remove(&name)
                .ok_or_else(|| Error::not_found(format!("Alias {name} doesn't exist")))?;
            cfg.aliases.insert(new_name.clone(), target);
            Ok(())
        }),
        AliasCmd::List { format } => {
            let cfg = ClientConfig::load()?;
            let mut all: std::collections::BTreeMap<String, String> = DEFAULT_ALIASES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            all.extend(cfg.aliases.clone());
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect();
            incus_cli::print_list(format, &["ALIAS", "TARGET"], &rows, &all)
        }
    }
}

/// Expands the alias `args` start with, as upstream does: the longest alias whose
/// words begin the command line; `@ARGS@` takes the remaining arguments, `@ARGn@` the
/// n-th, and without `@ARGS@` they are appended. Not recursive.
fn expansion(
    aliases: &std::collections::BTreeMap<String, String>,
    args: &[String],
) -> Option<Vec<String>> {
    let (key, target) = aliases
        .iter()
        .filter(|(k, _)| {
            let words: Vec<&str> = k.split_whitespace().collect();
            !words.is_empty()
                && words.len() <= args.len()
                && words.iter().zip(args).all(|(w, a)| *w == a)
        })
        .max_by_key(|(k, _)| k.split_whitespace().count())?;
    let rest = &args[key.split_whitespace().count()..];
    let mut out = Vec::new();
    let mut used_all = false;
    for word in target.split_whitespace() {
        if word == "@ARGS@" {
            out.extend(rest.iter().cloned());
            used_all = true;
        } else if let Some(n) = word
            .strip_prefix("@ARG")
            .and_then(|w| w.strip_suffix('@'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            out.push(rest.get(n.wrapping_sub(1)).cloned().unwrap_or_default());
            used_all = true;
        } else {
            out.push(word.to_string());
        }
    }
    if !used_all {
        out.extend(rest.iter().cloned());
    }
    Some(out)
}

fn expand_alias(global: &GlobalArgs, args: Vec<String>) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let cfg = ClientConfig::load()?;
    let mut aliases: std::collections::BTreeMap<String, String> = DEFAULT_ALIASES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    aliases.extend(cfg.aliases.clone());
    let word = args.first().cloned().unwrap_or_default();
    // An expansion is run once: an alias naming another alias is an unknown command.
    let expanded = match expansion(&aliases, &args) {
        Some(e) if std::env::var_os(EXPANDED).is_none() => e,
        _ => {
            return Err(Error::usage(format!(
                "unknown command \"{word}\" (see incus --help)"
            )))
        }
    };
    let incus = std::env::current_exe()
        .ok()
        .and_then(|me| me.parent().map(|d| d.join("incus")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| "incus".into());
    let mut c = std::process::Command::new(incus);
    if global.project != "default" {
        c.args(["--project", &global.project]);
    }
    if global.quiet {
        c.arg("--quiet");
    }
    let err = c.args(&expanded).env(EXPANDED, "1").exec();
    Err(Error::internal(format!("Run incus: {err}")))
}

/// Set while an alias's expansion runs (aliases are not recursive).
const EXPANDED: &str = "INCUS_ALIAS_EXPANDED";

struct AddOpts {
    accept_certificate: bool,
    token: String,
    public: bool,
    project: String,
    quiet: bool,
}

fn add(name: &str, addr: &str, opts: &AddOpts) -> Result<()> {
    let enrol = AddOptions {
        token: opts.token.clone(),
        public: opts.public,
        project: opts.project.clone(),
    };
    let accept = |fp: &str| {
        if opts.accept_certificate {
            Ok(())
        } else {
            accept_interactively(fp)
        }
    };
    if add_remote(name, addr, &enrol, &accept)? == Added::NowTrusted {
        trusted_by(name, opts.quiet)?;
    }
    Ok(())
}

fn trusted_by(name: &str, quiet: bool) -> Result<()> {
    if !quiet {
        println!("Client certificate now trusted by server: {name}");
    }
    Ok(())
}

/// Asks on the terminal; without one the certificate must be accepted by flag.
fn accept_interactively(fp: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::forbidden(format!(
            "Unknown server certificate (fingerprint {fp}): check it and pass --accept-certificate"
        )));
    }
    eprint!("Certificate fingerprint: {fp}\nok (y/n/[fingerprint])? ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim();
    if answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes") || answer == fp {
        Ok(())
    } else {
        Err(Error::forbidden("Server certificate NACKed by user"))
    }
}

fn list(columns: &str, format: Format) -> Result<()> {
    const COLUMNS: &[(char, &str)] = &[
        ('n', "NAME"),
        ('u', "URL"),
        ('p', "PROTOCOL"),
        ('a', "AUTH TYPE"),
        ('P', "PUBLIC"),
        ('s', "STATIC"),
        ('g', "GLOBAL"),
    ];
    let cols = incus_cli::letter_columns(columns, COLUMNS)?;
    let cfg = ClientConfig::load()?;
    let current = cfg.current_remote();
    let yes = |b: bool| if b { "YES" } else { "NO" }.to_string();
    let rows: Vec<Vec<String>> = cfg
        .remotes
        .iter()
        .map(|(n, r)| {
            let auth = if !r.auth_type.is_empty() {
                r.auth_type.clone()
            } else if r.addr.starts_with("unix:") {
                "file access".into()
            } else if r.public {
                "none".into()
            } else {
                "tls".into()
            };
            vec![
                if *n == current {
                    format!("{n} (current)")
                } else {
                    n.clone()
                },
                r.addr.clone(),
                r.protocol.clone(),
                auth,
                yes(r.public),
                yes(r.is_static),
                yes(r.global),
            ]
        })
        .map(|row: Vec<String>| {
            cols.iter()
                .map(|(c, _)| {
                    let i = COLUMNS.iter().position(|(k, _)| k == c).unwrap_or(0);
                    row[i].clone()
                })
                .collect()
        })
        .collect();
    match format {
        // Upstream prints its Go structs here (field names capitalised).
        Format::Json => {
            let objects: serde_json::Map<String, serde_json::Value> = cfg
                .remotes
                .iter()
                .map(|(n, r)| (n.clone(), r.list_object()))
                .collect();
            incus_cli::write_stdout(&(incus_cli::to_json(&objects)? + "\n"))
        }
        _ => incus_cli::print_list(
            format,
            &cols.iter().map(|(_, h)| *h).collect::<Vec<_>>(),
            &rows,
            &cfg.remotes,
        ),
    }
}

fn query(
    global: &GlobalArgs,
    path: String,
    method: &str,
    data: &str,
    wait: bool,
    raw: bool,
) -> Result<()> {
    let cfg = ClientConfig::load()?;
    let mut path = path;
    let remote = incus_client::target::strip_remote(&cfg, vec![&mut path])?;
    if !path.starts_with('/') {
        return Err(Error::usage("Query path must start with /"));
    }
    let body = match data {
        "" => None,
        "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Some(s)
        }
        d => Some(d.to_string()),
    };
    let body = body
        .map(|b| serde_json::from_str::<serde_json::Value>(&b))
        .transpose()
        .map_err(|e| Error::invalid(format!("The request body is not JSON: {e}")))?;
    let r = Remote::connect(incus_client::target::remote_spec(
        &cfg,
        &remote,
        &global.project,
    )?)?;
    let method = method.to_uppercase();
    let out = if raw && !wait {
        r.query_raw(&method, &path, body.as_ref())?
    } else if wait {
        r.query(&method, &path, body.as_ref())?
    } else {
        r.query_raw(&method, &path, body.as_ref())?["metadata"].take()
    };
    if !out.is_null() {
        // Upstream ends it with an empty line.
        println!("{}\n", upstream_pretty(&out)?);
    }
    Ok(())
}

/// JSON as upstream's `incus query` prints it (Go's MarshalIndent of a map): keys
/// sorted, tab indentation.
fn upstream_pretty(v: &serde_json::Value) -> Result<String> {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&m[k])))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&sorted(v), &mut ser)
        .map_err(|e| Error::internal(format!("JSON: {e}")))?;
    String::from_utf8(buf).map_err(|e| Error::internal(format!("JSON: {e}")))
}

/// `remote add NAME URL --protocol simplestreams`: an https URL recorded as upstream
/// records it (public, no authentication). Its certificate is checked against the
/// system CAs when used; `--accept-certificate` (ours) pins the one the server presents
/// now as `servercerts/NAME.crt`, which upstream's client also trusts for the remote.
fn add_simplestreams(name: &str, addr: &str, accept_certificate: bool) -> Result<()> {
    valid_remote_name(name)?;
    let Some(rest) = addr.strip_prefix("https://") else {
        return Err(Error::invalid(
            "Only https URLs are supported for simplestreams",
        ));
    };
    let pem = if accept_certificate {
        let host = rest.split('/').next().unwrap_or_default();
        Some(fetch_server_certificate(&format!("https://{host}"))?)
    } else {
        None
    };
    save_remote(
        name,
        RemoteConfig {
            addr: addr.to_string(),
            public: true,
            ..RemoteConfig::images()
        },
        pem.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_expand_as_upstream() {
        let a: std::collections::BTreeMap<String, String> = [
            ("ll", "list -c ns"),
            ("sh", "exec @ARG1@ -- sh -c @ARG2@"),
            ("shell", "exec @ARGS@ -- su -l"),
            ("snap ls", "snapshot list"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let x = |args: &[&str]| {
            let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            expansion(&a, &v).map(|e| e.join(" "))
        };
        assert_eq!(x(&["ll", "srv:"]).unwrap(), "list -c ns srv:");
        assert_eq!(x(&["shell", "c1"]).unwrap(), "exec c1 -- su -l");
        assert_eq!(x(&["sh", "c1", "true"]).unwrap(), "exec c1 -- sh -c true");
        assert_eq!(x(&["snap", "ls", "c1"]).unwrap(), "snapshot list c1");
        assert_eq!(x(&["snap"]), None);
        assert_eq!(x(&["nope"]), None);
    }

    #[test]
    fn query_output_as_upstream() {
        let v = serde_json::json!({"b": 1, "a": {"d": [true], "c": null}});
        assert_eq!(
            upstream_pretty(&v).unwrap(),
            "{\n\t\"a\": {\n\t\t\"c\": null,\n\t\t\"d\": [\n\t\t\ttrue\n\t\t]\n\t},\n\t\"b\": 1\n}"
        );
    }

    #[test]
    fn addresses_are_completed_as_upstream() {
        assert_eq!(normalize_addr("10.0.0.1").unwrap(), "https://10.0.0.1:8443");
        assert_eq!(
            normalize_addr("10.0.0.1:9000").unwrap(),
            "https://10.0.0.1:9000"
        );
        assert_eq!(
            normalize_addr("https://h.example/").unwrap(),
            "https://h.example:8443"
        );
        assert_eq!(normalize_addr("::1").unwrap(), "https://[::1]:8443");
        assert_eq!(normalize_addr("[::1]:8444").unwrap(), "https://[::1]:8444");
        assert_eq!(
            normalize_addr("unix:///run/x.socket").unwrap(),
            "unix:///run/x.socket"
        );
        assert!(normalize_addr("http://h").is_err());
        assert!(normalize_addr("https://h/path").is_err());
    }
}
