//! Which backend a command talks to: the `[REMOTE:]NAME` arguments name a remote of the
//! client configuration (none: the default remote); `local` is this host's state,
//! reached in-process, any other remote is the REST API over HTTPS or a unix socket.

use crate::config::{ClientConfig, LOCAL};
use crate::remote::{Remote, RemoteSpec};
use crate::{Backend, Local};
use incus_api::{Error, Result};

/// Resolves the `[REMOTE:]NAME` arguments of one command: strips each `REMOTE:` in
/// place, checks they all name one remote (mixing remotes is refused, exit 8) and
/// connects to it. A name without `REMOTE:` means the default remote.
pub fn connect_args(project: &str, args: Vec<&mut String>) -> Result<Box<dyn Backend>> {
    connect_with(project, args, Vec::new())
}

/// Like [`connect_args`], with arguments that follow the others when they name no
/// remote (the image of `launch IMAGE srv:c1` is looked up on `srv`).
pub fn connect_with(
    project: &str,
    args: Vec<&mut String>,
    follow: Vec<&mut String>,
) -> Result<Box<dyn Backend>> {
    let cfg = ClientConfig::load()?;
    let name = resolve(&cfg, args, follow)?;
    connect_remote(&cfg, &name, project)
}

/// The remote named by `args`, prefixes stripped (see [`connect_args`]).
pub fn strip_remote(cfg: &ClientConfig, args: Vec<&mut String>) -> Result<String> {
    resolve(cfg, args, Vec::new())
}

/// The remote named by `args` and `follow` (see [`connect_with`]), prefixes stripped.
pub fn resolve(
    cfg: &ClientConfig,
    args: Vec<&mut String>,
    follow: Vec<&mut String>,
) -> Result<String> {
    let mut chosen: Option<String> = None;
    let mut agree = |remote: String| -> Result<()> {
        match &chosen {
            Some(c) if *c != remote => Err(Error::unsupported(format!(
                "Mixing remotes in one command is not supported (\"{c}\" and \"{remote}\")"
            ))),
            _ => {
                chosen = Some(remote);
                Ok(())
            }
        }
    };
    for arg in args {
        let (remote, rest) = cfg.parse_remote(arg)?;
        agree(remote)?;
        *arg = rest;
    }
    for arg in follow {
        if let Some((remote, rest)) = cfg.parse_explicit(arg)? {
            agree(remote)?;
            *arg = rest;
        }
    }
    Ok(chosen.unwrap_or_else(|| cfg.current_remote()))
}

/// The backend of the remote `name`.
pub fn connect_remote(cfg: &ClientConfig, name: &str, project: &str) -> Result<Box<dyn Backend>> {
    let r = cfg.remote(name)?;
    if name == LOCAL {
        // `project switch` stores the current project per remote, local included.
        let project = if project == "default" && !r.project.is_empty() {
            r.project.as_str()
        } else {
            project
        };
        return Ok(Box::new(Local::from_env(project)?));
    }
    Ok(Box::new(Remote::connect(remote_spec(cfg, name, project)?)?))
}

/// The backend of the remote `name` acting in exactly `project` (the remote's current
/// project does not replace `default`): listings across projects.
pub fn connect_exact(cfg: &ClientConfig, name: &str, project: &str) -> Result<Box<dyn Backend>> {
    cfg.remote(name)?;
    if name == LOCAL {
        return Ok(Box::new(Local::from_env(project)?));
    }
    let mut spec = remote_spec(cfg, name, project)?;
    spec.project = project.to_string();
    Ok(Box::new(Remote::connect(spec)?))
}

/// One backend per project of the remote `name` (`--all-projects`), by project name.
pub fn connect_all_projects(cfg: &ClientConfig, name: &str) -> Result<Vec<Box<dyn Backend>>> {
    crate::project::connect(cfg, name)?
        .list()?
        .iter()
        .map(|p| connect_exact(cfg, name, &p.name))
        .collect()
}

