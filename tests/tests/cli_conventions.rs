//! Conventions every tool follows: the exit-code table, `Error: ...` on stderr, the
//! output formats of list and show commands, the dispatcher forwarding unchanged,
//! `--help` everywhere, and upstream's column letters.

use incus_tests::{bin, bin_dir, exit, TestEnv, TOOLS};
use serde_json::Value;

/// An installation with one empty instance `c1`, a profile `p1` and a second pool.
fn populated() -> TestEnv {
    let env = TestEnv::initialized();
    env.ok("incus-instance", &["create", "--empty", "c1"]);
    env.ok("incus-profile", &["create", "p1"]);
    let src = env.root().join("pool2");
    std::fs::create_dir(&src).unwrap();
    env.ok(
        "incus-storage",
        &[
            "create",
            "pool2",
            "dir",
            &format!("source={}", src.display()),
        ],
    );
    env
}

#[test]
fn not_found_is_3() {
    let env = populated();
    for (tool, args) in [
        ("incus-instance", vec!["show", "nope"]),
        ("incus-instance", vec!["delete", "nope"]),
        ("incus-instance", vec!["rename", "nope", "other"]),
        ("incus-instance", vec!["config", "get", "nope", "user.x"]),
        ("incus-instance", vec!["config", "set", "nope", "user.x=1"]),
        ("incus-instance", vec!["create", "no-such-image", "c2"]),
        (
            "incus-instance",
            vec!["create", "--empty", "c2", "-p", "nope"],
        ),
        (
            "incus-instance",
            vec!["create", "--empty", "c2", "-s", "nope"],
        ),
        ("incus-image", vec!["show", "nope"]),
        ("incus-image", vec!["delete", "nope"]),
        ("incus-image", vec!["alias", "delete", "nope"]),
        ("incus-storage", vec!["show", "nope"]),
        ("incus-storage", vec!["delete", "nope"]),
        ("incus-storage", vec!["volume", "list", "nope"]),
        ("incus-profile", vec!["show", "nope"]),
        ("incus-profile", vec!["delete", "nope"]),
        ("incus", vec!["show", "nope"]),
        ("incus", vec!["profile", "show", "nope"]),
    ] {
        let o = env.run(tool, &args).err(exit::NOT_FOUND);
        // `create` says "Creating NAME" before it tries, as upstream's client does.
        let said = if args[0] == "create" {
            format!("Creating {}\n", args[2])
        } else {
            String::new()
        };
        assert_eq!(o.stdout, said, "{}: stdout", o.cmdline);
    }
    // Nothing was created by the failed creates.
    assert_eq!(env.instance_names(), vec!["c1"]);
}

#[test]
fn duplicate_is_4() {
    let env = populated();
    for (tool, args) in [
        ("incus-instance", vec!["create", "--empty", "c1"]),
        ("incus-profile", vec!["create", "p1"]),
        ("incus-profile", vec!["create", "default"]),
        ("incus-profile", vec!["copy", "default", "p1"]),
        ("incus-storage", vec!["create", "pool2", "dir"]),
        ("incus-storage", vec!["create", "default", "dir"]),
    ] {
        env.run(tool, &args).err(exit::CONFLICT);
    }
    env.ok("incus-instance", &["create", "--empty", "c2"]);
    env.run("incus-instance", &["rename", "c2", "c1"])
        .err(exit::CONFLICT);
    // A pool in use cannot be deleted.
    env.run("incus-storage", &["delete", "default"])
        .err(exit::CONFLICT);
    assert_eq!(env.instance_names(), vec!["c1", "c2"]);
}

