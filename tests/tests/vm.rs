//! Virtual machines on QEMU (docs/vm.md): the tiny test image (`make vm-image`, built
//! here on first use and cached) launched with `--vm` under TCG, reached through
//! incus-agent on its virtio-serial port: exec passes exit codes, stdin and stdout;
//! SMBIOS and the agent's port are seen inside; limits.cpu/limits.memory are the
//! guest's vCPUs and memory; the NIC gets a DHCP lease from the managed bridge; stop is
//! a clean ACPI shutdown; kill -9 of the monitor or of QEMU is repaired by the next
//! command; snapshot/restore/copy of a stopped VM; keys of the other instance type
//! are refused.

use incus_tests::TestEnv;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tiny image, built by `make vm-image` (cached; the kernel package is downloaded once).
fn tiny_image() -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = ws.join("target/vm-images/tiny");
    let st = Command::new("make")
        .args(["-s", "-C"])
        .arg(ws)
        .args(["vm-image", "VM_IMAGES=tiny"])
        .status()
        .expect("make vm-image");
    assert!(st.success(), "make vm-image failed");
    dir
}

struct VmEnv {
    env: TestEnv,
    net: String,
}

impl Drop for VmEnv {
    fn drop(&mut self) {
        let names = self.env.instance_names();
        for n in &names {
            let _ = self.env.run("incus-instance", &["delete", "-f", n]);
        }
        let _ = self
            .env
            .run("incus-net", &["detach-profile", &self.net, "default"]);
        let _ = self.env.run("incus-net", &["delete", &self.net]);
    }
}

/// The shared poll of the test library, for a condition.
fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    incus_tests::poll(secs, what, || f().then_some(()));
}