/// How to reach the remote `name`: its address, the pinned server certificate and the
/// client certificate. `local` is the socket of this host's `incus-serve`.
pub fn remote_spec(cfg: &ClientConfig, name: &str, project: &str) -> Result<RemoteSpec> {
    let r = cfg.remote(name)?;
    if !r.protocol.is_empty() && r.protocol != "incus" {
        return Err(Error::unsupported(format!(
            "The remote \"{name}\" is a {} image server: only image list, info, show, copy and launch use it",
            r.protocol
        )));
    }
    // The remote's own project applies when the command names none.
    let project = if project == "default" && !r.project.is_empty() {
        r.project.clone()
    } else {
        project.to_string()
    };
    if name == LOCAL {
        let ctx = incus_core::Context::from_env()?;
        return Ok(RemoteSpec {
            addr: format!("unix://{}", ctx.incus_dir.join("unix.socket").display()),
            client_cert: None,
            client_key: None,
            server_cert: None,
            project,
        });
    }
    if r.addr.starts_with("unix:") {
        return Ok(RemoteSpec {
            addr: r.addr.clone(),
            client_cert: None,
            client_key: None,
            server_cert: None,
            project,
        });
    }
    let server_cert = cfg.server_cert(name)?.ok_or_else(|| {
        Error::forbidden(format!(
            "No pinned certificate for the remote \"{name}\" ({}); add the remote again",
            cfg.server_cert_path(name).display()
        ))
    })?;
    let (cert, key) = cfg.client_cert()?;
    Ok(RemoteSpec {
        addr: r.addr.clone(),
        client_cert: Some(cert),
        client_key: Some(key),
        server_cert: Some(server_cert),
        project,
    })
}

/// The image server of a `simplestreams` remote (None for an incus remote). Its
/// pinned certificate (`servercerts/NAME.crt`), when there is one, is trusted instead
/// of the system CAs, as upstream's client does.
pub fn image_server(cfg: &ClientConfig, name: &str) -> Result<Option<incus_simplestreams::Server>> {
    let r = cfg.remote(name)?;
    if r.protocol != "simplestreams" {
        return Ok(None);
    }
    let pinned = cfg.server_cert(name)?;
    incus_simplestreams::Server::new(&r.addr, pinned.as_deref()).map(Some)
}

/// Copies the image `name` of the remote `src` (an incus or simplestreams remote) to
/// `dst`; see [`copy_image`]. From a simplestreams server the files are downloaded
/// (every sha256 checked) only when `dst` lacks the fingerprint. Returns the fingerprint.
pub fn copy_image_from(
    cfg: &ClientConfig,
    src: &str,
    project: &str,
    name: &str,
    dst: &dyn Backend,
    opts: &crate::ImportOptions,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<String> {
    let Some(server) = image_server(cfg, src)? else {
        let src = connect_remote(cfg, src, project)?;
        return copy_image(src.as_ref(), dst, name, opts, progress);
    };
    let has = |fp: &str| match dst.image(fp) {
        Ok(_) => {
            for alias in &opts.aliases {
                dst.image_alias_create(alias, fp, "")?;
            }
            Ok(true)
        }
        Err(e) if e.kind == incus_api::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    };
    server.pull(
        name,
        &has,
        &mut |source, entry| {
            let mut opts = opts.clone();
            // What upstream's server records of an image from simplestreams.
            for (k, v) in &entry.image.properties {
                opts.properties
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            Ok(dst.image_import(source, &opts, None)?.fingerprint)
        },
        progress,
    )
}

/// Copies an image between two backends (`image copy`, `launch local:IMAGE srv:NAME`):
/// exported from `src` into a temporary directory and uploaded to `dst`, skipped when
/// `dst` has that fingerprint already. Returns the fingerprint.
pub fn copy_image(
    src: &dyn Backend,
    dst: &dyn Backend,
    name: &str,
    opts: &crate::ImportOptions,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<String> {
    let fp = src.image(name)?.fingerprint;
    match dst.image(&fp) {
        Ok(_) => {
            for alias in &opts.aliases {
                dst.image_alias_create(alias, &fp, "")?;
            }
        }
        Err(e) if e.kind == incus_api::ErrorKind::NotFound => {
            let dir = tempfile::tempdir()
                .map_err(|e| Error::internal(format!("Temporary directory: {e}")))?;
            let files = src.image_export(&fp, dir.path())?;
            let source = match files.as_slice() {
                [unified] => crate::ImageSource::Unified(unified.clone()),
                [metadata, rootfs] => crate::ImageSource::Split {
                    metadata: metadata.clone(),
                    rootfs: rootfs.clone(),
                },
                _ => return Err(Error::internal("Unexpected image export")),
            };
            dst.image_import(&source, opts, progress)?;
        }
        Err(e) => return Err(e),
    }
    Ok(fp)
}
