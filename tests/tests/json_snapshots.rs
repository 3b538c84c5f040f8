//! `--format json` is the REST `metadata` with upstream's shapes. A fixed scenario
//! (a second pool, a profile, an image, two instances) is listed, the volatile values
//! (timestamps, uuids, temporary paths) are normalised, and the result is compared
//! with the expected documents: exact key sets of upstream's objects
//! (spec/incus-rest-api.yaml, Incus 6.0) and exact values.

use incus_tests::{sha256_hex, TarBuf, TestEnv};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Upstream's `Instance` (GET /1.0/instances/NAME), without the PUT-only `restore`.
const INSTANCE_KEYS: &[&str] = &[
    "architecture",
    "config",
    "devices",
    "ephemeral",
    "profiles",
    "stateful",
    "description",
    "created_at",
    "expanded_config",
    "expanded_devices",
    "name",
    "status",
    "status_code",
    "last_used_at",
    "location",
    "type",
    "project",
];
/// `InstanceFull` adds these (list recursion=2, what `list --format json` prints).
const INSTANCE_FULL_EXTRA: &[&str] = &["state", "snapshots", "backups"];
const INSTANCE_STATE_KEYS: &[&str] = &[
    "status",
    "status_code",
    "disk",
    "memory",
    "network",
    "pid",
    "processes",
    "cpu",
];
const IMAGE_KEYS: &[&str] = &[
    "aliases",
    "architecture",
    "auto_update",
    "cached",
    "created_at",
    "expires_at",
    "filename",
    "fingerprint",
    "last_used_at",
    "profiles",
    "project",
    "properties",
    "public",
    "size",
    "type",
    "update_source",
    "uploaded_at",
];
const POOL_KEYS: &[&str] = &[
    "config",
    "description",
    "driver",
    "locations",
    "name",
    "status",
    "used_by",
];
/// Upstream's `Profile` (the spec omits `project`, which Incus 6.0 serves).
const PROFILE_KEYS: &[&str] = &[
    "config",
    "description",
    "devices",
    "name",
    "used_by",
    "project",
];
const VOLUME_KEYS: &[&str] = &[
    "config",
    "content_type",
    "created_at",
    "description",
    "location",
    "name",
    "project",
    "type",
    "used_by",
];

#[track_caller]
fn assert_keys(what: &str, v: &Value, keys: &[&str]) {
    let got: BTreeSet<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    let want: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(
        got,
        want,
        "{what}: keys differ (extra: {:?}, missing: {:?})",
        got.difference(&want).collect::<Vec<_>>(),
        want.difference(&got).collect::<Vec<_>>()
    );
}

