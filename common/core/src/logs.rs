//! An instance's log files (`/1.0/instances/NAME/logs`): the listing and the reading
//! of one file, with the rule that keeps a request inside the log directory.

use crate::{instance, Context, Error, Result};

/// The names of the plain files in the instance's log directory, sorted.
pub fn list(ctx: &Context, name: &str) -> Result<Vec<String>> {
    instance::get_row(ctx, name)?;
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(ctx.instance_log_dir(name)) {
        for e in entries.flatten() {
            if e.path().is_file() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One file of the log directory (or of its `sub` directory, e.g. `exec-output`).
/// Names with a path separator or a leading dot are refused: no traversal.
pub fn read(ctx: &Context, name: &str, sub: Option<&str>, file: &str) -> Result<Vec<u8>> {
    if file.contains('/') || file.starts_with('.') || file.is_empty() {
        return Err(Error::invalid("Invalid log file name"));
    }
    instance::get_row(ctx, name)?;
    let mut path = ctx.instance_log_dir(name);
    if let Some(s) = sub {
        path.push(s);
    }
    path.push(file);
    std::fs::read(&path).map_err(|_| Error::not_found("Log file not found"))
}
