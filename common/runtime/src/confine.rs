//! Capability drops and the seccomp filter, applied to init and to every exec'd process.
//!
//! The seccomp program is LXC 5.0's `common.seccomp` (Debian): a deny list
//! (`kexec_load open_by_handle_at init_module finit_module delete_module` -> EPERM, and
//! `reject_force_umount`: umount2 with MNT_FORCE -> EACCES) applied, like LXC's `[all]`
//! section, to the native ABI and both compat ABIs (i386 and x32) of x86_64. Any other audit arch
//! is killed, so a foreign ABI cannot bypass the list. Hand-written BPF: no libseccomp.

use crate::sys::sys_err;
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

/// A deny rule of one ABI: syscall number and errno.
type Rule = (u32, u16);

/// x86_64 numbers of the denied calls and their errno (EPERM as in common.seccomp).
const NATIVE: &[Rule] = &[(246, 1), (304, 1), (175, 1), (313, 1), (176, 1)];
const NATIVE_UMOUNT2: u32 = 166;
/// x32: same table with X32_BIT, plus x32's own kexec_load (528).
const X32: &[Rule] = &[(246, 1), (528, 1), (304, 1), (175, 1), (313, 1), (176, 1)];
/// i386 numbers.
const I386: &[Rule] = &[(283, 1), (342, 1), (128, 1), (350, 1), (129, 1)];
const I386_UMOUNT2: u32 = 52;

#[derive(Clone, Copy)]
enum Tgt {
    Label(usize),
    Next,
}

enum Ins {
    Ld(u32),
    Jmp(u16, u32, Tgt, Tgt),
    Ret(u32),
    Label(usize),
}

/// Tiny assembler: forward jumps to labels, resolved into 8-bit offsets.
fn assemble(prog: &[Ins]) -> Vec<libc::sock_filter> {
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
    let mut out = vec![];
    for i in prog {
        let idx = out.len();
        let off = |t: Tgt| -> u8 {
            match t {
                Tgt::Next => 0,
                Tgt::Label(l) => {
                    let d = pos[&l] - idx - 1;
                    u8::try_from(d).expect("seccomp jump too long")
                }
            }
        };
        match i {
            Ins::Label(_) => {}
            Ins::Ld(o) => out.push(libc::sock_filter {
                code: LD_W_ABS,
                jt: 0,
                jf: 0,
                k: *o,
            }),
            Ins::Ret(k) => out.push(libc::sock_filter {
                code: RET_K,
                jt: 0,
                jf: 0,
                k: *k,
            }),
            Ins::Jmp(c, k, t, f) => out.push(libc::sock_filter {
                code: *c,
                jt: off(*t),
                jf: off(*f),
                k: *k,
            }),
        }
    }
    out
}

/// Build the filter program (pure; unit-tested).
pub(crate) fn build_filter() -> Vec<libc::sock_filter> {
    use Ins::*;
    use Tgt::{Label as L, Next};
    const NATIVE_L: usize = 1;
    const I386_L: usize = 2;
    const X32_L: usize = 3;
    const KILL_L: usize = 4;
    const ALLOW_L: usize = 5;
    const UMOUNT_L: usize = 6;
    const ERR_BASE: usize = 100;
    let mut p = vec![
        Ld(OFF_ARCH),
        Jmp(JEQ_K, AUDIT_ARCH_X86_64, L(NATIVE_L), Next),
        Jmp(JEQ_K, AUDIT_ARCH_I386, L(I386_L), L(KILL_L)),
        Label(NATIVE_L),
        Ld(OFF_NR),
        Jmp(JGE_K, X32_BIT, L(X32_L), Next),
    ];
    // Each errno gets its own return label.
    let mut errnos: Vec<u16> = NATIVE.iter().chain(X32).chain(I386).map(|r| r.1).collect();
    errnos.sort_unstable();
    errnos.dedup();
    let err_label = |e: u16| ERR_BASE + e as usize;
    for (nr, e) in NATIVE {
        p.push(Jmp(JEQ_K, *nr, L(err_label(*e)), Next));
    }
    p.push(Jmp(JEQ_K, NATIVE_UMOUNT2, L(UMOUNT_L), L(ALLOW_L)));
    p.push(Label(X32_L));
    for (nr, e) in X32 {
        p.push(Jmp(JEQ_K, nr | X32_BIT, L(err_label(*e)), Next));
    }
    p.push(Jmp(
        JEQ_K,
        NATIVE_UMOUNT2 | X32_BIT,
        L(UMOUNT_L),
        L(ALLOW_L),
    ));
    p.push(Label(I386_L));
    p.push(Ld(OFF_NR));
    for (nr, e) in I386 {
        p.push(Jmp(JEQ_K, *nr, L(err_label(*e)), Next));
    }
    p.push(Jmp(JEQ_K, I386_UMOUNT2, L(UMOUNT_L), L(ALLOW_L)));
    p.push(Label(UMOUNT_L));
    p.push(Ld(OFF_ARG1_LO));
    p.push(Jmp(JSET_K, MNT_FORCE, Next, L(ALLOW_L)));
    p.push(Ret(RET_ERRNO | libc::EACCES as u32));
    p.push(Label(ALLOW_L));
    p.push(Ret(RET_ALLOW));
    p.push(Label(KILL_L));
    p.push(Ret(RET_KILL_PROCESS));
    for e in errnos {
        p.push(Label(err_label(e)));
        p.push(Ret(RET_ERRNO | e as u32));
    }
    assemble(&p)
}

/// Install the filter on the calling thread (inherited by exec and children). Needs
/// CAP_SYS_ADMIN in the current user namespace (we are root there), so no_new_privs is not set,
/// matching LXC's default `lxc.no_new_privs = 0`.
pub(crate) fn apply_seccomp() -> Result<()> {
    #[cfg(not(target_arch = "x86_64"))]
    {
        return Err(Error::Unsupported(
            "seccomp filter is only written for x86_64".into(),
        ));
    }
    #[allow(unreachable_code)]
    {
        let f = build_filter();
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
pub(crate) fn confine() -> Result<()> {
    drop_caps()?;
    apply_seccomp()
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
                c => panic!("opcode {c}"),
            }
        }
    }

    #[test]
    fn filter_semantics() {
        let p = build_filter();
        assert!(p.len() < 60);
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
    fn capbnd() {
        // host here: all caps 0..40 but CAP_SYS_RESOURCE (24)
        assert_eq!(
            expected_capbnd(0x1fffeffffff),
            0x1fffeffffff & !((1 << 16) | (1 << 17) | (1 << 25) | (1 << 32) | (1 << 33))
        );
    }
}
