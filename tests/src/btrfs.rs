//! Shared by the tests that make btrfs loop pools: the tool check and the guard that
//! force-deletes instances and unmounts what the test mounted (declared after the
//! [`TestEnv`], so it runs first on drop, even on failure).

use crate::TestEnv;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Cleanup<'a> {
    pub env: &'a TestEnv,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in self.env.instance_names() {
            let _ = self
                .env
                .run("incus-instance", &["delete", "--force", &name]);
        }
        let root = self.env.root().to_path_buf();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut ours: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|m| Path::new(m).starts_with(&root))
            .collect();
        ours.reverse();
        for m in ours {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
    }
}

pub fn need_btrfs() {
    assert!(
        Command::new("mkfs.btrfs")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false),
        "mkfs.btrfs is missing: apt-get install btrfs-progs (make test does)"
    );
}
