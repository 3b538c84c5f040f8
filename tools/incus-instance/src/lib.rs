//! `incus-instance`: the instance commands of upstream's `incus` client.

mod backup;
mod config;
mod copy;
mod create;
mod file;
mod lifecycle;
mod list;
mod publish;

use clap::{CommandFactory, Parser, Subcommand};
use incus_cli::{GlobalArgs, ShowFormat};
use incus_client::Backend;
use std::process::ExitCode;

/// Create, list, show, configure and delete instances.
#[derive(Debug, Parser)]
#[command(name = "incus-instance", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create an instance from an image
    #[command(visible_alias = "init")]
    Create(create::CreateArgs),
    /// Create and start an instance from an image
    Launch(create::CreateArgs),
    /// List instances
    #[command(visible_alias = "ls")]
    List(list::ListArgs),
    /// Show an instance's configuration
    Show {
        /// Instance name
        name: String,
        /// Show the expanded configuration
        #[arg(long)]
        expanded: bool,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Manage instance and server configuration
    Config(config::ConfigArgs),
    /// Rename an instance
    Rename {
        /// Current name
        name: String,
        /// New name
        new_name: String,
    },
    /// Start instances
    Start(lifecycle::StateArgs),
    /// Stop instances
    Stop(lifecycle::StateArgs),
    /// Restart instances
    Restart(lifecycle::StateArgs),
    /// Pause (freeze) instances
    #[command(visible_alias = "freeze")]
    Pause(lifecycle::StateArgs),
    /// Resume (unfreeze) instances
    #[command(visible_alias = "unfreeze")]
    Resume(lifecycle::StateArgs),
    /// Run a command in an instance
    Exec(lifecycle::ExecArgs),
    /// Attach to the console of an instance (detach with ctrl+a q)
    Console {
        /// Instance name
        name: String,
        /// Print the console log instead of attaching
        #[arg(long)]
        show_log: bool,
    },
    /// Manage files in instances
    File(file::FileArgs),
    /// Show instance or server information
    Info {
        /// Instance name (server when omitted)
        name: Option<String>,
        /// Also print the console log
        #[arg(long)]
        show_log: bool,
    },
    /// Copy an instance or one of its snapshots (INSTANCE[/SNAPSHOT]) to a new instance
    #[command(visible_alias = "cp")]
    Copy(copy::CopyArgs),
    /// Rename an instance, or move it to another storage pool with -s
    #[command(visible_alias = "mv")]
    Move(copy::MoveArgs),
    /// Export an instance as a backup tarball (upstream's format)
    Export(backup::ExportArgs),
    /// Create an instance from a backup tarball: [REMOTE:] FILE [NAME]
    Import(backup::ImportArgs),
    /// Publish an instance or snapshot as an image: INSTANCE[/SNAPSHOT] [key=value...]
    Publish(publish::PublishArgs),
    /// Rebuild an instance from an image (or empty), keeping its config: IMAGE NAME
    Rebuild(publish::RebuildArgs),
    /// Delete instances
    #[command(visible_alias = "rm")]
    Delete {
        /// Instance names
        #[arg(required = true)]
        names: Vec<String>,
        /// Force the removal of running instances
        #[arg(short, long)]
        force: bool,
        /// Require confirmation
        #[arg(short, long)]
        interactive: bool,
    },
}

/// The clap definition (used for man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    // Internal, not a user command (so not in the clap tree, the man pages or the
    // completions): what an instance's monitor runs for its guest API,
    // `__guestapi --project P NAME ready true|false` or `... NAME export FINGERPRINT` with
    // the guest's connection as stdout.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("__guestapi") {
        return guestapi_hook(&argv[2..]);
    }
    incus_cli::main_with(|cli: Cli| {
        let mut cli = cli;
        let project = cli.global.project.clone();
        let uploaded = match &mut cli.command {
            Cmd::Create(a) | Cmd::Launch(a) => {
                create::image_from_another_remote(&project, a, cli.global.quiet)?
            }
            _ => None,
        };
        let backend = match uploaded {
            Some(b) => b,
            None => {
                let cfg = incus_client::config::ClientConfig::load()?;
                let (args, follow) = remote_args(&mut cli.command);
                let remote = incus_client::target::resolve(&cfg, args, follow)?;
                if let Cmd::List(a) = &mut cli.command {
                    if a.all_projects {
                        if a.filters.first().is_some_and(|f| f.is_empty()) {
                            a.filters.remove(0);
                        }
                        let backends = incus_client::target::connect_all_projects(&cfg, &remote)?;
                        let refs: Vec<&dyn incus_client::Backend> =
                            backends.iter().map(|b| b.as_ref()).collect();
                        return list::list_many(&refs, a.clone());
                    }
                }
                incus_client::connect_remote(&cfg, &remote, &project)?
            }
        };
        drop_bare_remote(&mut cli.command);
        exec(backend.as_ref(), cli)
    })
}

