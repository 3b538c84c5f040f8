//! `snapshot timer install|remove`: a systemd service + timer pair, or a cron.d
//! line, that runs `incus-snapshot auto` every minute. Files go under a root
//! directory (`/` normally; tests point it at a temporary one).

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// How `auto` is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    Systemd,
    Cron,
}

/// What to install.
#[derive(Debug, Clone)]
pub struct TimerSpec {
    pub kind: TimerKind,
    /// The root the files are written under.
    pub root: PathBuf,
    /// The `incus-snapshot` binary to run (absolute).
    pub exe: PathBuf,
    /// `INCUS_DIR` to pass on, when not the default.
    pub incus_dir: Option<PathBuf>,
    /// `INCUS_RUN_DIR` to pass on, when set: the timer must take the same locks.
    pub run_dir: Option<PathBuf>,
    /// A unit name suffix, so two installations have their own timers.
    pub unit: String,
}

/// `incus-snapshot-auto` for the default installation, with the prefix otherwise.
pub fn unit_name(prefix: &str) -> String {
    if prefix == "incus" {
        "incus-snapshot-auto".into()
    } else {
        format!("incus-snapshot-auto-{prefix}")
    }
}

fn systemd_dir(root: &Path) -> PathBuf {
    root.join("etc/systemd/system")
}

fn cron_dir(root: &Path) -> PathBuf {
    root.join("etc/cron.d")
}

/// The files an install writes, with their content.
pub fn render(spec: &TimerSpec) -> Result<Vec<(PathBuf, String)>> {
    let exe = spec
        .exe
        .to_str()
        .ok_or_else(|| Error::invalid(format!("{} is not valid UTF-8", spec.exe.display())))?;
    if !spec.exe.is_absolute() || exe.contains(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "The timer needs an absolute path without spaces, not {exe}"
        )));
    }
    let mut vars = Vec::new();
    for (var, value) in [
        ("INCUS_DIR", &spec.incus_dir),
        ("INCUS_RUN_DIR", &spec.run_dir),
    ] {
        if let Some(d) = value {
            let d = d
                .to_str()
                .filter(|s| !s.contains(char::is_whitespace))
                .ok_or_else(|| {
                    Error::invalid(format!("{var} {} cannot go in a timer", d.display()))
                })?;
            vars.push(format!("{var}={d}"));
        }
    }
    Ok(match spec.kind {
        TimerKind::Systemd => {
            let env: String = vars.iter().map(|v| format!("Environment={v}\n")).collect();
            let service = format!(
                "[Unit]\nDescription=Incus scheduled snapshots and expiry\n\n\
                 [Service]\nType=oneshot\n{env}ExecStart={exe} auto\n"
            );
            let timer = "[Unit]\nDescription=Incus scheduled snapshots every minute\n\n\
                 [Timer]\nOnCalendar=*-*-* *:*:00\nAccuracySec=1s\nPersistent=false\n\n\
                 [Install]\nWantedBy=timers.target\n"
                .to_string();
            let d = systemd_dir(&spec.root);
            vec![
                (d.join(format!("{}.service", spec.unit)), service),
                (d.join(format!("{}.timer", spec.unit)), timer),
            ]
        }
        TimerKind::Cron => {
            let env: String = vars.iter().map(|v| format!("{v} ")).collect();
            let line = format!(
                "# Incus scheduled snapshots and expiry (incus-snapshot timer install)\n\
                 * * * * * root {env}{exe} auto >/dev/null\n"
            );
            // cron.d file names may not contain dots.
            vec![(cron_dir(&spec.root).join(&spec.unit), line)]
        }
    })
}

/// Writes the files; returns their paths.
pub fn install(spec: &TimerSpec) -> Result<Vec<PathBuf>> {
    let files = render(spec)?;
    let mut out = Vec::new();
    for (path, content) in files {
        incus_sys::fsutil::atomic_write(&path, content.as_bytes(), 0o644)?;
        out.push(path);
    }
    if spec.kind == TimerKind::Systemd {
        // What `systemctl enable` does; works without a running systemd.
        let wants = systemd_dir(&spec.root).join("timers.target.wants");
        std::fs::create_dir_all(&wants)?;
        let link = wants.join(format!("{}.timer", spec.unit));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(format!("../{}.timer", spec.unit), &link)?;
        out.push(link);
    }
    Ok(out)
}

/// Removes whatever an install wrote (either kind); returns the paths removed.
pub fn remove(root: &Path, unit: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in [
        systemd_dir(root).join(format!("{unit}.service")),
        systemd_dir(root).join(format!("{unit}.timer")),
        systemd_dir(root)
            .join("timers.target.wants")
            .join(format!("{unit}.timer")),
        cron_dir(root).join(unit),
    ] {
        match std::fs::remove_file(&p) {
            Ok(()) => out.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}