/// RFC 3339 in UTC with optional fraction, as Go prints `time.Time`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.ends_with('Z') {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let head = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    let tail = &s[19..s.len() - 1];
    head && (tail.is_empty()
        || (tail.starts_with('.')
            && tail[1..].bytes().all(|c| c.is_ascii_digit())
            && tail.len() > 1))
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// Replaces volatile values: real timestamps by `<time>` (upstream's "never" values,
/// 0001-01-01 and 1970-01-01, stay), uuids by `<uuid>`, the temporary installation
/// path by `$ROOT`.
fn normalise(v: &mut Value, root: &str) {
    match v {
        Value::String(s) => {
            if is_timestamp(s) && !s.starts_with("0001-01-01T") && !s.starts_with("1970-01-01T") {
                *s = "<time>".into();
            } else if is_uuid(s) {
                *s = "<uuid>".into();
            } else if s.contains(root) {
                *s = s.replace(root, "$ROOT");
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| normalise(x, root)),
        Value::Object(m) => m.values_mut().for_each(|x| normalise(x, root)),
        _ => {}
    }
}

struct Scenario {
    env: TestEnv,
    fingerprint: String,
    arch: String,
}

/// The fixed scenario: pool `pool2`, profile `web` (a key and a nic), an image
/// `tiny` built here (so its fingerprint is known), instance `c1` from it with both
/// profiles and a key, and an empty instance `e1`; server key core.https_address.
fn scenario() -> Scenario {
    let env = TestEnv::initialized();
    let arch = std::env::consts::ARCH.to_string();
    let src = env.root().join("pool2-src");
    std::fs::create_dir(&src).unwrap();
    env.ok(
        "incus-storage",
        &[
            "create",
            "pool2",
            "dir",
            &format!("source={}", src.display()),
            "--description",
            "second pool",
        ],
    );
    env.ok(
        "incus-profile",
        &["create", "web", "--description", "web servers"],
    );
    env.ok("incus-profile", &["set", "web", "limits.cpu=2"]);
    env.ok(
        "incus-profile",
        &[
            "device",
            "add",
            "web",
            "eth0",
            "nic",
            "nictype=bridged",
            "parent=br0",
        ],
    );
    let mut t = TarBuf::unified();
    t.dir("rootfs/bin", 0o755)
        .file("rootfs/bin/hello", b"#!/bin/sh\necho hello\n", 0o755)
        .dir("templates", 0o755);
    let bytes = t.bytes();
    let fingerprint = sha256_hex(&[&bytes]);
    let img = env.root().join("tiny.tar");
    std::fs::write(&img, &bytes).unwrap();
    assert_eq!(env.import(&[&img], "tiny"), fingerprint);
    env.ok(
        "incus-instance",
        &[
            "create",
            "tiny",
            "c1",
            "-p",
            "default",
            "-p",
            "web",
            "-c",
            "user.role=db",
        ],
    );
    env.ok(
        "incus-instance",
        &["create", "--empty", "e1", "--description", "empty one"],
    );
    env.ok(
        "incus-instance",
        &["config", "set", "core.https_address", "127.0.0.1:8443"],
    );
    Scenario {
        env,
        fingerprint,
        arch,
    }
}

impl Scenario {
    fn json(&self, tool: &str, args: &[&str]) -> Value {
        let mut v = self.env.json(tool, args);
        normalise(&mut v, self.env.root().to_str().unwrap());
        v
    }
}

fn idmap_next(base: u64) -> String {
    format!(
        "[{{\"Isuid\":true,\"Isgid\":false,\"Hostid\":{base},\"Nsid\":0,\"Maprange\":65536}},\
         {{\"Isuid\":false,\"Isgid\":true,\"Hostid\":{base},\"Nsid\":0,\"Maprange\":65536}}]"
    )
}

fn stopped_state() -> Value {
    json!({
        "status": "Stopped",
        "status_code": 102,
        "disk": {},
        "memory": {"usage": 0, "usage_peak": 0, "total": 0, "swap_usage": 0, "swap_usage_peak": 0},
        "network": null,
        "pid": "<checked apart>",
        "processes": "<checked apart>",
        "cpu": {"usage": 0}
    })
}

/// Takes `pid` and `processes` out of a listed instance's state (they are checked
/// by `stopped_state_counts_are_zero`), leaving a marker.
fn set_apart_counts(list: &mut Value) {
    for i in list.as_array_mut().expect("array") {
        for k in ["pid", "processes"] {
            let v = &mut i["state"][k];
            assert!(v.is_i64(), "state.{k} is an integer: {v}");
            *v = json!("<checked apart>");
        }
    }
}

#[test]
fn instance_list_json() {
    let s = scenario();
    let mut list = s.json("incus", &["list", "--format", "json"]);
    set_apart_counts(&mut list);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 2);
    for i in items {
        let name = i["name"].as_str().unwrap();
        let mut keys: Vec<&str> = INSTANCE_KEYS.to_vec();
        keys.extend(INSTANCE_FULL_EXTRA);
        assert_keys(&format!("instance {name}"), i, &keys);
        assert_keys(
            &format!("instance {name} state"),
            &i["state"],
            INSTANCE_STATE_KEYS,
        );
    }
    let root = json!({"path": "/", "pool": "default", "type": "disk"});
    let eth0 = json!({"nictype": "bridged", "parent": "br0", "type": "nic"});
    let c1_config = json!({
        "image.description": "test",
        "image.os": "test",
        "user.role": "db",
        "volatile.apply_template": "create",
        "volatile.base_image": s.fingerprint,
        "volatile.idmap.base": "1000000",
        "volatile.idmap.next": idmap_next(1_000_000),
        "volatile.uuid": "<uuid>",
        "volatile.uuid.generation": "<uuid>"
    });
    let mut c1_expanded = c1_config.clone();
    c1_expanded["limits.cpu"] = json!("2");
    let e1_config = json!({
        "volatile.idmap.base": "1065536",
        "volatile.idmap.next": idmap_next(1_065_536),
        "volatile.uuid": "<uuid>",
        "volatile.uuid.generation": "<uuid>"
    });
    let expected = json!([
        {
            "architecture": s.arch,
            "config": c1_config,
            "devices": {},
            "ephemeral": false,
            "profiles": ["default", "web"],
            "stateful": false,
            "description": "",
            "created_at": "<time>",
            "expanded_config": c1_expanded,
            "expanded_devices": {"eth0": eth0, "root": root},
            "name": "c1",
            "status": "Stopped",
            "status_code": 102,
            "last_used_at": "1970-01-01T00:00:00Z",
            "location": "none",
            "type": "container",
            "project": "default",
            "backups": [],
            "state": stopped_state(),
            "snapshots": []
        },
        {
            "architecture": s.arch,
            "config": e1_config,
            "devices": {},
            "ephemeral": false,
            "profiles": ["default"],
            "stateful": false,
            "description": "empty one",
            "created_at": "<time>",
            "expanded_config": e1_config,
            "expanded_devices": {"root": root},
            "name": "e1",
            "status": "Stopped",
            "status_code": 102,
            "last_used_at": "1970-01-01T00:00:00Z",
            "location": "none",
            "type": "container",
            "project": "default",
            "backups": [],
            "state": stopped_state(),
            "snapshots": []
        }
    ]);
    assert_eq!(
        list,
        expected,
        "instance list json:\n{}",
        serde_json::to_string_pretty(&list).unwrap()
    );
    // `show` is the Instance without the recursion=2 extras, equal otherwise.
    let show = s.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert_keys("instance show", &show, INSTANCE_KEYS);
    let mut from_list = expected[0].as_object().unwrap().clone();
    for k in INSTANCE_FULL_EXTRA {
        from_list.remove(*k);
    }
    assert_eq!(show, Value::Object(from_list));
}