#[test]
fn invalid_is_7() {
    let env = populated();
    for (tool, args) in [
        ("incus-instance", vec!["config", "set", "c1", "bogus.key=1"]),
        (
            "incus-instance",
            vec!["config", "set", "c1", "limits.cpu", "lots"],
        ),
        ("incus-instance", vec!["config", "set", "bogus.key", "1"]),
        ("incus-instance", vec!["config", "get", "bogus.key"]),
        ("incus-instance", vec!["create", "--empty", "bad_name"]),
        (
            "incus-instance",
            vec!["config", "device", "add", "c1", "d0", "bogus-type"],
        ),
        ("incus-profile", vec!["set", "p1", "bogus.key", "1"]),
        ("incus-storage", vec!["set", "pool2", "bogus", "1"]),
    ] {
        env.run(tool, &args).err(exit::INVALID);
    }
    // The instance is unchanged.
    let c1 = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert!(c1["config"].get("bogus.key").is_none());
    assert!(c1["config"].get("limits.cpu").is_none());
    assert!(c1["devices"].as_object().unwrap().is_empty());
}

#[test]
fn usage_is_2() {
    let env = populated();
    for (tool, args) in [
        ("incus-instance", vec!["--bogus-flag"]),
        ("incus-instance", vec!["no-such-subcommand"]),
        ("incus-instance", vec!["list", "--format", "xml"]),
        ("incus-instance", vec!["list", "-c", "z"]),
        ("incus-instance", vec!["show"]),
        ("incus-instance", vec!["create"]),
        (
            "incus-instance",
            vec!["create", "--empty", "c2", "-c", "novalue"],
        ),
        ("incus-image", vec!["list", "-f", "xml"]),
        ("incus-storage", vec!["create"]),
        ("incus-profile", vec!["rename", "p1"]),
        ("incus-admin", vec!["init", "--minimal", "--preseed"]),
        ("incus", vec!["no-such-command"]),
    ] {
        env.run(tool, &args).err(exit::USAGE);
    }
}

#[test]
fn forbidden_is_6() {
    let env = populated();
    env.run("incus-profile", &["delete", "default"])
        .err(exit::FORBIDDEN);
    env.run("incus-profile", &["rename", "default", "other"])
        .err(exit::FORBIDDEN);
    env.ok(
        "incus-instance",
        &["config", "set", "c1", "security.protection.delete=true"],
    );
    env.run("incus-instance", &["delete", "c1"])
        .err(exit::FORBIDDEN);
    assert_eq!(env.instance_names(), vec!["c1"]);
}

#[test]
fn removed_server_keys_say_removed() {
    let env = TestEnv::initialized();
    for key in [
        "core.trust_password",
        "candid.api.url",
        "candid.api.key",
        "rbac.x",
        "rbac.api.url",
        "maas.x",
        "maas.api.url",
    ] {
        for args in [
            vec!["config", "set", key, "value"],
            vec!["config", "set", &format!("{key}=value")],
            vec!["config", "get", key],
        ] {
            let o = env.run("incus-instance", &args).err(exit::INVALID);
            assert!(
                o.stderr.contains("removed"),
                "{}: the error must say the key was removed: {}",
                o.cmdline,
                o.stderr
            );
        }
    }
    // Nothing was stored.
    let cfg = env.json("incus-instance", &["config", "show", "--format", "json"]);
    assert_eq!(cfg, serde_json::json!({"config": {}}));
}