/// The `[REMOTE:]NAME` arguments of a command (they choose the backend), and those
/// that follow the others when they name no remote (the image of `launch`).
fn remote_args(cmd: &mut Cmd) -> (Vec<&mut String>, Vec<&mut String>) {
    use config::{ConfigCmd, DeviceCmd};
    use file::FileCmd;
    let none = Vec::new;
    match cmd {
        Cmd::Create(a) | Cmd::Launch(a) => {
            (a.name.iter_mut().collect(), a.image.iter_mut().collect())
        }
        // `list [REMOTE:] [FILTER...]`: a filter has a `=` or no `:`.
        Cmd::List(a) => (
            a.filters
                .iter_mut()
                .take(1)
                .filter(|f| !f.contains('='))
                .collect(),
            none(),
        ),
        Cmd::Show { name, .. } | Cmd::Console { name, .. } => (vec![name], none()),
        Cmd::Exec(a) => (vec![&mut a.name], none()),
        Cmd::Rename { name, new_name } => (vec![name], vec![new_name]),
        Cmd::Delete { names, .. } => (names.iter_mut().collect(), none()),
        Cmd::Start(a) | Cmd::Stop(a) | Cmd::Restart(a) | Cmd::Pause(a) | Cmd::Resume(a) => {
            (a.names.iter_mut().collect(), none())
        }
        Cmd::Info { name, .. } => (name.iter_mut().collect(), none()),
        Cmd::Copy(a) => (vec![&mut a.source, &mut a.target], none()),
        Cmd::Export(a) => (vec![&mut a.name], none()),
        Cmd::Publish(a) => (a.args.iter_mut().take(1).collect(), none()),
        Cmd::Rebuild(a) => (a.args.iter_mut().last().into_iter().collect(), none()),
        Cmd::Import(a) => {
            let remote = a.args.len() > 1 && a.args[0].ends_with(':');
            (
                a.args.iter_mut().take(1).filter(|_| remote).collect(),
                none(),
            )
        }
        Cmd::Move(a) => (
            std::iter::once(&mut a.source)
                .chain(a.target.iter_mut())
                .collect(),
            none(),
        ),
        Cmd::Config(c) => match &mut c.command {
            // The server form names no instance, or only `REMOTE:`.
            ConfigCmd::Get { args, .. } | ConfigCmd::Unset { args } => {
                let n = args.len();
                (args.iter_mut().take(1).filter(|_| n == 2).collect(), none())
            }
            ConfigCmd::Set { args } => (
                args.iter_mut()
                    .take(1)
                    .filter(|a| !config::names_server(a))
                    .collect(),
                none(),
            ),
            ConfigCmd::Show { name, .. } | ConfigCmd::Edit { name } => {
                (name.iter_mut().collect(), none())
            }
            ConfigCmd::Device { command } => match command {
                DeviceCmd::Shared(shared) => (vec![shared.name_mut()], none()),
                DeviceCmd::Override { name, .. } => (vec![name], none()),
            },
        },
        Cmd::File(f) => match &mut f.command {
            FileCmd::Push { args, .. } => (args.iter_mut().last().into_iter().collect(), none()),
            FileCmd::Pull { args, .. } => {
                let n = args.len();
                (args.iter_mut().take(n.saturating_sub(1)).collect(), none())
            }
            FileCmd::Delete { paths, .. } => (paths.iter_mut().collect(), none()),
            FileCmd::Edit { path } | FileCmd::Create { path, .. } => (vec![path], none()),
        },
    }
}