#[test]
fn stopped_state_counts_are_zero() {
    let env = TestEnv::initialized();
    env.ok("incus-instance", &["create", "--empty", "c1"]);
    let list = env.json("incus-instance", &["list", "--format", "json"]);
    assert_eq!(list[0]["state"]["pid"], 0, "{}", list[0]["state"]);
    assert_eq!(list[0]["state"]["processes"], 0, "{}", list[0]["state"]);
}

#[test]
fn image_list_json() {
    let s = scenario();
    let list = s.json("incus", &["image", "list", "--format", "json"]);
    let items = list.as_array().expect("array");
    assert_eq!(items.len(), 1);
    assert_keys("image", &items[0], IMAGE_KEYS);
    assert_keys(
        "image alias",
        &items[0]["aliases"][0],
        &["name", "description"],
    );
    let size = std::fs::metadata(s.env.root().join("tiny.tar"))
        .unwrap()
        .len();
    let expected = json!([{
        "aliases": [{"name": "tiny", "description": ""}],
        "architecture": s.arch,
        "cached": false,
        "filename": "tiny.tar",
        "fingerprint": s.fingerprint,
        "properties": {"description": "test", "os": "test"},
        "public": false,
        "size": size,
        "type": "container",
        "auto_update": false,
        "profiles": ["default"],
        "created_at": "<time>",
        "expires_at": "0001-01-01T00:00:00Z",
        "last_used_at": "<time>",
        "uploaded_at": "<time>",
        "update_source": null,
        "project": "default"
    }]);
    assert_eq!(
        list,
        expected,
        "image list json:\n{}",
        serde_json::to_string_pretty(&list).unwrap()
    );
    // metadata.yaml's creation_date is the image's created_at.
    let raw = s.env.json("incus-image", &["list", "--format", "json"]);
    assert_eq!(raw[0]["created_at"], "2023-11-14T22:13:20Z");
    // Aliases as listed on their own (ImageAliasesEntry).
    let aliases = s.json("incus", &["image", "alias", "list", "--format", "json"]);
    assert_eq!(
        aliases,
        json!([{"name": "tiny", "description": "", "target": s.fingerprint, "type": "container"}])
    );
}

