//! Projects (issue 16): names per project, host-wide names unique, upstream's rules on
//! create/rename/delete/features, limits under concurrency, and the REST API with the
//! upstream client. Real containers; every name carries `prj`.

use incus_tests::serve::{pylxd_python, to_output, upstream_present, Server};
use incus_tests::{busybox_images, exit, list_dir, Output, TestEnv};
use std::path::PathBuf;
use std::sync::Barrier;

/// A tool run with a client configuration of this test's own (`project switch`
/// writes it).
fn run(env: &TestEnv, tool: &str, args: &[&str]) -> Output {
    let o = env
        .command(tool)
        .args(args)
        .env("INCUS_CONF", conf(env))
        .env_remove("INCUS_REMOTE")
        .output()
        .expect("spawn");
    to_output(format!("{tool} {}", args.join(" ")), o)
}

#[track_caller]
fn ok(env: &TestEnv, tool: &str, args: &[&str]) -> Output {
    run(env, tool, args).ok()
}

fn conf(env: &TestEnv) -> PathBuf {
    env.root().join("client-conf")
}

/// Gives a new project's (empty) default profile the root disk, as a user would.
fn root_disk(env: &TestEnv, project: &str) {
    ok(
        env,
        "incus-profile",
        &[
            "--project",
            project,
            "device",
            "add",
            "default",
            "root",
            "disk",
            "path=/",
            "pool=default",
        ],
    );
}

/// Force-deletes the instances of the projects named, whatever happened (containers
/// must not outlive a failed test).
struct Cleanup<'a> {
    env: &'a TestEnv,
    projects: Vec<&'a str>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for p in &self.projects {
            let o = run(
                self.env,
                "incus-instance",
                &["--project", p, "list", "-f", "csv", "-c", "n"],
            );
            for name in o.stdout.lines().filter(|l| !l.is_empty()) {
                let _ = run(
                    self.env,
                    "incus-instance",
                    &["--project", p, "delete", "-f", name],
                );
            }
        }
    }
}