/// A bare `REMOTE:` names the remote only: `list srv:`, `info srv:`, `config get srv: KEY`.
fn drop_bare_remote(cmd: &mut Cmd) {
    use config::ConfigCmd;
    match cmd {
        Cmd::List(a) if a.filters.first().is_some_and(|f| f.is_empty()) => {
            a.filters.remove(0);
        }
        Cmd::Info { name, .. } if name.as_deref() == Some("") => *name = None,
        Cmd::Import(a) if a.args.len() > 1 && a.args[0].is_empty() => {
            a.args.remove(0);
        }
        Cmd::Start(a) | Cmd::Stop(a) | Cmd::Restart(a) | Cmd::Pause(a) | Cmd::Resume(a) => {
            a.names.retain(|n| !n.is_empty())
        }
        Cmd::Config(c) => match &mut c.command {
            ConfigCmd::Get { args, .. } | ConfigCmd::Unset { args } | ConfigCmd::Set { args }
                if args.first().is_some_and(|a| a.is_empty()) =>
            {
                args.remove(0);
            }
            ConfigCmd::Show { name, .. } | ConfigCmd::Edit { name }
                if name.as_deref() == Some("") =>
            {
                *name = None
            }
            _ => {}
        },
        _ => {}
    }
}

fn exec(backend: &dyn Backend, cli: Cli) -> incus_api::Result<ExitCode> {
    match cli.command {
        Cmd::Create(args) => create::create(backend, args, false, cli.global.quiet),
        Cmd::Launch(args) => create::create(backend, args, true, cli.global.quiet),
        Cmd::List(args) => list::list(backend, args),
        Cmd::Show {
            name,
            expanded,
            format,
        } => {
            let mut inst = backend.instance(&name)?;
            if expanded {
                inst.config = inst.expanded_config.clone();
                inst.devices = inst.expanded_devices.clone();
            }
            incus_cli::print_show(format, &inst)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Config(args) => config::config(backend, args),
        Cmd::Rename { name, new_name } => {
            backend.instance_rename(&name, &new_name)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Delete {
            names,
            force,
            interactive,
        } => {
            if interactive {
                return Err(incus_api::Error::usage(
                    "--interactive needs a terminal dialogue that is not implemented; run without -i",
                ));
            }
            for n in names {
                if force && backend.instance(&n)?.status != "Stopped" {
                    backend.instance_stop(&n, std::time::Duration::ZERO, true)?;
                }
                // An ephemeral instance is gone once stopped.
                match backend.instance_delete(&n) {
                    Err(e) if force && e.kind == incus_api::ErrorKind::NotFound => {}
                    other => other?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Start(a) => lifecycle::change_state(backend, a, lifecycle::Action::Start),
        Cmd::Stop(a) => lifecycle::change_state(backend, a, lifecycle::Action::Stop),
        Cmd::Restart(a) => lifecycle::change_state(backend, a, lifecycle::Action::Restart),
        Cmd::Pause(a) => lifecycle::change_state(backend, a, lifecycle::Action::Freeze),
        Cmd::Resume(a) => lifecycle::change_state(backend, a, lifecycle::Action::Unfreeze),
        Cmd::Exec(a) => lifecycle::exec(backend, a),
        Cmd::Console { name, show_log } => lifecycle::console(backend, &name, show_log),
        Cmd::Info { name, show_log } => lifecycle::info(backend, name, show_log),
        Cmd::Copy(a) => copy::copy(backend, a),
        Cmd::Move(a) => copy::move_(backend, a),
        Cmd::File(a) => file::file(backend, a),
        Cmd::Export(a) => backup::export(backend, a, cli.global.quiet),
        Cmd::Import(a) => backup::import(backend, a),
        Cmd::Publish(a) => publish::publish(backend, a, cli.global.quiet),
        Cmd::Rebuild(a) => publish::rebuild(backend, a),
    }
}

fn guestapi_hook(args: &[String]) -> ExitCode {
    incus_cli::run(|| {
        let [flag, project, name, action, arg] = args else {
            return Err(incus_api::Error::usage(
                "usage: incus-instance __guestapi --project P NAME ACTION ARG",
            ));
        };
        if flag != "--project" {
            return Err(incus_api::Error::usage("--project comes first"));
        }
        let mut ctx = incus_core::Context::from_env()?;
        ctx.set_project(project)?;
        incus_core::guestapi::hook(&ctx, name, action, arg)?;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use incus_client::config::{ClientConfig, RemoteConfig};

    /// The remote a command line resolves to, and the command's arguments after
    /// stripping (as `main` does before connecting).
    fn resolve(line: &[&str]) -> incus_api::Result<(String, String)> {
        let mut cfg = ClientConfig::load_from(std::path::Path::new("/nonexistent")).unwrap();
        cfg.remotes.insert(
            "srv".into(),
            RemoteConfig {
                addr: "https://127.0.0.1:8443".into(),
                auth_type: "tls".into(),
                project: String::new(),
                protocol: "incus".into(),
                public: false,
                extra: Default::default(),
                is_static: false,
                global: false,
            },
        );
        let mut cli =
            Cli::try_parse_from(std::iter::once("incus-instance").chain(line.iter().copied()))
                .expect("clap");
        let (args, follow) = remote_args(&mut cli.command);
        let remote = incus_client::target::resolve(&cfg, args, follow)?;
        drop_bare_remote(&mut cli.command);
        Ok((remote, format!("{:?}", cli.command)))
    }

    #[test]
    fn remote_arguments_of_each_verb() {
        std::env::remove_var("INCUS_REMOTE");
        let r = |line: &[&str]| resolve(line).unwrap().0;
        assert_eq!(r(&["list"]), "local");
        assert_eq!(r(&["list", "srv:"]), "srv");
        assert_eq!(r(&["list", "srv:", "status=Running"]), "srv");
        // A filter with a `=` is never a remote, whatever it holds.
        assert_eq!(r(&["list", "user.x=a:b"]), "local");
        assert_eq!(r(&["exec", "srv:c1", "--", "cat", "x:y"]), "srv");
        assert_eq!(
            r(&["config", "set", "core.https_address=127.0.0.1:8443"]),
            "local"
        );
        assert_eq!(r(&["config", "get", "srv:", "core.https_address"]), "srv");
        assert_eq!(r(&["config", "set", "srv:c1", "k=v"]), "srv");
        assert_eq!(
            r(&["config", "device", "add", "srv:c1", "d", "disk"]),
            "srv"
        );
        // A local source file with a `:` is not a remote.
        assert_eq!(r(&["file", "push", "a:b", "srv:c1/root/"]), "srv");
        assert_eq!(
            r(&["file", "pull", "srv:c1/etc/hostname", "out:file"]),
            "srv"
        );
        assert_eq!(r(&["launch", "img", "srv:c1"]), "srv");
        assert_eq!(r(&["launch", "srv:img"]), "srv");
        assert_eq!(r(&["copy", "srv:c1", "srv:c2"]), "srv");
        assert_eq!(r(&["info", "srv:"]), "srv");
        assert_eq!(r(&["start", "srv:c1", "srv:c2"]), "srv");
        assert_eq!(r(&["rename", "srv:c1", "c2"]), "srv");

        // Stripped arguments: a bare remote is gone, names lose their prefix.
        let args = |line: &[&str]| resolve(line).unwrap().1;
        assert!(args(&["list", "srv:"]).contains("filters: []"));
        assert!(args(&["info", "srv:"]).contains("name: None"));
        let get = args(&["config", "get", "srv:", "core.https_address"]);
        assert!(get.contains(r#"args: ["core.https_address"]"#), "{get}");
        let push = args(&["file", "push", "a:b", "srv:c1/root/"]);
        assert!(push.contains(r#"args: ["a:b", "c1/root/"]"#), "{push}");

        // Two remotes in one command, or an unknown one.
        let e = resolve(&["copy", "srv:c1", "c2"]).unwrap_err();
        assert_eq!(e.kind, incus_api::ErrorKind::Unsupported);
        assert!(
            e.message.contains("srv") && e.message.contains("local"),
            "{}",
            e.message
        );
        assert_eq!(
            resolve(&["launch", "local:img", "srv:c1"])
                .unwrap_err()
                .kind,
            incus_api::ErrorKind::Unsupported
        );
        assert_eq!(
            resolve(&["exec", "nope:c1", "--", "true"])
                .unwrap_err()
                .kind,
            incus_api::ErrorKind::NotFound
        );
    }
}
