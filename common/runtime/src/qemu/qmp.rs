//! A QMP client: one short session per command (QEMU serves one QMP client at a time;
//! a second waits in the socket's backlog until the first is done).

use crate::{Error, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

fn err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Start(format!("QMP {what}: {e}"))
}

/// Runs one QMP command on the VM of `run_dir` and returns its `return` value.
pub(crate) fn command(run_dir: &Path, cmd: &str) -> Result<Value> {
    command_at(&run_dir.join(super::QMP_SOCK), cmd, Duration::from_secs(10))
}

pub(crate) fn command_at(sock: &Path, cmd: &str, timeout: Duration) -> Result<Value> {
    let s = UnixStream::connect(sock).map_err(|e| err("connect", e))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| err("socket", e))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| err("socket", e))?;
    let mut w = s.try_clone().map_err(|e| err("socket", e))?;
    let mut r = BufReader::new(s);
    let mut read = || -> Result<Value> {
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).map_err(|e| err("read", e))? == 0 {
                return Err(err("read", "connection closed"));
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| err("reply", e))?;
            // events (and the greeting) are not answers
            if v.get("event").is_none() {
                return Ok(v);
            }
        }
    };
    let greeting = read()?;
    if greeting.get("QMP").is_none() {
        return Err(err("greeting", greeting));
    }
    for c in ["qmp_capabilities", cmd] {
        writeln!(w, "{}", json!({ "execute": c })).map_err(|e| err("write", e))?;
        let v = read()?;
        if let Some(e) = v.get("error") {
            return Err(err(c, e));
        }
        if c == cmd {
            return Ok(v.get("return").cloned().unwrap_or(Value::Null));
        }
    }
    unreachable!()
}
