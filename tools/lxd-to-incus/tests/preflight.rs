//! The preflight and the plan on recorded answers of a real LXD 5.0.2 (Debian 12):
//! `lxd-to-incus --dump-state` against a dir pool, the busybox image with an alias,
//! a stopped container `c1` (stored shifted by 1000000) with a snapshot `s1`, and a
//! profile `p1` with a disk device. Each test changes the recording the way an LXD
//! configured to trigger a refusal would answer.

use lxd_to_incus::lxd::{LxdState, Source};
use lxd_to_incus::plan::{shifted_by, Plan};
use lxd_to_incus::preflight::{check, source_empty, Host};
use serde_json::{json, Value};
use std::path::Path;

fn recorded() -> LxdState {
    let text = include_str!("fixtures/lxd-5.0.2-dir.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn ok_host() -> Host {
    Host {
        root: true,
        btrfs_tool: true,
        ..Default::default()
    }
}

fn source() -> Source {
    Source {
        kind: "--source-dir".into(),
        dir: "/tmp/lxdtest1".into(),
        log_dir: "/tmp/lxdtest1/logs".into(),
        cache_dir: "/tmp/lxdtest1/cache".into(),
    }
}

#[test]
fn recorded_lxd_passes() {
    let st = recorded();
    assert_eq!(st.server["environment"]["server_version"], "5.0.2");
    let r = check(&st, &ok_host());
    assert_eq!(r.problems, Vec::<String>::new());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn every_problem_is_listed_at_once() {
    let mut st = recorded();
    // As LXD 5.0.2 answers it: a boolean.
    st.server["config"]["core.trust_password"] = json!(true);
    st.server["config"]["candid.api.url"] = json!("https://candid");
    st.server["config"]["core.https_allowed_credentials"] = json!(true);
    st.server["environment"]["server_clustered"] = json!(true);
    st.server["environment"]["server_version"] = json!("5.21.1");
    let p1 = st.projects[0]
        .profiles
        .iter_mut()
        .find(|p| p["name"] == "p1")
        .unwrap();
    p1["config"]["limits.network.priority"] = json!("5");
    p1["devices"]["eth0"] = json!({"type": "nic", "maas.subnet.ipv4": "x"});
    st.projects[0].instances[0]["config"]["security.devlxd"] = json!("false");
    st.networks.push(json!({
        "name": "lxdfan0", "managed": true, "type": "bridge",
        "config": {"bridge.mode": "fan", "fan.underlay_subnet": "10.0.0.0/16"}
    }));
    st.storage_pools
        .push(json!({"name": "big", "driver": "zfs", "config": {}, "volumes": []}));
    st.storage_pools
        .push(json!({"name": "fast", "driver": "btrfs", "config": {}, "volumes": []}));
    st.projects[0].instances[0]["snapshots"][0]["name"] = json!("c1/../../x");
    let mut vm = st.projects[0].instances[0].clone();
    vm["name"] = json!("vm1");
    vm["type"] = json!("virtual-machine");
    vm["snapshots"] = json!([]);
    vm["config"] = json!({});
    st.projects[0].instances.push(vm);
    st.storage_pools[0]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "..", "type": "custom", "config": {}}));
    st.storage_pools[0]["volumes"].as_array_mut().unwrap().push(
        json!({"name": "f0a035935e93c99a8a35a5e18fedc132bd5513384320aab54966723321a7b9fe", "type": "image", "config": {}}),
    );
    st.projects.push(lxd_to_incus::lxd::ProjectState {
        project: json!({"name": "team"}),
        ..Default::default()
    });
    let host = Host {
        root: false,
        btrfs_tool: false,
        target_contents: vec!["instances: default/x".into()],
        ..Default::default()
    };
    let r = check(&st, &host);
    let all = r.problems.join("\n");
    for want in [
        "must be run as root",
        "newer than maximum version 5.18",
        "LXD is clustered",
        "Target server isn't empty (instances: default/x found)",
        "\"core.https_allowed_credentials\" is not a string",
        "deprecated server configuration key \"core.trust_password\"",
        "deprecated server configuration key \"candid.api.url\"",
        "profile \"p1\" in project \"default\" using deprecated configuration key \"limits.network.priority\"",
        "device \"eth0\" for profile \"p1\"",
        "instance \"c1\" in project \"default\" using deprecated configuration key \"security.devlxd\"",
        "network \"lxdfan0\" using deprecated configuration key \"bridge.mode\" (a fan bridge)",
        "network \"lxdfan0\" using deprecated configuration key \"fan.underlay_subnet\"",
        "Storage pool \"big\" uses driver \"zfs\"",
        "Required command \"btrfs\" is missing for storage pool \"fast\"",
        "projects other than \"default\" (team)",
        "cannot hold: Invalid snapshot name",
        "cannot hold: virtual machine \"vm1\" (this version migrates containers only)",
        "cannot hold: Invalid storage volume name \"..\"",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    assert_eq!(r.problems.len(), 18, "{all}");
}

