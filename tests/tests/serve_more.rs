//! incus-serve, second half of the API: instance snapshots and copies, networks and
//! custom storage volumes, driven with the real upstream client (`incus`) over the
//! unix socket and checked against our own tools; curl checks the envelopes and the
//! errors (404 unknown, 409 duplicate, 400 bad input).

use incus_tests::btrfs::{need_btrfs, Cleanup};
use incus_tests::serve::*;
use incus_tests::TestEnv;
use serde_json::Value;

/// Snapshot names of an instance as our own tool lists them.
fn our_snapshots(env: &TestEnv, inst: &str) -> Vec<String> {
    let v = env.json("incus-snapshot", &["list", inst, "--format", "json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Waits for the operation of an async answer and returns its final state.
fn wait_op(srv: &Server, resp: &(u16, Value)) -> Value {
    assert_eq!(resp.0, 202, "{resp:?}");
    assert_eq!(resp.1["type"], "async", "{resp:?}");
    let op = resp.1["operation"].as_str().unwrap();
    let (code, w) = srv.curl("GET", &format!("{op}/wait?timeout=60"), None);
    assert_eq!(code, 200, "{w}");
    w["metadata"].clone()
}

#[test]
fn snapshots_restore_and_copy_with_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);

    srv.incus(&["init", "busybox", "c1"]).ok();
    srv.incus(&["config", "set", "c1", "user.state=before"])
        .ok();
    srv.incus(&["snapshot", "create", "c1", "snap0"]).ok();
    assert_eq!(our_snapshots(&env, "c1"), ["snap0"]);
    let list = srv
        .incus(&["snapshot", "list", "c1", "--format", "json"])
        .ok()
        .json();
    assert_eq!(list[0]["name"], "snap0", "{list}");
    let info = srv.incus(&["info", "c1"]).ok();
    assert!(info.stdout.contains("snap0"), "{}", info.stdout);
    let show = srv.incus(&["snapshot", "show", "c1", "snap0"]).ok();
    assert!(
        show.stdout.contains("user.state: before"),
        "{}",
        show.stdout
    );

    // Envelopes: URL list, recursion, one object with an ETag; errors.
    let (code, v) = srv.curl("GET", "/1.0/instances/c1/snapshots", None);
    assert_eq!(code, 200);
    assert_eq!(
        v["metadata"],
        serde_json::json!(["/1.0/instances/c1/snapshots/snap0"])
    );
    let (_, v) = srv.curl("GET", "/1.0/instances/c1/snapshots?recursion=1", None);
    assert_eq!(v["metadata"][0]["name"], "snap0", "{v}");
    assert_eq!(v["metadata"][0]["config"]["user.state"], "before", "{v}");
    assert_error(
        &srv.curl("GET", "/1.0/instances/c1/snapshots/nope", None),
        404,
    );
    assert_error(&srv.curl("GET", "/1.0/instances/nope/snapshots", None), 404);
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/instances/c1/snapshots",
            Some(r#"{"name":"snap0"}"#),
        ),
        409,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/instances/c1/snapshots",
            Some(r#"{"name":"bad/name"}"#),
        ),
        400,
    );
    assert_error(
        &srv.curl("POST", "/1.0/instances/c1/snapshots", Some("{not json")),
        400,
    );
    assert_eq!(our_snapshots(&env, "c1"), ["snap0"]);

    // Expiry through PATCH (async), seen by our tool.
    let op = wait_op(
        &srv,
        &srv.curl(
            "PATCH",
            "/1.0/instances/c1/snapshots/snap0",
            Some(r#"{"expires_at":"2999-01-02T03:04:05Z"}"#),
        ),
    );
    assert_eq!(op["status"], "Success", "{op}");
    let ours = env.json(
        "incus-snapshot",
        &["show", "c1", "snap0", "--format", "json"],
    );
    assert!(
        ours["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2999-01-02"),
        "{ours}"
    );
    assert_error(
        &srv.curl(
            "PUT",
            "/1.0/instances/c1/snapshots/snap0",
            Some(r#"{"expires_at":"tomorrow"}"#),
        ),
        400,
    );

    // An expiry given at creation.
    let op = wait_op(
        &srv,
        &srv.curl(
            "POST",
            "/1.0/instances/c1/snapshots",
            Some(r#"{"name":"timed","expires_at":"2998-05-06T07:08:09Z"}"#),
        ),
    );
    assert_eq!(op["status"], "Success", "{op}");
    let (_, v) = srv.curl("GET", "/1.0/instances/c1/snapshots/timed", None);
    assert_eq!(v["metadata"]["expires_at"], "2998-05-06T07:08:09Z", "{v}");
    srv.incus(&["snapshot", "delete", "c1", "timed"]).ok();

    // Restore brings back the snapshot's config.
    srv.incus(&["config", "set", "c1", "user.state=after"]).ok();
    srv.incus(&["snapshot", "restore", "c1", "snap0"]).ok();
    let c1 = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert_eq!(c1["config"]["user.state"], "before", "{c1}");
    srv.incus(&["snapshot", "restore", "c1", "nope"]).code(1);

    // A running instance is restored in place and keeps running; its rootfs is the
    // snapshot's.
    srv.incus(&["launch", "busybox", "r1"]).ok();
    srv.incus(&["snapshot", "create", "r1", "clean"]).ok();
    srv.incus(&["exec", "r1", "--", "touch", "/marker"]).ok();
    srv.incus(&["exec", "r1", "--", "test", "-e", "/marker"])
        .ok();
    srv.incus(&["snapshot", "restore", "r1", "clean"]).ok();
    let r1 = srv.incus(&["list", "r1", "--format", "json"]).ok().json();
    assert_eq!(r1[0]["status"], "Running", "{r1}");
    srv.incus(&["exec", "r1", "--", "test", "-e", "/marker"])
        .code(1);
    srv.incus(&["delete", "-f", "r1"]).ok();

    // Copies: with snapshots, from a snapshot, instance only.
    srv.incus(&["copy", "c1", "c2"]).ok();
    assert_eq!(our_snapshots(&env, "c2"), ["snap0"]);
    srv.incus(&["copy", "c1", "c3", "--instance-only"]).ok();
    assert!(our_snapshots(&env, "c3").is_empty());
    srv.incus(&["copy", "c1/snap0", "c4"]).ok();
    let c4 = env.json("incus-instance", &["show", "c4", "--format", "json"]);
    assert_eq!(c4["config"]["user.state"], "before", "{c4}");
    let c1 = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert_ne!(
        c4["config"]["volatile.uuid"], c1["config"]["volatile.uuid"],
        "a copy gets its own identity"
    );
    srv.incus(&["copy", "c1", "c2"]).code(1);
    let copy = |src: &str, dst: &str| {
        let body = serde_json::json!({"name": dst, "source": {"type": "copy", "source": src}});
        srv.curl("POST", "/1.0/instances", Some(&body.to_string()))
    };
    assert_error(&copy("c1", "c2"), 409);
    assert_error(&copy("nope", "c9"), 404);
    assert_error(&copy("c1/nope", "c9"), 404);
    assert_error(&copy("c1", "bad/name"), 400);
    srv.incus(&["copy", "nope", "c5"]).code(1);
    assert_eq!(env.instance_names(), ["c1", "c2", "c3", "c4"]);

    // A name from the pattern when none is given.
    srv.incus(&["snapshot", "create", "c4"]).ok();
    assert_eq!(our_snapshots(&env, "c4"), ["snap0"]);
    // snapshots.expiry applies unless the client sends --no-expiry (the zero time).
    srv.incus(&["config", "set", "c4", "snapshots.expiry=1d"])
        .ok();
    srv.incus(&["snapshot", "create", "c4", "e1"]).ok();
    srv.incus(&["snapshot", "create", "c4", "e2", "--no-expiry"])
        .ok();
    let expiry = |snap: &str| {
        let v = env.json("incus-snapshot", &["show", "c4", snap, "--format", "json"]);
        v["expires_at"].as_str().unwrap().to_string()
    };
    assert!(!expiry("e1").starts_with("0001"), "{}", expiry("e1"));
    assert!(expiry("e2").starts_with("0001"), "{}", expiry("e2"));
    // --reuse replaces a snapshot of the same name (now the newest).
    srv.incus(&["snapshot", "create", "c4", "e1", "--reuse"])
        .ok();
    assert_eq!(our_snapshots(&env, "c4"), ["snap0", "e2", "e1"]);

    // Rename and delete (async operations).
    srv.incus(&["snapshot", "rename", "c1", "snap0", "snap1"])
        .ok();
    assert_eq!(our_snapshots(&env, "c1"), ["snap1"]);
    srv.incus(&["snapshot", "delete", "c1", "snap1"]).ok();
    assert!(our_snapshots(&env, "c1").is_empty());
    assert_error(
        &srv.curl("DELETE", "/1.0/instances/c1/snapshots/snap1", None),
        404,
    );
}

/// Removes the network through our tool even when the test fails half-way (a bridge,
/// its nft table and dnsmasq outlive the temp dir).
struct NetGuard<'a>(&'a TestEnv, &'static str);

impl Drop for NetGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.run("incus-net", &["delete", self.1]);
    }
}

#[test]
fn networks_with_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    // Dropped after the server, which deletes the instances that use the network.
    let _guard = NetGuard(&env, "rnet0");
    let _guard2 = NetGuard(&env, "rnet1");
    let srv = Server::start(&env);

    srv.incus(&["network", "create", "rnet0", "ipv6.address=none"])
        .ok();
    let ours = env.json("incus-net", &["show", "rnet0", "--format", "json"]);
    assert_eq!(ours["type"], "bridge", "{ours}");
    let list = srv
        .incus(&["network", "list", "--format", "json"])
        .ok()
        .json();
    let theirs = list
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "rnet0")
        .unwrap_or_else(|| panic!("rnet0 missing: {list}"));
    assert_eq!(theirs["config"], ours["config"]);
    let show = srv.incus(&["network", "show", "rnet0"]).ok();
    assert!(show.stdout.contains("ipv4.address"), "{}", show.stdout);
    srv.incus(&["network", "set", "rnet0", "user.k=v"]).ok();
    let ours = env.json("incus-net", &["show", "rnet0", "--format", "json"]);
    assert_eq!(ours["config"]["user.k"], "v", "{ours}");
    // PATCH merges: other keys stay; an empty value unsets.
    let (code, v) = srv.curl(
        "PATCH",
        "/1.0/networks/rnet0",
        Some(r#"{"config":{"user.p":"q"},"description":"patched"}"#),
    );
    assert_eq!(code, 200, "{v}");
    let ours = env.json("incus-net", &["show", "rnet0", "--format", "json"]);
    assert_eq!(ours["config"]["user.p"], "q", "{ours}");
    assert_eq!(ours["config"]["user.k"], "v", "{ours}");
    assert_eq!(ours["description"], "patched", "{ours}");
    let (code, v) = srv.curl(
        "PATCH",
        "/1.0/networks/rnet0",
        Some(r#"{"config":{"user.p":""}}"#),
    );
    assert_eq!(code, 200, "{v}");
    let ours = env.json("incus-net", &["show", "rnet0", "--format", "json"]);
    assert!(ours["config"].get("user.p").is_none(), "{ours}");
    srv.incus(&["network", "unset", "rnet0", "user.k"]).ok();
    let after = env.json("incus-net", &["show", "rnet0", "--format", "json"]);
    assert!(after["config"].get("user.k").is_none(), "{after}");
    assert_eq!(
        after["config"]["ipv4.address"],
        ours["config"]["ipv4.address"]
    );

    // Leases: the gateway, and an instance's static address set through the client.
    with_image(&env);
    srv.incus(&["init", "busybox", "c1"]).ok();
    srv.incus(&["network", "attach", "rnet0", "c1", "eth0"])
        .ok();
    let gw = ours["config"]["ipv4.address"].as_str().unwrap().to_string();
    let (net, _) = gw.rsplit_once('.').unwrap();
    let ip = format!("{net}.50");
    srv.incus(&[
        "config",
        "device",
        "set",
        "c1",
        "eth0",
        &format!("ipv4.address={ip}"),
    ])
    .ok();
    let leases = srv
        .incus(&["network", "list-leases", "rnet0", "--format", "json"])
        .ok()
        .json();
    assert_eq!(leases[0]["type"], "gateway", "{leases}");
    assert_eq!(leases[1]["hostname"], "c1", "{leases}");
    assert_eq!(leases[1]["address"], ip.as_str(), "{leases}");
    let (code, v) = srv.curl("GET", "/1.0/networks/rnet0/leases", None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"][1]["address"], ip.as_str(), "{v}");
    // In use: not deleted.
    srv.incus(&["network", "delete", "rnet0"]).code(1);
    srv.incus(&["delete", "c1"]).ok();
    let info = srv.incus(&["network", "info", "rnet0"]).ok();
    assert!(info.stdout.contains(&gw), "{}", info.stdout);
    let (code, v) = srv.curl("GET", "/1.0/networks/rnet0/state", None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"]["state"], "up", "{v}");

    // Errors: unknown, duplicate, bad config; nothing changes.
    assert_error(&srv.curl("GET", "/1.0/networks/nope", None), 404);
    assert_error(
        &srv.curl("POST", "/1.0/networks", Some(r#"{"name":"rnet0"}"#)),
        409,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/networks",
            Some(r#"{"name":"rnet1","config":{"ipv4.address":"10.1.2.300/24"}}"#),
        ),
        400,
    );
    let (_, v) = srv.curl("GET", "/1.0/networks", None);
    assert!(
        !v["metadata"]
            .as_array()
            .unwrap()
            .contains(&Value::from("/1.0/networks/rnet1")),
        "{v}"
    );

    srv.incus(&["network", "rename", "rnet0", "rnet1"]).ok();
    env.ok("incus-net", &["show", "rnet1"]);
    srv.incus(&["network", "delete", "rnet1"]).ok();
    env.run("incus-net", &["show", "rnet1"]).code(3);
}

#[test]
fn storage_volumes_with_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    volume_round_trip(&env, &srv, "default");
}

/// The same on a btrfs loop pool created through the API (subvolume snapshots).
#[test]
fn storage_volumes_on_btrfs_with_upstream_client() {
    upstream_present();
    need_btrfs();
    let env = TestEnv::initialized();
    let _c = Cleanup { env: &env };
    let srv = Server::start(&env);
    srv.incus(&["storage", "create", "bt", "btrfs", "size=300MiB"])
        .ok();
    assert_eq!(
        env.json("incus-storage", &["show", "bt", "--format", "json"])["driver"],
        "btrfs"
    );
    volume_round_trip(&env, &srv, "bt");

    // Across pools: a move (an operation) copies the data and removes the source.
    srv.incus(&["storage", "volume", "create", "default", "mv"])
        .ok();
    let src = env.incus_dir.join("storage-pools/default/custom/mv");
    std::fs::write(src.join("f"), "moved").unwrap();
    srv.incus(&["storage", "volume", "move", "default/mv", "bt/mv"])
        .ok();
    assert!(!src.exists());
    let dst = env.incus_dir.join("storage-pools/bt/custom/mv/f");
    assert_eq!(std::fs::read_to_string(dst).unwrap(), "moved");
    srv.incus(&["storage", "volume", "delete", "bt", "mv"]).ok();

    // `copy -s POOL` puts the copy's root on that pool.
    with_image(&env);
    srv.incus(&["init", "busybox", "b1"]).ok();
    srv.incus(&["copy", "b1", "b2", "-s", "bt"]).ok();
    let b2 = env.json("incus-instance", &["show", "b2", "--format", "json"]);
    assert_eq!(b2["expanded_devices"]["root"]["pool"], "bt", "{b2}");
    assert!(env
        .incus_dir
        .join("storage-pools/bt/containers/b2")
        .is_dir());
    srv.incus(&["delete", "b2"]).ok();
    srv.incus(&["storage", "delete", "bt"]).ok();
}

/// Create, list, errors, snapshot, restore, rename, delete of a custom volume on
/// `pool`, through the upstream client and curl, checked with our tool and the disk.
fn volume_round_trip(env: &TestEnv, srv: &Server, pool: &str) {
    let base = format!("/1.0/storage-pools/{pool}/volumes");

    srv.incus(&["storage", "volume", "create", pool, "v1", "user.a=b"])
        .ok();
    let ours = env.json(
        "incus-storage",
        &["volume", "show", pool, "v1", "--format", "json"],
    );
    assert_eq!(ours["config"]["user.a"], "b", "{ours}");
    let list = srv
        .incus(&["storage", "volume", "list", pool, "--format", "json"])
        .ok()
        .json();
    assert!(
        list.as_array().unwrap().iter().any(|v| v["name"] == "v1"),
        "{list}"
    );
    let (_, v) = srv.curl("GET", &format!("{base}/custom"), None);
    assert_eq!(
        v["metadata"],
        serde_json::json!([format!("{base}/custom/v1")])
    );

    // Errors: unknown, duplicate, wrong type; nothing changes.
    assert_error(&srv.curl("GET", &format!("{base}/custom/nope"), None), 404);
    assert_error(
        &srv.curl("POST", &format!("{base}/custom"), Some(r#"{"name":"v1"}"#)),
        409,
    );
    assert_error(
        &srv.curl("DELETE", &format!("{base}/container/v1"), None),
        400,
    );

    // Data, snapshot, change, restore.
    let data = env
        .incus_dir
        .join(format!("storage-pools/{pool}/custom/v1/data.txt"));
    std::fs::write(&data, "one").unwrap();
    srv.incus(&["storage", "volume", "snapshot", "create", pool, "v1", "s1"])
        .ok();
    let (_, v) = srv.curl("GET", &format!("{base}/custom/v1/snapshots"), None);
    assert_eq!(
        v["metadata"],
        serde_json::json!([format!("{base}/custom/v1/snapshots/s1")])
    );
    assert_error(
        &srv.curl("GET", &format!("{base}/custom/v1/snapshots/nope"), None),
        404,
    );
    assert_error(
        &srv.curl(
            "PUT",
            &format!("{base}/custom/v1/snapshots/s1"),
            Some(r#"{"description":"x"}"#),
        ),
        501,
    );
    std::fs::write(&data, "two").unwrap();
    srv.incus(&["storage", "volume", "snapshot", "restore", pool, "v1", "s1"])
        .ok();
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "one");

    srv.incus(&[
        "storage", "volume", "snapshot", "rename", pool, "v1", "s1", "s2",
    ])
    .ok();
    let snaps = env.json(
        "incus-storage",
        &["volume", "snapshot", "list", pool, "v1", "--format", "json"],
    );
    assert_eq!(snaps[0]["name"], "s2", "{snaps}");
    srv.incus(&["storage", "volume", "snapshot", "delete", pool, "v1", "s2"])
        .ok();

    // Keys (the client's get-modify-PUT), info (state and snapshots), copy.
    srv.incus(&["storage", "volume", "set", pool, "v1", "user.c=d"])
        .ok();
    srv.incus(&["storage", "volume", "unset", pool, "v1", "user.a"])
        .ok();
    let ours = env.json(
        "incus-storage",
        &["volume", "show", pool, "v1", "--format", "json"],
    );
    assert_eq!(ours["config"]["user.c"], "d", "{ours}");
    assert!(ours["config"].get("user.a").is_none(), "{ours}");
    srv.incus(&["storage", "volume", "info", pool, "v1"]).ok();
    let show = srv.incus(&["storage", "volume", "show", pool, "v1"]).ok();
    assert!(show.stdout.contains("user.c: d"), "{}", show.stdout);
    let (code, v) = srv.curl(
        "PATCH",
        &format!("{base}/custom/v1"),
        Some(r#"{"config":{"user.e":"f","user.c":""}}"#),
    );
    assert_eq!(code, 200, "{v}");
    let (_, v) = srv.curl("GET", &format!("{base}/custom/v1"), None);
    assert_eq!(v["metadata"]["config"]["user.e"], "f", "{v}");
    assert!(v["metadata"]["config"].get("user.c").is_none(), "{v}");
    srv.incus(&[
        "storage",
        "volume",
        "copy",
        &format!("{pool}/v1"),
        &format!("{pool}/v3"),
    ])
    .ok();
    let copied = env
        .incus_dir
        .join(format!("storage-pools/{pool}/custom/v3/data.txt"));
    assert_eq!(std::fs::read_to_string(copied).unwrap(), "one");

    srv.incus(&["storage", "volume", "rename", pool, "v1", "v2"])
        .ok();
    srv.incus(&["storage", "volume", "rename", pool, "v2", "v3"])
        .code(1);
    srv.incus(&["storage", "volume", "delete", pool, "v2"]).ok();
    srv.incus(&["storage", "volume", "delete", pool, "v3"]).ok();
    let (_, v) = srv.curl("GET", &format!("{base}/custom"), None);
    assert_eq!(v["metadata"], serde_json::json!([]), "{v}");
}

/// The server killed (-9) in the middle of a snapshot operation: the snapshot is on
/// disk, its mark on the instance. The next command (our tool) rolls it back, and the
/// same snapshot can be taken again through a new server.
#[test]
fn server_killed_during_snapshot_create_is_repaired() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["init", "busybox", "c1"]);
    let marker = env.root().join("paused");
    {
        let mut srv = Server::start_with(
            &env,
            &[
                ("INCUS_TEST_PAUSE", "snapshot-create-before-record".as_ref()),
                ("INCUS_TEST_PAUSE_MARKER", marker.as_os_str()),
            ],
        );
        let resp = srv.curl(
            "POST",
            "/1.0/instances/c1/snapshots",
            Some(r#"{"name":"s0"}"#),
        );
        assert_eq!(resp.0, 202, "{resp:?}");
        incus_tests::poll(30, "the server to reach the pause point", || {
            marker.exists().then_some(())
        });
        srv.child.kill().expect("kill -9 incus-serve");
        srv.child.wait().expect("reap incus-serve");
        // Its drop would delete the instances: the repair is what is under test.
        std::mem::forget(srv);
    }
    let snap_dir = env
        .incus_dir
        .join("storage-pools/default/containers-snapshots/c1/s0");
    assert!(snap_dir.exists(), "the kill came after the disk work");
    assert!(our_snapshots(&env, "c1").is_empty());
    assert!(!snap_dir.exists(), "the half-made snapshot is rolled back");
    let c1 = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert!(c1["config"].get("volatile.snapshot.op").is_none(), "{c1}");

    let srv = Server::start(&env);
    srv.incus(&["snapshot", "create", "c1", "s0"]).ok();
    assert_eq!(our_snapshots(&env, "c1"), ["s0"]);
}

/// `incus move NAME --storage POOL` (upstream's `instance_pool_move`: POST with
/// `migration` and `pool`) moves the instance's volume to another local pool.
#[test]
fn move_to_another_pool_with_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let p2 = env.root().join("p2src");
    std::fs::create_dir(&p2).unwrap();
    env.ok(
        "incus-storage",
        &["create", "p2", "dir", &format!("source={}", p2.display())],
    );
    srv.incus(&["init", "busybox", "m1"]).ok();
    srv.incus(&["config", "set", "m1", "user.k=v"]).ok();
    srv.incus(&["move", "m1", "--storage", "p2"]).ok();
    let pools = |name: &str| -> Vec<String> {
        ["default", "p2"]
            .iter()
            .filter(|p| {
                env.json("incus-storage", &["volume", "list", p, "-f", "json"])
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v["name"] == name && v["type"] == "container")
            })
            .map(|p| p.to_string())
            .collect()
    };
    assert_eq!(pools("m1"), ["p2"]);
    assert!(p2.join("containers/m1/rootfs/bin/busybox").is_file());
    let show = env.json("incus-instance", &["show", "m1", "-f", "json"]);
    assert_eq!(show["config"]["user.k"], "v");
    assert_eq!(show["expanded_devices"]["root"]["pool"], "p2");
    // Renamed on the way, and back to the first pool.
    srv.incus(&["move", "m1", "m2", "--storage", "default"])
        .ok();
    assert_eq!(pools("m2"), ["default"]);
    assert!(pools("m1").is_empty());
    // Unknown pool or instance: a clear refusal, nothing changed.
    let o = srv.incus(&["move", "m2", "--storage", "nope"]).code(1);
    assert!(o.stderr.contains("not found"), "{}", o.stderr);
    assert_eq!(pools("m2"), ["default"]);
    srv.incus(&["move", "nope", "--storage", "p2"]).code(1);
}
