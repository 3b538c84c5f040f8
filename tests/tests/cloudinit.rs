//! cloud-init in a real Debian 12 container (debootstrap with the `cloud-init` package,
//! cached like the systemd image) with upstream's NoCloud templates: the instance's
//! `cloud-init.*` keys (and the `user.*` aliases) reach the seed, user-data that writes a
//! file runs once, on the first boot only, and the guest reports Ready through
//! `/dev/incus` (seen on the host).
//!
//! Slow (the first run builds the image; each boot runs cloud-init): `make test-slow`
//! runs it (`cargo test -p incus-tests --test cloudinit -- --ignored`).

use incus_tests::debian::{self, Template};
use incus_tests::{notice, poll, Running, TestEnv};
use std::path::PathBuf;
use std::time::Instant;

const IMAGE: &str = "debian-bookworm-cloudinit-v3.tar.gz";

/// The templates upstream's images (distrobuilder's cloud-init generator) ship.
fn image() -> PathBuf {
    const SEED: &str = "/var/lib/cloud/seed/nocloud-net";
    let paths: Vec<String> = ["meta-data", "user-data", "vendor-data", "network-config"]
        .iter()
        .map(|f| format!("{SEED}/{f}"))
        .collect();
    debian::image(
        IMAGE,
        // locales: cloud-init's locale module runs locale-gen and update-locale;
        // python3-cffi-backend: debootstrap does not resolve the virtual package that
        // python3-cryptography (a dependency of cloud-init) needs
        "systemd,systemd-sysv,udev,procps,locales,python3-cffi-backend,cloud-init",
        // as upstream's images: a generated en_US.UTF-8, which cloud-init's locale
        // module sets by default (Debian's locale-gen ignores its arguments)
        "sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen && locale-gen",
        "Debian 12 with cloud-init (debootstrap minbase)",
        &[
            Template {
                path: &paths[0],
                name: "cloud-init-meta.tpl",
                body: "instance-id: {{ container.name }}\nlocal-hostname: {{ container.name }}\n{{ config_get(\"user.meta-data\", \"\") }}\n",
                default: None,
            },
            Template {
                path: &paths[1],
                name: "cloud-init-user.tpl",
                body: "{%- if config_get(\"cloud-init.user-data\", \"\") == \"\" %}\n{{- config_get(\"user.user-data\", properties.default) }}\n{%- else %}\n{{- config_get(\"cloud-init.user-data\", properties.default) }}\n{%- endif %}\n",
                default: Some("#cloud-config\n{}"),
            },
            Template {
                path: &paths[2],
                name: "cloud-init-vendor.tpl",
                body: "{%- if config_get(\"cloud-init.vendor-data\", \"\") == \"\" %}\n{{- config_get(\"user.vendor-data\", properties.default) }}\n{%- else %}\n{{- config_get(\"cloud-init.vendor-data\", properties.default) }}\n{%- endif %}\n",
                default: Some("#cloud-config\n{}"),
            },
            Template {
                path: &paths[3],
                name: "cloud-init-network.tpl",
                body: "{%- if config_get(\"cloud-init.network-config\", \"\") == \"\" %}\n{{- config_get(\"user.network-config\", properties.default) }}\n{%- else %}\n{{- config_get(\"cloud-init.network-config\", properties.default) }}\n{%- endif %}\n",
                default: Some(
                    "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n      - type: dhcp\n        control: auto",
                ),
            },
        ],
    )
}

const USER_DATA: &str = r#"#cloud-config
write_files:
  - path: /root/hello
    content: hello from cloud-init
runcmd:
  - [sh, -c, "echo run >> /root/runs"]
  - - python3
    - -c
    - |
      import socket
      s = socket.socket(socket.AF_UNIX)
      s.connect("/dev/incus/sock")
      b = b'{"state": "Ready"}'
      s.sendall(b"PATCH /1.0 HTTP/1.1\r\nHost: incus\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
      open("/root/ready-answer", "wb").write(s.recv(4096))
"#;

fn cloud_init_done(env: &TestEnv, name: &str) -> Option<String> {
    let o = env.run("incus", &["exec", name, "--", "cloud-init", "status"]);
    let s = o.stdout.trim().to_string();
    (s.contains("done") || s.contains("error")).then_some(s)
}

#[test]
#[ignore = "slow: make test-slow"]
fn user_data_runs_once_and_the_guest_reports_ready() {
    let image = image();
    let env = TestEnv::initialized();
    env.import(&[&image], "debian");
    let _guard = Running(&env);
    let t0 = Instant::now();
    env.ok(
        "incus",
        &[
            "launch",
            "debian",
            "ci",
            "-c",
            &format!("cloud-init.user-data={USER_DATA}"),
            "-c",
            "user.vendor-data=#cloud-config\nbootcmd:\n  - [sh, -c, 'echo vendor >> /root/vendor']",
            "-c",
            "user.network-config=version: 1\nconfig: []",
            "-c",
            "user.meta-data=zone: z1",
        ],
    );
    // the seed as the templates rendered it
    let cat = |p: &str| env.ok("incus", &["exec", "ci", "--", "cat", p]).stdout;
    assert_eq!(
        cat("/var/lib/cloud/seed/nocloud-net/user-data"),
        format!("{}\n", USER_DATA.trim_end())
    );
    assert_eq!(
        cat("/var/lib/cloud/seed/nocloud-net/network-config"),
        "version: 1\nconfig: []\n"
    );
    assert_eq!(
        cat("/var/lib/cloud/seed/nocloud-net/meta-data"),
        "instance-id: ci\nlocal-hostname: ci\nzone: z1\n"
    );

    let status = poll(300, "cloud-init to finish its first boot", || {
        cloud_init_done(&env, "ci")
    });
    notice(&format!(
        "cloudinit: first boot done in {:.1} s ({status})",
        t0.elapsed().as_secs_f64()
    ));
    assert!(status.contains("done"), "cloud-init status: {status}");
    assert_eq!(cat("/root/hello"), "hello from cloud-init");
    assert_eq!(cat("/root/runs"), "run\n");
    assert_eq!(cat("/root/vendor"), "vendor\n");
    assert!(
        cat("/root/ready-answer").starts_with("HTTP/1.1 200 "),
        "PATCH answer"
    );
    poll(10, "the Ready status on the host", || {
        (env.status("ci") == "Ready").then_some(())
    });
    let ready_events: i64 = env
        .db()
        .query_row(
            "SELECT COUNT(*) FROM events WHERE metadata LIKE '%\"instance-ready\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ready_events, 1);

    // second boot: same instance-id, user-data does not run again
    env.ok("incus", &["restart", "ci", "--timeout", "60"]);
    assert_eq!(env.status("ci"), "Running", "Ready belongs to a run");
    let status = poll(300, "cloud-init after the second boot", || {
        cloud_init_done(&env, "ci")
    });
    assert!(status.contains("done"), "cloud-init status: {status}");
    assert_eq!(cat("/root/runs"), "run\n", "user-data ran again");
    // bootcmd runs at every boot, as cloud-init documents
    assert_eq!(cat("/root/vendor"), "vendor\nvendor\n");
    env.ok("incus", &["stop", "ci", "--timeout", "60"]);
}
