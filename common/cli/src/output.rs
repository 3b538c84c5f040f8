//! Files a command writes (`export`, `storage volume export`): `-` is the standard
//! output; anything else is written under a temporary name beside the target and
//! renamed when complete, so a failed or killed command never leaves a truncated
//! file under the target's name.

use incus_api::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `write` into `target` (see the module docs); the file ends up 0644.
pub fn write_output(target: &str, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    if target == "-" {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        write(&mut lock)?;
        lock.flush()?;
        return Ok(());
    }
    let path = Path::new(target);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".incus-export-")
        .tempfile_in(&dir)
        .map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    {
        // Named temporary files are 0600; an exported file is an ordinary one.
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| Error::invalid(format!("{}: {}", path.display(), e.error)))?;
    Ok(())
}
