//! Hot-plug from a multi-threaded caller (`incus-serve`): the hot-plug steps fork and
//! then do ordinary work (setns, allocation, mounts) in the child, which is unsafe when
//! other threads may hold locks at the fork. A threaded caller hands the whole step to
//! the runtime helper (`incus-monitor --hotplug JSON`, spawned and exec'd), which runs it
//! single-threaded; single-threaded callers (the tools) run it in-process as before.

use crate::spec::{DiskMount, NicSpec, UnixDevice};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// One hot-plug step, as the helper receives it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum HotPlug {
    AddDisk(PathBuf, DiskMount),
    RemoveDisk(PathBuf, PathBuf),
    AddNic(PathBuf, NicSpec),
    AddUnix(PathBuf, UnixDevice),
    RemoveUnix(PathBuf, PathBuf),
}

/// Exit code of the helper for "not running".
const NOT_RUNNING: i32 = 3;

/// Whether this process has more than one thread.
pub(crate) fn threaded() -> bool {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count() > 1)
        .unwrap_or(true)
}

/// `Some(result)` when the step ran in the helper (the caller is threaded), `None` when
/// the caller should run it itself.
pub(crate) fn delegate(step: impl FnOnce() -> HotPlug) -> Option<Result<()>> {
    if !threaded() {
        return None;
    }
    let step = step();
    let json =
        serde_json::to_string(&step).map_err(|e| Error::Invalid(format!("hot-plug step: {e}")));
    Some(json.and_then(|json| {
        let bin = crate::ops::monitor_bin();
        let out = Command::new(&bin)
            .arg("--hotplug")
            .arg(json)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::io(&bin, e))?;
        match out.status.code() {
            Some(0) => Ok(()),
            Some(NOT_RUNNING) => Err(Error::NotRunning),
            _ => Err(Error::Invalid(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            )),
        }
    }))
}

/// The helper's side: runs one step (single-threaded) and reports by exit code, the
/// error text on stderr.
pub(crate) fn helper_main(arg: Option<&String>) -> i32 {
    let Some(step) = arg.and_then(|a| serde_json::from_str::<HotPlug>(a).ok()) else {
        eprintln!("invalid hot-plug step");
        return 2;
    };
    let r = match step {
        HotPlug::AddDisk(run_dir, d) => crate::ops::hot_add_disk(&run_dir, &d),
        HotPlug::RemoveDisk(run_dir, p) => crate::ops::hot_remove_disk(&run_dir, &p),
        HotPlug::AddNic(run_dir, n) => crate::ops::hot_add_nic(&run_dir, &n),
        HotPlug::AddUnix(run_dir, d) => crate::ops::hot_add_unix(&run_dir, &d),
        HotPlug::RemoveUnix(run_dir, p) => crate::ops::hot_remove_unix(&run_dir, &p),
    };
    match r {
        Ok(()) => 0,
        Err(Error::NotRunning) => NOT_RUNNING,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