#[test]
fn same_names_in_two_projects_have_distinct_host_names() {
    let env = TestEnv::initialized();
    let img = busybox_images("projects");
    env.import(&[&img.unified], "bb");
    let _cleanup = Cleanup {
        env: &env,
        projects: vec!["default", "prj1"],
    };
    // prj1 has its own profiles but default's images.
    ok(
        &env,
        "incus",
        &["project", "create", "prj1", "-c", "features.images=false"],
    );
    root_disk(&env, "prj1");
    ok(&env, "incus-instance", &["launch", "bb", "prj-c1"]);
    ok(
        &env,
        "incus-instance",
        &["--project", "prj1", "launch", "bb", "prj-c1"],
    );

    // Each project sees its own.
    let mine = |p: &str| -> Vec<(String, String, String)> {
        let v = ok(
            &env,
            "incus-instance",
            &["--project", p, "list", "-f", "json"],
        )
        .json();
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["name"].as_str().unwrap().to_string(),
                    i["project"].as_str().unwrap().to_string(),
                    i["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        mine("default"),
        [("prj-c1".into(), "default".into(), "Running".into())]
    );
    assert_eq!(
        mine("prj1"),
        [("prj-c1".into(), "prj1".into(), "Running".into())]
    );
    let all = ok(
        &env,
        "incus",
        &["list", "--all-projects", "-f", "csv", "-c", "ens"],
    );
    assert_eq!(
        all.stdout, "default,prj-c1,RUNNING\nprj1,prj-c1,RUNNING\n",
        "{}",
        all.stderr
    );

    // Host-wide names: volumes on disk, run directories, guests' own view.
    let containers = list_dir(&env.incus_dir.join("storage-pools/default/containers"));
    assert!(containers.contains(&"prj-c1".to_string()), "{containers:?}");
    assert!(
        containers.contains(&"prj1_prj-c1".to_string()),
        "{containers:?}"
    );
    let runs = list_dir(&env.run_dir.join("instances"));
    assert!(
        runs.contains(&"prj-c1".to_string()) && runs.contains(&"prj1_prj-c1".to_string()),
        "{runs:?}"
    );
    ok(
        &env,
        "incus-instance",
        &[
            "--project",
            "prj1",
            "exec",
            "prj-c1",
            "--",
            "touch",
            "/only-in-prj1",
        ],
    );
    assert!(
        run(
            &env,
            "incus-instance",
            &["exec", "prj-c1", "--", "test", "-e", "/only-in-prj1"]
        )
        .code
            != 0
    );
    let host = ok(
        &env,
        "incus-instance",
        &["--project", "prj1", "exec", "prj-c1", "--", "hostname"],
    );
    assert_eq!(host.stdout.trim(), "prj-c1");

    // `admin check` sees both as they should be (host names included).
    let check = run(&env, "incus-admin", &["check"]);
    assert_eq!(check.code, 0, "{check:?}");

    // Upstream's rules on a project in use.
    let o = run(&env, "incus", &["project", "delete", "prj1"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("Only empty projects can be removed"),
        "{}",
        o.stderr
    );
    let o = run(
        &env,
        "incus",
        &["project", "set", "prj1", "features.networks=true"],
    );
    assert!(
        o.stderr
            .contains("Features can only be changed on empty projects"),
        "{}",
        o.stderr
    );
    let o = run(&env, "incus", &["project", "rename", "prj1", "prj2"]);
    assert!(
        o.stderr.contains("Only empty projects can be renamed"),
        "{}",
        o.stderr
    );

    // Stopping and deleting one leaves the other running.
    ok(
        &env,
        "incus-instance",
        &["--project", "prj1", "delete", "-f", "prj-c1"],
    );
    assert_eq!(
        mine("default"),
        [("prj-c1".into(), "default".into(), "Running".into())]
    );
    let containers = list_dir(&env.incus_dir.join("storage-pools/default/containers"));
    assert_eq!(containers, ["prj-c1"]);
    ok(&env, "incus", &["project", "delete", "prj1"]);
    ok(&env, "incus-instance", &["delete", "-f", "prj-c1"]);
}

#[test]
fn limits_instances_holds_under_twenty_concurrent_creates() {
    let env = TestEnv::initialized();
    ok(
        &env,
        "incus",
        &["project", "create", "prjlim", "-c", "limits.instances=5"],
    );
    root_disk(&env, "prjlim");
    let _cleanup = Cleanup {
        env: &env,
        projects: vec!["prjlim"],
    };
    let barrier = Barrier::new(20);
    let outs: Vec<Output> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..20)
            .map(|i| {
                let (env, barrier) = (&env, &barrier);
                s.spawn(move || {
                    let name = format!("prj-l{i}");
                    barrier.wait();
                    run(
                        env,
                        "incus-instance",
                        &["--project", "prjlim", "create", "--empty", &name],
                    )
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let made = outs.iter().filter(|o| o.code == 0).count();
    assert_eq!(made, 5, "{outs:#?}");
    for o in outs.iter().filter(|o| o.code != 0) {
        assert_eq!(o.code, exit::FORBIDDEN, "{o:?}");
        assert!(o.stderr.contains("limits.instances=5"), "{}", o.stderr);
    }
    let listed = ok(
        &env,
        "incus-instance",
        &["--project", "prjlim", "list", "-f", "csv", "-c", "n"],
    );
    assert_eq!(listed.stdout.lines().count(), 5);
    let state = ok(&env, "incus", &["project", "info", "prjlim", "-f", "csv"]);
    assert!(state.stdout.contains("INSTANCES,5,5"), "{}", state.stdout);
    // A lower limit than the usage is refused; default saw nothing of it.
    let o = run(
        &env,
        "incus",
        &["project", "set", "prjlim", "limits.instances=4"],
    );
    assert_eq!(o.code, exit::INVALID, "{o:?}");
    assert!(env.instance_names().is_empty());
}

#[test]
fn project_rules_and_current_project() {
    let env = TestEnv::initialized();
    for (args, code, msg) in [
        (
            vec!["project", "delete", "default"],
            exit::INVALID,
            "cannot be deleted",
        ),
        (
            vec!["project", "rename", "default", "x"],
            exit::INVALID,
            "cannot be renamed",
        ),
        (
            vec!["project", "create", "prj_x"],
            exit::INVALID,
            "underscores",
        ),
        (vec!["project", "create", "prj/x"], exit::INVALID, "slashes"),
        (
            vec!["project", "create", "default"],
            exit::CONFLICT,
            "already exists",
        ),
        (
            vec!["project", "show", "prj-none"],
            exit::NOT_FOUND,
            "not found",
        ),
        (
            vec!["project", "create", "prj-bad", "-c", "limits.instances=x"],
            exit::INVALID,
            "limits.instances",
        ),
        (
            vec!["project", "create", "prj-bad", "-c", "foo.bar=1"],
            exit::INVALID,
            "foo.bar",
        ),
        (
            vec!["project", "set", "default", "features.images=false"],
            exit::INVALID,
            "default project",
        ),
        (
            vec!["--project", "prj-none", "list"],
            exit::NOT_FOUND,
            "prj-none",
        ),
    ] {
        let o = run(&env, "incus", &args);
        assert_eq!(o.code, code, "{o:?}");
        assert!(o.stderr.contains(msg), "{o:?}");
    }
    assert_eq!(
        ok(&env, "incus", &["project", "list", "-f", "csv"]).stdout,
        "default (current),YES,YES,YES,YES,YES,YES,Default Incus project,1\n"
    );
    ok(
        &env,
        "incus",
        &["project", "create", "prj-a", "--description", "A"],
    );
    let shown = ok(&env, "incus", &["project", "show", "prj-a"]).stdout;
    assert!(shown.contains("features.profiles: 'true'"), "{shown}");
    assert!(
        shown.contains("/1.0/profiles/default?project=prj-a"),
        "{shown}"
    );
    // The current project, per remote, in config.yml.
    ok(&env, "incus", &["project", "switch", "prj-a"]);
    assert_eq!(
        ok(&env, "incus", &["project", "get-current"]).stdout,
        "prj-a\n"
    );
    let yml = std::fs::read_to_string(conf(&env).join("config.yml")).unwrap();
    assert!(yml.contains("project: prj-a"), "{yml}");
    ok(&env, "incus-profile", &["create", "prj-p"]);
    assert!(ok(&env, "incus-profile", &["list", "-f", "csv"])
        .stdout
        .contains("prj-p"));
    assert!(!ok(
        &env,
        "incus-profile",
        &["--project", "prj-a", "list", "-f", "csv"]
    )
    .stdout
    .is_empty());
    ok(&env, "incus", &["project", "switch", "default"]);
    assert!(!ok(&env, "incus-profile", &["list", "-f", "csv"])
        .stdout
        .contains("prj-p"));
    // Profiles off: the project uses default's (its own default profile goes).
    ok(
        &env,
        "incus-profile",
        &["--project", "prj-a", "delete", "prj-p"],
    );
    ok(
        &env,
        "incus",
        &["project", "set", "prj-a", "features.profiles=false"],
    );
    assert_eq!(
        ok(
            &env,
            "incus-profile",
            &["--project", "prj-a", "show", "default"]
        )
        .stdout,
        ok(&env, "incus-profile", &["show", "default"]).stdout
    );
    ok(&env, "incus", &["project", "rename", "prj-a", "prj-b"]);
    ok(&env, "incus", &["project", "delete", "prj-b"]);
    assert_eq!(env.db_rows("projects"), 1);
}

#[test]
fn upstream_client_drives_projects_through_incus_serve() {
    upstream_present();
    let env = TestEnv::initialized();
    let img = busybox_images("projects-serve");
    env.import(&[&img.unified], "busybox");
    let srv = Server::start(&env);
    let _cleanup = Cleanup {
        env: &env,
        projects: vec!["default", "prjs"],
    };
    srv.incus(&["project", "create", "prjs", "-c", "features.images=false"])
        .ok();
    srv.incus(&[
        "profile",
        "device",
        "add",
        "default",
        "root",
        "disk",
        "path=/",
        "pool=default",
        "--project",
        "prjs",
    ])
    .ok();
    let listed = srv.incus(&["project", "list", "-f", "csv"]).ok();
    assert!(
        listed.stdout.contains("prjs,NO,YES,YES,YES,NO,NO,,1"),
        "{}",
        listed.stdout
    );
    srv.incus(&["init", "busybox", "prj-s1", "--project", "prjs"])
        .ok();
    srv.incus(&["init", "busybox", "prj-s1"]).ok();
    let all = srv
        .incus(&["list", "--all-projects", "-f", "csv", "-c", "en"])
        .ok();
    assert_eq!(all.stdout, "default,prj-s1\nprjs,prj-s1\n", "{}", srv.log());
    let only = srv
        .incus(&["list", "--project", "prjs", "-f", "csv", "-c", "n"])
        .ok();
    assert_eq!(only.stdout, "prj-s1\n");
    let o = srv.incus(&["project", "delete", "prjs"]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("Only empty projects can be removed"),
        "{}",
        o.stderr
    );
    let state = srv.curl("GET", "/1.0/projects/prjs/state", None);
    assert_eq!(
        state.1["metadata"]["resources"]["instances"]["Usage"], 1,
        "{state:?}"
    );
    // Events carry the project.
    let ev = env.db().query_row(
        "SELECT project FROM events WHERE metadata LIKE '%instance-created%' ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get::<_, String>(0),
    );
    assert_eq!(ev.unwrap(), "default");
    let ev: Vec<String> = {
        let db = env.db();
        let mut st = db
            .prepare(
                "SELECT project FROM events WHERE metadata LIKE '%instance-created%' ORDER BY id",
            )
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(ev, ["prjs", "default"]);
    srv.incus(&["delete", "prj-s1", "--project", "prjs"]).ok();
    srv.incus(&["project", "rename", "prjs", "prjt"]).ok();
    srv.incus(&["project", "delete", "prjt"]).ok();
    assert_eq!(srv.curl("GET", "/1.0/projects/prjt", None).0, 404);
    srv.incus(&["delete", "prj-s1"]).ok();
}

#[test]
fn restricted_project_refusals_name_their_key() {
    let env = TestEnv::initialized();
    ok(
        &env,
        "incus",
        &["project", "create", "prjr", "-c", "restricted=true"],
    );
    root_disk(&env, "prjr");
    let _cleanup = Cleanup {
        env: &env,
        projects: vec!["prjr"],
    };
    let p = ["--project", "prjr"];
    let refused = |args: &[&str], key: &str| {
        let full: Vec<&str> = p.iter().chain(args).copied().collect();
        let o = run(&env, "incus", &full);
        assert_eq!(o.code, exit::FORBIDDEN, "{o:?}");
        assert!(o.stderr.contains(key), "{key}: {o:?}");
    };
    refused(
        &[
            "create",
            "--empty",
            "prj-r0",
            "-c",
            "security.privileged=true",
        ],
        "restricted.containers.privilege=unprivileged",
    );
    refused(
        &["create", "--empty", "prj-r0", "-c", "security.nesting=true"],
        "restricted.containers.nesting=block",
    );
    refused(
        &[
            "create",
            "--empty",
            "prj-r0",
            "-c",
            "raw.idmap=both 1000 1000",
        ],
        "restricted.containers.lowlevel=block",
    );
    ok(
        &env,
        "incus",
        &["--project", "prjr", "create", "--empty", "prj-r1"],
    );
    refused(
        &[
            "config",
            "device",
            "add",
            "prj-r1",
            "h",
            "disk",
            "source=/",
            "path=/mnt",
        ],
        "restricted.devices.disk=managed",
    );
    refused(
        &[
            "config",
            "device",
            "add",
            "prj-r1",
            "n",
            "unix-char",
            "path=/dev/null",
        ],
        "restricted.devices.unix-char=block",
    );
    refused(
        &[
            "config",
            "device",
            "add",
            "prj-r1",
            "eth9",
            "nic",
            "nictype=bridged",
            "parent=lo",
        ],
        "restricted.devices.nic=managed",
    );
    refused(
        &["config", "set", "prj-r1", "security.privileged=true"],
        "restricted.containers.privilege",
    );
    refused(
        &["snapshot", "create", "prj-r1", "s0"],
        "restricted.snapshots=block",
    );
    // Nothing of the refused changes landed.
    let shown = ok(
        &env,
        "incus",
        &["--project", "prjr", "config", "show", "prj-r1"],
    )
    .stdout;
    assert!(
        !shown.contains("privileged") && !shown.contains("/mnt"),
        "{shown}"
    );

    // Allowed host paths: only below restricted.devices.disk.paths.
    let allowed = env.root().join("prj-allowed");
    std::fs::create_dir_all(allowed.join("sub")).unwrap();
    let paths = format!("restricted.devices.disk.paths={}", allowed.display());
    ok(
        &env,
        "incus",
        &[
            "project",
            "set",
            "prjr",
            "restricted.devices.disk=allow",
            &paths,
            "restricted.snapshots=allow",
        ],
    );
    refused(
        &[
            "config",
            "device",
            "add",
            "prj-r1",
            "h",
            "disk",
            "source=/etc",
            "path=/mnt",
        ],
        "restricted.devices.disk.paths",
    );
    let dotdot = format!("source={}/../", allowed.display());
    refused(
        &[
            "config",
            "device",
            "add",
            "prj-r1",
            "h",
            "disk",
            &dotdot,
            "path=/mnt",
        ],
        "restricted.devices.disk.paths",
    );
    let src = format!("source={}", allowed.join("sub").display());
    ok(
        &env,
        "incus",
        &[
            "--project",
            "prjr",
            "config",
            "device",
            "add",
            "prj-r1",
            "h",
            "disk",
            &src,
            "path=/mnt",
        ],
    );
    ok(
        &env,
        "incus",
        &["--project", "prjr", "snapshot", "create", "prj-r1", "s0"],
    );
    // Without restricted=true the keys do nothing.
    ok(
        &env,
        "incus",
        &["project", "set", "prjr", "restricted=false"],
    );
    ok(
        &env,
        "incus",
        &[
            "--project",
            "prjr",
            "config",
            "set",
            "prj-r1",
            "security.nesting=true",
        ],
    );
}

/// The bridges on the host now.
fn bridges() -> std::collections::BTreeSet<String> {
    list_dir(std::path::Path::new("/sys/class/net"))
        .into_iter()
        .filter(|n| {
            std::path::Path::new("/sys/class/net")
                .join(n)
                .join("bridge")
                .exists()
        })
        .collect()
}

/// Deletes the networks named in each project, whatever happened.
struct NetCleanup<'a> {
    env: &'a TestEnv,
    nets: Vec<(&'a str, &'a str)>,
}

impl Drop for NetCleanup<'_> {
    fn drop(&mut self) {
        for (p, n) in &self.nets {
            let _ = run(self.env, "incus", &["--project", p, "network", "delete", n]);
        }
    }
}

#[test]
fn one_network_name_in_two_projects_makes_two_bridges() {
    let env = TestEnv::initialized();
    ok(
        &env,
        "incus",
        &["project", "create", "prjn", "-c", "features.networks=true"],
    );
    let _cleanup = NetCleanup {
        env: &env,
        nets: vec![("default", "prjnet"), ("prjn", "prjnet")],
    };
    let before = bridges();
    ok(
        &env,
        "incus",
        &[
            "network",
            "create",
            "prjnet",
            "ipv4.address=auto",
            "ipv6.address=none",
        ],
    );
    ok(
        &env,
        "incus",
        &[
            "--project",
            "prjn",
            "network",
            "create",
            "prjnet",
            "ipv4.address=auto",
            "ipv6.address=none",
        ],
    );
    let made: Vec<String> = bridges().difference(&before).cloned().collect();
    assert_eq!(made.len(), 2, "{made:?}");
    // Their subnets were chosen against each other (host-wide).
    let addr = |p: &str| {
        ok(
            &env,
            "incus",
            &["--project", p, "network", "get", "prjnet", "ipv4.address"],
        )
        .stdout
        .trim()
        .to_string()
    };
    let (a, b) = (addr("default"), addr("prjn"));
    assert_ne!(
        a.rsplit_once('.').unwrap().0,
        b.rsplit_once('.').unwrap().0,
        "{a} {b}"
    );
    // A project without the feature sees default's.
    ok(&env, "incus", &["project", "create", "prjm"]);
    assert_eq!(addr("prjm"), a);
    ok(
        &env,
        "incus",
        &["--project", "prjn", "network", "delete", "prjnet"],
    );
    ok(&env, "incus", &["network", "delete", "prjnet"]);
    assert_eq!(bridges(), before);
}

const PYLXD_PROJECT: &str = r#"
import json, sys, urllib.parse, pylxd
ep = "http+unix://" + urllib.parse.quote(sys.argv[1], safe="")
c = pylxd.Client(endpoint=ep, project="prjpy")
d = pylxd.Client(endpoint=ep)
inst = c.instances.create({"name": "prj-py1", "source": {"type": "image", "alias": "busybox"}}, wait=True)
inst.start(wait=True)
r = inst.execute(["hostname"])
out = {
    # pylxd 2.4 keeps the "?project=" of the URLs (upstream's answer too) in the name.
    "mine": [(i.name.split("?")[0], i.status) for i in c.instances.all()],
    "default": [i.name for i in d.instances.all()],
    "hostname": r.stdout.strip(),
}
inst.stop(wait=True, force=True)
inst.delete(wait=True)
out["after"] = [i.name for i in c.instances.all()]
print(json.dumps(out))
"#;

#[test]
fn pylxd_in_a_project() {
    let python = pylxd_python();
    let env = TestEnv::initialized();
    let img = busybox_images("projects-pylxd");
    env.import(&[&img.unified], "busybox");
    ok(
        &env,
        "incus",
        &["project", "create", "prjpy", "-c", "features.images=false"],
    );
    root_disk(&env, "prjpy");
    let _cleanup = Cleanup {
        env: &env,
        projects: vec!["prjpy"],
    };
    let srv = Server::start(&env);
    let o = std::process::Command::new(python)
        .args(["-c", PYLXD_PROJECT])
        .arg(&srv.socket)
        .output()
        .expect("python");
    let o = to_output("pylxd script".into(), o).ok();
    assert_eq!(
        o.json(),
        serde_json::json!({
            "mine": [["prj-py1", "Running"]],
            "default": [],
            "hostname": "prj-py1",
            "after": [],
        }),
        "{}",
        srv.log()
    );
}