/// Checks one list command in every format against its JSON.
fn check_list_formats(env: &TestEnv, tool: &str, args: &[&str], header: &str) {
    let with = |f: &str| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--format", f]);
        env.ok(tool, &a)
    };
    let json = with("json").json();
    let objects = json.as_array().unwrap_or_else(|| {
        panic!("{tool} {args:?}: json is not an array: {json}");
    });
    assert!(!objects.is_empty(), "{tool} {args:?}: nothing listed");
    // yaml: the same objects.
    let yaml = with("yaml");
    let from_yaml: Value = serde_yaml_ng::from_str(&yaml.stdout)
        .unwrap_or_else(|e| panic!("{}: not YAML ({e}):\n{}", yaml.cmdline, yaml.stdout));
    assert_eq!(from_yaml, json, "{}: yaml and json differ", yaml.cmdline);
    // csv: one line per object, no header.
    let csv = with("csv");
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        objects.len(),
        "{}: one csv line per object:\n{}",
        csv.cmdline,
        csv.stdout
    );
    assert!(
        !csv.stdout.contains(header),
        "{}: csv has no header line:\n{}",
        csv.cmdline,
        csv.stdout
    );
    // table: bordered, with the header.
    let table = with("table");
    assert!(
        table.stdout.starts_with('+') && table.stdout.contains(header),
        "{}: a bordered table with a header:\n{}",
        table.cmdline,
        table.stdout
    );
    // Default is the table.
    let default = env.ok(tool, args);
    assert_eq!(
        default.stdout, table.stdout,
        "{tool} {args:?}: default format"
    );
    // compact: header, no borders.
    let compact = with("compact");
    assert!(
        compact.stdout.contains(header) && !compact.stdout.contains('|'),
        "{}: compact has a header and no borders:\n{}",
        compact.cmdline,
        compact.stdout
    );
    // -f is --format.
    let mut short: Vec<&str> = args.to_vec();
    short.extend(["-f", "json"]);
    assert_eq!(env.ok(tool, &short).json(), json);
}

#[test]
fn every_list_takes_every_format() {
    let env = populated();
    env.ok(
        "incus-profile",
        &["set", "p1", "user.note", "has, a comma and \"quotes\""],
    );
    check_list_formats(&env, "incus-instance", &["list"], "NAME");
    check_list_formats(&env, "incus-storage", &["list"], "DRIVER");
    check_list_formats(
        &env,
        "incus-storage",
        &["volume", "list", "default"],
        "TYPE",
    );
    check_list_formats(&env, "incus-profile", &["list"], "USED BY");
    {
        let images = incus_tests::busybox_images("every_list_takes_every_format (images)");
        env.import(&[&images.unified], "bb");
        check_list_formats(&env, "incus-image", &["list"], "FINGERPRINT");
        check_list_formats(&env, "incus-image", &["alias", "list"], "ALIAS");
    }
    // Empty lists: json `[]`, csv nothing.
    let empty = TestEnv::new();
    assert_eq!(
        empty.json("incus-instance", &["list", "-f", "json"]),
        serde_json::json!([])
    );
    assert_eq!(
        empty.ok("incus-instance", &["list", "-f", "csv"]).stdout,
        ""
    );
    assert_eq!(
        empty.json("incus-image", &["list", "-f", "json"]),
        serde_json::json!([])
    );
}

/// Numbers zeroed: for objects with live values (a pool's free space changes while
/// other tests write), compared by shape.
fn shape(v: &Value) -> Value {
    match v {
        Value::Number(_) => Value::from(0),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        other => other.clone(),
    }
}

/// Show commands print YAML by default and JSON on request; both are the same object.
fn check_show_formats(env: &TestEnv, tool: &str, args: &[&str]) -> Value {
    let live = args.contains(&"--resources");
    let same = |v: &Value| if live { shape(v) } else { v.clone() };
    let yaml_of = |o: &incus_tests::Output| -> Value {
        serde_yaml_ng::from_str(&o.stdout)
            .unwrap_or_else(|e| panic!("{}: not YAML ({e}):\n{}", o.cmdline, o.stdout))
    };
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--format", "json"]);
    let json = env.json(tool, &a);
    assert!(
        json.is_object(),
        "{tool} {args:?}: json is an object: {json}"
    );
    let default = env.ok(tool, args);
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--format", "yaml"]);
    let yaml = env.ok(tool, &a);
    assert_eq!(
        same(&yaml_of(&default)),
        same(&yaml_of(&yaml)),
        "{tool} {args:?}: default is yaml"
    );
    assert_eq!(
        same(&yaml_of(&yaml)),
        same(&json),
        "{}: yaml and json differ",
        yaml.cmdline
    );
    json
}

