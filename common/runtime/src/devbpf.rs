//! Device access on cgroup v2: a `BPF_PROG_TYPE_CGROUP_DEVICE` program compiled from
//! the same allow list the v1 `devices` controller gets ([`crate::cgroup::device_rules`]),
//! attached to the container's cgroup with `BPF_F_ALLOW_MULTI` as LXC does
//! (`cgroup2_devices.c`), so a nested manager may add its own, stricter programs below.
//!
//! The program is a few dozen instructions, assembled here (runc's `devicefilter`
//! layout): load the access type, device type, major and minor from the context, then
//! one block per rule that jumps to the next block on a mismatch and returns 1 (allow)
//! at its end; the last instruction returns 0 (deny).

use crate::kernel::sys_err;
use crate::{Error, Result};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

// The `bpf_attr` prefixes below are packed into u64 words low half first.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "devbpf packs bpf_attr for little-endian hosts"
);

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `bpf_cgroup_dev_ctx.access_type` low half.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
/// `bpf_cgroup_dev_ctx.access_type` high half.
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One rule of the allow list: `None` is a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub dev_type: Option<i32>,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: i32,
}

/// Parses a v1 `devices.allow` line (`c 1:3 rwm`, `b *:* m`, `a`).
pub(crate) fn parse_rule(line: &str) -> Result<Rule> {
    let bad = || Error::Invalid(format!("invalid device rule \"{}\"", line.escape_debug()));
    let f: Vec<&str> = line.split_whitespace().collect();
    let dev_type = match f.first().copied() {
        Some("a") if f.len() == 1 => {
            return Ok(Rule {
                dev_type: None,
                major: None,
                minor: None,
                access: ACC_ALL,
            })
        }
        Some("a") => None,
        Some("c") => Some(DEV_CHAR),
        Some("b") => Some(DEV_BLOCK),
        _ => return Err(bad()),
    };
    if f.len() != 3 {
        return Err(bad());
    }
    let (maj, min) = f[1].split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<u32>> {
        if s == "*" {
            Ok(None)
        } else {
            s.parse::<u32>()
                .ok()
                .filter(|n| *n <= i32::MAX as u32)
                .map(Some)
                .ok_or_else(bad)
        }
    };
    let mut access = 0;
    for c in f[2].chars() {
        access |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return Err(bad()),
        };
    }
    if access == 0 {
        return Err(bad());
    }
    Ok(Rule {
        dev_type,
        major: num(maj)?,
        minor: num(min)?,
        access,
    })
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble, src_reg in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

