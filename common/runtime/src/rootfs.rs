//! Inside the new namespaces, before exec of init: mounts (LXC's proc:mixed, sys:mixed / sys:rw
//! in a userns, cgroup:mixed with a cgroup namespace), /dev, console, devices, disks, pivot_root.

use crate::cgroup::{Kind, Layout};
use crate::spec::ContainerSpec;
use crate::sys::{move_mount, sys_err};
use crate::{Error, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, pivot_root, sethostname};
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

const NONE: Option<&str> = None;

/// Path inside the (not yet pivoted) rootfs.
pub(crate) fn in_root(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

fn m(
    src: Option<&str>,
    tgt: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    mount(src, tgt, fstype, flags, data).map_err(|e| {
        sys_err(
            format!(
                "mount {} on {}",
                src.or(fstype).unwrap_or("-"),
                tgt.display()
            ),
            e,
        )
    })
}

fn bind(src: &Path, tgt: &Path, rec: bool) -> Result<()> {
    let f = if rec {
        MsFlags::MS_BIND | MsFlags::MS_REC
    } else {
        MsFlags::MS_BIND
    };
    mount(Some(src), tgt, NONE, f, NONE)
        .map_err(|e| sys_err(format!("bind {} on {}", src.display(), tgt.display()), e))
}

fn remount_ro(tgt: &Path, extra: MsFlags) -> Result<()> {
    mount(
        NONE,
        tgt,
        NONE,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | extra,
        NONE,
    )
    .map_err(|e| sys_err(format!("remount ro {}", tgt.display()), e))
}

/// Create an empty file (mount point for a file bind), with parents.
fn touch(p: &Path) -> Result<()> {
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    match fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(p)
    {
        Ok(_) => Ok(()),
        Err(e) => Err(Error::io(p, e)),
    }
}

/// Create the mount point for `source` at `target` (dir or file like the source).
pub(crate) fn make_mountpoint(source: &Path, target: &Path) -> Result<()> {
    make_mountpoint_kind(
        fs::metadata(source).map(|m| m.is_dir()).unwrap_or(true),
        target,
    )
}

/// A directory or an empty file at `target` to mount onto (for callers that looked at the
/// source before entering the container, where the host path is not visible).
pub(crate) fn make_mountpoint_kind(is_dir: bool, target: &Path) -> Result<()> {
    if is_dir {
        fs::create_dir_all(target).map_err(|e| Error::io(target, e))
    } else {
        touch(target)
    }
}

/// Everything the child needs besides the spec.
pub(crate) struct ChildCtx<'a> {
    pub spec: &'a ContainerSpec,
    pub layout: &'a Layout,
    pub console_slave: PathBuf,
    /// [rootfs tree, disk trees...] received from the monitor
    pub trees: Vec<OwnedFd>,
    /// host paths of prepared device nodes, parallel to spec.unix_devices
    pub device_nodes: Vec<PathBuf>,
}