const SHOWS: &[(&str, &[&str])] = &[
    ("incus-instance", &["show", "c1"]),
    ("incus-instance", &["show", "c1", "--expanded"]),
    ("incus-instance", &["config", "show", "c1"]),
    ("incus-instance", &["config", "show", "c1", "--expanded"]),
    ("incus-instance", &["config", "show"]),
    ("incus-storage", &["show", "default"]),
    ("incus-storage", &["show", "default", "--resources"]),
    ("incus-profile", &["show", "default"]),
];

#[test]
fn every_show_takes_json_and_yaml() {
    let env = populated();
    env.ok(
        "incus-instance",
        &["config", "set", "user.greeting", "hello"],
    );
    for (tool, args) in SHOWS {
        check_show_formats(&env, tool, args);
    }
    {
        let images = incus_tests::busybox_images("every_show_takes_json_and_yaml (images)");
        env.import(&[&images.unified], "bb");
        let img = check_show_formats(&env, "incus-image", &["show", "bb"]);
        assert_eq!(img["aliases"][0]["name"], "bb");
    }
    // storage info: upstream's YAML layout; the same object as JSON.
    let info = env.ok("incus-storage", &["info", "default"]);
    let yaml: Value = serde_yaml_ng::from_str(&info.stdout)
        .unwrap_or_else(|e| panic!("storage info is not YAML ({e}):\n{}", info.stdout));
    assert_eq!(yaml["info"]["driver"], "dir", "{yaml}");
    let res = env.json(
        "incus-storage",
        &["info", "default", "--bytes", "--format", "json"],
    );
    let total: u64 = res["info"]["total space"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 0, "{res}");
    assert_eq!(res["used by"]["profiles"][0], "default", "{res}");
}

#[test]
fn every_show_takes_every_format() {
    let env = populated();
    for (tool, args) in SHOWS {
        for f in ["table", "csv", "compact"] {
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["--format", f]);
            let out = env.ok(tool, &a).stdout;
            // One KEY/VALUE row per leaf: a header for tables, none for csv.
            match f {
                "csv" => assert!(
                    !out.contains("KEY,VALUE") && out.lines().all(|l| l.contains(',')),
                    "{tool} {a:?}:\n{out}"
                ),
                _ => assert!(
                    out.contains("KEY") && out.contains("VALUE"),
                    "{tool} {a:?}:\n{out}"
                ),
            }
        }
    }
}

#[test]
fn dispatcher_forwards_unchanged() {
    let env = populated();
    env.ok(
        "incus-instance",
        &["config", "set", "core.https_address", "127.0.0.1:8443"],
    );
    for (via, direct) in [
        (
            vec!["list", "--format", "json"],
            ("incus-instance", vec!["list", "--format", "json"]),
        ),
        (
            vec!["ls", "-f", "json"],
            ("incus-instance", vec!["list", "-f", "json"]),
        ),
        (
            vec!["--project", "default", "list", "--format", "json"],
            ("incus-instance", vec!["list", "--format", "json"]),
        ),
        (
            vec!["show", "c1", "--format", "json"],
            ("incus-instance", vec!["show", "c1", "--format", "json"]),
        ),
        (
            vec!["config", "show", "--format", "json"],
            ("incus-instance", vec!["config", "show", "--format", "json"]),
        ),
        (
            vec!["config", "get", "core.https_address"],
            (
                "incus-instance",
                vec!["config", "get", "core.https_address"],
            ),
        ),
        (
            vec!["image", "list", "--format", "json"],
            ("incus-image", vec!["list", "--format", "json"]),
        ),
        (
            vec!["storage", "list", "--format", "json"],
            ("incus-storage", vec!["list", "--format", "json"]),
        ),
        (
            vec!["storage", "volume", "list", "default", "--format", "csv"],
            (
                "incus-storage",
                vec!["volume", "list", "default", "--format", "csv"],
            ),
        ),
        (
            vec!["profile", "list", "--format", "json"],
            ("incus-profile", vec!["list", "--format", "json"]),
        ),
        (
            vec!["profile", "show", "default"],
            ("incus-profile", vec!["show", "default"]),
        ),
        (
            vec!["admin", "init", "--dump"],
            ("incus-admin", vec!["init", "--dump"]),
        ),
    ] {
        let a = env.run("incus", &via);
        let b = env.run(direct.0, &direct.1);
        assert_eq!(
            (a.code, &a.stdout, &a.stderr),
            (b.code, &b.stdout, &b.stderr),
            "`{}` differs from `{}`",
            a.cmdline,
            b.cmdline
        );
        assert_eq!(a.code, 0, "{}: {}", a.cmdline, a.stderr);
    }
    // Errors and exit codes come through unchanged as well.
    let a = env.run("incus", &["show", "nope"]);
    let b = env.run("incus-instance", &["show", "nope"]);
    assert_eq!((a.code, a.stderr), (b.code, b.stderr));
    // Writes through the dispatcher land in the same installation.
    env.ok("incus", &["create", "--empty", "c2"]);
    env.ok("incus", &["config", "set", "c2", "user.a=b"]);
    assert_eq!(
        env.ok("incus-instance", &["config", "get", "c2", "user.a"])
            .line(),
        "b"
    );
    env.ok("incus", &["delete", "c2"]);
    assert_eq!(env.instance_names(), vec!["c1"]);
}

