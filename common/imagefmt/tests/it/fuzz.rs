//! Property-based fuzzing of unpacking: tarballs of random entries (files, dirs,
//! symlinks, hardlinks, fifos) with names and link targets drawn from hostile parts
//! (`..`, absolute paths, `rootfs` prefixes, unicode, empty components). Whatever the
//! outcome, nothing is written outside the destination, nothing panics, and a failed
//! unpack leaves nothing behind. `PROPTEST_CASES` raises the count (make stress).

use super::common::{unified_base, write, TarBuf, META};
use incus_imagefmt::{unpack_rootfs, ImageSource};
use proptest::prelude::*;
use std::path::Path;

fn part() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_string()),
        Just(".".to_string()),
        Just("".to_string()),
        Just("rootfs".to_string()),
        Just("etc".to_string()),
        Just("bin".to_string()),
        Just("x".to_string()),
        Just("é😀".to_string()),
        Just("metadata.yaml".to_string()),
        "[a-z]{1,3}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(part(), 1..5)).prop_map(|(abs, parts)| {
        let p = parts.join("/");
        if abs {
            format!("/{p}")
        } else {
            p
        }
    })
}

#[derive(Debug, Clone)]
enum Entry {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    Hardlink(String, String),
    Fifo(String),
}

fn entry() -> impl Strategy<Value = Entry> {
    // Most entries live under rootfs/ so that the interesting paths are reached.
    let under = path().prop_map(|p| format!("rootfs/{p}"));
    let name = prop_oneof![3 => under, 1 => path()];
    prop_oneof![
        (name.clone(), prop::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(n, d)| Entry::File(n, d)),
        name.clone().prop_map(Entry::Dir),
        (name.clone(), path()).prop_map(|(n, t)| Entry::Symlink(n, t)),
        (name.clone(), path()).prop_map(|(n, t)| Entry::Hardlink(n, t)),
        name.prop_map(Entry::Fifo),
    ]
}

fn build(entries: &[Entry]) -> Vec<u8> {
    let mut t: TarBuf = unified_base();
    for e in entries {
        // Header fields hold 100 bytes; longer random names are skipped.
        let fits = |s: &str| s.len() < 100;
        match e {
            Entry::File(n, d) if fits(n) => {
                t.file(n, d, 0o644);
            }
            Entry::Dir(n) if fits(n) => {
                t.dir(n, 0o755);
            }
            Entry::Symlink(n, to) if fits(n) && fits(to) => {
                t.symlink(n, to);
            }
            Entry::Hardlink(n, to) if fits(n) && fits(to) => {
                t.hardlink(n, to);
            }
            Entry::Fifo(n) if fits(n) => {
                t.fifo(n, 0o644);
            }
            _ => {}
        }
    }
    t.bytes()
}

/// Every path under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_tarballs_stay_inside(entries in prop::collection::vec(entry(), 0..12)) {
        let sandbox = tempfile::tempdir().unwrap();
        let outside = sandbox.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("canary"), b"keep").unwrap();
        let work = sandbox.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let image = write(&work, "image.tar", &build(&entries));
        let dest = sandbox.path().join("dest");

        let result = unpack_rootfs(&ImageSource::Unified(image), &dest, None);

        // Nothing outside the destination changed.
        prop_assert_eq!(tree(&outside), vec!["canary".to_string()]);
        prop_assert_eq!(std::fs::read(outside.join("canary")).unwrap(), b"keep".to_vec());
        prop_assert_eq!(tree(&work), vec!["image.tar".to_string()]);
        let top: Vec<String> = tree(sandbox.path()).into_iter().filter(|p| !p.contains('/')).collect();
        match result {
            Ok(()) => prop_assert_eq!(top, vec!["dest", "outside", "work"]),
            // A refused image leaves no destination and no staging behind.
            Err(_) => prop_assert_eq!(top, vec!["outside", "work"]),
        }
    }
}

#[test]
fn metadata_constant_is_what_the_base_uses() {
    // The fuzzer relies on unified_base()'s metadata being valid on its own.
    let sandbox = tempfile::tempdir().unwrap();
    let image = write(sandbox.path(), "i.tar", &unified_base().bytes());
    assert!(META.contains("architecture"));
    unpack_rootfs(
        &ImageSource::Unified(image),
        &sandbox.path().join("d"),
        None,
    )
    .unwrap();
}
