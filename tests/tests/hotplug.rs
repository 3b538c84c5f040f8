//! `config device add/remove` on a running instance plugs and unplugs disks and
//! unix-char devices live (seen through exec); a device that cannot be plugged is
//! refused and leaves the instance's config as it was.

use incus_tests::{busybox_images, exit, Running, TestEnv};

#[test]
fn disks_and_unix_devices_come_and_go_live() {
    let env = TestEnv::initialized();
    let img = busybox_images("hotplug");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    env.ok("incus", &["launch", "bb", "c1"]);
    let share = env.root().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("f"), "shared\n").unwrap();
    let src = format!("source={}", share.display());
    let exec = |cmd: &str| env.run("incus", &["exec", "c1", "--", "sh", "-c", cmd]);

    exec("test -e /mnt/data/f").code(1);
    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "data",
            "disk",
            &src,
            "path=/mnt/data",
            "shift=true",
        ],
    );
    assert_eq!(exec("cat /mnt/data/f").ok().stdout, "shared\n");
    // Written inside as root: lands as host root through the idmapped mount (shift=true).
    exec("echo back > /mnt/data/g").ok();
    assert_eq!(std::fs::read_to_string(share.join("g")).unwrap(), "back\n");

    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "ro",
            "disk",
            &src,
            "path=/mnt/ro",
            "readonly=true",
        ],
    );
    assert_eq!(exec("cat /mnt/ro/f").ok().stdout, "shared\n");
    exec("echo x > /mnt/ro/h").code(1);

    let file_src = format!("source={}", share.join("f").display());
    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "one",
            "disk",
            &file_src,
            "path=/etc/one",
        ],
    );
    assert_eq!(exec("cat /etc/one").ok().stdout, "shared\n");

    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "nul",
            "unix-char",
            "source=/dev/null",
            "path=/dev/hotnull",
        ],
    );
    exec("test -c /dev/hotnull && echo x > /dev/hotnull").ok();

    env.ok(
        "incus",
        &[
            "config", "device", "remove", "c1", "data", "ro", "one", "nul",
        ],
    );
    exec("test -e /mnt/data/f").code(1);
    exec("test -e /mnt/ro/f").code(1);
    exec("grep -q shared /etc/one").code(1);
    exec("test -c /dev/hotnull").code(1);

    // A source that does not exist: refused, nothing recorded, nothing mounted.
    env.run(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "bad",
            "disk",
            "source=/nonexistent/x",
            "path=/mnt/bad",
        ],
    )
    .err(exit::INVALID);
    let v = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert!(v["devices"].get("bad").is_none(), "{v}");
    exec("test -e /mnt/bad").code(1);

    // Added while stopped: there at the next start.
    env.ok("incus", &["stop", "-f", "c1"]);
    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "data",
            "disk",
            &src,
            "path=/mnt/data",
        ],
    );
    env.ok("incus", &["start", "c1"]);
    assert_eq!(exec("cat /mnt/data/f").ok().stdout, "shared\n");
    env.ok("incus", &["stop", "-f", "c1"]);
}