#[test]
fn vm_launch_exec_files_limits_network_stop_and_repair() {
    let img = tiny_image();
    let env = TestEnv::initialized();
    let vm = VmEnv {
        env,
        net: "vmnet0".into(),
    };
    let env = &vm.env;
    env.ok(
        "incus-net",
        &["create", &vm.net, "ipv4.address=auto", "ipv6.address=none"],
    );
    env.ok("incus-net", &["attach-profile", &vm.net, "default", "eth0"]);
    let meta = img.join("metadata.tar.xz");
    let disk = img.join("disk.qcow2");
    env.import(&[&meta, &disk], "tiny");
    let images = env.json("incus-image", &["list", "--format", "json"]);
    assert_eq!(images[0]["type"], "virtual-machine");

    // A container from a VM image, and keys of the other type, are refused.
    env.run("incus-instance", &["init", "tiny", "c1"]).err(7);
    env.run(
        "incus-instance",
        &["init", "tiny", "v0", "--vm", "-c", "security.nesting=true"],
    )
    .err(7);
    env.run(
        "incus-instance",
        &[
            "init",
            "--empty",
            "c0",
            "-c",
            "limits.memory.hugepages=true",
        ],
    )
    .err(7);
    // VM keys whose feature is not built yet are refused as unsupported.
    env.run(
        "incus-instance",
        &["init", "tiny", "v0", "--vm", "-c", "raw.qemu=-S"],
    )
    .err(8);
    assert!(env.instance_names().is_empty());

    env.ok(
        "incus-instance",
        &[
            "launch",
            "tiny",
            "v1",
            "--vm",
            "-c",
            "limits.cpu=2",
            "-c",
            "limits.memory=1GiB",
        ],
    );
    let list = env.ok("incus-instance", &["list", "-c", "nst", "-f", "csv"]);
    assert_eq!(list.stdout.trim(), "v1,RUNNING,VIRTUAL-MACHINE");
    env.run(
        "incus-instance",
        &["config", "set", "v1", "security.privileged=true"],
    )
    .err(7);

    // exec through the agent (waits for it while the guest boots)
    let out = env.run(
        "incus-instance",
        &[
            "exec",
            "v1",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let out = env
        .run_stdin(
            "incus-instance",
            &["exec", "v1", "--", "tr", "a-z", "A-Z"],
            "hello vm\n",
        )
        .ok();
    assert_eq!(out.stdout, "HELLO VM\n");
    let out = env.ok(
        "incus-instance",
        &[
            "exec",
            "v1",
            "--",
            "cat",
            "/sys/class/dmi/id/sys_vendor",
            "/sys/class/dmi/id/product_name",
        ],
    );
    assert_eq!(out.stdout, "Linux Containers\nIncus\n");
    env.ok(
        "incus-instance",
        &[
            "exec",
            "v1",
            "--",
            "test",
            "-e",
            "/dev/virtio-ports/org.linuxcontainers.incus",
        ],
    );
    let out = env.ok("incus-instance", &["exec", "v1", "--", "nproc"]);
    assert_eq!(out.stdout.trim(), "2");
    let out = env.ok(
        "incus-instance",
        &["exec", "v1", "--", "grep", "MemTotal", "/proc/meminfo"],
    );
    let kb: u64 = out
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((800_000..=1_048_576).contains(&kb), "MemTotal {kb} kB");
    env.run("incus-instance", &["exec", "v1", "--", "no-such-command"])
        .err(7);

    // A signal to `incus exec` reaches the command in the guest.
    let mut c = env.command("incus-instance");
    c.args([
        "exec",
        "v1",
        "--",
        "sh",
        "-c",
        "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done",
    ])
    .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert_eq!(child.wait().unwrap().code(), Some(42));

    // The agent's and QMP's sockets are root's alone.
    let run = find_state(&env.run_dir, "v1")
        .parent()
        .unwrap()
        .to_path_buf();
    for sock in ["agent.sock", "qmp.sock"] {
        let p = run.join(sock);
        assert!(p.exists(), "{}", p.display());
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])",
            ])
            .arg(&p)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert!(!out.status.success(), "nobody connected to {sock}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    }
    env.ok("incus-admin", &["check"]);

    // files through the agent
    let src = env.root().join("push.txt");
    std::fs::write(&src, b"pushed into the VM\n").unwrap();
    env.ok(
        "incus-instance",
        &["file", "push", src.to_str().unwrap(), "v1/root/push.txt"],
    );
    let out = env.ok(
        "incus-instance",
        &["exec", "v1", "--", "cat", "/root/push.txt"],
    );
    assert_eq!(out.stdout, "pushed into the VM\n");
    let dst = env.root().join("hostname");
    env.ok(
        "incus-instance",
        &["file", "pull", "v1/etc/hostname", dst.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(&dst).unwrap(), "tiny\n");

    // the NIC: a tap on the bridge with the instance's MAC, and a lease from dnsmasq
    let mac = env
        .ok(
            "incus-instance",
            &["config", "get", "v1", "volatile.eth0.hwaddr"],
        )
        .stdout
        .trim()
        .to_string();
    assert!(!mac.is_empty());
    wait_for("a DHCP lease", 60, || {
        env.ok("incus-net", &["list-leases", &vm.net, "-f", "csv"])
            .stdout
            .contains(&mac)
    });

    // the guest's address, from the agent, in `list`
    wait_for("the VM's IPv4 in list", 30, || {
        let v = env.json("incus-instance", &["list", "v1", "--format", "json"]);
        v[0]["state"]["network"]["eth0"]["addresses"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["family"] == "inet"))
    });
    let v = env.json("incus-instance", &["list", "v1", "--format", "json"]);
    assert_eq!(v[0]["state"]["network"]["eth0"]["hwaddr"], mac.as_str());

    // a clean stop: ACPI power button, the guest powers off
    env.ok("incus-instance", &["stop", "v1", "--timeout", "60"]);
    let console = std::fs::read_to_string(env.incus_dir.join("logs/v1/console.log")).unwrap();
    assert!(
        console.contains("reboot: Power down"),
        "no clean power down:\n{console}"
    );
    let list = env.ok("incus-instance", &["list", "-c", "ns", "-f", "csv"]);
    assert_eq!(list.stdout.trim(), "v1,STOPPED");

    // snapshot, restore and copy of the stopped VM; copies keep the disk sparse
    env.ok("incus-snapshot", &["create", "v1", "s0"]);
    env.ok("incus-instance", &["start", "v1"]);
    env.ok(
        "incus-instance",
        &[
            "exec",
            "v1",
            "--",
            "sh",
            "-c",
            "echo changed > /root/push.txt; sync",
        ],
    );
    env.ok("incus-instance", &["stop", "-f", "v1"]);
    env.ok("incus-snapshot", &["restore", "v1", "s0"]);
    env.ok("incus-instance", &["copy", "v1", "v2"]);
    let disk = env
        .incus_dir
        .join("storage-pools/default/containers/v2/root.img");
    let m = std::fs::metadata(&disk).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert!(
        m.blocks() * 512 < m.size() / 2,
        "the copy's disk is not sparse"
    );
    env.ok("incus-instance", &["start", "v2"]);
    let out = env.ok(
        "incus-instance",
        &["exec", "v2", "--", "cat", "/root/push.txt"],
    );
    assert_eq!(out.stdout, "pushed into the VM\n");
    env.ok("incus-instance", &["delete", "-f", "v2"]);

    // kill -9 of the monitor: QEMU runs on; the next command repairs.
    env.ok("incus-instance", &["start", "v1"]);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(find_state(&env.run_dir, "v1")).unwrap()).unwrap();
    let qemu = state["running"]["init_pid"].as_i64().unwrap() as i32;
    let mon = state["running"]["monitor_pid"].as_i64().unwrap() as i32;
    unsafe { libc::kill(mon, libc::SIGKILL) };
    wait_for("the monitor to die", 10, || {
        !Path::new(&format!("/proc/{mon}")).exists() || is_zombie(mon)
    });
    env.ok("incus-instance", &["stop", "-f", "v1"]);
    wait_for("QEMU to die", 10, || {
        !Path::new(&format!("/proc/{qemu}")).exists() || is_zombie(qemu)
    });
    env.ok("incus-instance", &["start", "v1"]);
    // kill -9 of QEMU: the monitor records the end; start works again.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(find_state(&env.run_dir, "v1")).unwrap()).unwrap();
    let qemu = state["running"]["init_pid"].as_i64().unwrap() as i32;
    unsafe { libc::kill(qemu, libc::SIGKILL) };
    wait_for("STOPPED after QEMU was killed", 20, || {
        env.ok("incus-instance", &["list", "-c", "s", "-f", "csv"])
            .stdout
            .trim()
            == "STOPPED"
    });
    env.ok("incus-instance", &["start", "v1"]);
    env.ok("incus-instance", &["delete", "-f", "v1"]);
    assert!(env.instance_names().is_empty());
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