/// The dispatcher's group words and the tools they need (its HELP and routing table).
const GROUPS: &[(&str, &str)] = &[
    ("snapshot", "incus-snapshot"),
    ("network", "incus-net"),
    ("project", "incus-project"),
    ("remote", "incus-remote"),
    ("operation", "incus-operation"),
    ("monitor", "incus-events"),
    ("cluster", "incus-cluster"),
    ("warning", "incus-warning"),
];

/// The dispatcher alone, in a directory of its own and with a PATH without our tools,
/// so that every tool is missing whatever this machine has installed.
#[test]
fn dispatcher_missing_tool_is_8() {
    let env = TestEnv::initialized();
    let lonely = tempfile::tempdir().unwrap();
    let incus = lonely.path().join("incus");
    // Copied by cp, not std::fs::copy: a writable fd of ours would leak into children
    // forked by parallel tests and make the exec fail with "Text file busy".
    let copied = std::process::Command::new("cp")
        .arg(bin_dir().join("incus"))
        .arg(&incus)
        .status()
        .unwrap();
    assert!(copied.success());
    let run = |args: &[&str]| {
        std::process::Command::new(&incus)
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("INCUS_DIR", &env.incus_dir)
            .output()
            .unwrap()
    };
    let mut cases: Vec<(&str, &str)> = GROUPS.to_vec();
    cases.extend([
        ("list", "incus-instance"),
        ("image", "incus-image"),
        ("storage", "incus-storage"),
    ]);
    for (word, tool) in cases {
        let o = run(&[word, "list"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(exit::UNSUPPORTED),
            "incus {word} list: {stderr}"
        );
        assert!(
            stderr.contains(tool) && stderr.contains("not installed"),
            "incus {word} list: the message names the missing tool: {stderr}"
        );
        assert!(o.stdout.is_empty());
    }
    // `config trust` goes to incus-trust, other `config` to incus-instance.
    let o = run(&["config", "trust", "list"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("incus-trust"));
}

/// The subcommands listed in clap's "Commands:" section (without clap's `help`).
fn subcommands(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if !in_commands {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with(' ') {
            break;
        }
        // Entries are indented by two; wrapped descriptions by more.
        if line.starts_with("  ") && !line.starts_with("   ") {
            let word = line.split_whitespace().next().unwrap_or_default();
            if word != "help" {
                out.push(word.to_string());
            }
        }
    }
    out
}

fn help_walk(env: &TestEnv, tool: &str, path: &mut Vec<String>, seen: &mut usize) {
    let mut args = path.clone();
    args.push("--help".into());
    let o = env.run(tool, &args).ok();
    assert!(
        o.stdout.contains("Usage:"),
        "{}: no Usage: line:\n{}",
        o.cmdline,
        o.stdout
    );
    assert!(o.stderr.is_empty(), "{}: stderr {:?}", o.cmdline, o.stderr);
    *seen += 1;
    let subs = subcommands(&o.stdout);
    if !subs.is_empty() {
        // clap's `help` subcommand answers too.
        let mut h = path.clone();
        h.push("help".into());
        let o = env.run(tool, &h).ok();
        assert!(o.stdout.contains("Usage:"), "{}", o.cmdline);
    }
    for s in subs {
        path.push(s);
        help_walk(env, tool, path, seen);
        path.pop();
    }
}

#[test]
fn help_walk_every_tool() {
    let env = TestEnv::new();
    for tool in TOOLS.iter().filter(|t| **t != "incus") {
        let mut seen = 0;
        help_walk(&env, tool, &mut vec![], &mut seen);
        // incus-events (`incus monitor`) and lxd-to-incus are single commands, as upstream's.
        let least = if matches!(*tool, "incus-events" | "lxd-to-incus") {
            1
        } else {
            2
        };
        assert!(seen >= least, "{tool}: only {seen} help pages");
        // -h too, and --version.
        env.ok(tool, &["-h"]);
        let v = env.ok(tool, &["--version"]);
        assert!(
            v.stdout.starts_with(tool),
            "{tool} --version: {:?}",
            v.stdout
        );
    }
    // The help walk wrote nothing: no database, no state.
    assert!(
        !env.incus_dir.exists(),
        "--help must not create {:?}",
        env.incus_dir
    );
}

/// The words the dispatcher's own help advertises.
fn dispatcher_words(env: &TestEnv) -> Vec<String> {
    let o = env.ok("incus", &["--help"]);
    assert!(o.stdout.contains("Usage:"));
    let mut words = Vec::new();
    let mut section = String::new();
    for line in o.stdout.lines() {
        if let Some((head, rest)) = line.split_once(':') {
            if !head.starts_with(' ') && !head.is_empty() {
                section = head.to_string();
                if matches!(section.as_str(), "Instances" | "Groups") {
                    words.extend(rest.split_whitespace().map(String::from));
                }
                continue;
            }
        }
        if line.starts_with("     ") && matches!(section.as_str(), "Instances" | "Groups") {
            words.extend(line.split_whitespace().map(String::from));
        }
        if line.is_empty() {
            section.clear();
        }
    }
    assert!(
        words.len() > 10,
        "dispatcher help lists commands: {words:?}"
    );
    words
}

#[test]
fn dispatcher_help() {
    let env = TestEnv::new();
    for args in [vec!["--help"], vec!["-h"], vec!["help"], vec![]] {
        let o = env.ok("incus", &args);
        assert!(o.stdout.contains("Usage:"), "incus {args:?}: {}", o.stdout);
    }
    let v = env.ok("incus", &["version"]);
    assert!(v.stdout.contains("version"), "{}", v.stdout);
    // (Every advertised word is checked by dispatcher_advertised_verbs_exist.)
    for (word, tool) in [
        ("image", "incus-image"),
        ("storage", "incus-storage"),
        ("profile", "incus-profile"),
        ("admin", "incus-admin"),
        ("list", "incus-instance list"),
        ("config", "incus-instance config"),
    ] {
        let o = env.ok("incus", &[word, "--help"]);
        assert!(
            o.stdout.contains(&format!("Usage: {tool}")),
            "incus {word} --help shows {tool}'s help: {}",
            o.stdout
        );
    }
}

#[test]
fn dispatcher_advertised_verbs_exist() {
    let env = TestEnv::new();
    let mut broken = Vec::new();
    for word in dispatcher_words(&env) {
        let o = env.run("incus", &[word.as_str(), "--help"]);
        let fine = (o.code == 0 && o.stdout.contains("Usage:")) || o.code == exit::UNSUPPORTED;
        if !fine {
            broken.push(format!("{word} (exit {})", o.code));
        }
    }
    assert!(broken.is_empty(), "advertised but unusable: {broken:?}");
}

#[test]
fn column_letters() {
    let env = TestEnv::initialized();
    env.ok("incus-instance", &["create", "--empty", "c1"]);
    env.ok(
        "incus-instance",
        &["create", "--empty", "e1", "--ephemeral"],
    );
    let col = |c: &str| {
        env.ok("incus-instance", &["list", "c1", "-c", c, "-f", "csv"])
            .line()
            .to_string()
    };
    let arch = env.json("incus-instance", &["show", "c1", "-f", "json"])["architecture"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!arch.is_empty());
    assert_eq!(col("n"), "c1");
    assert_eq!(col("s"), "STOPPED");
    assert_eq!(col("t"), "CONTAINER");
    assert_eq!(col("a"), arch);
    assert_eq!(col("b"), "default");
    assert_eq!(col("P"), "default");
    assert_eq!(col("f"), "", "an empty instance has no base image");
    assert_eq!(col("nsP"), "c1,STOPPED,default");
    let e = env.ok("incus-instance", &["list", "e1", "-c", "nt", "-f", "csv"]);
    assert_eq!(e.line(), "e1,CONTAINER (EPHEMERAL)");
    // Headers of the table.
    let t = env.ok("incus-instance", &["list", "-c", "nstabPf"]);
    for h in [
        "NAME",
        "STATE",
        "TYPE",
        "ARCHITECTURE",
        "STORAGE POOL",
        "PROFILES",
        "BASE IMAGE",
    ] {
        assert!(t.stdout.contains(h), "header {h} missing:\n{}", t.stdout);
    }
    // --fast is nsacPt.
    let fast = env.ok("incus-instance", &["list", "--fast", "-f", "csv"]);
    assert_eq!(fast.stdout.lines().count(), 2);
    assert!(fast.stdout.lines().any(|l| l.starts_with("c1,STOPPED,")));
    // L (location) needs a cluster; unknown letters are usage errors.
    let l = env
        .run("incus-instance", &["list", "-c", "nL"])
        .err(exit::INVALID);
    assert!(l.stdout.is_empty());
    env.run("incus-instance", &["list", "-c", "nz"])
        .err(exit::USAGE);
    // Filters: name prefix, status, type, config keys.
    env.ok("incus-instance", &["config", "set", "c1", "user.role=web"]);
    let names = |f: &[&str]| {
        let mut a = vec!["list", "-c", "n", "-f", "csv"];
        a.extend_from_slice(f);
        env.ok("incus-instance", &a).stdout
    };
    assert_eq!(names(&["c"]), "c1\n");
    assert_eq!(names(&["status=stopped"]), "c1\ne1\n");
    assert_eq!(names(&["type=container", "user.role=web"]), "c1\n");
    assert_eq!(names(&["nothing-like-this"]), "");
}

#[test]
fn errors_go_to_stderr_with_the_prefix() {
    let env = TestEnv::initialized();
    for tool in [
        "incus-instance",
        "incus-image",
        "incus-storage",
        "incus-profile",
    ] {
        let o = env
            .run(tool, &["show", "does-not-exist"])
            .err(exit::NOT_FOUND);
        assert!(
            o.stderr.starts_with("Error: "),
            "{}: {:?}",
            o.cmdline,
            o.stderr
        );
        assert_eq!(
            o.stderr.lines().count(),
            1,
            "{}: one line: {:?}",
            o.cmdline,
            o.stderr
        );
        assert!(o.stdout.is_empty());
    }
    // The binaries this walk used are the ones under test.
    assert!(bin("incus-instance").starts_with(bin_dir()));
}