/// Build the container's filesystem view and pivot into it. Runs as root of the new namespaces.
pub(crate) fn setup(c: &ChildCtx) -> Result<()> {
    let spec = c.spec;
    let userns = !spec.privileged;
    // private: nothing we mount leaks to the host, host mounts do not appear inside
    m(
        NONE,
        Path::new("/"),
        NONE,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        NONE,
    )?;
    let root = fs::canonicalize(&spec.rootfs).map_err(|e| Error::io(&spec.rootfs, e))?;
    move_mount(c.trees[0].as_fd(), &root)
        .map_err(|e| Error::Start(format!("mounting rootfs: {e}")))?;
    let r = |p: &str| in_root(&root, Path::new(p));
    let nsx = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;

    // proc:mixed: rw proc, /proc/sys ro except /proc/sys/net (own netns), sysrq-trigger ro
    fs::create_dir_all(r("/proc")).map_err(|e| Error::io(r("/proc"), e))?;
    m(Some("proc"), &r("/proc"), Some("proc"), nsx, NONE)?;
    bind(&r("/proc/sys"), &r("/proc/sys"), false)?;
    remount_ro(&r("/proc/sys"), nsx)?;
    // the bind copies the read-only flag of /proc/sys; the remount without MS_RDONLY clears it
    bind(&r("/proc/sys/net"), &r("/proc/sys/net"), false)?;
    m(
        None,
        &r("/proc/sys/net"),
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | nsx,
        None,
    )?;
    if r("/proc/sysrq-trigger").exists() {
        // absent on kernels without CONFIG_MAGIC_SYSRQ
        bind(&r("/proc/sysrq-trigger"), &r("/proc/sysrq-trigger"), false)?;
        remount_ro(&r("/proc/sysrq-trigger"), nsx)?;
    }

    // sys:mixed for privileged (read-only sysfs), sys:rw in a user namespace (userns.conf):
    // there the kernel already refuses writes that matter
    fs::create_dir_all(r("/sys")).map_err(|e| Error::io(r("/sys"), e))?;
    let ro = if userns {
        MsFlags::empty()
    } else {
        MsFlags::MS_RDONLY
    };
    m(Some("sysfs"), &r("/sys"), Some("sysfs"), nsx | ro, NONE)?;
    mount_cgroups(&r("/sys/fs/cgroup"), c.layout);

    // /dev: tmpfs with LXC's basic nodes (bind-mounted: mknod is impossible in a userns)
    fs::create_dir_all(r("/dev")).map_err(|e| Error::io(r("/dev"), e))?;
    m(
        Some("tmpfs"),
        &r("/dev"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=755,size=65536k"),
    )?;
    for d in ["null", "zero", "full", "random", "urandom", "tty"] {
        let t = r(&format!("/dev/{d}"));
        touch(&t)?;
        bind(Path::new(&format!("/dev/{d}")), &t, false)?;
    }
    fs::create_dir(r("/dev/pts")).map_err(|e| Error::io(r("/dev/pts"), e))?;
    m(
        Some("devpts"),
        &r("/dev/pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    std::os::unix::fs::symlink("pts/ptmx", r("/dev/ptmx"))
        .map_err(|e| Error::io(r("/dev/ptmx"), e))?;
    touch(&r("/dev/console"))?;
    bind(&c.console_slave, &r("/dev/console"), false)?;
    fs::create_dir(r("/dev/shm")).map_err(|e| Error::io(r("/dev/shm"), e))?;
    m(
        Some("tmpfs"),
        &r("/dev/shm"),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=1777"),
    )?;
    for (l, t) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let _ = std::os::unix::fs::symlink(t, r(&format!("/dev/{l}")));
    }
    for (d, node) in spec.unix_devices.iter().zip(&c.device_nodes) {
        let t = in_root(&root, &d.path);
        touch(&t)?;
        bind(node, &t, false)?;
    }
    crate::guestapi::mount_in_child(spec, &root)?;
    if spec.nesting {
        // nesting.conf: uncovered proc and sysfs so nested unprivileged containers may mount them
        for (d, fstype) in [("/dev/.lxc/proc", "proc"), ("/dev/.lxc/sys", "sysfs")] {
            fs::create_dir_all(r(d)).map_err(|e| Error::io(r(d), e))?;
            m(Some(fstype), &r(d), Some(fstype), nsx, NONE)?;
        }
    }

    // disks: trees prepared (idmapped, ro) by the monitor
    for (d, tree) in spec.disks.iter().zip(&c.trees[1..]) {
        let t = in_root(&root, &d.path);
        make_mountpoint(&d.source, &t)?;
        move_mount(tree.as_fd(), &t)?;
    }

    sethostname(&spec.hostname).map_err(|e| sys_err("sethostname", e))?;
    chdir(&root).map_err(|e| sys_err("chdir rootfs", e))?;
    pivot_root(".", ".").map_err(|e| sys_err("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| sys_err("detach old root", e))?;
    chdir("/").map_err(|e| sys_err("chdir /", e))?;
    Ok(())
}

/// cgroup:mixed-like view: tmpfs + each hierarchy mounted inside the cgroup namespace (so its
/// root is the container's own cgroup). Failures are logged, not fatal, as in LXC.
fn mount_cgroups(dir: &Path, layout: &Layout) {
    let nsx = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if layout.kind == Kind::V2 {
        if let Err(e) = m(Some("cgroup2"), dir, Some("cgroup2"), nsx, NONE) {
            eprintln!("cgroup2 mount inside: {e}");
        }
        return;
    }
    if let Err(e) = m(Some("tmpfs"), dir, Some("tmpfs"), nsx, Some("mode=755")) {
        eprintln!("cgroup tmpfs inside: {e}");
        return;
    }
    for h in &layout.hier {
        let Some(base) = h.mount.file_name() else {
            continue;
        };
        let t = dir.join(base);
        let opts = h
            .controllers
            .iter()
            .map(|c| {
                if c.starts_with("name=") {
                    format!("none,{c}")
                } else {
                    c.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let _ = fs::create_dir(&t);
        if let Err(e) = m(Some("cgroup"), &t, Some("cgroup"), nsx, Some(&opts)) {
            eprintln!("cgroup {opts} inside: {e}");
        }
    }
}
