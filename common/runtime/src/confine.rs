//! Capability drops and the seccomp filter, applied to init and to every exec'd process.
//!
//! The seccomp program is LXC 5.0's `common.seccomp` (Debian): a deny list
//! (`kexec_load open_by_handle_at init_module finit_module delete_module` -> EPERM, and
//! `reject_force_umount`: umount2 with MNT_FORCE -> EACCES) applied, like LXC's `[all]`
//! section, to the native ABI and both compat ABIs (i386 and x32) of x86_64. Any other audit arch
//! is killed, so a foreign ABI cannot bypass the list. Hand-written BPF: no libseccomp.

use crate::kernel::sys_err;
use crate::spec::Syscalls;
use crate::syscalls_table::SYSCALLS;
use crate::{Error, Result};

/// LXC's common.conf `lxc.cap.drop` (Incus sets the same list for every container).
pub const DROPPED_CAPS: &[caps::Capability] = {
    use caps::Capability::*;
    &[
        CAP_MAC_ADMIN,
        CAP_MAC_OVERRIDE,
        CAP_SYS_TIME,
        CAP_SYS_MODULE,
        CAP_SYS_RAWIO,
    ]
};

/// Drop [`DROPPED_CAPS`] from every set (bounding first needs CAP_SETPCAP, which we still hold).
pub(crate) fn drop_caps() -> Result<()> {
    use caps::CapSet::*;
    for c in DROPPED_CAPS {
        for s in [Bounding, Inheritable, Effective, Permitted] {
            caps::drop(None, s, *c).map_err(|e| Error::Invalid(format!("drop {c}: {e}")))?;
        }
    }
    // ambient caps would survive exec of non-root binaries; LXC clears them too
    let _ = caps::clear(None, Ambient);
    Ok(())
}

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const X32_BIT: u32 = 0x4000_0000;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const MNT_FORCE: u32 = 1;

// BPF opcodes
const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARG1_LO: u32 = 16 + 8; // args[1], low word (little endian)

/// LXC's common.seccomp deny list (EPERM), resolved per ABI through [`SYSCALLS`].
const DEFAULT_DENY: &[&str] = &[
    "kexec_load",
    "open_by_handle_at",
    "init_module",
    "finit_module",
    "delete_module",
];
const NATIVE_UMOUNT2: u32 = 166;
const I386_UMOUNT2: u32 = 52;
/// x32's own compat entry points (512..=547): what upstream's `deny_compat` blocks.
const X32_COMPAT: std::ops::RangeInclusive<u32> = 512..=547;
const ENOSYS: u32 = 38;

#[derive(Clone, Copy)]
enum Tgt {
    Next,
    Skip(u8),
}

enum Ins {
    Ld(u32),
    Jmp(u16, u32, Tgt, Tgt),
    /// Unconditional jump (32-bit offset: sections may be long).
    Ja(usize),
    Ret(u32),
    Label(usize),
}

const JA: u16 = 0x05;

