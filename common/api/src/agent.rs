//! The wire protocol between the host and `incus-agent` in a virtual machine, over the
//! virtio-serial port `org.linuxcontainers.incus` (docs/vm.md).
//!
//! A frame is a 4-byte big-endian length `n` (1 <= n <= [`MAX_FRAME`]), then `n` bytes: a
//! one-byte [`Kind`] and its payload. One host client at a time (the port is a single
//! stream); every host session starts with [`Kind::Hello`], which resets the agent.

use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// The port name, as upstream's agent device.
pub const PORT_NAME: &str = "org.linuxcontainers.incus";
/// Largest frame (kind byte and payload).
pub const MAX_FRAME: usize = 1 << 20;
/// Protocol version carried by `Hello`.
pub const VERSION: u32 = 1;

/// Frame kinds. Host -> guest: `Hello`, `Exec`, `Stdin`, `Signal`, `Pull`, `Push`, `Data`,
/// `State`. Guest -> host: `Hello` (echoing the host's nonce), `Started`, `Stdout`,
/// `Stderr`, `Exit`, `Error`, `FileInfo`, `Data`, `Ok`, `StateReply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Session start; payload: 8-byte nonce, echoed by the agent.
    Hello = 1,
    /// Run a command; payload: JSON [`ExecRequest`].
    Exec = 2,
    /// Bytes for the command's stdin; an empty payload closes it.
    Stdin = 3,
    /// Output of the command.
    Stdout = 4,
    /// Error output of the command.
    Stderr = 5,
    /// The command ended; payload: 4-byte big-endian exit code (128+N for signal N).
    Exit = 6,
    /// A signal for the command; payload: 4-byte big-endian signal number.
    Signal = 7,
    /// Failure of the current request; payload: UTF-8 message.
    Error = 8,
    /// The command started; payload: 4-byte pid.
    Started = 9,
    /// Read a file; payload: JSON [`FileRequest`] (path).
    Pull = 10,
    /// Write a file; payload: JSON [`FileRequest`]; `Data` frames follow, an empty one ends.
    Push = 11,
    /// File content; an empty payload ends it.
    Data = 12,
    /// Answer to `Pull`: JSON [`FileInfo`]; `Data` frames follow for a regular file.
    FileInfo = 13,
    /// Request done.
    Ok = 14,
    /// Ask for the guest's state.
    State = 15,
    /// Answer to `State`: JSON [`GuestState`].
    StateReply = 16,
}

impl Kind {
    /// The kind of a byte, if any.
    pub fn from_u8(b: u8) -> Option<Kind> {
        use Kind::*;
        Some(match b {
            1 => Hello,
            2 => Exec,
            3 => Stdin,
            4 => Stdout,
            5 => Stderr,
            6 => Exit,
            7 => Signal,
            8 => Error,
            9 => Started,
            10 => Pull,
            11 => Push,
            12 => Data,
            13 => FileInfo,
            14 => Ok,
            15 => State,
            16 => StateReply,
            _ => return None,
        })
    }
}

/// A command to run in the guest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecRequest {
    /// argv; `args[0]` is looked up in `PATH` when it has no slash.
    pub args: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Working directory (`/root` when empty).
    pub cwd: String,
    /// User and group to run as.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// A file to pull or push.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileRequest {
    /// Absolute path in the guest.
    pub path: String,
    /// Push only: mode, owner (-1 keeps the existing or 0).
    pub mode: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
}

/// What a pulled path is.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileInfo {
    /// `file`, `directory` or `symlink`.
    pub kind: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Directory entries (directories) or the target (symlinks).
    pub entries: Vec<String>,
}

/// The guest's view of itself (`incus info` of a VM).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GuestState {
    /// Number of processes.
    pub processes: i64,
    /// MemTotal and MemAvailable in bytes.
    pub memory_total: i64,
    /// Used memory in bytes.
    pub memory_used: i64,
    /// Interfaces: name, MAC, addresses as `ADDR/PREFIX`.
    pub interfaces: Vec<(String, String, Vec<String>)>,
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, kind: Kind, payload: &[u8]) -> io::Result<()> {
    if payload.len() + 1 > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "frame too large",
        ));
    }
    let mut buf = Vec::with_capacity(payload.len() + 5);
    buf.extend_from_slice(&((payload.len() + 1) as u32).to_be_bytes());
    buf.push(kind as u8);
    buf.extend_from_slice(payload);
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame. Unknown kinds and bad lengths are `InvalidData`; end of stream is
/// `UnexpectedEof`.
pub fn read_frame(r: &mut impl Read) -> io::Result<(Kind, Vec<u8>)> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 || n > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad frame length {n}"),
        ));
    }
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf)?;
    let kind = Kind::from_u8(buf[0]).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown frame kind {}", buf[0]),
        )
    })?;
    buf.remove(0);
    Ok((kind, buf))
}

/// A 4-byte big-endian integer payload.
pub fn int_payload(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

/// Reads a 4-byte big-endian integer payload.
pub fn parse_int(p: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(p.get(..4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_input_is_refused() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Kind::Stdout, b"hello").unwrap();
        write_frame(&mut buf, Kind::Exit, &int_payload(3)).unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r).unwrap(),
            (Kind::Stdout, b"hello".to_vec())
        );
        let (k, p) = read_frame(&mut r).unwrap();
        assert_eq!((k, parse_int(&p)), (Kind::Exit, Some(3)));
        assert_eq!(
            read_frame(&mut r).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        for bad in [&[0u8, 0, 0, 0][..], &[0, 0x10, 0, 1, 1], &[0, 0, 0, 1, 99]] {
            let mut r = bad;
            assert!(read_frame(&mut r).is_err());
        }
    }
}
