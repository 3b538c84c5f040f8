//! A client of simplestreams image servers (upstream's `images:` remote,
//! `https://images.linuxcontainers.org`, or a tree made by `incus-simplestreams`).
//!
//! The catalog is `streams/v1/index.json` and the products files it names
//! (`datatype: image-downloads`, usually `streams/v1/images.json`). Each product version
//! gives one image per pair of a metadata item (`incus.tar.xz` or `lxd.tar.xz`) and a
//! rootfs item (`squashfs`, `root.tar.xz`), or one per combined item
//! (`incus_combined.tar.gz`, `lxd_combined.tar.gz`); the fingerprint is the metadata
//! item's `combined_*_sha256` (split) or its `sha256` (combined), as upstream's
//! `Products.ToAPI`. Delta files (`*.vcdiff`) and VM disks are ignored.
//!
//! Aliases as upstream's client derives them: the product's aliases ("debian/12,
//! debian/bookworm") on the newest version of the preferred file type, short for this
//! host's architecture, and `ALIAS/ARCH` for every architecture.
//!
//! Downloads stream to files while each file's sha256 and the image's combined sha256
//! are computed; a mismatch, a body longer than the declared size or a short body
//! removes the file and is refused. TLS trusts the system CAs (`SSL_CERT_FILE`, else
//! `/etc/ssl/certs/ca-certificates.crt`), or exactly the remote's pinned certificate
//! when one is given (`servercerts/NAME.crt`, as upstream's client uses it).

use incus_api::{Error, Image, ImageAlias, ImageAliasesEntry, Result, EPOCH_TIME};
use incus_imagefmt::ImageSource;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The catalog files are small; a larger one is refused.
const INDEX_LIMIT: u64 = 64 << 20;

/// `streams/v1/index.json`.
#[derive(Debug, Deserialize)]
struct Stream {
    #[serde(default)]
    index: BTreeMap<String, StreamIndex>,
}

#[derive(Debug, Deserialize)]
struct StreamIndex {
    #[serde(default)]
    datatype: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    products: Vec<String>,
}

/// A products file (`images.json`).
#[derive(Debug, Deserialize)]
struct Products {
    #[serde(default)]
    products: BTreeMap<String, Product>,
}

#[derive(Debug, Deserialize)]
struct Product {
    #[serde(default)]
    aliases: String,
    #[serde(default)]
    arch: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    release: String,
    #[serde(default)]
    release_title: String,
    #[serde(default)]
    support_eol: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    variant: String,
    #[serde(default)]
    requirements: BTreeMap<String, String>,
    #[serde(default)]
    versions: BTreeMap<String, ProductVersion>,
}

#[derive(Debug, Deserialize)]
struct ProductVersion {
    #[serde(default)]
    items: BTreeMap<String, Item>,
    #[serde(default)]
    label: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Item {
    #[serde(default)]
    ftype: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    combined_sha256: String,
    #[serde(default)]
    combined_rootxz_sha256: String,
    #[serde(default)]
    combined_squashfs_sha256: String,
}

/// One file of an image on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteFile {
    /// Relative to the server's base URL.
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// One image of the catalog: the REST object (as upstream's client shows it) and its
/// files (metadata, then the rootfs of a split image).
#[derive(Debug, Clone)]
pub struct Entry {
    pub image: Image,
    pub meta: RemoteFile,
    pub rootfs: Option<RemoteFile>,
}

/// The images of a server and their aliases.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    /// (alias, architecture, index into `entries`), in upstream's preference order.
    aliases: Vec<(String, String, usize)>,
}

/// Kernel architecture name of a simplestreams (Debian) one, as upstream's `osarch`.
pub fn arch_name(deb: &str) -> Option<&'static str> {
    Some(match deb {
        "amd64" | "x86_64" => "x86_64",
        "arm64" | "aarch64" => "aarch64",
        "i386" | "i686" => "i686",
        "armhf" | "armv7l" | "armel" => "armv7l",
        "ppc64el" | "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loong64" | "loongarch64" => "loongarch64",
        _ => return None,
    })
}

