//! `start`, `stop`, `restart`, `pause`, `resume`, `exec`, `console`, `info`.

use clap::Args;
use incus_api::{Error, Result};
use incus_client::{Backend, ExecSpec};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Instance names
    pub names: Vec<String>,
    /// Act on every instance
    #[arg(long)]
    pub all: bool,
    /// Force the stop (kill instead of a clean halt)
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for a clean stop before killing (-1: wait forever)
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub timeout: i64,
    /// Stateful stop/start (needs CRIU; not supported)
    #[arg(long)]
    pub stateful: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Freeze,
    Unfreeze,
}

fn targets(backend: &dyn Backend, args: &StateArgs, action: Action) -> Result<Vec<String>> {
    if args.all {
        if !args.names.is_empty() {
            return Err(Error::usage("--all cannot be combined with instance names"));
        }
        let want: &[&str] = match action {
            Action::Start => &["Stopped"],
            Action::Unfreeze => &["Frozen"],
            _ => &["Running", "Ready"],
        };
        return Ok(backend
            .instances(false)?
            .into_iter()
            .filter(|i| want.contains(&i.status.as_str()))
            .map(|i| i.name)
            .collect());
    }
    if args.names.is_empty() {
        return Err(Error::usage("Give at least one instance name, or --all"));
    }
    Ok(args.names.clone())
}

pub fn change_state(backend: &dyn Backend, args: StateArgs, action: Action) -> Result<ExitCode> {
    if args.stateful {
        return Err(Error::unsupported(
            "Stateful start/stop needs CRIU, which is not supported on this host",
        ));
    }
    let timeout = if args.timeout < 0 {
        Duration::from_secs(u64::MAX / 4)
    } else {
        Duration::from_secs(args.timeout as u64)
    };
    for name in targets(backend, &args, action)? {
        match action {
            Action::Start => backend.instance_start(&name)?,
            Action::Stop => {
                backend.instance_stop(&name, timeout, args.force || args.timeout == 0)?
            }
            Action::Restart => backend.instance_restart(&name, timeout, args.force)?,
            Action::Freeze => backend.instance_freeze(&name)?,
            Action::Unfreeze => backend.instance_unfreeze(&name)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Instance name
    pub name: String,
    /// Command and its arguments (after --)
    #[arg(required = true, last = true)]
    pub command: Vec<String>,
    /// Environment variable to set (KEY=VALUE, repeatable)
    #[arg(long = "env")]
    pub env: Vec<String>,
    /// Directory to run the command in
    #[arg(long)]
    pub cwd: Option<String>,
    /// User ID to run the command as
    #[arg(long, default_value_t = 0)]
    pub user: u32,
    /// Group ID to run the command as
    #[arg(long, default_value_t = 0)]
    pub group: u32,
    /// Force pseudo-terminal allocation
    #[arg(short = 't', long = "force-interactive")]
    pub tty: bool,
    /// Disable pseudo-terminal allocation
    #[arg(short = 'T', long = "force-noninteractive")]
    pub no_tty: bool,
    /// Exec mode: auto, interactive or non-interactive
    #[arg(long, default_value = "auto")]
    pub mode: String,
}

pub fn exec(backend: &dyn Backend, args: ExecArgs) -> Result<ExitCode> {
    use std::io::IsTerminal;
    let tty = match (args.tty, args.no_tty, args.mode.as_str()) {
        (true, true, _) => return Err(Error::usage("-t and -T cannot be combined")),
        (true, _, _) | (_, _, "interactive") => true,
        (_, true, _) | (_, _, "non-interactive") => false,
        (_, _, "auto") => std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        (_, _, m) => return Err(Error::usage(format!("Invalid --mode \"{m}\""))),
    };
    let env = args
        .env
        .iter()
        .map(|e| {
            e.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::usage(format!("Bad --env value \"{e}\": expected KEY=VALUE")))
        })
        .collect::<Result<Vec<_>>>()?;
    let code = backend.instance_exec(
        &args.name,
        &ExecSpec {
            argv: args.command,
            env,
            cwd: args.cwd.map(Into::into),
            uid: args.user,
            gid: args.group,
            tty,
            ..Default::default()
        },
    )?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

pub fn console(backend: &dyn Backend, name: &str, show_log: bool) -> Result<ExitCode> {
    if show_log {
        let log = backend.instance_console_log(name)?;
        incus_cli::write_stdout(&String::from_utf8_lossy(&log))?;
    } else {
        backend.instance_console_attach(name)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn info(backend: &dyn Backend, name: Option<String>, show_log: bool) -> Result<ExitCode> {
    let Some(name) = name else {
        incus_cli::print_show(incus_cli::Format::Yaml, &backend.server()?)?;
        return Ok(ExitCode::SUCCESS);
    };
    let i = backend.instance(&name)?;
    let st = backend.instance_state(&name)?;
    let mut s = format!(
        "Name: {}\nStatus: {}\nType: {}{}\nArchitecture: {}\n",
        i.name,
        i.status.to_uppercase(),
        i.instance_type,
        if i.ephemeral { " (ephemeral)" } else { "" },
        i.architecture
    );
    if st.pid > 0 {
        s.push_str(&format!("PID: {}\n", st.pid));
    }
    s.push_str(&format!(
        "Created: {}\n",
        incus_cli::list_date(&i.created_at)
    ));
    let last = incus_cli::list_date(&i.last_used_at);
    if !last.is_empty() {
        s.push_str(&format!("Last Used: {last}\n"));
    }
    if st.pid > 0 {
        s.push_str(&format!(
            "\nResources:\n  Processes: {}\n  CPU usage:\n    CPU usage (in seconds): {}\n  Memory usage:\n    Memory (current): {}\n",
            st.processes,
            st.cpu.usage / 1_000_000_000,
            incus_cli::human_size(st.memory.usage),
        ));
        if st.memory.usage_peak > 0 {
            s.push_str(&format!(
                "    Memory (peak): {}\n",
                incus_cli::human_size(st.memory.usage_peak)
            ));
        }
    }
    // Network usage as upstream lays it out (loopback left out).
    let nets: Vec<_> = st
        .network
        .iter()
        .flatten()
        .filter(|(n, _)| n.as_str() != "lo")
        .collect();
    if !nets.is_empty() {
        s.push_str("  Network usage:\n");
        for (n, net) in nets {
            s.push_str(&format!(
                "    {n}:\n      Type: {}\n      State: {}\n      Bytes received: {}\n      Bytes sent: {}\n      Packets received: {}\n      Packets sent: {}\n",
                net.net_type,
                net.state.to_uppercase(),
                incus_cli::human_size(net.counters.bytes_received),
                incus_cli::human_size(net.counters.bytes_sent),
                net.counters.packets_received,
                net.counters.packets_sent,
            ));
            if !net.addresses.is_empty() {
                s.push_str("      IP addresses:\n");
                for a in &net.addresses {
                    s.push_str(&format!(
                        "        {}:  {}/{} ({})\n",
                        a.family, a.address, a.netmask, a.scope
                    ));
                }
            }
        }
    }
    incus_cli::write_stdout(&s)?;
    if show_log {
        let log = backend.instance_console_log(&name).unwrap_or_default();
        incus_cli::write_stdout(&format!("\nLog:\n\n{}", String::from_utf8_lossy(&log)))?;
    }
    Ok(ExitCode::SUCCESS)
}