// Opcodes (classes | ops | sources).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// The program for an allow list: everything not allowed is denied.
pub(crate) fn compile(rules: &[Rule]) -> Vec<Insn> {
    // r2 = device type, r3 = access, r4 = major, r5 = minor (ctx in r1).
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for r in rules {
        // Tests that jump to the next block on a mismatch; offsets filled below.
        let mut block: Vec<Insn> = Vec::new();
        if let Some(t) = r.dev_type {
            block.push(insn(JMP_JNE_K, 2, 0, 0, t));
        }
        if r.access != ACC_ALL {
            // The requested access must be a subset of the rule's.
            block.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
            block.push(insn(ALU32_AND_K, 1, 0, 0, r.access));
            block.push(insn(JMP_JNE_X, 1, 3, 0, 0));
        }
        if let Some(m) = r.major {
            block.push(insn(JMP_JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(insn(JMP_JNE_K, 5, 0, 0, m as i32));
        }
        block.push(insn(ALU32_MOV_K, 0, 0, 0, 1));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JMP_JNE_K || ins.code == JMP_JNE_X {
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU32_MOV_K, 0, 0, 0, 0));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// Evaluates a compiled program on one access, as the kernel would (for unit tests of
/// the compiler: only the instructions [`compile`] emits).
#[cfg(test)]
pub(crate) fn eval(prog: &[Insn], dev_type: i32, access: i32, major: u32, minor: u32) -> bool {
    let ctx = [((access as u32) << 16) | dev_type as u32, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = prog[pc];
        let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_MEM_W => r[dst] = ctx[i.off as usize / 4] as u64,
            ALU32_AND_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
            ALU32_RSH_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
            ALU32_MOV_K => r[dst] = i.imm as u32 as u64,
            ALU32_MOV_X => r[dst] = r[src] as u32 as u64,
            JMP_JNE_K => {
                if r[dst] != i.imm as i64 as u64 {
                    pc += i.off as usize;
                }
            }
            JMP_JNE_X => {
                if r[dst] != r[src] {
                    pc += i.off as usize;
                }
            }
            JMP_EXIT => return r[0] == 1,
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn bpf(cmd: libc::c_long, attr: &mut [u64], what: &str) -> Result<i64> {
    // SAFETY: `attr` is a zero-padded `union bpf_attr` prefix of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr) as libc::c_uint,
        )
    };
    if r < 0 {
        return Err(sys_err(what, Errno::last()));
    }
    Ok(r)
}

fn fd_of(r: i64) -> OwnedFd {
    // SAFETY: the bpf syscall returned a new file descriptor that nobody else owns.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

/// Loads the program of an allow list; the verifier's log becomes the error.
pub(crate) fn load(rules: &[Rule]) -> Result<OwnedFd> {
    let prog = compile(rules);
    let license = b"GPL\0";
    let mut log = vec![0u8; 1 << 16];
    // union bpf_attr, BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level,
    // log_size, log_buf, kern_version, prog_flags, prog_name[16].
    let mut a = [0u64; 9];
    a[0] = BPF_PROG_TYPE_CGROUP_DEVICE as u64 | ((prog.len() as u64) << 32);
    a[1] = prog.as_ptr() as u64;
    a[2] = license.as_ptr() as u64;
    a[3] = 1 | ((log.len() as u64) << 32);
    a[4] = log.as_mut_ptr() as u64;
    match bpf(BPF_PROG_LOAD, &mut a, "bpf(BPF_PROG_LOAD) device program") {
        Ok(fd) => Ok(fd_of(fd)),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let msg = String::from_utf8_lossy(&log[..end]);
            if msg.trim().is_empty() {
                Err(e)
            } else {
                Err(Error::Start(format!("{e}: {}", msg.trim())))
            }
        }
    }
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    let f = std::fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
    Ok(f.into())
}

/// Ids of the device programs attached directly to the cgroup.
fn attached(cg: &OwnedFd) -> Result<Vec<u32>> {
    let mut ids = [0u32; 64];
    // BPF_PROG_QUERY: target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt.
    let mut a = [0u64; 4];
    a[0] = cg.as_raw_fd() as u32 as u64 | ((BPF_CGROUP_DEVICE as u64) << 32);
    a[2] = ids.as_mut_ptr() as u64;
    a[3] = ids.len() as u64;
    bpf(BPF_PROG_QUERY, &mut a, "bpf(BPF_PROG_QUERY)")?;
    let n = (a[3] & 0xffff_ffff) as usize;
    Ok(ids[..n.min(ids.len())].to_vec())
}

/// Attaches the allow list `rules` (v1 `devices.allow` lines) to the cgroup v2
/// directory `dir`, replacing the device programs attached there before (the new one
/// is attached first: the intersection holds meanwhile, never nothing).
pub(crate) fn apply(dir: &Path, rules: &[String]) -> Result<()> {
    let parsed = rules
        .iter()
        .map(|r| parse_rule(r))
        .collect::<Result<Vec<_>>>()?;
    let prog = load(&parsed)?;
    let cg = open_dir(dir)?;
    let old = attached(&cg)?;
    // BPF_PROG_ATTACH: target_fd, attach_bpf_fd, attach_type, attach_flags.
    let mut a = [0u64; 3];
    a[0] = cg.as_raw_fd() as u32 as u64 | ((prog.as_raw_fd() as u32 as u64) << 32);
    a[1] = BPF_CGROUP_DEVICE as u64 | ((BPF_F_ALLOW_MULTI as u64) << 32);
    bpf(
        BPF_PROG_ATTACH,
        &mut a,
        "bpf(BPF_PROG_ATTACH) device program",
    )?;
    for id in old {
        // BPF_PROG_GET_FD_BY_ID: prog_id.
        let mut g = [id as u64, 0];
        let Ok(fd) = bpf(BPF_PROG_GET_FD_BY_ID, &mut g, "bpf(BPF_PROG_GET_FD_BY_ID)") else {
            continue;
        };
        let old_fd = fd_of(fd);
        let mut d = [0u64; 3];
        d[0] = cg.as_raw_fd() as u32 as u64 | ((old_fd.as_raw_fd() as u32 as u64) << 32);
        d[1] = BPF_CGROUP_DEVICE as u64;
        bpf(
            BPF_PROG_DETACH,
            &mut d,
            "bpf(BPF_PROG_DETACH) old device program",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::device_rules;
    use crate::spec::{DeviceKind, UnixDevice};

    fn lxc_list() -> Vec<Rule> {
        device_rules(&[UnixDevice {
            path: "/dev/sdz".into(),
            kind: DeviceKind::Block,
            major: 8,
            minor: 16,
            uid: 0,
            gid: 0,
            mode: 0o660,
        }])
        .iter()
        .map(|r| parse_rule(r).unwrap())
        .collect()
    }

    #[test]
    fn rules_parse_as_v1_writes_them() {
        assert_eq!(
            parse_rule("c 1:3 rwm").unwrap(),
            Rule {
                dev_type: Some(DEV_CHAR),
                major: Some(1),
                minor: Some(3),
                access: ACC_ALL
            }
        );
        assert_eq!(
            parse_rule("b *:* m").unwrap(),
            Rule {
                dev_type: Some(DEV_BLOCK),
                major: None,
                minor: None,
                access: ACC_MKNOD
            }
        );
        assert_eq!(parse_rule("c 136:* rw").unwrap().minor, None);
        for bad in ["", "x 1:3 rwm", "c 1:3", "c 1 rwm", "c 1:3 rwx", "c a:3 r"] {
            assert!(parse_rule(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_program_allows_exactly_the_v1_list() {
        let p = compile(&lxc_list());
        let (c, b) = (DEV_CHAR, DEV_BLOCK);
        let (r, w, m) = (ACC_READ, ACC_WRITE, ACC_MKNOD);
        // Allowed as on v1.
        for (t, acc, maj, min) in [
            (c, r | w, 1, 3),   // /dev/null
            (c, r, 1, 9),       // /dev/urandom
            (c, r | w, 5, 2),   // /dev/ptmx
            (c, r | w, 136, 7), // a pty
            (c, r | w, 10, 229),
            (c, m, 1, 1), // mknod of anything
            (b, m, 8, 0),
            (b, r | w, 8, 16), // the unix-block device of the instance
        ] {
            assert!(eval(&p, t, acc, maj, min), "{t} {acc} {maj}:{min}");
        }
        // Denied as on v1: host disks, memory, kmsg; reads of what may only be made.
        for (t, acc, maj, min) in [
            (b, r, 8, 0),
            (b, w, 8, 0),
            (b, r, 253, 0),
            (c, r, 1, 1), // /dev/mem
            (c, r | w, 1, 11),
            (c, r, 4, 1),
            (b, r, 1, 3), // a block device with /dev/null's numbers
            (c, r | w, 137, 0),
        ] {
            assert!(!eval(&p, t, acc, maj, min), "{t} {acc} {maj}:{min}");
        }
        assert!(!eval(&compile(&[]), c, r, 1, 3), "an empty list denies");
    }

    /// The cgroup2 mount of this host (`/sys/fs/cgroup` on v2, `/sys/fs/cgroup/unified`
    /// on a hybrid host: empty of controllers, but device programs attach to it all
    /// the same, since they run for the task's cgroup2 cgroup whatever the v1 layout).
    fn cgroup2_mount() -> std::path::PathBuf {
        let m = std::fs::read_to_string("/proc/self/mounts").unwrap();
        m.lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == "cgroup2")
            .map(|f| std::path::PathBuf::from(f[1]))
            .expect("this host has a cgroup2 mount")
    }

    /// The host's block devices, disks first (loop devices last): some may refuse
    /// even root (a VM's boot disk here), the test uses the first that opens.
    fn host_block_devices() -> Vec<(u32, u32)> {
        let mut names: Vec<String> = std::fs::read_dir("/sys/block")
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_by_key(|n| (n.starts_with("loop"), n.clone()));
        names
            .iter()
            .filter_map(|name| {
                let dev = std::fs::read_to_string(format!("/sys/block/{name}/dev")).ok()?;
                let (a, b) = dev.trim().split_once(':')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .filter(|d| *d != (7, 0))
            .collect()
    }

    /// Opens `node` from a new process that first moves itself into `cgroup`:
    /// Ok(()) or the shell's error text.
    fn open_in(cgroup: &Path, node: &Path) -> std::result::Result<(), String> {
        use std::os::unix::process::CommandExt;
        let procs =
            std::ffi::CString::new(cgroup.join("cgroup.procs").as_os_str().as_encoded_bytes())
                .unwrap();
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "exec 3<\"$1\"", "sh"]).arg(node);
        // SAFETY: only open/write/close between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(fd);
                Ok(())
            })
        };
        let out = cmd.output().unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    struct TestCgroup(std::path::PathBuf);
    impl Drop for TestCgroup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }

    /// Root in a cgroup2 cgroup with the program cannot open a host disk or
    /// /dev/kmsg through nodes it made itself; /dev/null and a listed unix-block device
    /// still open. Without the program (first round) every node opens.
    #[test]
    fn the_program_confines_a_cgroup2_cgroup() {
        use crate::cgroup::{Cgroups, Hierarchy, Kind, Layout};
        use nix::sys::stat::{makedev, mknod, Mode, SFlag};
        if !nix::unistd::geteuid().is_root() {
            panic!("this test needs root (it loads a BPF program and makes device nodes)");
        }
        let mount = cgroup2_mount();
        let rel = std::path::PathBuf::from(format!("incus-devbpf-test-{}", std::process::id()));
        let dir = mount.join(&rel);
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).unwrap();
        let _guard = TestCgroup(dir.clone());
        let tmp = tempfile::tempdir().unwrap();
        let mk = |name: &str, kind: SFlag, maj: u32, min: u32| {
            let p = tmp.path().join(name);
            mknod(
                &p,
                kind,
                Mode::from_bits_truncate(0o600),
                makedev(maj.into(), min.into()),
            )
            .unwrap();
            p
        };
        // Before: nothing stops root (the denial below is the program's).
        let disk = host_block_devices()
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| mk(&format!("disk{i}"), SFlag::S_IFBLK, a, b))
            .find(|p| open_in(&dir, p).is_ok())
            .expect("a host block device root can open");
        let kmsg = mk("kmsg", SFlag::S_IFCHR, 1, 11);
        let null = mk("null", SFlag::S_IFCHR, 1, 3);
        let loop_major = 7;
        let listed = mk("listed", SFlag::S_IFBLK, loop_major, 0);
        for n in [&kmsg, &null, &listed] {
            open_in(&dir, n).unwrap_or_else(|e| panic!("{} before the program: {e}", n.display()));
        }

        // The runtime's own path for a v2 host, on this cgroup.
        let cg = Cgroups::new(
            Layout {
                kind: Kind::V2,
                hier: vec![Hierarchy {
                    mount: mount.clone(),
                    controllers: vec![],
                }],
            },
            rel,
        );
        let dev = UnixDevice {
            path: "/dev/loop0".into(),
            kind: DeviceKind::Block,
            major: loop_major,
            minor: 0,
            uid: 0,
            gid: 0,
            mode: 0o660,
        };
        assert!(
            cg.apply_devices(std::slice::from_ref(&dev)).unwrap(),
            "no device program on v2"
        );
        for n in [&disk, &kmsg] {
            let e =
                open_in(&dir, n).expect_err(&format!("{} opened under the program", n.display()));
            assert!(
                e.contains("Operation not permitted"),
                "{}: {e}",
                n.display()
            );
        }
        open_in(&dir, &null).unwrap();
        open_in(&dir, &listed).unwrap();
        // mknod of a disk is allowed (as on v1), opening it is not: checked above.

        // Replaced, not stacked: a hot-remove's new list drops the device.
        cg.apply_devices(&[]).unwrap();
        let fd = open_dir(&dir).unwrap();
        assert_eq!(attached(&fd).unwrap().len(), 1);
        assert!(
            open_in(&dir, &listed).is_err(),
            "removed device still opens"
        );
        open_in(&dir, &null).unwrap();
    }
}
