//! A tiny client of the guest API (`/dev/incus/sock`), std only, so the tests can build it
//! statically (`rustc -C target-feature=+crt-static`) and push it into a busybox container.
//!
//! `dev-incus-client [--sock PATH] [--out FILE] METHOD PATH [BODY]` prints `STATUS
//! CONTENT-TYPE`, a blank line, then the body (or writes the body to FILE). `dev-incus-client [--sock PATH] events QUERY COUNT` opens the
//! websocket at `/1.0/events?QUERY`, prints `ready` once upgraded, then each of COUNT
//! messages on a line.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut sock = "/dev/incus/sock".to_string();
    let mut out = None;
    while args.len() > 1 && matches!(args[0].as_str(), "--sock" | "--out") {
        let v = args.remove(1);
        if args.remove(0) == "--sock" {
            sock = v;
        } else {
            out = Some(v);
        }
    }
    let code = match args.first().map(String::as_str) {
        Some("events") if args.len() == 3 => events(&sock, &args[1], &args[2]),
        Some(_) if args.len() >= 2 => request(&sock, &args[0], &args[1], args.get(2), out),
        _ => {
            eprintln!("usage: dev-incus-client [--sock P] METHOD PATH [BODY] | events QUERY COUNT");
            2
        }
    };
    std::process::exit(code)
}

fn connect(sock: &str) -> Option<UnixStream> {
    match UnixStream::connect(sock) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("connect {sock}: {e}");
            None
        }
    }
}

fn request(sock: &str, method: &str, path: &str, body: Option<&String>, to: Option<String>) -> i32 {
    let Some(mut s) = connect(sock) else { return 1 };
    let body = body.map(String::as_str).unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: incus\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 1;
    }
    let mut r = BufReader::new(s);
    let mut status = String::new();
    if r.read_line(&mut status).is_err() || status.is_empty() {
        eprintln!("no answer");
        return 1;
    }
    let code = status.split_whitespace().nth(1).unwrap_or("?").to_string();
    let (mut ctype, mut len) = (String::new(), None::<usize>);
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        let l = l.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-type" => ctype = v.trim().to_string(),
                "content-length" => len = v.trim().parse().ok(),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    match len {
        Some(n) => {
            out.resize(n, 0);
            if r.read_exact(&mut out).is_err() {
                eprintln!("short body");
                return 1;
            }
        }
        None => {
            let _ = r.read_to_end(&mut out);
        }
    }
    println!("{code} {ctype}\n");
    match to {
        Some(f) => {
            if let Err(e) = std::fs::write(&f, &out) {
                eprintln!("{f}: {e}");
                return 1;
            }
        }
        None => {
            let _ = std::io::stdout().write_all(&out);
        }
    }
    0
}

fn events(sock: &str, query: &str, count: &str) -> i32 {
    let Some(mut s) = connect(sock) else { return 1 };
    let count: usize = count.parse().unwrap_or(1);
    let req = format!(
        "GET /1.0/events?{query} HTTP/1.1\r\nHost: incus\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 1;
    }
    let mut r = BufReader::new(s);
    let mut status = String::new();
    let _ = r.read_line(&mut status);
    let mut accept = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        let l = l.trim_end().to_string();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("sec-websocket-accept:") {
            accept = v.trim().to_string();
        }
    }
    if !status.contains(" 101 ") {
        println!("refused {}", status.trim_end());
        return 1;
    }
    // RFC 6455's example key and answer
    println!("ready {}", accept == "s3pplmbitxaq9kygzzhzrbk+xoo=");
    let _ = std::io::stdout().flush();
    for _ in 0..count {
        let mut h = [0u8; 2];
        if r.read_exact(&mut h).is_err() {
            eprintln!("stream ended");
            return 1;
        }
        let mut len = (h[1] & 0x7f) as usize;
        if len == 126 {
            let mut b = [0u8; 2];
            let _ = r.read_exact(&mut b);
            len = u16::from_be_bytes(b) as usize;
        } else if len == 127 {
            let mut b = [0u8; 8];
            let _ = r.read_exact(&mut b);
            len = u64::from_be_bytes(b) as usize;
        }
        let mut p = vec![0u8; len];
        if r.read_exact(&mut p).is_err() {
            return 1;
        }
        println!("{}", String::from_utf8_lossy(&p).trim_end());
        let _ = std::io::stdout().flush();
    }
    0
}
