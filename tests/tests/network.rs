//! Managed bridges through `incus-net` with real bridges, veths, dnsmasq and nftables:
//! busybox containers get DHCP leases, reach the bridge, resolve each other as
//! NAME.incus; bad input changes nothing; `delete` leaves no bridge, nft table or
//! dnsmasq behind. Only the test's own bridge addresses are ever contacted.

use incus_tests::{busybox_images, exit, sha256_hex, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Debian's busybox looks for its udhcpc hook elsewhere; the image ships it here.
const UDHCPC: &[&str] = &[
    "udhcpc",
    "-i",
    "eth0",
    "-s",
    "/usr/share/udhcpc/default.script",
    "-n",
    "-q",
    "-t",
    "10",
    "-T",
    "1",
];

/// A TestEnv whose networks and instances are removed from the host even when the
/// test fails half-way (bridges, nft tables and dnsmasq outlive a temp dir).
struct NetEnv {
    env: TestEnv,
    nets: std::cell::RefCell<Vec<String>>,
}

impl NetEnv {
    fn new() -> NetEnv {
        let env = TestEnv::initialized();
        // Containers' mapped root must traverse to the rootfs; a temp dir is 0700.
        std::fs::set_permissions(
            env.root(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod test root");
        NetEnv {
            env,
            nets: Default::default(),
        }
    }

    fn prefix(&self) -> String {
        let h = sha256_hex(&[self.env.incus_dir.as_os_str().as_encoded_bytes()]);
        format!("ix{}", &h[..6])
    }

    /// The host bridge of a network (the installation prefix and a hash of the name).
    fn bridge(&self, name: &str) -> String {
        let h = sha256_hex(&[name.as_bytes(), &[0]]);
        format!("{}n{}", self.prefix(), &h[..6])
    }

    fn table(&self, name: &str) -> String {
        format!("{}_{}", self.prefix(), self.bridge(name))
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        self.env
            .run_dir
            .join("networks")
            .join(name)
            .join("dnsmasq.pid")
    }

    /// `incus-net create NAME ARGS...`, remembered for cleanup.
    fn create(&self, name: &str, args: &[&str]) {
        self.nets.borrow_mut().push(name.to_string());
        let mut a = vec!["create", name];
        a.extend_from_slice(args);
        self.env.ok("incus-net", &a);
    }

    fn import_busybox(&self) {
        let img = busybox_images("network");
        self.env.import(&[&img.unified], "bb");
    }

    fn exec(&self, inst: &str, cmd: &[&str]) -> incus_tests::Output {
        let mut a = vec!["exec", inst, "--"];
        a.extend_from_slice(cmd);
        self.env.run("incus-instance", &a)
    }

    fn ipv4_of(&self, inst: &str) -> Option<String> {
        let v = self
            .env
            .json("incus-instance", &["list", "--format", "json"]);
        let i = v.as_array()?.iter().find(|i| i["name"] == inst)?;
        i["state"]["network"]["eth0"]["addresses"]
            .as_array()?
            .iter()
            .find(|a| a["family"] == "inet")
            .and_then(|a| a["address"].as_str())
            .map(String::from)
    }

    /// Runs udhcpc in the instance until `incus list` shows its address.
    fn dhcp(&self, inst: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.exec(inst, UDHCPC);
            if out.success() {
                if let Some(ip) = self.ipv4_of(inst) {
                    return ip;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{inst} got no DHCP lease: {}{}",
                out.stdout,
                out.stderr
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn assert_host_clean(&self, name: &str) {
        let br = self.bridge(name);
        assert!(
            !Path::new("/sys/class/net").join(&br).exists(),
            "bridge {br} left behind"
        );
        assert!(
            !nft_tables().contains(&self.table(name)),
            "nft table {} left behind",
            self.table(name)
        );
        let pid_arg = format!("--pid-file={}", self.pid_file(name).display());
        wait_for(
            || !dnsmasq_cmdlines().iter().any(|c| c.contains(&pid_arg)),
            "dnsmasq to exit",
        );
    }
}

impl Drop for NetEnv {
    fn drop(&mut self) {
        let _ = self.env.run("incus-instance", &["stop", "--all", "-f"]);
        for n in self.nets.borrow().iter() {
            if let Ok(pid) = std::fs::read_to_string(self.pid_file(n)) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmd).contains("dnsmasq") {
                        // SAFETY: kill(2) on the dnsmasq this test started.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            }
            let _ = Command::new("ip")
                .args(["link", "del", &self.bridge(n)])
                .stderr(std::process::Stdio::null())
                .status();
            let t = self.table(n);
            let _ = nft_script(&format!("table inet {t} {{}}\ndelete table inet {t}\n"));
        }
    }
}

fn nft_script(s: &str) -> bool {
    use std::io::Write;
    let mut c = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("nft (make test installs nftables)");
    c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    c.wait().map(|s| s.success()).unwrap_or(false)
}

/// This installation's nft tables (other tests run in parallel).
fn own_tables(n: &NetEnv) -> Vec<String> {
    nft_tables()
        .lines()
        .filter(|l| l.contains(&format!(" {}_", n.prefix())))
        .map(String::from)
        .collect()
}

fn nft_tables() -> String {
    let o = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .expect("nft (make test installs nftables)");
    assert!(o.status.success(), "nft list tables failed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn dnsmasq_cmdlines() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.starts_with("dnsmasq ") {
                out.push(c);
            }
        }
    }
    out
}

/// Polls `f` until it holds (10 s at most).
#[track_caller]
fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    incus_tests::poll(10, what, || f().then_some(()))
}

fn show(env: &TestEnv, name: &str) -> Value {
    env.json("incus-net", &["show", name, "--format", "json"])
}

#[test]
fn bridge_lifecycle_leaves_nothing_behind() {
    let n = NetEnv::new();
    n.create("tnet0", &["--description", "test bridge"]);
    let net = show(&n.env, "tnet0");
    let addr = net["config"]["ipv4.address"].as_str().unwrap().to_string();
    assert!(addr.starts_with("10.") && addr.ends_with(".1/24"), "{addr}");
    assert_eq!(net["config"]["ipv4.nat"], "true");
    assert_eq!(net["config"]["ipv6.address"], "none");
    assert_eq!(net["managed"], true);

    // Host side: bridge with the address, nft table with masquerade, dnsmasq.
    let br = n.bridge("tnet0");
    assert!(br.len() <= 15);
    let a = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &br])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&a.stdout).contains(&addr));
    assert!(nft_tables().contains(&n.table("tnet0")));
    let rules = Command::new("nft")
        .args(["list", "table", "inet", &n.table("tnet0")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&rules.stdout).contains("masquerade"));
    let pid_arg = format!("--pid-file={}", n.pid_file("tnet0").display());
    assert!(dnsmasq_cmdlines().iter().any(|c| c.contains(&pid_arg)));

    // info reads the bridge; list-leases has the gateway.
    let info = n.env.ok("incus-net", &["info", "tnet0"]).stdout;
    assert!(info.contains("State: up"), "{info}");
    assert!(info.contains(addr.split('/').next().unwrap()), "{info}");
    let leases = n
        .env
        .json("incus-net", &["list-leases", "tnet0", "--format", "json"]);
    assert_eq!(leases[0]["type"], "gateway");
    assert_eq!(leases[0]["hostname"], "tnet0.gw");

    // A killed dnsmasq is restarted by the next command that needs it.
    let pid: i32 = std::fs::read_to_string(n.pid_file("tnet0"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_for(
        || !dnsmasq_cmdlines().iter().any(|c| c.contains(&pid_arg)),
        "dnsmasq to die",
    );
    n.env
        .ok("incus-net", &["set", "tnet0", "ipv4.dhcp.expiry=2h"]);
    assert!(dnsmasq_cmdlines()
        .iter()
        .any(|c| c.contains(&pid_arg) && c.contains(",2h")));

    // set/get/unset, rename, edit round trip.
    n.env.ok("incus-net", &["set", "tnet0", "user.x", "1"]);
    assert_eq!(
        n.env.ok("incus-net", &["get", "tnet0", "user.x"]).line(),
        "1"
    );
    n.env.ok("incus-net", &["unset", "tnet0", "user.x"]);
    assert_eq!(
        n.env.ok("incus-net", &["get", "tnet0", "user.x"]).line(),
        ""
    );
    n.nets.borrow_mut().push("tnet1".into());
    n.env.ok("incus-net", &["rename", "tnet0", "tnet1"]);
    n.assert_host_clean("tnet0");
    assert!(Path::new("/sys/class/net").join(n.bridge("tnet1")).exists());
    let yaml = n.env.ok("incus-net", &["show", "tnet1"]).stdout;
    let edited = yaml.replace("description: test bridge", "description: edited");
    n.env
        .run_stdin("incus-net", &["edit", "tnet1"], &edited)
        .ok();
    assert_eq!(show(&n.env, "tnet1")["description"], "edited");

    n.env.ok("incus-net", &["delete", "tnet1"]);
    n.assert_host_clean("tnet1");
    assert_eq!(n.env.db_rows("networks"), 0);
    assert!(!n.env.incus_dir.join("networks/tnet1").exists());
}

#[test]
fn bad_input_changes_nothing() {
    let n = NetEnv::new();
    n.create("good", &[]);
    let subnet = show(&n.env, "good")["config"]["ipv4.address"]
        .as_str()
        .unwrap()
        .to_string();
    let tables_before = own_tables(&n);
    let overlapping = subnet.replace(".1/24", ".9/16");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["create", "bad1", &format!("ipv4.address={overlapping}")],
            exit::CONFLICT,
            "overlaps",
        ),
        (
            &["create", "bad2", "ipv4.address=10.0.0.300/24"],
            exit::INVALID,
            "Invalid IPv4",
        ),
        (
            &["create", "bad3", "ipv4.address=10.1.2.1"],
            exit::INVALID,
            "Invalid IPv4",
        ),
        (
            &["create", "averyveryverylongname"],
            exit::INVALID,
            "15 characters",
        ),
        (
            &["create", "bad4", "bridge.mode=fan"],
            exit::INVALID,
            "removed",
        ),
        (
            &["create", "bad5", "fan.underlay_subnet=10.0.0.0/8"],
            exit::INVALID,
            "removed",
        ),
        (
            &["create", "bad6", "bogus.key=1"],
            exit::INVALID,
            "Invalid network configuration key",
        ),
        (
            &["create", "bad7", "--type", "ovn"],
            exit::UNSUPPORTED,
            "not supported",
        ),
        (&["create", "good"], exit::CONFLICT, "already exists"),
        (&["set", "good", "fan.type=vxlan"], exit::INVALID, "removed"),
        (&["set", "good", "ipv4.nat=maybe"], exit::INVALID, "boolean"),
        (&["show", "missing"], exit::NOT_FOUND, "not found"),
    ];
    for (args, code, msg) in cases {
        let out = n.env.run("incus-net", args).err(*code);
        assert!(out.stderr.contains(msg), "{args:?}: {}", out.stderr);
    }
    for bad in ["bad1", "bad2", "bad3", "bad4", "bad5", "bad6", "bad7"] {
        assert!(!Path::new("/sys/class/net").join(n.bridge(bad)).exists());
        assert!(!n.env.incus_dir.join("networks").join(bad).exists());
    }
    assert_eq!(own_tables(&n), tables_before);
    assert_eq!(n.env.db_rows("networks"), 1);
    assert_eq!(
        show(&n.env, "good")["config"]["ipv4.address"],
        subnet.as_str()
    );

    // In use: refused, still there.
    n.env.ok(
        "incus-net",
        &["attach-profile", "good", "default", "eth0", "eth0"],
    );
    let out = n
        .env
        .run("incus-net", &["delete", "good"])
        .err(exit::CONFLICT);
    assert!(
        out.stderr.contains("/1.0/profiles/default"),
        "{}",
        out.stderr
    );
    n.env
        .run("incus-net", &["rename", "good", "good2"])
        .err(exit::INVALID);
    assert!(Path::new("/sys/class/net").join(n.bridge("good")).exists());
    n.env
        .ok("incus-net", &["detach-profile", "good", "default"]);
    n.env.ok("incus-net", &["delete", "good"]);
    n.assert_host_clean("good");
}