#[test]
fn version_bounds() {
    let mut st = recorded();
    for (v, ignore, ok) in [
        ("4.0.0", false, true),
        ("5.18.2", false, true),
        ("5.19", false, false),
        ("5.19", true, true),
        ("3.23", true, false),
        ("garbage", true, false),
    ] {
        st.server["environment"]["server_version"] = json!(v);
        let host = Host {
            ignore_version: ignore,
            ..ok_host()
        };
        let r = check(&st, &host);
        assert_eq!(
            r.problems.is_empty(),
            ok,
            "{v} ignore={ignore}: {:?}",
            r.problems
        );
    }
}

#[test]
fn empty_source_is_refused() {
    let mut st = recorded();
    assert!(!source_empty(&st));
    st.projects[0].instances.clear();
    st.projects[0].profiles.retain(|p| p["name"] == "default");
    st.storage_pools.clear();
    assert!(source_empty(&st));
    let r = check(&st, &ok_host());
    assert_eq!(
        r.problems,
        vec!["Source server is empty, migration not needed"]
    );
}

#[test]
fn shiftfs_refused_only_when_used() {
    let mut st = recorded();
    let host = Host {
        shiftfs_module: true,
        ..ok_host()
    };
    let r = check(&st, &host);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.warnings.len(), 1);
    st.projects[0].instances[0]["devices"]["data"] =
        json!({"type": "disk", "source": "/srv", "path": "/srv", "shift": "true"});
    let r = check(&st, &host);
    assert!(
        r.problems[0].contains("shiftfs is in use (device \"data\" of instance \"c1\")"),
        "{:?}",
        r.problems
    );
}

#[test]
fn idmap_of_last_state() {
    let st = recorded();
    let c1 = &st.projects[0].instances[0];
    let idmap = c1["config"]["volatile.last_state.idmap"].as_str().unwrap();
    assert_eq!(shifted_by(idmap), Some(1_000_000));
    assert_eq!(shifted_by("[]"), None);
    assert_eq!(shifted_by(""), None);
    assert_eq!(
        shifted_by(r#"[{"Isuid":true,"Isgid":false,"Hostid":0,"Nsid":0,"Maprange":65536}]"#),
        None
    );
}

#[test]
fn plan_of_recording() {
    let st = recorded();
    let plan = Plan::build(
        &st,
        &source(),
        Path::new("/x/incus"),
        Path::new("/x/incus/logs"),
    );
    assert_eq!(plan.instances.len(), 1);
    let c1 = &plan.instances[0];
    assert_eq!((c1.name.as_str(), c1.running), ("c1", false));
    assert_eq!(c1.snapshots, vec!["s1"]);
    assert_eq!(c1.unshift_by, Some(1_000_000));
    assert!(plan.moves.contains(&(
        "/tmp/lxdtest1/storage-pools/default".into(),
        "/x/incus/storage-pools/default".into()
    )));
    assert!(plan
        .rewrites
        .iter()
        .any(|r| r.key == "description" && r.to == "Default Incus profile"));
    assert!(plan
        .rewrites
        .iter()
        .any(|r| r.key == "source" && r.to == "/x/incus/storage-pools/default"));
    let text = plan.render();
    for want in [
        "default/p1",
        "default (dir)",
        "alias bb",
        "c1 (container, stopped), snapshots: s1",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    // A running instance is listed as stopped and restarted.
    let mut st = st;
    st.projects[0].instances[0]["status"] = Value::from("Running");
    let plan = Plan::build(
        &st,
        &source(),
        Path::new("/x/incus"),
        Path::new("/x/incus/logs"),
    );
    assert!(plan
        .render()
        .contains("Instances stopped and restarted (1):\n    - default/c1"));
}
