//! Streams over REST: instance files (`.../files` with X-Incus-* headers), image
//! upload (unified, or split as multipart) and export, raw GETs.

use super::http::{Body, Response};
use super::{encode as enc, envelope, status_error, Remote};
use crate::{FileInfo, FileKind, FilePut, ImageSource, ImportOptions};
use incus_api::{Error, Image, Result};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The response if its status is a success, else its error.
fn ok(resp: Response) -> Result<Response> {
    if (200..300).contains(&resp.status) {
        return Ok(resp);
    }
    let status = resp.status;
    let body = resp.bytes()?;
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Err(status_error(status, &v, &body))
}

fn files_url(name: &str, path: &str) -> String {
    format!("/1.0/instances/{}/files?path={}", enc(name), enc(path))
}

/// What the X-Incus-* headers of a files response say.
fn file_info(resp: &Response) -> Result<FileInfo> {
    let h = |k: &str| {
        resp.header(&format!("X-Incus-{k}"))
            .or_else(|| resp.header(&format!("X-LXD-{k}")))
            .unwrap_or("")
    };
    let kind = match h("type") {
        "" => FileKind::File,
        t => FileKind::parse(t)?,
    };
    Ok(FileInfo {
        kind,
        uid: h("uid").parse().unwrap_or(0),
        gid: h("gid").parse().unwrap_or(0),
        mode: u32::from_str_radix(h("mode"), 8).unwrap_or(0),
        size: 0,
        entries: vec![],
        target: String::new(),
    })
}

