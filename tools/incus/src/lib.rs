//! `incus`: upstream's command tree mapped onto our tools, as git maps `git foo` to
//! `git-foo`. Arguments are forwarded unchanged; only the words that chose the tool
//! are dropped (`incus snapshot create c1` runs `incus-snapshot create c1`).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where a top-level word goes: the tool, and how many leading words it consumes.
pub struct Route {
    pub tool: &'static str,
    /// Words of the command line that chose the tool and are not forwarded.
    pub consumed: usize,
}

/// Commands that keep their verb: exactly the subcommands (and aliases) of
/// `incus-instance`'s clap definition but `config`, which a test derives from
/// `incus_instance::command()`. A list here rather than the clap `Command` at run
/// time keeps the dispatcher, started by every `incus ...`, free of the tools' code.
const INSTANCE_VERBS: &[&str] = &[
    "launch", "create", "init", "list", "ls", "start", "stop", "restart", "pause", "freeze",
    "resume", "unfreeze", "delete", "rm", "rename", "exec", "console", "info", "show", "copy",
    "cp", "move", "mv", "file", "export", "import", "publish", "rebuild",
];

/// Upstream instance commands not written yet: answered with exit 8 and a clear
/// message rather than an "unrecognized subcommand" from incus-instance.
const PLANNED_VERBS: &[&str] = &[];

/// Group words mapped to a tool (the word itself is dropped).
const GROUPS: &[(&str, &str)] = &[
    ("snapshot", "incus-snapshot"),
    ("image", "incus-image"),
    ("storage", "incus-storage"),
    ("network", "incus-net"),
    ("profile", "incus-profile"),
    ("project", "incus-project"),
    ("admin", "incus-admin"),
    ("remote", "incus-remote"),
    ("operation", "incus-operation"),
    ("monitor", "incus-events"),
    ("warning", "incus-warning"),
    ("cluster", "incus-cluster"),
];

/// Maps the arguments after global flags to a tool.
pub fn route(args: &[String]) -> Option<Route> {
    let first = args.first()?.as_str();
    if first == "config" && args.get(1).map(String::as_str) == Some("trust") {
        return Some(Route {
            tool: "incus-trust",
            consumed: 2,
        });
    }
    // `incus config profile ...` is upstream's alias of `incus profile ...`.
    if first == "config" && args.get(1).map(String::as_str) == Some("profile") {
        return Some(Route {
            tool: "incus-profile",
            consumed: 2,
        });
    }
    if first == "config" {
        // `incus config ...` keeps its verb: incus-instance handles instance and
        // server config alike.
        return Some(Route {
            tool: "incus-instance",
            consumed: 0,
        });
    }
    if first == "query" || first == "version" || first == "alias" {
        // `incus query PATH` is `incus-remote query PATH` (and `version`).
        return Some(Route {
            tool: "incus-remote",
            consumed: 0,
        });
    }
    if INSTANCE_VERBS.contains(&first) {
        return Some(Route {
            tool: "incus-instance",
            consumed: 0,
        });
    }
    GROUPS
        .iter()
        .find(|(w, _)| *w == first)
        .map(|(_, tool)| Route { tool, consumed: 1 })
}

/// Global flags of upstream's client that may come before the command; they are moved
/// after the command words, where our tools accept them.
fn split_globals(args: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut globals = Vec::new();
    let mut rest = Vec::new();
    let mut it = args.into_iter().peekable();
    while let Some(a) = it.next() {
        if !rest.is_empty() {
            rest.push(a);
            continue;
        }
        match a.as_str() {
            "--project" => {
                globals.push(a);
                if let Some(v) = it.next() {
                    globals.push(v);
                }
            }
            s if s.starts_with("--project=") => globals.push(a),
            "-q" | "--quiet" => globals.push(a),
            "--force-local" | "--debug" | "-v" | "--verbose" => {}
            _ => rest.push(a),
        }
    }
    (globals, rest)
}

fn find_tool(tool: &str) -> Option<PathBuf> {
    if let Ok(me) = std::env::current_exe() {
        if let Some(dir) = me.parent() {
            let p = dir.join(tool);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    })
}

const HELP: &str = "Usage: incus [--project NAME] COMMAND [ARGS...]

Instances:   launch create list show start stop restart pause resume delete rename
             copy move exec console info config file export import publish rebuild
Groups:      snapshot image storage network profile project admin remote operation monitor
Remotes:     remote add|list|remove|rename|switch|get-default|set-url, query [REMOTE:]PATH,
             version [REMOTE:]; alias add|list|remove|rename (config.yml aliases)
Trust:       config trust ...
Other:       version

Each command runs one of the incus-* tools with the same arguments; `incus COMMAND --help`
shows that tool's help.
";

pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (globals, rest) = split_globals(args);
    match rest.first().map(String::as_str) {
        None | Some("help") | Some("--help") | Some("-h") => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        // `incus version [REMOTE:]` asks the server too (incus-remote); without the
        // tool, the client's version alone.
        Some("version") if find_tool("incus-remote").is_some() => {}
        Some("version") | Some("--version") => {
            println!("Client version: {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    if PLANNED_VERBS.contains(&rest[0].as_str()) {
        eprintln!(
            "Error: \"incus {}\" is not implemented yet in this toolkit",
            rest[0]
        );
        return ExitCode::from(8);
    }
    // An unknown word may be a user alias (config.yml): incus-remote expands it.
    let alias_route = Route {
        tool: "incus-remote",
        consumed: 0,
    };
    let (r, rest) = match route(&rest) {
        Some(r) => (r, rest),
        None if find_tool("incus-remote").is_some() => {
            let mut with = vec!["expand-alias".to_string()];
            with.extend(rest);
            (alias_route, with)
        }
        None => {
            eprintln!("Error: unknown command \"{}\" (see incus --help)", rest[0]);
            return ExitCode::from(2);
        }
    };
    let Some(path) = find_tool(r.tool) else {
        eprintln!(
            "Error: \"incus {}\" needs the {} tool, which is not installed yet",
            rest[..r.consumed.max(1)].join(" "),
            r.tool
        );
        return ExitCode::from(8);
    };
    let mut forwarded: Vec<OsString> = rest[r.consumed..].iter().map(OsString::from).collect();
    // Globals go after the first forwarded word (the subcommand) so clap sees them.
    let at = forwarded.len().min(1);
    for (i, g) in globals.into_iter().enumerate() {
        forwarded.insert(at + i, g.into());
    }
    let err = std::process::Command::new(&path)
        .arg0(r.tool)
        .args(forwarded)
        .exec();
    eprintln!("Error: run {}: {err}", path.display());
    ExitCode::from(1)
}

/// A clap description of the dispatcher, for its man page and completions.
pub fn command() -> clap::Command {
    let mut cmd = clap::Command::new("incus")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Runs upstream's incus command tree on the incus-* tools")
        .long_about(HELP)
        .arg(
            clap::Arg::new("project")
                .long("project")
                .global(true)
                .help("Project to act on"),
        );
    for verb in INSTANCE_VERBS {
        cmd = cmd.subcommand(
            clap::Command::new(*verb)
                .about("Runs incus-instance")
                .allow_external_subcommands(true),
        );
    }
    for (word, tool) in GROUPS {
        cmd = cmd.subcommand(
            clap::Command::new(*word)
                .about(format!("Runs {tool}"))
                .allow_external_subcommands(true),
        );
    }
    cmd.subcommand(
        clap::Command::new("config")
            .about("Runs incus-instance config, or incus-trust for `config trust`")
            .allow_external_subcommands(true),
    )
    .subcommand(
        clap::Command::new("query")
            .about("Runs incus-remote query")
            .allow_external_subcommands(true),
    )
    .subcommand(
        clap::Command::new("alias")
            .about("Runs incus-remote alias")
            .allow_external_subcommands(true),
    )
    .subcommand(clap::Command::new("version").about("Prints the version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_verbs_are_the_commands_of_incus_instance() {
        let cmd = incus_instance::command();
        let mut theirs: Vec<&str> = cmd
            .get_subcommands()
            .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
            .filter(|n| *n != "config")
            .collect();
        theirs.sort_unstable();
        let mut ours = INSTANCE_VERBS.to_vec();
        ours.sort_unstable();
        assert_eq!(ours, theirs);
    }

    fn tool(args: &[&str]) -> Option<(&'static str, usize)> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        route(&v).map(|r| (r.tool, r.consumed))
    }

    #[test]
    fn upstream_tree_maps_onto_tools() {
        assert_eq!(tool(&["launch", "img", "c1"]), Some(("incus-instance", 0)));
        assert_eq!(tool(&["list"]), Some(("incus-instance", 0)));
        assert_eq!(tool(&["image", "import", "x"]), Some(("incus-image", 1)));
        assert_eq!(tool(&["storage", "list"]), Some(("incus-storage", 1)));
        assert_eq!(
            tool(&["profile", "show", "default"]),
            Some(("incus-profile", 1))
        );
        assert_eq!(
            tool(&["snapshot", "create", "c1"]),
            Some(("incus-snapshot", 1))
        );
        assert_eq!(
            tool(&["config", "trust", "add", "n"]),
            Some(("incus-trust", 2))
        );
        assert_eq!(
            tool(&["config", "profile", "add", "c1", "p1"]),
            Some(("incus-profile", 2))
        );
        assert_eq!(
            tool(&["config", "set", "k", "v"]),
            Some(("incus-instance", 0))
        );
        assert_eq!(tool(&["admin", "init"]), Some(("incus-admin", 1)));
        assert_eq!(tool(&["query", "/1.0"]), Some(("incus-remote", 0)));
        assert_eq!(tool(&["version", "srv:"]), Some(("incus-remote", 0)));
        assert_eq!(tool(&["remote", "list"]), Some(("incus-remote", 1)));
        assert_eq!(tool(&["bogus"]), None);
    }

    #[test]
    fn globals_move_after_the_command() {
        let (g, r) = split_globals(
            ["--project", "default", "list", "--format", "json"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        assert_eq!(g, vec!["--project", "default"]);
        assert_eq!(r, vec!["list", "--format", "json"]);
    }
}