#[test]
fn storage_list_json() {
    let s = scenario();
    let list = s.json("incus", &["storage", "list", "--format", "json"]);
    for p in list.as_array().expect("array") {
        assert_keys("storage pool", p, POOL_KEYS);
    }
    let expected = json!([
        {
            "config": {"source": "$ROOT/state/storage-pools/default"},
            "description": "",
            "name": "default",
            "driver": "dir",
            "used_by": ["/1.0/instances/c1", "/1.0/instances/e1", "/1.0/profiles/default"],
            "status": "Created",
            "locations": ["none"]
        },
        {
            "config": {"source": "$ROOT/pool2-src"},
            "description": "second pool",
            "name": "pool2",
            "driver": "dir",
            "used_by": [],
            "status": "Created",
            "locations": ["none"]
        }
    ]);
    assert_eq!(
        list,
        expected,
        "storage list json:\n{}",
        serde_json::to_string_pretty(&list).unwrap()
    );
    let vols = s.json(
        "incus",
        &["storage", "volume", "list", "default", "--format", "json"],
    );
    let vol = |name: &str| {
        json!({
            "config": {},
            "description": "",
            "name": name,
            "type": "container",
            "used_by": [format!("/1.0/instances/{name}")],
            "location": "none",
            "content_type": "filesystem",
            "project": "default",
            "created_at": "<time>"
        })
    };
    for v in vols.as_array().expect("array") {
        assert_keys("storage volume", v, VOLUME_KEYS);
    }
    assert_eq!(vols, json!([vol("c1"), vol("e1")]));
}

#[test]
fn profile_list_json() {
    let s = scenario();
    let list = s.json("incus", &["profile", "list", "--format", "json"]);
    for p in list.as_array().expect("array") {
        assert_keys("profile", p, PROFILE_KEYS);
    }
    let expected = json!([
        {
            "config": {},
            "description": "Default Incus profile",
            "devices": {"root": {"path": "/", "pool": "default", "type": "disk"}},
            "name": "default",
            "used_by": ["/1.0/instances/c1", "/1.0/instances/e1"],
            "project": "default"
        },
        {
            "config": {"limits.cpu": "2"},
            "description": "web servers",
            "devices": {"eth0": {"nictype": "bridged", "parent": "br0", "type": "nic"}},
            "name": "web",
            "used_by": ["/1.0/instances/c1"],
            "project": "default"
        }
    ]);
    assert_eq!(
        list,
        expected,
        "profile list json:\n{}",
        serde_json::to_string_pretty(&list).unwrap()
    );
}

#[test]
fn config_show_json() {
    let s = scenario();
    // The server: ServerPut.
    let server = s.json("incus", &["config", "show", "--format", "json"]);
    assert_eq!(
        server,
        json!({"config": {"core.https_address": "127.0.0.1:8443"}})
    );
    // An instance: InstancePut (no `restore`, which upstream omits when empty).
    let put_keys = [
        "architecture",
        "config",
        "devices",
        "ephemeral",
        "profiles",
        "description",
        "stateful",
    ];
    let c1 = s.json("incus", &["config", "show", "c1", "--format", "json"]);
    assert_keys("instance config show", &c1, &put_keys);
    assert_eq!(c1["devices"], json!({}));
    assert_eq!(c1["profiles"], json!(["default", "web"]));
    assert!(c1["config"].get("limits.cpu").is_none());
    let exp = s.json(
        "incus",
        &["config", "show", "c1", "--expanded", "--format", "json"],
    );
    assert_keys("instance config show --expanded", &exp, &put_keys);
    assert_eq!(exp["config"]["limits.cpu"], "2");
    assert_eq!(exp["config"]["user.role"], "db");
    let devs: Vec<&String> = exp["devices"].as_object().unwrap().keys().collect();
    assert_eq!(devs, ["eth0", "root"]);
    // The same through the YAML default.
    let yaml = s.env.ok("incus", &["config", "show", "c1", "--expanded"]);
    let mut from_yaml: Value = serde_yaml_ng::from_str(&yaml.stdout).unwrap();
    normalise(&mut from_yaml, s.env.root().to_str().unwrap());
    assert_eq!(from_yaml, exp);
}

#[test]
fn json_is_one_compact_line() {
    let s = scenario();
    for (tool, args) in [
        ("incus-instance", vec!["list", "-f", "json"]),
        ("incus-image", vec!["list", "-f", "json"]),
        ("incus-storage", vec!["list", "-f", "json"]),
        ("incus-profile", vec!["list", "-f", "json"]),
        ("incus-instance", vec!["show", "c1", "-f", "json"]),
    ] {
        let o = s.env.ok(tool, &args);
        assert_eq!(o.stdout.lines().count(), 1, "{}: one line", o.cmdline);
        assert!(o.stdout.ends_with('\n'));
    }
    // Every timestamp that is not "never" parses as RFC 3339.
    let list = s.env.json("incus-instance", &["list", "-f", "json"]);
    let created = list[0]["created_at"].as_str().unwrap();
    assert!(is_timestamp(created), "{created}");
}