/// Upstream's form encoding of the `X-Incus-properties` header.
fn form_encode(pairs: &incus_api::Config) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Remote {
    /// A GET whose body is bytes (logs, the console log).
    pub(crate) fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        ok(self.request("GET", path, &[], Body::None, None)?)?.bytes()
    }

    /// The entry's type and owner, or None when it does not exist (HEAD: no body).
    fn file_stat(&self, name: &str, path: &str) -> Result<Option<FileInfo>> {
        let resp = self.request("HEAD", &files_url(name, path), &[], Body::None, None)?;
        if resp.status == 404 {
            // A missing instance is still an error; a missing entry is None.
            self.get::<Value>(&format!("/1.0/instances/{}", enc(name)))?;
            return Ok(None);
        }
        Ok(Some(file_info(&ok(resp)?)?))
    }

    pub(crate) fn file_get(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<FileInfo> {
        let resp = ok(self.request("GET", &files_url(name, path), &[], Body::None, None)?)?;
        let mut info = file_info(&resp)?;
        match info.kind {
            FileKind::Directory => {
                let v = envelope(resp)?;
                info.entries = serde_json::from_value(v["metadata"].clone()).unwrap_or_default();
                info.entries.sort();
                info.entries.dedup();
                // Names come from the server: a `/`, `.` or `..` would lead a
                // recursive pull or delete out of the directory.
                if let Some(bad) = info
                    .entries
                    .iter()
                    .find(|e| !incus_sys::destdir::is_entry_name(e))
                {
                    return Err(Error::invalid(format!(
                        "The server listed an invalid entry name \"{}\" in {path}",
                        bad.escape_debug()
                    )));
                }
            }
            FileKind::Symlink => {
                info.target = String::from_utf8_lossy(&resp.bytes()?).into_owned();
            }
            FileKind::File => {
                let mut body = resp.body;
                info.size = std::io::copy(&mut body, out)
                    .map_err(|e| Error::internal(format!("Read {path}: {e}")))?;
            }
        }
        Ok(info)
    }

    pub(crate) fn file_put(
        &self,
        name: &str,
        path: &str,
        put: &FilePut,
        input: &mut dyn Read,
    ) -> Result<()> {
        if put.make_parents {
            self.make_parents(name, path, put)?;
        }
        if put.force {
            if let Some(cur) = self.file_stat(name, path)? {
                if cur.kind != put.kind || cur.kind == FileKind::Symlink {
                    self.file_delete(name, path, false)?;
                }
            }
        }
        let mut headers = vec![("X-Incus-type", put.kind.as_str().to_string())];
        if let Some(u) = put.uid {
            headers.push(("X-Incus-uid", u.to_string()));
        }
        if let Some(g) = put.gid {
            headers.push(("X-Incus-gid", g.to_string()));
        }
        if let Some(m) = put.mode {
            headers.push(("X-Incus-mode", format!("{m:04o}")));
        }
        let write = if put.append { "append" } else { "overwrite" };
        headers.push(("X-Incus-write", write.to_string()));
        headers.push(("Content-Type", "application/octet-stream".to_string()));
        let body = match put.kind {
            FileKind::Symlink => Body::Bytes(put.target.as_bytes()),
            FileKind::Directory => Body::Bytes(b""),
            FileKind::File => Body::Reader(input, None),
        };
        let resp = self.request("POST", &files_url(name, path), &headers, body, None)?;
        envelope(resp).map(drop)
    }

    /// Missing parents as directories (0750 and the entry's owner, as upstream's `-p`).
    fn make_parents(&self, name: &str, path: &str, put: &FilePut) -> Result<()> {
        let mut missing = Vec::new();
        let mut p = Path::new(path).parent();
        while let Some(dir) = p {
            if dir.as_os_str().is_empty() || dir == Path::new("/") {
                break;
            }
            let d = dir.to_string_lossy();
            if self.file_stat(name, &d)?.is_some() {
                break;
            }
            missing.push(d.into_owned());
            p = dir.parent();
        }
        for d in missing.iter().rev() {
            let dir = FilePut {
                kind: FileKind::Directory,
                uid: put.uid,
                gid: put.gid,
                mode: Some(0o750),
                target: String::new(),
                append: false,
                make_parents: false,
                force: false,
            };
            self.file_put(name, d, &dir, &mut std::io::empty())?;
        }
        Ok(())
    }

    pub(crate) fn file_delete(&self, name: &str, path: &str, recursive: bool) -> Result<()> {
        if recursive {
            let mut sink = std::io::sink();
            let info = self.file_get(name, path, &mut sink)?;
            if info.kind == FileKind::Directory {
                for e in &info.entries {
                    let child = format!("{}/{e}", path.trim_end_matches('/'));
                    self.file_delete(name, &child, true)?;
                }
            }
        }
        let resp = self.request("DELETE", &files_url(name, path), &[], Body::None, None)?;
        envelope(resp).map(drop)
    }

    /// `POST /1.0/images` with the file(s) as the body; aliases are added afterwards.
    pub(crate) fn upload_image(
        &self,
        src: &ImageSource,
        opts: &ImportOptions,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Image> {
        let open = |p: &PathBuf| {
            let f = std::fs::File::open(p)
                .map_err(|e| Error::from(e).context(format!("Open {}", p.display())))?;
            let len = f.metadata()?.len();
            Ok::<_, Error>((f, len))
        };
        let mut headers = vec![(
            "X-Incus-public",
            if opts.public { "1" } else { "0" }.to_string(),
        )];
        if !opts.properties.is_empty() {
            headers.push(("X-Incus-properties", form_encode(&opts.properties)));
        }
        let env = match src {
            ImageSource::Unified(p) => {
                let (f, len) = open(p)?;
                headers.push(("Content-Type", "application/octet-stream".into()));
                if let Some(name) = p.file_name() {
                    headers.push(("X-Incus-filename", name.to_string_lossy().into_owned()));
                }
                self.send_upload(headers, Box::new(f), len, progress)?
            }
            ImageSource::Split { metadata, rootfs } => {
                let (m, mlen) = open(metadata)?;
                let (r, rlen) = open(rootfs)?;
                let boundary = format!("incus-rs-{}", uuid_like());
                let part = |field: &str| {
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{field}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                };
                let (p1, p2) = (part("metadata"), format!("\r\n{}", part("rootfs")));
                let end = format!("\r\n--{boundary}--\r\n");
                let len = (p1.len() + p2.len() + end.len()) as u64 + mlen + rlen;
                let body = std::io::Cursor::new(p1.into_bytes())
                    .chain(m)
                    .chain(std::io::Cursor::new(p2.into_bytes()))
                    .chain(r)
                    .chain(std::io::Cursor::new(end.into_bytes()));
                headers.push((
                    "Content-Type",
                    format!("multipart/form-data; boundary={boundary}"),
                ));
                self.send_upload(headers, Box::new(body), len, progress)?
            }
        };
        let op = self.wait_operation(&env)?;
        let fp = op["metadata"]["fingerprint"]
            .as_str()
            .ok_or_else(|| Error::internal("The import gave no fingerprint"))?
            .to_string();
        for a in &opts.aliases {
            crate::Backend::image_alias_create(self, a, &fp, "")?;
        }
        crate::Backend::image(self, &fp)
    }

    fn send_upload(
        &self,
        headers: Vec<(&str, String)>,
        mut body: Box<dyn Read>,
        len: u64,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Value> {
        let report = |sent: u64| {
            if let Some(p) = progress {
                p(sent, len)
            }
        };
        let resp = self.request(
            "POST",
            "/1.0/images",
            &headers,
            Body::Reader(&mut body, Some(len)),
            Some(&report),
        )?;
        envelope(resp)
    }

    /// `GET /1.0/images/FP/export` into `target_dir`, named as the local export names it.
    pub(crate) fn export_image(&self, name: &str, target_dir: &Path) -> Result<Vec<PathBuf>> {
        let fp = crate::Backend::image(self, name)?.fingerprint;
        let resp = ok(self.request(
            "GET",
            &format!("/1.0/images/{fp}/export"),
            &[],
            Body::None,
            None,
        )?)?;
        std::fs::create_dir_all(target_dir)?;
        let ctype = resp.header("Content-Type").unwrap_or("").to_string();
        let mut body = resp.body;
        if let Some(boundary) = ctype
            .strip_prefix("multipart/form-data; boundary=")
            .map(|b| b.trim_matches('"').to_string())
        {
            // A split image: parts `metadata` and `rootfs`, named as the local export.
            return split_export(&mut body, &boundary, target_dir, &fp);
        }
        let part = target_dir.join(format!(".{fp}.partial"));
        let r = (|| -> Result<PathBuf> {
            let mut f = std::fs::File::create(&part)?;
            std::io::copy(&mut body, &mut f)
                .map_err(|e| Error::internal(format!("Download image: {e}")))?;
            f.sync_all()?;
            let to = target_dir.join(format!("{fp}{}", incus_core::image::extension(&part)));
            std::fs::rename(&part, &to)?;
            Ok(to)
        })();
        if r.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        Ok(vec![r?])
    }
}

/// Writes the parts of a split image export (`multipart/form-data`, upstream's
/// `metadata` then `rootfs` parts) as `meta-FP.EXT` and `FP.EXT`; on failure no file is
/// left.
fn split_export(
    body: &mut dyn Read,
    boundary: &str,
    target_dir: &Path,
    fp: &str,
) -> Result<Vec<PathBuf>> {
    let mut written: Vec<PathBuf> = Vec::new();
    let r = (|| -> Result<Vec<PathBuf>> {
        let bad = |what: &str| Error::internal(format!("Invalid image export: {what}"));
        let delim = format!("\r\n--{boundary}").into_bytes();
        // The preamble: the first boundary line.
        let mut buf: Vec<u8> = b"\r\n".to_vec();
        let mut chunk = vec![0u8; 256 * 1024];
        let mut fill = |buf: &mut Vec<u8>| -> Result<bool> {
            let n = body
                .read(&mut chunk)
                .map_err(|e| Error::internal(format!("Download image: {e}")))?;
            buf.extend_from_slice(&chunk[..n]);
            Ok(n > 0)
        };
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
        let mut out = Vec::new();
        loop {
            // At a boundary: `\r\n--B` then `--` (end) or `\r\n` and the part's headers.
            while buf.len() < delim.len() + 2 {
                if !fill(&mut buf)? {
                    return Err(bad("truncated"));
                }
            }
            if !buf.starts_with(&delim) {
                return Err(bad("missing boundary"));
            }
            let rest = buf[delim.len()..].to_vec();
            if rest.starts_with(b"--") {
                break;
            }
            buf = rest;
            let end = loop {
                if let Some(i) = find(&buf, b"\r\n\r\n") {
                    break i;
                }
                if buf.len() > 64 * 1024 || !fill(&mut buf)? {
                    return Err(bad("part headers"));
                }
            };
            let headers = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            buf.drain(..end + 4);
            let to = if headers.contains("name=\"metadata\"") {
                target_dir.join(format!(".meta-{fp}.partial"))
            } else if headers.contains("name=\"rootfs") {
                target_dir.join(format!(".{fp}.rootfs.partial"))
            } else {
                return Err(bad("unknown part"));
            };
            written.push(to.clone());
            let mut f = std::fs::File::create(&to)?;
            // Copy until the next delimiter, keeping a tail that may start one.
            loop {
                if let Some(i) = find(&buf, &delim) {
                    f.write_all(&buf[..i])?;
                    buf.drain(..i);
                    break;
                }
                let keep = buf.len().saturating_sub(delim.len());
                f.write_all(&buf[..keep])?;
                buf.drain(..keep);
                if !fill(&mut buf)? {
                    return Err(bad("truncated"));
                }
            }
            f.sync_all()?;
            out.push(to);
        }
        let [meta, rootfs] = out.as_slice() else {
            return Err(bad("a split image has two parts"));
        };
        let meta_to = target_dir.join(format!("meta-{fp}{}", incus_core::image::extension(meta)));
        let rootfs_to = target_dir.join(format!("{fp}{}", incus_core::image::extension(rootfs)));
        std::fs::rename(meta, &meta_to)?;
        written.push(meta_to.clone());
        std::fs::rename(rootfs, &rootfs_to)?;
        written.push(rootfs_to.clone());
        Ok(vec![meta_to, rootfs_to])
    })();
    if r.is_err() {
        for p in written {
            let _ = std::fs::remove_file(p);
        }
    }
    r
}

/// A random token for the multipart boundary.
fn uuid_like() -> String {
    let mut b = [0u8; 12];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
