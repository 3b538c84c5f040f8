//! Inside the new namespaces, before exec of init: mounts (LXC's proc:mixed, sys:mixed / sys:rw
//! in a userns, cgroup:mixed with a cgroup namespace), /dev, console, devices, disks, pivot_root.

use crate::cgroup::{Kind, Layout};
use crate::kernel::{move_mount_fd, sys_err};
use crate::spec::ContainerSpec;
use crate::{Error, Result};
use incus_sys::inroot::{mkdir_all_in_root, mkfile_in_root};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::unistd::{chdir, fchdir, pivot_root, sethostname};
use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
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

/// A directory or an empty file at `target` to mount onto (hot-plug: runs after
/// `pivot_root`, inside the container's own root, so guest links cannot leave it).
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
    /// [rootfs tree, disk trees..., device node trees...] received from the monitor
    pub trees: Vec<OwnedFd>,
}

/// The rootfs before `pivot_root`: every guest-controlled path is resolved inside it with
/// `openat2(RESOLVE_IN_ROOT)` (a symlink the guest planted, absolute or `..`, stays inside)
/// and mounted on through its descriptor, never by a host path.
struct Root<'a>(BorrowedFd<'a>);

impl Root<'_> {
    /// The directory `p` inside the rootfs, created (0755) when missing.
    fn dir(&self, p: &str) -> Result<OwnedFd> {
        self.dir_path(Path::new(p))
    }
    fn dir_path(&self, p: &Path) -> Result<OwnedFd> {
        mkdir_all_in_root(self.0, p, 0o755).map_err(|e| Error::io(p, e))
    }
    /// The file `p` inside the rootfs (created empty when missing), to mount a file on.
    fn file(&self, p: &Path) -> Result<OwnedFd> {
        mkfile_in_root(self.0, p, 0o644).map_err(|e| Error::io(p, e))
    }
}

/// `/proc/self/fd/N`: the path of a descriptor, for mount(2) calls (they follow it to
/// exactly the file the descriptor holds).
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn is_dir_fd(fd: &OwnedFd) -> bool {
    nix::sys::stat::fstat(fd.as_raw_fd())
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(true)
}

/// Build the container's filesystem view and pivot into it. Runs as root of the new
/// namespaces. The working directory is the rootfs directory (the monitor entered it
/// before the clone): the tree is mounted on it without a path lookup, so no directory
/// above the rootfs needs to be searchable by the container's ids.
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
    let ndisks = spec.disks.len();
    if c.trees.len() != 1 + ndisks + spec.unix_devices.len() {
        return Err(Error::Start("did not receive the mount trees".into()));
    }
    let tree = &c.trees[0];
    move_mount_fd(tree.as_fd(), libc::AT_FDCWD)
        .map_err(|e| Error::Start(format!("mounting rootfs: {e}")))?;
    // the tree's descriptor is now the root of the attached rootfs mount
    let root = Root(tree.as_fd());
    let nsx = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;

    // proc:mixed: rw proc, /proc/sys ro except /proc/sys/net (own netns), sysrq-trigger ro
    m(
        Some("proc"),
        &fd_path(&root.dir("/proc")?),
        Some("proc"),
        nsx,
        NONE,
    )?;
    // below here the paths are the fresh proc's own, not the guest's
    let proc = root.dir("/proc")?;
    let p = |s: &str| fd_path(&proc).join(s);
    bind(&p("sys"), &p("sys"), false)?;
    remount_ro(&p("sys"), nsx)?;
    // the bind copies the read-only flag of /proc/sys; the remount without MS_RDONLY clears it
    bind(&p("sys/net"), &p("sys/net"), false)?;
    m(
        None,
        &p("sys/net"),
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | nsx,
        None,
    )?;
    if p("sysrq-trigger").exists() {
        // absent on kernels without CONFIG_MAGIC_SYSRQ
        bind(&p("sysrq-trigger"), &p("sysrq-trigger"), false)?;
        remount_ro(&p("sysrq-trigger"), nsx)?;
    }

    // sys:mixed for privileged (read-only sysfs), sys:rw in a user namespace (userns.conf):
    // there the kernel already refuses writes that matter
    let ro = if userns {
        MsFlags::empty()
    } else {
        MsFlags::MS_RDONLY
    };
    m(
        Some("sysfs"),
        &fd_path(&root.dir("/sys")?),
        Some("sysfs"),
        nsx | ro,
        NONE,
    )?;
    mount_cgroups(&fd_path(&root.dir("/sys")?).join("fs/cgroup"), c.layout);

    // /dev: tmpfs with LXC's basic nodes (bind-mounted: mknod is impossible in a userns)
    m(
        Some("tmpfs"),
        &fd_path(&root.dir("/dev")?),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("mode=755,size=65536k"),
    )?;
    // our own tmpfs from here: nothing in it comes from the guest
    let dev = root.dir("/dev")?;
    let d = |s: &str| fd_path(&dev).join(s);
    for n in ["null", "zero", "full", "random", "urandom", "tty"] {
        let t = d(n);
        touch(&t)?;
        bind(Path::new(&format!("/dev/{n}")), &t, false)?;
    }
    fs::create_dir(d("pts")).map_err(|e| Error::io(d("pts"), e))?;
    m(
        Some("devpts"),
        &d("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    )?;
    std::os::unix::fs::symlink("pts/ptmx", d("ptmx")).map_err(|e| Error::io(d("ptmx"), e))?;
    touch(&d("console"))?;
    bind(&c.console_slave, &d("console"), false)?;
    fs::create_dir(d("shm")).map_err(|e| Error::io(d("shm"), e))?;
    m(
        Some("tmpfs"),
        &d("shm"),
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
        let _ = std::os::unix::fs::symlink(t, d(l));
    }
    crate::guestapi::mount_in_child(spec, &d("incus"))?;
    if spec.nesting {
        // nesting.conf: uncovered proc and sysfs so nested unprivileged containers may mount them
        for (n, fstype) in [(".lxc/proc", "proc"), (".lxc/sys", "sysfs")] {
            fs::create_dir_all(d(n)).map_err(|e| Error::io(d(n), e))?;
            m(Some(fstype), &d(n), Some(fstype), nsx, NONE)?;
        }
    }
    // unix-char/unix-block: host nodes (trees from the monitor) at guest-chosen paths
    for (dv, node) in spec.unix_devices.iter().zip(&c.trees[1 + ndisks..]) {
        let t = root.file(&dv.path)?;
        move_mount_fd(node.as_fd(), t.as_raw_fd())
            .map_err(|e| Error::Start(format!("device {}: {e}", dv.path.display())))?;
    }

    // disks: trees prepared (idmapped when shifted, ro) by the monitor
    for (dk, t) in spec.disks.iter().zip(&c.trees[1..=ndisks]) {
        let target = if is_dir_fd(t) {
            root.dir_path(&dk.path)?
        } else {
            root.file(&dk.path)?
        };
        move_mount_fd(t.as_fd(), target.as_raw_fd())
            .map_err(|e| Error::Start(format!("disk {}: {e}", dk.path.display())))?;
    }

    sethostname(&spec.hostname).map_err(|e| sys_err("sethostname", e))?;
    fchdir(tree.as_raw_fd()).map_err(|e| sys_err("chdir rootfs", e))?;
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