#[test]
fn containers_get_leases_and_resolve_each_other() {
    let n = NetEnv::new();
    n.import_busybox();
    n.create("lan", &[]);
    let gw = show(&n.env, "lan")["config"]["ipv4.address"]
        .as_str()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    n.env.ok(
        "incus-net",
        &["attach-profile", "lan", "default", "eth0", "eth0"],
    );
    // -n with a network that does not exist: refused before anything is made.
    n.env
        .run("incus-instance", &["launch", "bb", "c0", "-n", "nosuchnet"])
        .err(exit::NOT_FOUND);
    assert!(n.env.instance_names().is_empty());
    n.env.ok("incus-instance", &["launch", "bb", "c1"]);
    n.env.ok("incus-instance", &["launch", "bb", "c2"]);

    let ip1 = n.dhcp("c1");
    let ip2 = n.dhcp("c2");
    assert_ne!(ip1, ip2);
    n.exec("c1", &["ping", "-c", "1", "-W", "2", &gw]).ok();
    // By name through the bridge's dnsmasq (names come from the hosts files).
    let out = n
        .exec("c2", &["ping", "-c", "1", "-W", "2", "c1.incus"])
        .ok();
    assert!(out.stdout.contains(&ip1), "{}", out.stdout);
    let out = n
        .exec("c1", &["ping", "-c", "1", "-W", "2", "c2.incus"])
        .ok();
    assert!(out.stdout.contains(&ip2), "{}", out.stdout);

    // Leases, MAC stable in volatile, counters in state.
    let leases = n
        .env
        .json("incus-net", &["list-leases", "lan", "--format", "json"]);
    let dynamic: Vec<&Value> = leases
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "dynamic")
        .collect();
    assert_eq!(dynamic.len(), 2, "{leases}");
    let c1 = n
        .env
        .json("incus-instance", &["list", "c1", "--format", "json"]);
    let mac = c1[0]["config"]["volatile.eth0.hwaddr"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(mac.starts_with("00:16:3e:"), "{mac}");
    assert!(dynamic
        .iter()
        .any(|l| l["hwaddr"] == mac.as_str() && l["hostname"] == "c1"));
    assert!(
        c1[0]["state"]["network"]["eth0"]["counters"]["bytes_received"]
            .as_i64()
            .unwrap()
            > 0
    );
    let host_name = c1[0]["config"]["volatile.eth0.host_name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(host_name.starts_with(&n.prefix()) && host_name.len() <= 15);
    let info = n.env.ok("incus-instance", &["info", "c1"]).stdout;
    assert!(
        info.contains("Network usage:") && info.contains(&format!("inet:  {ip1}/24")),
        "{info}"
    );
    let csv = n
        .env
        .ok("incus-instance", &["list", "-c", "n4", "-f", "csv"])
        .stdout;
    assert!(csv.contains(&format!("c1,{ip1} (eth0)")), "{csv}");

    // Network in use by the instances.
    let used = show(&n.env, "lan")["used_by"].clone();
    assert!(
        used.as_array()
            .unwrap()
            .contains(&"/1.0/instances/c1".into()),
        "{used}"
    );

    // Hot-plug a second NIC into c2, then remove it.
    n.env.ok(
        "incus-instance",
        &[
            "config",
            "device",
            "add",
            "c2",
            "eth1",
            "nic",
            "network=lan",
            "name=eth1",
        ],
    );
    n.exec("c2", &["ip", "link", "show", "eth1"]).ok();
    n.env.ok(
        "incus-instance",
        &["config", "device", "remove", "c2", "eth1"],
    );
    assert!(!n.exec("c2", &["ip", "link", "show", "eth1"]).success());

    // A NIC added to the profile reaches both running instances, and goes again.
    n.env.ok(
        "incus-net",
        &["attach-profile", "lan", "default", "eth2", "eth2"],
    );
    for c in ["c1", "c2"] {
        n.exec(c, &["ip", "link", "show", "eth2"]).ok();
    }
    n.env
        .ok("incus-net", &["detach-profile", "lan", "default", "eth2"]);
    for c in ["c1", "c2"] {
        assert!(!n.exec(c, &["ip", "link", "show", "eth2"]).success());
    }

    // A static address outside the subnet (or the gateway's) is refused.
    for bad in ["192.0.2.10", gw.as_str()] {
        n.env
            .run(
                "incus-instance",
                &[
                    "config",
                    "device",
                    "override",
                    "c2",
                    "eth0",
                    &format!("ipv4.address={bad}"),
                ],
            )
            .err(exit::INVALID);
    }
    // A static address: a host entry for dnsmasq and a STATIC lease.
    n.env.ok(
        "incus-instance",
        &[
            "config",
            "device",
            "override",
            "c2",
            "eth0",
            &format!("ipv4.address={}", ip2),
        ],
    );
    let hosts = std::fs::read_to_string(n.env.incus_dir.join("networks/lan/dnsmasq.hosts/c2.eth0"))
        .unwrap();
    assert!(hosts.contains(&format!(",{ip2},c2")), "{hosts}");
    let leases = n
        .env
        .json("incus-net", &["list-leases", "lan", "--format", "json"]);
    assert!(leases
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["type"] == "static" && l["address"] == ip2.as_str()));

    // A reboot inside restarts init in place with its NICs.
    let pid_of = |c: &str| {
        n.env
            .json("incus-instance", &["list", c, "--format", "json"])[0]["state"]["pid"]
            .as_i64()
            .unwrap_or(0)
    };
    let before = pid_of("c2");
    n.exec("c2", &["reboot"]);
    wait_for(
        || {
            let p = pid_of("c2");
            p != before && p != 0
        },
        "c2 to reboot",
    );
    n.exec("c2", &["ip", "link", "show", "eth0"]).ok();

    // Stop removes the veth; restart keeps the MAC.
    n.env.ok("incus-instance", &["stop", "-f", "c1"]);
    wait_for(
        || !Path::new("/sys/class/net").join(&host_name).exists(),
        "the veth to go",
    );
    // As after a reboot: no bridge, no nft table, no dnsmasq. The next start of an
    // instance on the network brings the host side back.
    n.env.ok("incus-instance", &["stop", "-f", "c2"]);
    let pid: i32 = std::fs::read_to_string(n.pid_file("lan"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let t = n.table("lan");
    assert!(nft_script(&format!("delete table inet {t}\n")));
    assert!(Command::new("ip")
        .args(["link", "del", &n.bridge("lan")])
        .status()
        .unwrap()
        .success());
    n.env.ok("incus-instance", &["start", "c1"]);
    assert!(Path::new("/sys/class/net").join(n.bridge("lan")).exists());
    assert!(own_tables(&n).iter().any(|l| l.ends_with(&t)));
    let c1 = n
        .env
        .json("incus-instance", &["list", "c1", "--format", "json"]);
    assert_eq!(c1[0]["config"]["volatile.eth0.hwaddr"], mac.as_str());
    assert_eq!(n.dhcp("c1"), ip1, "same MAC, same lease");

    // Everything goes: instances, then the network.
    n.env.ok("incus-instance", &["delete", "-f", "c1", "c2"]);
    assert!(!n
        .env
        .incus_dir
        .join("networks/lan/dnsmasq.hosts/c2.eth0")
        .exists());
    n.env.ok("incus-net", &["detach-profile", "lan", "default"]);
    n.env.ok("incus-net", &["delete", "lan"]);
    n.assert_host_clean("lan");
    assert!(!Path::new("/sys/class/net").join(&host_name).exists());
}

#[test]
fn admin_init_network_opt_in() {
    let n = NetEnv::new();
    // --minimal alone makes no network (tests and idle hosts run no dnsmasq).
    assert_eq!(n.env.db_rows("networks"), 0);
    n.nets.borrow_mut().push("incusbr0".into());
    n.env.ok("incus-admin", &["init", "--minimal", "--network"]);
    let net = show(&n.env, "incusbr0");
    assert!(net["config"]["ipv4.address"]
        .as_str()
        .unwrap()
        .starts_with("10."));
    // IPv6 stays opt-in (see docs/ipv6.md).
    assert_eq!(net["config"]["ipv6.address"], "none");
    let prof = n
        .env
        .json("incus-profile", &["show", "default", "--format", "json"]);
    assert_eq!(prof["devices"]["eth0"]["network"], "incusbr0");
    assert_eq!(prof["devices"]["eth0"]["name"], "eth0");
    // Again: nothing new.
    n.env.ok("incus-admin", &["init", "--minimal", "--network"]);
    assert_eq!(n.env.db_rows("networks"), 1);
    let prof = n
        .env
        .json("incus-profile", &["show", "default", "--format", "json"]);
    assert_eq!(prof["devices"]["eth0"]["network"], "incusbr0");
}

#[test]
fn killed_create_or_delete_is_repaired_by_the_next_command() {
    let n = NetEnv::new();
    n.create("half", &[]);
    let pid_arg = format!("--pid-file={}", n.pid_file("half").display());
    // What a create or delete killed half-way leaves: the row still pending, the
    // bridge, its nft table and dnsmasq up, and no tool holding the network's lock.
    let db = rusqlite::Connection::open(n.env.db_path()).unwrap();
    db.execute("UPDATE networks SET state = 0 WHERE name = 'half'", [])
        .unwrap();
    drop(db);
    assert!(Path::new("/sys/class/net").join(n.bridge("half")).exists());
    // The next command that meets it removes it all.
    let list = n.env.json("incus-net", &["list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    assert_eq!(n.env.db_rows("networks"), 0);
    n.assert_host_clean("half");
    assert!(!dnsmasq_cmdlines().iter().any(|c| c.contains(&pid_arg)));
    // And the name is free again.
    n.create("half", &[]);
    n.env.ok("incus-net", &["delete", "half"]);
    n.assert_host_clean("half");
}

impl NetEnv {
    /// eth0's global IPv6 address as `incus list` reports it.
    fn ipv6_of(&self, inst: &str) -> Option<String> {
        let v = self
            .env
            .json("incus-instance", &["list", "--format", "json"]);
        let i = v.as_array()?.iter().find(|i| i["name"] == inst)?;
        i["state"]["network"]["eth0"]["addresses"]
            .as_array()?
            .iter()
            .find(|a| a["family"] == "inet6" && a["scope"] == "global")
            .and_then(|a| a["address"].as_str())
            .map(String::from)
    }

    /// Waits for the kernel's SLAAC address (the bridge's dnsmasq advertises the prefix).
    fn slaac(&self, inst: &str, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(ip) = self.ipv6_of(inst) {
                let a: std::net::Ipv6Addr = ip.parse().unwrap();
                let p: std::net::Ipv6Addr = prefix.parse().unwrap();
                assert_eq!(
                    a.segments()[..4],
                    p.segments()[..4],
                    "{inst}: {ip} not in {prefix}/64"
                );
                return ip;
            }
            assert!(Instant::now() < deadline, "{inst} got no IPv6 address");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl NetEnv {
    /// Pings until an answer (a fresh SLAAC address is tentative until DAD is done).
    fn ping_until(&self, inst: &str, target: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.exec(inst, &["ping", "-c", "1", "-W", "1", target]);
            if out.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{inst} cannot ping {target}: {}{}",
                out.stdout,
                out.stderr
            );
        }
    }
}

fn ip6_addrs(dev: &str) -> String {
    let o = Command::new("ip")
        .args(["-6", "-o", "addr", "show", "dev", dev])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn ipv6_slaac_on_auto_and_explicit_prefixes() {
    let n = NetEnv::new();
    n.import_busybox();
    n.create("v6a", &["ipv6.address=auto"]);
    let cfg = show(&n.env, "v6a")["config"].clone();
    let auto = cfg["ipv6.address"].as_str().unwrap().to_string();
    assert!(
        auto.starts_with("fd42:") && auto.ends_with("::1/64"),
        "{auto}"
    );
    assert_eq!(cfg["ipv6.nat"], "true");
    // An explicit prefix unique to this test run (tests run in parallel), IPv6 only.
    let h = sha256_hex(&[n.prefix().as_bytes()]);
    // Segments with a nonzero top nibble print as four digits, never compressed.
    let seg = |i: usize| {
        format!(
            "{:x}",
            u16::from_str_radix(&h[i..i + 4], 16).unwrap() | 0x1000
        )
    };
    let (s0, s1, s2) = (seg(0), seg(4), seg(8));
    let net_b = format!("fd42:{s0}:{s1}:{s2}::");
    let explicit = format!("{net_b}1/64");
    n.create(
        "v6b",
        &[&format!("ipv6.address={explicit}"), "ipv4.address=none"],
    );

    // Host side: addresses on the bridges, ip6 masquerade, dnsmasq advertising.
    assert!(ip6_addrs(&n.bridge("v6a")).contains(&auto));
    assert!(ip6_addrs(&n.bridge("v6b")).contains(&explicit));
    let rules = Command::new("nft")
        .args(["list", "table", "inet", &n.table("v6a")])
        .output()
        .unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout).into_owned();
    let auto_net = auto.trim_end_matches("1/64");
    assert!(
        rules.contains(&format!("ip6 saddr {auto_net}/64")) && rules.contains("masquerade"),
        "{rules}"
    );
    for (net, mode) in [("v6a", "ra-stateless,ra-names"), ("v6b", "ra-stateless")] {
        let pid_arg = format!("--pid-file={}", n.pid_file(net).display());
        assert!(
            dnsmasq_cmdlines()
                .iter()
                .any(|c| c.contains(&pid_arg) && c.contains("--enable-ra") && c.contains(mode)),
            "{net}: {:?}",
            dnsmasq_cmdlines()
        );
    }
    let info = n.env.ok("incus-net", &["info", "v6b"]).stdout;
    assert!(info.contains(&format!("{net_b}1")), "{info}");
    let leases = n
        .env
        .json("incus-net", &["list-leases", "v6b", "--format", "json"]);
    assert_eq!(leases[0]["type"], "gateway", "{leases}");
    assert_eq!(
        leases[0]["address"],
        format!("{net_b}1").as_str(),
        "{leases}"
    );

    // Bad input: clear errors, nothing changed.
    let other = format!("{net_b}9/64");
    let narrow = format!("fd43:{s0}:{s1}:{s2}:1::1/80");
    let tables_before = own_tables(&n);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["create", "bad61", "ipv6.address=fd42::1/129"],
            exit::INVALID,
            "Invalid IPv6",
        ),
        (
            &["create", "bad62", "ipv6.address=fd42::zz/64"],
            exit::INVALID,
            "Invalid IPv6",
        ),
        (
            &["create", "bad63", &format!("ipv6.address={other}")],
            exit::CONFLICT,
            "overlaps",
        ),
        (
            &["create", "bad64", &format!("ipv6.address={narrow}")],
            exit::INVALID,
            "SLAAC",
        ),
        (
            &["set", "v6a", &format!("ipv6.address={other}")],
            exit::CONFLICT,
            "overlaps",
        ),
        (
            &["set", "v6b", "ipv6.dhcp.ranges=fd42::1"],
            exit::INVALID,
            "DHCPv6 range",
        ),
    ];
    for (args, code, msg) in cases {
        let out = n.env.run("incus-net", args).err(*code);
        assert!(out.stderr.contains(msg), "{args:?}: {}", out.stderr);
    }
    for bad in ["bad61", "bad62", "bad63", "bad64"] {
        assert!(!Path::new("/sys/class/net").join(n.bridge(bad)).exists());
    }
    assert_eq!(own_tables(&n), tables_before);
    assert_eq!(n.env.db_rows("networks"), 2);
    assert_eq!(show(&n.env, "v6a")["config"]["ipv6.address"], auto.as_str());
    assert!(ip6_addrs(&n.bridge("v6a")).contains(&auto));
    // A stateful prefix may be narrower than /64.
    n.create(
        "v6c",
        &[
            &format!("ipv6.address={narrow}"),
            "ipv6.dhcp.stateful=true",
            "ipv4.address=none",
        ],
    );
    let pid_arg = format!("--pid-file={}", n.pid_file("v6c").display());
    let (s, _) = narrow.split_once("::1/").unwrap();
    assert!(
        dnsmasq_cmdlines().iter().any(
            |c| c.contains(&pid_arg) && c.contains(&format!("{s}::2,{s}:ffff:ffff:ffff,80,1h"))
        ),
        "{:?}",
        dnsmasq_cmdlines()
    );
    n.env.ok("incus-net", &["delete", "v6c"]);
    n.assert_host_clean("v6c");

    // Containers: SLAAC address in the prefix, ping to the bridge, `list -c 6`.
    n.env.ok(
        "incus-net",
        &["attach-profile", "v6a", "default", "eth0", "eth0"],
    );
    n.env.ok("incus-instance", &["launch", "bb", "c1"]);
    n.env
        .ok("incus-instance", &["launch", "bb", "c2", "-n", "v6b"]);
    let ip1 = n.slaac("c1", auto_net);
    let ip2 = n.slaac("c2", &net_b);
    let gw_a = auto.trim_end_matches("/64");
    let gw_b = format!("{net_b}1");
    n.ping_until("c1", gw_a);
    n.ping_until("c2", &gw_b);
    // ra-names: with a DHCPv4 lease, dnsmasq answers AAAA for NAME.incus with the
    // SLAAC address it derived from the MAC (after checking it answers). The image's
    // boot-time DHCP took its lease before SLAAC was up, so dnsmasq's check may have
    // given up: release that lease (-R) and take a fresh one now that SLAAC is up.
    let mut release = UDHCPC.to_vec();
    release.push("-R");
    n.exec("c1", &release).ok();
    n.dhcp("c1");
    // The image's DHCP hook touches IPv4 only: the SLAAC address survives a lease.
    let v6 = n
        .exec("c1", &["ip", "-6", "addr", "show", "dev", "eth0"])
        .stdout;
    assert!(v6.contains(&ip1), "SLAAC address {ip1} lost to DHCP: {v6}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // ping -6 resolves AAAA through the resolv.conf udhcpc wrote (the bridge).
        let out = n.exec("c1", &["ping", "-6", "-c", "1", "-W", "1", "c1.incus"]);
        if out.stdout.contains(&format!("({ip1})")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no AAAA for c1.incus: {}{}",
            out.stdout,
            out.stderr
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let csv = n
        .env
        .ok("incus-instance", &["list", "-c", "n6", "-f", "csv"])
        .stdout;
    assert!(csv.contains(&format!("c1,{ip1} (eth0)")), "{csv}");
    assert!(csv.contains(&format!("c2,{ip2} (eth0)")), "{csv}");
    let info = n.env.ok("incus-instance", &["info", "c2"]).stdout;
    assert!(info.contains(&ip2), "{info}");

    // Delete leaves nothing.
    n.env.ok("incus-instance", &["delete", "-f", "c1", "c2"]);
    n.env.ok("incus-net", &["detach-profile", "v6a", "default"]);
    for net in ["v6a", "v6b"] {
        n.env.ok("incus-net", &["delete", net]);
        n.assert_host_clean(net);
    }
    assert_eq!(n.env.db_rows("networks"), 0);
}

/// An interface made by the test, standing in for a host uplink (`eth0`); removed
/// when dropped. A veth pair, not a `dummy` (this kernel has no dummy driver), and
/// the same kind as the NICs' host sides: the hardest case to tell apart.
struct Dummy(String);

impl Dummy {
    fn new(tag: &str) -> Dummy {
        let name = format!("ixd{:05x}{tag}", std::process::id() & 0xfffff);
        let _ = Command::new("ip").args(["link", "del", &name]).status();
        let ok = Command::new("ip")
            .args(["link", "add", &name, "type", "veth", "peer", "name"])
            .arg(format!("{name}p"))
            .status()
            .expect("ip")
            .success();
        assert!(ok, "cannot create dummy interface {name}");
        Dummy(name)
    }

    fn exists(&self) -> bool {
        Path::new("/sys/class/net").join(&self.0).exists()
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn nic_host_name_never_takes_a_host_interface() {
    let n = NetEnv::new();
    n.import_busybox();
    n.create("lan", &[]);
    let up = Dummy::new("u");
    let host_name = format!("host_name={}", up.0);

    // Cold: a container whose NIC names the host's interface does not start, and
    // neither the start nor the delete removes that interface.
    n.env.ok("incus", &["create", "bb", "c1"]);
    n.env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "eth0",
            "nic",
            "network=lan",
            &host_name,
        ],
    );
    let out = n.env.run("incus", &["start", "c1"]);
    assert!(
        !out.success(),
        "started on a host interface: {}",
        out.stdout
    );
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(up.exists(), "start removed the host interface {}", up.0);
    assert_eq!(n.env.status("c1"), "Stopped");
    n.env.ok("incus", &["delete", "c1"]);
    assert!(up.exists(), "delete removed the host interface {}", up.0);

    // Hot: adding such a NIC to a running container is refused, the interface stays.
    n.env.ok("incus", &["launch", "bb", "c2"]);
    let out = n.env.run(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c2",
            "eth1",
            "nic",
            "network=lan",
            &host_name,
        ],
    );
    assert!(!out.success(), "hot-added on a host interface");
    assert!(up.exists(), "hot-plug removed the host interface {}", up.0);
    let _ = n
        .env
        .run("incus", &["config", "device", "remove", "c2", "eth1"]);
    // An ordinary hot-plugged NIC is marked as c2's, and its unplug removes it.
    let owned_by = |inst: &str| -> Vec<String> {
        let want = format!("{}:{inst}", n.prefix());
        std::fs::read_dir("/sys/class/net")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("ifalias"))
                    .is_ok_and(|a| a.trim_end() == want)
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    n.env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c2",
            "eth2",
            "nic",
            "network=lan",
        ],
    );
    assert_eq!(owned_by("c2").len(), 1, "{:?}", owned_by("c2"));
    n.env
        .ok("incus", &["config", "device", "remove", "c2", "eth2"]);
    assert!(owned_by("c2").is_empty(), "{:?}", owned_by("c2"));
    n.env.ok("incus", &["stop", "-f", "c2"]);
    assert!(up.exists(), "stop removed the host interface {}", up.0);

    // Another instance's live veth is not taken either.
    let veth = format!("ixv{:05x}", std::process::id() & 0xfffff);
    let veth_key = format!("host_name={veth}");
    for c in ["c3", "c4"] {
        n.env.ok("incus", &["create", "bb", c]);
        n.env.ok(
            "incus",
            &[
                "config",
                "device",
                "add",
                c,
                "eth0",
                "nic",
                "network=lan",
                &veth_key,
            ],
        );
    }
    n.env.ok("incus", &["start", "c3"]);
    assert!(Path::new("/sys/class/net").join(&veth).exists());
    let out = n.env.run("incus", &["start", "c4"]);
    assert!(!out.success(), "c4 took c3's veth");
    assert!(
        Path::new("/sys/class/net").join(&veth).exists(),
        "c4's start removed c3's veth"
    );
    assert_eq!(n.env.status("c3"), "Running");
    // Its own leftover is fine: c3 restarts on the same name.
    n.env.ok("incus", &["restart", "-f", "c3"]);
    assert!(Path::new("/sys/class/net").join(&veth).exists());
    n.env.ok("incus", &["stop", "-f", "c3"]);
    assert!(up.exists());
}

/// Everything under a directory with contents, for before/after comparisons.
fn tree_contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = incus_tests::walk(dir)
        .into_iter()
        .map(|rel| {
            let data = std::fs::read(dir.join(&rel)).unwrap_or_default();
            (rel, data)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn nothing_unvalidated_reaches_dnsmasq_or_nft() {
    let n = NetEnv::new();
    n.import_busybox();
    n.create("lan", &[]);
    let net_dir = n.env.incus_dir.join("networks").join("lan");
    let cmdline = || {
        let pid_arg = format!("--pid-file={}", n.pid_file("lan").display());
        dnsmasq_cmdlines()
            .into_iter()
            .filter(|c| c.contains(&pid_arg))
            .collect::<Vec<_>>()
    };
    let table = || {
        let o = Command::new("nft")
            .args(["list", "table", "inet", &n.table("lan")])
            .output()
            .expect("nft");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let files0 = tree_contents(&net_dir);
    let cmd0 = cmdline();
    let table0 = table();
    let config0 = show(&n.env, "lan")["config"].clone();
    assert_eq!(cmd0.len(), 1, "{cmd0:?}");

    // Network keys: a comma, slash, space or newline would add dnsmasq options.
    for kv in [
        "dns.domain=incus,lo",
        "dns.domain=a/b",
        "dns.domain=x\nlog-queries",
        "dns.domain=-x",
        "dns.search=a,b c",
        "dns.search=a,,b",
        "ipv4.dhcp.expiry=1h,x",
        "ipv4.dhcp.expiry=1h\ndhcp-script=/bin/sh",
        "ipv6.dhcp.expiry=x",
        "ipv4.dhcp.gateway=10.0.0.1\nx",
        "ipv4.nat.address=10.0.0.1; flush ruleset",
        "ipv4.dhcp.ranges=10.0.0.2-10.0.0.3\nfoo",
        "bridge.hwaddr=00:16:3e:00:00:01\nx",
    ] {
        let out = n
            .env
            .run("incus-net", &["set", "lan", kv])
            .err(exit::INVALID);
        assert!(out.stderr.contains("Invalid"), "{kv:?}: {}", out.stderr);
    }
    assert_eq!(show(&n.env, "lan")["config"], config0);
    assert_eq!(tree_contents(&net_dir), files0);
    assert_eq!(cmdline(), cmd0);
    assert_eq!(table(), table0);
    // Legitimate values still work.
    n.env.ok(
        "incus-net",
        &[
            "set",
            "lan",
            "dns.search=a.example,b",
            "ipv4.dhcp.expiry=2h",
        ],
    );
    n.env.ok("incus-net", &["unset", "lan", "dns.search"]);
    n.env.ok("incus-net", &["unset", "lan", "ipv4.dhcp.expiry"]);
    let files0 = tree_contents(&net_dir);

    // NIC keys: MAC, names and addresses go to the hosts file and `ip`.
    n.env.ok("incus", &["create", "bb", "c1"]);
    for kv in [
        "hwaddr=00:16:3e:00:00:01\ndhcp-host=x",
        "hwaddr=00-16-3e-00-00-01",
        "host_name=a/b",
        "host_name=..",
        "host_name=eth0 x",
        "host_name=toolonginterface",
        "name=x\ny",
        "parent=br0,lo",
        "ipv4.address=10.0.0.5\nx",
        "mtu=1500\n",
    ] {
        let out = n.env.run(
            "incus",
            &[
                "config",
                "device",
                "add",
                "c1",
                "eth0",
                "nic",
                "network=lan",
                kv,
            ],
        );
        assert!(!out.success(), "{kv:?} accepted");
        assert!(
            out.stderr.contains("Device \"eth0\""),
            "{kv:?}: {}",
            out.stderr
        );
    }
    let devs = n.env.ok("incus", &["config", "device", "show", "c1"]);
    assert!(!devs.stdout.contains("eth0"), "{}", devs.stdout);

    // A tampered database row is refused at start; the hosts files stay as they were.
    n.env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "eth0",
            "nic",
            "network=lan",
        ],
    );
    let rw = || rusqlite::Connection::open(n.env.db_path()).unwrap();
    let changed = rw()
        .execute(
            "INSERT INTO instances_devices_config (instance_device_id, key, value)
             SELECT d.id, 'hwaddr', '00:16:3e:00:00:01' || char(10) || 'dhcp-option=3,6.6.6.6'
             FROM instances_devices d JOIN instances i ON i.id = d.instance_id
             WHERE i.name = 'c1' AND d.name = 'eth0'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let out = n.env.run("incus", &["start", "c1"]);
    assert!(!out.success(), "started with a tampered hwaddr");
    assert!(out.stderr.contains("hwaddr"), "{}", out.stderr);
    assert_eq!(tree_contents(&net_dir), files0);

    // A tampered network row is refused when dnsmasq is brought back.
    rw().execute(
        "UPDATE networks_config SET value = 'x' || char(10) || 'dhcp-script=/bin/sh'
             WHERE key = 'ipv4.dhcp.expiry'",
        [],
    )
    .unwrap();
    rw().execute(
        "INSERT INTO networks_config (network_id, key, value)
             SELECT id, 'dns.domain', 'incus,lo' FROM networks WHERE name = 'lan'",
        [],
    )
    .unwrap();
    let pid: i32 = std::fs::read_to_string(n.pid_file("lan"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the dnsmasq of this test's network.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_for(|| cmdline().is_empty(), "dnsmasq to exit");
    n.env
        .ok("incus", &["config", "device", "remove", "c1", "eth0"]);
    n.env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "eth0",
            "nic",
            "network=lan",
        ],
    );
    let out = n.env.run("incus", &["start", "c1"]);
    assert!(!out.success(), "started with a tampered network");
    assert!(
        out.stderr.contains("dns.domain") || out.stderr.contains("ipv4.dhcp.expiry"),
        "{}",
        out.stderr
    );
    assert!(cmdline().is_empty(), "dnsmasq started: {:?}", cmdline());
}