/// The run directory's state.json of an instance (wherever the layout puts it).
fn find_state(run_dir: &Path, name: &str) -> PathBuf {
    for e in walk(run_dir) {
        if e.file_name().is_some_and(|f| f == "state.json")
            && e.parent()
                .and_then(|p| p.file_name())
                .is_some_and(|f| f == name)
        {
            return e;
        }
    }
    panic!("no state.json of {name} under {}", run_dir.display());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A VM image whose qcow2 disk has a backing file (QEMU would read that host file into
/// the guest) or is not qcow2 at all is refused at import; nothing is left behind.
/// Then the upstream client launches, lists, execs in and stops a VM through
/// incus-serve (no network: the default profile has none here).
#[test]
fn vm_hostile_disks_refused_and_upstream_client_through_serve() {
    let img = tiny_image();
    let env = TestEnv::initialized();
    let meta = img.join("metadata.tar.xz");
    let bad = env.root().join("backed.qcow2");
    let st = Command::new("qemu-img")
        .args([
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            "raw",
            "-b",
            "/etc/shadow",
        ])
        .arg(&bad)
        .arg("64M")
        .status()
        .unwrap();
    assert!(st.success());
    let out = env.run(
        "incus-image",
        &[
            "import",
            meta.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--alias",
            "bad",
        ],
    );
    assert!(!out.success(), "a backed disk was imported");
    assert!(out.stderr.contains("backing file"), "{}", out.stderr);
    assert_eq!(env.db_rows("images"), 0);
    let images_dir = env.incus_dir.join("images");
    assert!(
        incus_tests::list_dir(&images_dir).is_empty(),
        "{:?}",
        incus_tests::list_dir(&images_dir)
    );

    let srv = incus_tests::serve::Server::start(&env);
    incus_tests::serve::upstream_present();
    env.import(&[&meta, &img.join("disk.qcow2")], "tiny");
    srv.incus(&[
        "launch",
        "tiny",
        "sv1",
        "--vm",
        "-c",
        "limits.memory=512MiB",
    ])
    .ok();
    let out = srv.incus(&["list", "sv1", "-c", "nst", "-f", "csv"]).ok();
    assert_eq!(out.stdout.trim(), "sv1,RUNNING,VIRTUAL-MACHINE");
    let out = srv.incus(&[
        "exec",
        "sv1",
        "--",
        "sh",
        "-c",
        "cat /sys/class/dmi/id/sys_vendor; exit 4",
    ]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(out.stdout, "Linux Containers\n");
    let out = srv
        .incus(&["exec", "sv1", "--", "grep", "MemTotal", "/proc/meminfo"])
        .ok();
    let kb: u64 = out
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!((400_000..=524_288).contains(&kb), "MemTotal {kb} kB");
    srv.incus(&["stop", "sv1", "--timeout", "60"]).ok();
    let out = srv.incus(&["list", "sv1", "-c", "ns", "-f", "csv"]).ok();
    assert_eq!(out.stdout.trim(), "sv1,STOPPED");
    srv.incus(&["delete", "sv1"]).ok();
}