/// This host's architecture (kernel name).
pub fn host_arch() -> String {
    match std::env::consts::ARCH {
        "x86" => "i686".into(),
        "arm" => "armv7l".into(),
        "powerpc64" => "ppc64le".into(),
        "loongarch64" => "loongarch64".into(),
        other => other.into(),
    }
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A server path must stay under the base URL: relative, no `..`, no scheme.
fn check_path(path: &str) -> Result<()> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains("://")
        || path.contains(['?', '#', '\\'])
        || path.split('/').any(|s| s == ".." || s == ".")
        || path.chars().any(|c| c.is_control() || c == ' ')
    {
        return Err(Error::invalid(format!(
            "Invalid path {:?} in the image server's index",
            path.escape_debug().to_string()
        )));
    }
    Ok(())
}

impl Products {
    /// Upstream's `Products.ToAPI`, without the VM and delta files.
    fn entries(&self, out: &mut Vec<Entry>) {
        for product in self.products.values() {
            let Some(arch) = arch_name(&product.arch) else {
                continue;
            };
            for (serial, version) in &product.versions {
                // The version name starts with the date: YYYYMMDD.
                let date = serial
                    .get(0..8)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_digit()));
                let Some(date) = date else { continue };
                let created = format!("{}-{}-{}T00:00:00Z", &date[0..4], &date[4..6], &date[6..8]);
                let add = |meta: &Item, root: Option<&Item>, out: &mut Vec<Entry>| {
                    let fingerprint = match root.map(|r| r.ftype.as_str()) {
                        Some("root.tar.xz") if !meta.combined_rootxz_sha256.is_empty() => {
                            &meta.combined_rootxz_sha256
                        }
                        Some("root.tar.xz") => &meta.combined_sha256,
                        Some("squashfs") => &meta.combined_squashfs_sha256,
                        Some(_) => return,
                        None => &meta.sha256,
                    };
                    let fingerprint = fingerprint.to_ascii_lowercase();
                    let files_ok = check_path(&meta.path).is_ok()
                        && is_hex64(&meta.sha256)
                        && root.is_none_or(|r| check_path(&r.path).is_ok() && is_hex64(&r.sha256));
                    if !is_hex64(&fingerprint) || !files_ok {
                        return;
                    }
                    let mut description =
                        format!("{} {} {}", product.os, product.release_title, product.arch);
                    if !product.variant.is_empty() && product.variant != "default" {
                        description.push_str(&format!(" ({})", product.variant));
                    }
                    if !version.label.is_empty() {
                        description.push_str(&format!(" ({})", version.label));
                    }
                    description.push_str(&format!(" ({serial})"));
                    let mut properties: BTreeMap<String, String> = [
                        ("os", product.os.as_str()),
                        ("release", &product.release),
                        ("version", &product.version),
                        ("architecture", &product.arch),
                        ("label", &version.label),
                        ("serial", serial),
                        ("description", &description),
                        ("variant", &product.variant),
                        ("type", root.map(|r| r.ftype.as_str()).unwrap_or("tar.gz")),
                    ]
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                    for (k, v) in &product.requirements {
                        properties.insert(format!("requirements.{k}"), v.clone());
                    }
                    let expires_at = if product.support_eol.len() == 10 {
                        format!("{}T00:00:00Z", product.support_eol)
                    } else {
                        EPOCH_TIME.to_string()
                    };
                    let filename = meta.path.rsplit('/').next().unwrap_or_default().to_string();
                    let file = |i: &Item| RemoteFile {
                        path: i.path.clone(),
                        sha256: i.sha256.to_ascii_lowercase(),
                        size: i.size,
                    };
                    out.push(Entry {
                        image: Image {
                            aliases: product
                                .aliases
                                .split(',')
                                .map(str::trim)
                                .filter(|a| !a.is_empty())
                                .map(|a| ImageAlias {
                                    name: a.to_string(),
                                    description: String::new(),
                                })
                                .collect(),
                            architecture: arch.to_string(),
                            cached: false,
                            filename,
                            fingerprint,
                            properties,
                            public: true,
                            size: (meta.size + root.map_or(0, |r| r.size)) as i64,
                            image_type: "container".into(),
                            auto_update: false,
                            profiles: Vec::new(),
                            created_at: created.clone(),
                            expires_at,
                            last_used_at: EPOCH_TIME.into(),
                            uploaded_at: created.clone(),
                            update_source: None,
                            project: String::new(),
                        },
                        meta: file(meta),
                        rootfs: root.map(file),
                    });
                };
                for item in version.items.values() {
                    match item.ftype.as_str() {
                        "incus_combined.tar.gz" | "lxd_combined.tar.gz" => add(item, None, out),
                        "incus.tar.xz" | "lxd.tar.xz" => {
                            for sub in version.items.values() {
                                if matches!(sub.ftype.as_str(), "squashfs" | "root.tar.xz") {
                                    add(item, Some(sub), out);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Upstream's image order: os, release, variant, newest serial first, architecture,
/// then squashfs before root.tar.xz.
fn image_order(a: &Image, b: &Image) -> std::cmp::Ordering {
    for prop in ["os", "release", "variant", "serial", "architecture"] {
        let (x, y) = (a.properties.get(prop), b.properties.get(prop));
        if x == y {
            continue;
        }
        return match (x, y) {
            (None, _) => std::cmp::Ordering::Greater,
            (_, None) => std::cmp::Ordering::Less,
            (Some(x), Some(y)) if prop == "serial" => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        };
    }
    let score = |i: &Image| match i.properties.get("type").map(String::as_str) {
        Some("squashfs") => 0,
        Some("root.tar.xz") => 1,
        _ => 2,
    };
    score(a).cmp(&score(b))
}

impl Catalog {
    /// Builds the catalog from the products files' JSON texts.
    pub fn from_products(files: &[Vec<u8>]) -> Result<Catalog> {
        let mut entries = Vec::new();
        for body in files {
            let products: Products = serde_json::from_slice(body)
                .map_err(|e| Error::invalid(format!("Invalid products file: {e}")))?;
            products.entries(&mut entries);
        }
        entries.sort_by(|a, b| image_order(&a.image, &b.image));
        // One entry per fingerprint (a server may list an image twice).
        let mut seen = std::collections::HashSet::new();
        entries.retain(|e| seen.insert(e.image.fingerprint.clone()));
        let native = host_arch();
        let mut aliases: Vec<(String, String, usize)> = Vec::new();
        for (i, e) in entries.iter_mut().enumerate() {
            let names = std::mem::take(&mut e.image.aliases);
            let arch = e.image.architecture.clone();
            let deb_arch = e
                .image
                .properties
                .get("architecture")
                .cloned()
                .unwrap_or_default();
            for a in names {
                for (name, listed) in [
                    (a.name.clone(), arch == native),
                    (format!("{}/{deb_arch}", a.name), true),
                ] {
                    if aliases.iter().any(|(n, ar, _)| *n == name && *ar == arch) {
                        continue;
                    }
                    aliases.push((name.clone(), arch.clone(), i));
                    if listed {
                        e.image.aliases.push(ImageAlias {
                            name,
                            description: String::new(),
                        });
                    }
                }
            }
        }
        Ok(Catalog { entries, aliases })
    }

    /// The images, as `GET /1.0/images?recursion=1` of the server would list them.
    pub fn images(&self) -> Vec<Image> {
        self.entries.iter().map(|e| e.image.clone()).collect()
    }

    /// The aliases (this host's architecture first, one per name).
    pub fn aliases(&self) -> Vec<ImageAliasesEntry> {
        let native = host_arch();
        let mut out: Vec<ImageAliasesEntry> = Vec::new();
        let mut sorted: Vec<&(String, String, usize)> = self.aliases.iter().collect();
        sorted.sort_by_key(|(_, arch, _)| *arch != native);
        for (name, _, i) in sorted {
            if out.iter().any(|a| a.name == *name) {
                continue;
            }
            out.push(ImageAliasesEntry {
                name: name.clone(),
                description: String::new(),
                target: self.entries[*i].image.fingerprint.clone(),
                alias_type: "container".into(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The image an alias (this host's architecture) or a fingerprint (or a unique
    /// prefix of one) names.
    pub fn resolve(&self, name: &str) -> Result<&Entry> {
        let native = host_arch();
        // This host's architecture first, else the alias names another one
        // (`debian/12/arm64`).
        let named = |(n, _, _): &&(String, String, usize)| n == name;
        if let Some((_, _, i)) = self
            .aliases
            .iter()
            .filter(named)
            .find(|(_, arch, _)| *arch == native)
            .or_else(|| self.aliases.iter().find(named))
        {
            return Ok(&self.entries[*i]);
        }
        let name = name.to_ascii_lowercase();
        let matches: Vec<&Entry> = if name.is_empty() {
            Vec::new()
        } else {
            self.entries
                .iter()
                .filter(|e| e.image.fingerprint.starts_with(&name))
                .collect()
        };
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::not_found(format!(
                "Image \"{name}\" not found on the image server"
            ))),
            _ => Err(Error::invalid(format!(
                "More than one image matches the fingerprint prefix \"{name}\""
            ))),
        }
    }
}

/// A simplestreams server: its base URL and an HTTPS agent.
pub struct Server {
    base: String,
    agent: ureq::Agent,
}

/// The CA certificates of the system: `SSL_CERT_FILE`, else Debian's bundle (Go's
/// order, which upstream's client follows).
fn system_roots() -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let path = std::env::var_os("SSL_CERT_FILE")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    let pem = std::fs::read(&path)
        .map_err(|e| Error::internal(format!("Read CA certificates {}: {e}", path.display())))?;
    pem_certs(&pem)
}

fn pem_certs(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid("No certificate in the PEM text"));
    }
    Ok(out)
}

fn untrusted(url: &str, e: &ureq::Error) -> Error {
    Error::forbidden(format!(
        "{url}: TLS: {e} (the server's certificate is not trusted: add its CA to SSL_CERT_FILE, or pin it as servercerts/REMOTE.crt with `remote add --accept-certificate`)"
    ))
}

fn http_err(url: &str, e: ureq::Error) -> Error {
    match e {
        ureq::Error::BodyExceedsLimit(n) => Error::invalid(format!(
            "{url}: the server sent more than the {n} bytes it announced"
        )),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => untrusted(url, &e),
        ureq::Error::Io(ref io)
            if io
                .get_ref()
                .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some()) =>
        {
            untrusted(url, &e)
        }
        e => Error::internal(format!("{url}: {e}")),
    }
}

impl Server {
    /// `base` is the remote's `addr` (`https://HOST[/PATH]`). `pinned` (PEM): trust
    /// exactly this certificate instead of the system CAs.
    pub fn new(base: &str, pinned: Option<&str>) -> Result<Server> {
        if !base.starts_with("https://") {
            return Err(Error::invalid(
                "Only https URLs are supported for simplestreams",
            ));
        }
        let roots = match pinned {
            Some(pem) => pem_certs(pem.as_bytes())?,
            None => system_roots()?,
        };
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(format!("incus-rs/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Server {
            base: base.trim_end_matches('/').to_string(),
            agent: config.into(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path)
    }

    fn get(&self, path: &str) -> Result<ureq::http::Response<ureq::Body>> {
        check_path(path)?;
        let url = self.url(path);
        let resp = self.agent.get(&url).call().map_err(|e| http_err(&url, e))?;
        if resp.status() != 200 {
            let kind = if resp.status() == 404 {
                Error::not_found
            } else {
                Error::internal
            };
            return Err(kind(format!("Unable to fetch {url}: {}", resp.status())));
        }
        Ok(resp)
    }

    fn get_small(&self, path: &str) -> Result<Vec<u8>> {
        let url = self.url(path);
        let body = self
            .get(path)?
            .into_body()
            .into_with_config()
            .limit(INDEX_LIMIT)
            .read_to_vec()
            .map_err(|e| http_err(&url, e))?;
        if body.is_empty() {
            return Err(Error::invalid(format!("No content in download from {url}")));
        }
        Ok(body)
    }

    /// Reads `streams/v1/index.json` and its image products files.
    pub fn catalog(&self) -> Result<Catalog> {
        let index = self.get_small("streams/v1/index.json")?;
        let stream: Stream = serde_json::from_slice(&index).map_err(|e| {
            Error::invalid(format!(
                "Invalid {}: {e}",
                self.url("streams/v1/index.json")
            ))
        })?;
        let mut files = Vec::new();
        for entry in stream.index.values() {
            if entry.datatype != "image-downloads" || entry.products.is_empty() {
                continue;
            }
            files.push(self.get_small(&entry.path)?);
        }
        Catalog::from_products(&files)
    }

    /// Copies the image `name` (alias or fingerprint) into a store: `has(fp)` says
    /// whether the store holds it already (then nothing is downloaded); otherwise the
    /// files go to a temporary directory, `import` stores them (with the catalog entry
    /// for its properties) and must return the announced fingerprint. Returns it.
    pub fn pull(
        &self,
        name: &str,
        has: &dyn Fn(&str) -> Result<bool>,
        import: &mut dyn FnMut(&ImageSource, &Entry) -> Result<String>,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<String> {
        let catalog = self.catalog()?;
        let entry = catalog.resolve(name)?;
        let fp = entry.image.fingerprint.clone();
        if has(&fp)? {
            return Ok(fp);
        }
        let dir = tempfile::Builder::new()
            .prefix("incus-image-download-")
            .tempdir()
            .map_err(|e| Error::internal(format!("Temporary directory: {e}")))?;
        let source = self.download(entry, dir.path(), progress)?;
        let got = import(&source, entry)?;
        if got != fp {
            return Err(Error::internal(format!(
                "Imported image {got} is not the announced {fp}"
            )));
        }
        Ok(fp)
    }

    /// Downloads an image's files into `dir` (metadata, then rootfs) and checks every
    /// sha256 and the fingerprint; on any failure the files are removed. `progress`
    /// gets (bytes done, bytes in all).
    pub fn download(
        &self,
        entry: &Entry,
        dir: &Path,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<ImageSource> {
        let total = entry.meta.size + entry.rootfs.as_ref().map_or(0, |r| r.size);
        let mut combined = Sha256::new();
        let mut done = 0u64;
        let mut paths = Vec::new();
        let mut run = || -> Result<()> {
            for (name, file) in std::iter::once(("meta", &entry.meta))
                .chain(entry.rootfs.as_ref().map(|r| ("rootfs", r)))
            {
                // Upstream's names keep the type (`.tar.xz`, `.squashfs`).
                let ext = file
                    .path
                    .rsplit('/')
                    .next()
                    .and_then(|f| f.split_once('.').map(|(_, e)| e))
                    .filter(|e| e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
                    .unwrap_or("bin");
                let path = dir.join(format!("{name}.{ext}"));
                paths.push(path.clone());
                self.fetch_file(file, &path, &mut combined, &mut |n| {
                    done += n;
                    if let Some(p) = progress {
                        p(done, total)
                    }
                })?;
            }
            let fp = hex::encode(combined.clone().finalize());
            if fp != entry.image.fingerprint {
                return Err(Error::invalid(format!(
                    "Image fingerprint mismatch: the server announced {} and the files hash to {fp}",
                    entry.image.fingerprint
                )));
            }
            Ok(())
        };
        if let Err(e) = run() {
            for p in &paths {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
        Ok(match paths.as_slice() {
            [unified] => ImageSource::Unified(unified.clone()),
            [metadata, rootfs] => ImageSource::Split {
                metadata: metadata.clone(),
                rootfs: rootfs.clone(),
            },
            _ => unreachable!("one or two files"),
        })
    }

    fn fetch_file(
        &self,
        file: &RemoteFile,
        to: &Path,
        combined: &mut Sha256,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let url = self.url(&file.path);
        let resp = self.get(&file.path)?;
        stream_to(
            &url,
            resp,
            Some(file.size),
            &file.sha256,
            to,
            combined,
            progress,
        )
    }
}

/// Largest image taken from a URL without an announced size (as an upload).
const MAX_DIRECT: u64 = 16 << 30;

/// Streams a response body to a new file `to`, checking its size (when announced) and
/// its sha256; `combined` hashes it too.
fn stream_to(
    url: &str,
    resp: ureq::http::Response<ureq::Body>,
    size: Option<u64>,
    sha256: &str,
    to: &Path,
    combined: &mut Sha256,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let mut reader = resp
        .into_body()
        .into_with_config()
        .limit(size.unwrap_or(MAX_DIRECT))
        .reader();
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(|e| Error::internal(format!("Create {}: {e}", to.display())))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let e = match e.into_inner().map(|i| i.downcast::<ureq::Error>()) {
                    Some(Ok(ue)) => http_err(url, *ue),
                    Some(Err(other)) => Error::internal(format!("{url}: {other}")),
                    None => Error::internal(format!("{url}: read failed")),
                };
                return Err(e);
            }
        };
        hash.update(&buf[..n]);
        combined.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| Error::internal(format!("Write {}: {e}", to.display())))?;
        got += n as u64;
        progress(n as u64);
    }
    if let Some(size) = size.filter(|s| got != *s) {
        return Err(Error::invalid(format!(
            "{url}: got {got} bytes, the index announced {size}"
        )));
    }
    let sum = hex::encode(hash.finalize());
    if !sum.eq_ignore_ascii_case(sha256) {
        return Err(Error::invalid(format!(
            "{url}: sha256 mismatch (expected {sha256}, got {sum}); the download is refused"
        )));
    }
    out.sync_all()
        .map_err(|e| Error::internal(format!("Write {}: {e}", to.display())))?;
    Ok(())
}

/// Upstream's `image import URL` (`source.type=url`): a HEAD of `url` answers
/// `Incus-Image-Hash` and `Incus-Image-URL` (or the `LXD-` names); the unified image at
/// that https URL is downloaded into `dir` and must hash to the announced sha256 (else
/// refused, the file removed). System CAs only. Returns the file and its fingerprint.
pub fn fetch_direct(
    url: &str,
    dir: &Path,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<(ImageSource, String)> {
    let server = Server::new(url, None)?;
    let head = server
        .agent
        .head(url)
        .header("Incus-Server-Architectures", host_arch())
        .call()
        .map_err(|e| http_err(url, e))?;
    if head.status() != 200 {
        return Err(Error::invalid(format!(
            "Unable to fetch {url}: {}",
            head.status()
        )));
    }
    let header = |name: &str| {
        ["Incus-", "LXD-"]
            .iter()
            .find_map(|p| head.headers().get(format!("{p}{name}")))
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let hash = header("Image-Hash")
        .ok_or_else(|| Error::invalid(format!("{url}: missing Incus-Image-Hash header")))?
        .to_ascii_lowercase();
    let image_url = header("Image-URL")
        .ok_or_else(|| Error::invalid(format!("{url}: missing Incus-Image-URL header")))?;
    if !is_hex64(&hash) {
        return Err(Error::invalid(format!(
            "{url}: invalid Incus-Image-Hash {hash:?}"
        )));
    }
    if !image_url.starts_with("https://") {
        return Err(Error::invalid(format!(
            "{url}: the image URL {image_url:?} is not https"
        )));
    }
    let resp = server
        .agent
        .get(&image_url)
        .call()
        .map_err(|e| http_err(&image_url, e))?;
    if resp.status() != 200 {
        return Err(Error::invalid(format!(
            "Unable to fetch {image_url}: {}",
            resp.status()
        )));
    }
    let total = resp
        .headers()
        .get("Content-Length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let to = dir.join("image");
    let mut done = 0;
    let r = stream_to(
        &image_url,
        resp,
        None,
        &hash,
        &to,
        &mut Sha256::new(),
        &mut |n| {
            done += n;
            if let Some(p) = progress {
                p(done, total)
            }
        },
    );
    if let Err(e) = r {
        let _ = std::fs::remove_file(&to);
        return Err(e);
    }
    Ok((ImageSource::Unified(to), hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products() -> Vec<u8> {
        let h = |c: char| c.to_string().repeat(64);
        serde_json::json!({
            "content_id": "images", "datatype": "image-downloads", "format": "products:1.0",
            "products": {
                "debian:12:amd64:default": {
                    "aliases": "debian/12/default,debian/12,debian/bookworm",
                    "arch": "amd64", "os": "Debian", "release": "bookworm",
                    "release_title": "12", "variant": "default",
                    "versions": {
                        "20240101_05:24": {"items": {
                            "incus.tar.xz": {"ftype": "incus.tar.xz", "path": "images/old/incus.tar.xz",
                                "sha256": h('1'), "size": 10, "combined_squashfs_sha256": h('2')},
                            "root.squashfs": {"ftype": "squashfs", "path": "images/old/rootfs.squashfs",
                                "sha256": h('3'), "size": 100}
                        }},
                        "20240202_05:24": {"items": {
                            "lxd.tar.xz": {"ftype": "lxd.tar.xz", "path": "images/new/lxd.tar.xz",
                                "sha256": h('4'), "size": 10, "combined_squashfs_sha256": h('5'),
                                "combined_rootxz_sha256": h('6')},
                            "root.squashfs": {"ftype": "squashfs", "path": "images/new/rootfs.squashfs",
                                "sha256": h('7'), "size": 100},
                            "root.tar.xz": {"ftype": "root.tar.xz", "path": "images/new/rootfs.tar.xz",
                                "sha256": h('8'), "size": 90},
                            "delta": {"ftype": "squashfs.vcdiff", "path": "images/new/x.vcdiff",
                                "sha256": h('9'), "size": 5, "delta_base": "20240101_05:24"}
                        }}
                    }
                },
                "debian:12:arm64:default": {
                    "aliases": "debian/12", "arch": "arm64", "os": "Debian", "release": "bookworm",
                    "release_title": "12", "variant": "default",
                    "versions": {"20240202_05:24": {"items": {
                        "c": {"ftype": "incus_combined.tar.gz", "path": "images/arm/c.tar.gz",
                            "sha256": h('a'), "size": 50}
                    }}}
                },
                "hostile:amd64": {
                    "aliases": "evil", "arch": "amd64", "os": "x", "release": "x",
                    "versions": {"20240202": {"items": {
                        "c": {"ftype": "incus_combined.tar.gz", "path": "../../etc/passwd",
                            "sha256": h('b'), "size": 50}
                    }}}
                }
            }
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn catalog_as_upstream_lists_it() {
        let cat = Catalog::from_products(&[products()]).unwrap();
        // 2 (old squashfs, new squashfs) + new root.tar.xz + arm64 combined; the
        // hostile path and the delta are dropped.
        assert_eq!(cat.entries.len(), 4, "{:#?}", cat.images());
        if host_arch() != "x86_64" {
            return;
        }
        // The newest version, squashfs preferred.
        let e = cat.resolve("debian/12").unwrap();
        assert_eq!(e.image.fingerprint, "5".repeat(64));
        assert_eq!(
            e.rootfs.as_ref().unwrap().path,
            "images/new/rootfs.squashfs"
        );
        assert_eq!(e.image.properties["type"], "squashfs");
        assert_eq!(e.image.created_at, "2024-02-02T00:00:00Z");
        assert_eq!(e.image.size, 110);
        assert_eq!(
            e.image.properties["description"],
            "Debian 12 amd64 (20240202_05:24)"
        );
        assert_eq!(
            cat.resolve("debian/12/amd64").unwrap().image.fingerprint,
            "5".repeat(64)
        );
        // The arm64 image has only its long alias; no short one on amd64.
        assert_eq!(
            cat.resolve("debian/12/arm64").unwrap().image.fingerprint,
            "a".repeat(64)
        );
        let arm = cat
            .images()
            .into_iter()
            .find(|i| i.architecture == "aarch64")
            .unwrap();
        let names: Vec<_> = arm.aliases.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["debian/12/arm64"]);
        // By fingerprint prefix; the old image has no alias left.
        assert_eq!(
            cat.resolve("2222").unwrap().image.fingerprint,
            "2".repeat(64)
        );
        assert!(cat
            .entries
            .iter()
            .any(|e| e.image.fingerprint == "6".repeat(64)));
        assert_eq!(cat.resolve("evil").unwrap_err().kind.exit_code(), 3);
        assert_eq!(cat.resolve("nope").unwrap_err().kind.exit_code(), 3);
        let aliases = cat.aliases();
        assert!(aliases
            .iter()
            .any(|a| a.name == "debian/bookworm" && a.target == "5".repeat(64)));
    }

    #[test]
    fn paths_stay_under_the_base() {
        for bad in [
            "/etc/passwd",
            "a/../b",
            "https://x/y",
            "a?b",
            "",
            "a/./b",
            "a b",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        check_path("images/2024/rootfs.squashfs").unwrap();
    }

    #[test]
    fn only_https() {
        assert!(Server::new("http://example.org", None).is_err());
    }
}
