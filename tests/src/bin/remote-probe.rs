//! Test helper: one `Remote` call that owns this process's stdio (exec, console), for
//! tests/remote.rs to run under a terminal (`script`). Not installed.
//!
//! `remote-probe unix:///PATH console NAME`
//! `remote-probe unix:///PATH exec NAME [-t] -- CMD...`

use incus_client::remote::{Remote, RemoteSpec};
use incus_client::{Backend, ExecSpec};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("Error: {e}");
            e.kind.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(args: &[String]) -> incus_api::Result<i32> {
    let usage =
        || incus_api::Error::usage("usage: ADDR console NAME | ADDR exec NAME [-t] -- CMD...");
    let (addr, verb, name) = match args {
        [a, v, n, ..] => (a, v.as_str(), n),
        _ => return Err(usage()),
    };
    let r = Remote::connect(RemoteSpec {
        addr: addr.clone(),
        ..Default::default()
    })?;
    match verb {
        "console" => r.instance_console_attach(name).map(|_| 0),
        "exec" => {
            let rest = &args[3..];
            let sep = rest.iter().position(|a| a == "--").ok_or_else(usage)?;
            let spec = ExecSpec {
                argv: rest[sep + 1..].to_vec(),
                tty: rest[..sep].iter().any(|a| a == "-t"),
                ..Default::default()
            };
            r.instance_exec(name, &spec)
        }
        _ => Err(usage()),
    }
}
