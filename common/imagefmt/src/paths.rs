//! Archive path rules.

/// Split an archive path into its components, dropping empty and `.` components.
///
/// Refuses absolute paths and `..` anywhere: an image has no legitimate use for either, and
/// refusing (rather than stripping, as GNU tar does) makes a hostile image fail loudly.
pub(crate) fn split_path(raw: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path");
    }
    let mut out = Vec::new();
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => return Err("'..' component"),
            c if c.contains(&0) => return Err("NUL byte in name"),
            c => out.push(c.to_vec()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split_path;

    #[test]
    fn split_rules() {
        assert_eq!(
            split_path(b"./rootfs//bin/./sh").unwrap(),
            vec![b"rootfs".to_vec(), b"bin".to_vec(), b"sh".to_vec()]
        );
        assert_eq!(split_path(b"./").unwrap(), Vec::<Vec<u8>>::new());
        assert!(split_path(b"/etc/passwd").is_err());
        assert!(split_path(b"rootfs/../x").is_err());
        assert!(split_path(b"..").is_err());
        assert!(split_path(b"a/..b").is_ok());
    }
}