/// Tiny assembler: conditional jumps skip a few instructions; `Ja` reaches labels.
fn assemble(prog: &[Ins]) -> Result<Vec<libc::sock_filter>> {
    let mut pos = std::collections::HashMap::new();
    let mut n = 0usize;
    for i in prog {
        match i {
            Ins::Label(l) => {
                pos.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    if n > 4096 {
        return Err(Error::Invalid(format!(
            "seccomp filter too long ({n} instructions; the kernel takes 4096)"
        )));
    }
    let mut out = vec![];
    for i in prog {
        let idx = out.len();
        let off = |t: Tgt| -> u8 {
            match t {
                Tgt::Next => 0,
                Tgt::Skip(k) => k,
            }
        };
        let ins = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
        match i {
            Ins::Label(_) => {}
            Ins::Ld(o) => out.push(ins(LD_W_ABS, 0, 0, *o)),
            Ins::Ret(k) => out.push(ins(RET_K, 0, 0, *k)),
            Ins::Ja(l) => out.push(ins(JA, 0, 0, (pos[l] - idx - 1) as u32)),
            Ins::Jmp(c, k, t, f) => out.push(ins(*c, off(*t), off(*f), *k)),
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Abi {
    Native,
    I386,
    X32,
}

/// The numbers of a syscall name in one ABI (x32 also gets the native number with the
/// x32 bit, which the kernel may route to the same call); `None`: unknown name.
fn numbers(name: &str, abi: Abi) -> Option<Vec<u32>> {
    let i = SYSCALLS.binary_search_by(|e| e.0.cmp(name)).ok()?;
    let (_, n, i386, x32) = SYSCALLS[i];
    let mut out: Vec<u32> = match abi {
        Abi::Native => vec![n],
        Abi::I386 => vec![i386],
        Abi::X32 => vec![x32, if n >= 0 { n | X32_BIT as i32 } else { -1 }],
    }
    .into_iter()
    .filter(|v| *v >= 0)
    .map(|v| v as u32)
    .collect();
    out.dedup();
    Some(out)
}

/// One line of `security.syscalls.deny` / `.allow` (LXC's syntax without argument
/// filters): `NAME`, `NAME errno N`, `NAME kill` (deny) or `NAME allow`. A bare name
/// denies with EPERM.
fn parse_rule(line: &str, allow: bool) -> Result<Option<(String, u32)>> {
    let line = line.split('#').next().unwrap_or("").trim();
    if line.is_empty() {
        return Ok(None);
    }
    let bad = |why: &str| Error::Invalid(format!("seccomp rule \"{line}\": {why}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let name = words[0];
    if numbers(name, Abi::Native).is_none() {
        return Err(bad("unknown syscall name"));
    }
    let action = match &words[1..] {
        [] if allow => RET_ALLOW,
        [] => RET_ERRNO | libc::EPERM as u32,
        ["allow"] if allow => RET_ALLOW,
        ["kill"] if !allow => RET_KILL_PROCESS,
        ["errno", n] if !allow => {
            let n: u16 = n.parse().map_err(|_| bad("errno needs a number"))?;
            RET_ERRNO | u32::from(n.min(4095))
        }
        _ => {
            return Err(bad(
                "argument filters and other actions are not supported here",
            ))
        }
    };
    Ok(Some((name.to_string(), action)))
}

/// Build the filter program (pure; unit-tested).
pub(crate) fn build_filter(policy: &Syscalls) -> Result<Vec<libc::sock_filter>> {
    use Ins::*;
    use Tgt::{Next, Skip};
    const NATIVE_L: usize = 1;
    const I386_L: usize = 2;
    const X32_L: usize = 3;
    let allow = match &policy.allow {
        Some(lines) => Some(
            lines
                .iter()
                .map(|l| parse_rule(l, true))
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let deny = policy
        .deny
        .iter()
        .map(|l| parse_rule(l, false))
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>>>()?;
    if allow.is_some() && (!deny.is_empty() || policy.deny_compat || policy.no_default_deny) {
        return Err(Error::Invalid(
            "security.syscalls.allow is mutually exclusive with security.syscalls.deny*".into(),
        ));
    }
    let mut p = vec![
        Ld(OFF_ARCH),
        Jmp(JEQ_K, AUDIT_ARCH_X86_64, Next, Skip(1)),
        Ja(NATIVE_L),
        Jmp(JEQ_K, AUDIT_ARCH_I386, Next, Skip(1)),
        Ja(I386_L),
        Ret(RET_KILL_PROCESS),
    ];
    for abi in [Abi::Native, Abi::X32, Abi::I386] {
        match abi {
            Abi::Native => {
                p.push(Label(NATIVE_L));
                p.push(Ld(OFF_NR));
                p.push(Jmp(JGE_K, X32_BIT, Next, Skip(1)));
                p.push(Ja(X32_L));
            }
            Abi::X32 => p.push(Label(X32_L)),
            Abi::I386 => {
                p.push(Label(I386_L));
                p.push(Ld(OFF_NR));
            }
        }
        let mut rules: Vec<(u32, u32)> = vec![];
        let mut add = |name: &str, action: u32| {
            for nr in numbers(name, abi).unwrap_or_default() {
                rules.push((nr, action));
            }
        };
        if let Some(allow) = &allow {
            for (name, action) in allow {
                add(name, *action);
            }
        } else {
            if !policy.no_default_deny {
                for name in DEFAULT_DENY {
                    add(name, RET_ERRNO | libc::EPERM as u32);
                }
            }
            for (name, action) in &deny {
                add(name, *action);
            }
            if policy.deny_compat && abi == Abi::X32 {
                for n in X32_COMPAT {
                    rules.push((n | X32_BIT, RET_ERRNO | ENOSYS));
                }
            }
        }
        for (nr, action) in rules {
            p.push(Jmp(JEQ_K, nr, Next, Skip(1)));
            p.push(Ret(action));
        }
        if allow.is_some() {
            // LXC's allowlist: anything else kills.
            p.push(Ret(RET_KILL_PROCESS));
            continue;
        }
        if !policy.no_default_deny {
            // reject_force_umount: umount2 with MNT_FORCE -> EACCES.
            let umount2 = match abi {
                Abi::Native => NATIVE_UMOUNT2,
                Abi::X32 => NATIVE_UMOUNT2 | X32_BIT,
                Abi::I386 => I386_UMOUNT2,
            };
            p.push(Jmp(JEQ_K, umount2, Next, Skip(3)));
            p.push(Ld(OFF_ARG1_LO));
            p.push(Jmp(JSET_K, MNT_FORCE, Next, Skip(1)));
            p.push(Ret(RET_ERRNO | libc::EACCES as u32));
        }
        p.push(Ret(RET_ALLOW));
    }
    assemble(&p)
}

/// Checks a policy (names, syntax, length) without installing it.
pub fn check_syscalls(policy: &Syscalls) -> Result<()> {
    build_filter(policy).map(|_| ())
}

/// Install the filter on the calling thread (inherited by exec and children). Needs
/// CAP_SYS_ADMIN in the current user namespace (we are root there), so no_new_privs is not set,
/// matching LXC's default `lxc.no_new_privs = 0`.
pub(crate) fn apply_seccomp(policy: &Syscalls) -> Result<()> {
    #[cfg(not(target_arch = "x86_64"))]
    {
        return Err(Error::Unsupported(
            "seccomp filter is only written for x86_64".into(),
        ));
    }
    #[allow(unreachable_code)]
    {
        let f = build_filter(policy)?;
        let prog = libc::sock_fprog {
            len: f.len() as u16,
            filter: f.as_ptr() as *mut _,
        };
        // SAFETY: prog points to a valid filter that outlives the call (the kernel copies it).
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                1, /* SECCOMP_SET_MODE_FILTER */
                0,
                &prog as *const _,
            )
        };
        if r < 0 {
            return Err(sys_err(
                "seccomp(SET_MODE_FILTER)",
                nix::errno::Errno::last(),
            ));
        }
        Ok(())
    }
}

/// Caps then seccomp: the order LXC uses for init and attach.
pub(crate) fn confine(policy: &Syscalls) -> Result<()> {
    drop_caps()?;
    apply_seccomp(policy)
}

/// The bounding set a confined process ends up with, given the current one (for tests and
/// comparisons with LXC).
pub fn expected_capbnd(host_bnd: u64) -> u64 {
    DROPPED_CAPS
        .iter()
        .fold(host_bnd, |m, c| m & !(1u64 << c.index()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimal BPF interpreter for the subset we emit.
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32, arg1: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[24..32].copy_from_slice(&arg1.to_le_bytes());
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = p[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => {
                    a = u32::from_le_bytes(data[i.k as usize..i.k as usize + 4].try_into().unwrap())
                }
                RET_K => return i.k,
                JEQ_K => pc += if a == i.k { i.jt } else { i.jf } as usize,
                JGE_K => pc += if a >= i.k { i.jt } else { i.jf } as usize,
                JSET_K => pc += if a & i.k != 0 { i.jt } else { i.jf } as usize,
                JA => pc += i.k as usize,
                c => panic!("opcode {c}"),
            }
        }
    }

    #[test]
    fn filter_semantics() {
        let p = build_filter(&Syscalls::default()).unwrap();
        assert!(p.len() < 80);
        let eperm = RET_ERRNO | 1;
        // native
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 246, 0), eperm); // kexec_load
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 175, 0), eperm); // init_module
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 304, 0), eperm); // open_by_handle_at
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 0, 0), RET_ALLOW); // read
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 250, 0), RET_ALLOW); // keyctl is allowed by LXC
        assert_eq!(
            run(&p, AUDIT_ARCH_X86_64, 166, 1),
            RET_ERRNO | libc::EACCES as u32
        ); // umount2 MNT_FORCE
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 166, 2), RET_ALLOW); // umount2 MNT_DETACH
                                                                   // x32
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 528 | X32_BIT, 0), eperm);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 176 | X32_BIT, 0), eperm);
        assert_eq!(
            run(&p, AUDIT_ARCH_X86_64, 166 | X32_BIT, 1),
            RET_ERRNO | libc::EACCES as u32
        );
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 1 | X32_BIT, 0), RET_ALLOW);
        // i386
        assert_eq!(run(&p, AUDIT_ARCH_I386, 128, 0), eperm);
        assert_eq!(
            run(&p, AUDIT_ARCH_I386, 52, 1),
            RET_ERRNO | libc::EACCES as u32
        );
        assert_eq!(run(&p, AUDIT_ARCH_I386, 52, 0), RET_ALLOW);
        assert_eq!(run(&p, AUDIT_ARCH_I386, 246, 0), RET_ALLOW); // not kexec on i386
                                                                 // foreign arch
        assert_eq!(run(&p, 0xC000_00B7 /* aarch64 */, 0, 0), RET_KILL_PROCESS);
    }

    #[test]
    fn policies() {
        let eperm = RET_ERRNO | 1;
        let deny = |lines: &[&str]| Syscalls {
            deny: lines.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        // mount: 165 native, 21 i386, 165|x32
        let p = build_filter(&deny(&[
            "mount",
            "# comment",
            "",
            "ptrace errno 38",
            "bpf kill",
        ]))
        .unwrap();
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 165, 0), eperm);
        assert_eq!(run(&p, AUDIT_ARCH_I386, 21, 0), eperm);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 165 | X32_BIT, 0), eperm);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 101, 0), RET_ERRNO | 38);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 321, 0), RET_KILL_PROCESS);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 246, 0), eperm, "defaults stay");
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 0, 0), RET_ALLOW);
        let p = build_filter(&Syscalls {
            no_default_deny: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 246, 0), RET_ALLOW);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 166, 1), RET_ALLOW);
        let p = build_filter(&Syscalls {
            deny_compat: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 514 | X32_BIT, 0), RET_ERRNO | 38);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 1 | X32_BIT, 0), RET_ALLOW);
        let allow = Syscalls {
            allow: Some(vec!["read".into(), "write".into(), "exit_group".into()]),
            ..Default::default()
        };
        let p = build_filter(&allow).unwrap();
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 0, 0), RET_ALLOW);
        assert_eq!(run(&p, AUDIT_ARCH_I386, 3, 0), RET_ALLOW, "i386 read");
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 2, 0), RET_KILL_PROCESS);
        // every syscall of the table denied: long programs still assemble
        let all: Vec<String> = SYSCALLS.iter().map(|e| e.0.to_string()).collect();
        let p = build_filter(&Syscalls {
            deny: all.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(run(&p, AUDIT_ARCH_I386, 3, 0), eperm);
        assert_eq!(run(&p, AUDIT_ARCH_X86_64, 0, 0), eperm);
        for bad in [
            deny(&["nosuchcall"]),
            deny(&["mount [0,1,SCMP_CMP_EQ]"]),
            deny(&["mount errno x"]),
        ] {
            assert!(build_filter(&bad).is_err());
        }
        let mixed = Syscalls {
            deny: vec!["mount".into()],
            ..allow
        };
        assert!(build_filter(&mixed).is_err());
    }

    #[test]
    fn capbnd() {
        // host here: all caps 0..40 but CAP_SYS_RESOURCE (24)
        assert_eq!(
            expected_capbnd(0x1fffeffffff),
            0x1fffeffffff & !((1 << 16) | (1 << 17) | (1 << 25) | (1 << 32) | (1 << 33))
        );
    }
}
