//! `file push/pull/delete/edit/create`, as upstream's client: paths are
//! `INSTANCE/PATH`, and recursion walks one entry at a time through the backend (so a
//! remote backend needs only upstream's `.../files` calls).

use clap::{Args, Subcommand};
use incus_api::{Error, ErrorKind, Result};
use incus_client::{Backend, FileInfo, FileKind, FilePut};
use incus_sys::destdir::{is_entry_name, DestDir};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FileArgs {
    #[command(subcommand)]
    pub command: FileCmd,
}

#[derive(Debug, Args)]
pub struct Owner {
    /// Set the file's uid on push (default: the source's)
    #[arg(long, allow_negative_numbers = true, default_value_t = -1)]
    pub uid: i64,
    /// Set the file's gid on push (default: the source's)
    #[arg(long, allow_negative_numbers = true, default_value_t = -1)]
    pub gid: i64,
    /// Set the file's permissions on push, in octal (default: the source's)
    #[arg(long)]
    pub mode: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum FileCmd {
    /// Push files into instances: SOURCE... INSTANCE/PATH
    Push {
        #[arg(required = true, num_args = 2..)]
        args: Vec<String>,
        /// Push directories recursively
        #[arg(short, long)]
        recursive: bool,
        /// Create any missing parent directories
        #[arg(short = 'p', long)]
        create_dirs: bool,
        #[command(flatten)]
        owner: Owner,
    },
    /// Pull files from instances: INSTANCE/PATH... TARGET (`-` is standard output)
    Pull {
        #[arg(required = true, num_args = 2..)]
        args: Vec<String>,
        /// Pull directories recursively
        #[arg(short, long)]
        recursive: bool,
        /// Create any missing parent directories
        #[arg(short = 'p', long)]
        create_dirs: bool,
    },
    /// Delete files in instances: INSTANCE/PATH...
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        paths: Vec<String>,
        /// Delete directories with their contents
        #[arg(short, long)]
        force: bool,
    },
    /// Edit a file in an instance (standard input when it is not a terminal)
    Edit {
        /// INSTANCE/PATH
        path: String,
    },
    /// Create a file, directory or symlink in an instance: INSTANCE/PATH [SYMLINK-TARGET]
    Create {
        /// INSTANCE/PATH
        path: String,
        /// Target of a symlink
        target: Option<String>,
        /// The type to create: file, directory or symlink
        #[arg(long = "type", default_value = "file")]
        kind: String,
        /// Create any missing parent directories
        #[arg(short = 'p', long)]
        create_dirs: bool,
        /// Replace an existing entry
        #[arg(short, long)]
        force: bool,
        #[command(flatten)]
        owner: Owner,
    },
}

/// `INSTANCE/PATH` -> (instance, path).
fn split(spec: &str) -> Result<(String, String)> {
    match spec.split_once('/') {
        Some((inst, path)) if !inst.is_empty() => Ok((inst.to_string(), format!("/{path}"))),
        _ => Err(Error::usage(format!(
            "Invalid path \"{spec}\": expected INSTANCE/PATH"
        ))),
    }
}

fn opt_id(v: i64, what: &str) -> Result<Option<u32>> {
    match v {
        -1 => Ok(None),
        v if (0..=u32::MAX as i64).contains(&v) => Ok(Some(v as u32)),
        _ => Err(Error::usage(format!("Invalid --{what} {v}"))),
    }
}

fn parse_mode(m: &Option<String>) -> Result<Option<u32>> {
    m.as_deref()
        .map(|m| {
            u32::from_str_radix(m.trim_start_matches("0o"), 8)
                .ok()
                .filter(|v| *v <= 0o7777)
                .ok_or_else(|| Error::usage(format!("Invalid --mode \"{m}\": expected octal")))
        })
        .transpose()
}

fn base_name(p: &str) -> String {
    Path::new(p.trim_end_matches('/'))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

pub fn file(backend: &dyn Backend, file_args: FileArgs) -> Result<ExitCode> {
    match file_args.command {
        FileCmd::Push {
            mut args,
            recursive,
            create_dirs,
            owner,
        } => {
            let target = args.pop().expect("clap: at least two");
            let (inst, tpath) = split(&target)?;
            let ov = Overrides {
                uid: opt_id(owner.uid, "uid")?,
                gid: opt_id(owner.gid, "gid")?,
                mode: parse_mode(&owner.mode)?,
                make_parents: create_dirs,
            };
            let into_dir = args.len() > 1 || tpath.ends_with('/') || recursive;
            for src in &args {
                if src == "-" {
                    if into_dir {
                        return Err(Error::usage("Pushing standard input needs a file target"));
                    }
                    let mut put = ov.put(FileKind::File, None);
                    put.mode = put.mode.or(Some(0o644));
                    backend.instance_file_put(&inst, &tpath, &put, &mut std::io::stdin())?;
                    continue;
                }
                let meta = std::fs::symlink_metadata(src)
                    .map_err(|e| Error::not_found(format!("{src}: {e}")))?;
                let dest = if into_dir {
                    join(&tpath, &base_name(src))
                } else {
                    tpath.clone()
                };
                if meta.is_dir() && !recursive {
                    return Err(Error::invalid(format!(
                        "{src} is a directory: use -r to push it recursively"
                    )));
                }
                push_one(backend, &inst, Path::new(src), &dest, &ov)?;
            }
        }
        FileCmd::Pull {
            mut args,
            recursive,
            create_dirs,
        } => {
            let target = args.pop().expect("clap: at least two");
            if target == "-" {
                if recursive || args.len() > 1 {
                    return Err(Error::usage(
                        "Only one file can be pulled to standard output",
                    ));
                }
                let (inst, path) = split(&args[0])?;
                let mut out = std::io::stdout().lock();
                let info = backend.instance_file_get(&inst, &path, &mut out)?;
                if info.kind != FileKind::File {
                    return Err(Error::invalid(format!(
                        "{path} is a {}: only files can be pulled to standard output",
                        info.kind.as_str()
                    )));
                }
                out.flush()?;
                return Ok(ExitCode::SUCCESS);
            }
            let target = PathBuf::from(target);
            if create_dirs {
                let dir = if args.len() > 1 || recursive {
                    target.as_path()
                } else {
                    target.parent().unwrap_or(Path::new("."))
                };
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)?;
                }
            }
            let target_is_dir = target.is_dir();
            if args.len() > 1 && !target_is_dir {
                return Err(Error::invalid(format!(
                    "{} is not a directory (several sources)",
                    target.display()
                )));
            }
            for src in &args {
                let (inst, path) = split(src)?;
                let dest = if target_is_dir {
                    target.join(base_name(&path))
                } else {
                    target.clone()
                };
                pull_one(backend, &inst, &path, &dest, recursive)?;
            }
        }
        FileCmd::Delete { paths, force } => {
            for p in paths {
                let (inst, path) = split(&p)?;
                backend.instance_file_delete(&inst, &path, force)?;
            }
        }
        FileCmd::Edit { path } => {
            let (inst, p) = split(&path)?;
            let mut current = Vec::new();
            let info = match backend.instance_file_get(&inst, &p, &mut current) {
                Ok(i) => Some(i),
                Err(e) if e.kind == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            if let Some(i) = &info {
                if i.kind != FileKind::File {
                    return Err(Error::invalid(format!(
                        "{p} is a {}: only files can be edited",
                        i.kind.as_str()
                    )));
                }
            }
            let text = if std::io::stdin().is_terminal() {
                let cur = String::from_utf8(current)
                    .map_err(|_| Error::invalid(format!("{p} is not text: pull it instead")))?;
                incus_cli::edit_text(&cur)?
            } else {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            };
            backend.instance_file_put(&inst, &p, &FilePut::file(), &mut text.as_bytes())?;
        }
        FileCmd::Create {
            path,
            target,
            kind,
            create_dirs,
            force,
            owner,
        } => {
            let (inst, p) = split(&path)?;
            let kind = if target.is_some() && kind == "file" {
                FileKind::Symlink
            } else {
                FileKind::parse(&kind)?
            };
            if (kind == FileKind::Symlink) != target.is_some() {
                return Err(Error::usage(
                    "A symlink needs a target, and only a symlink takes one",
                ));
            }
            let mut put = Overrides {
                uid: opt_id(owner.uid, "uid")?,
                gid: opt_id(owner.gid, "gid")?,
                mode: parse_mode(&owner.mode)?,
                make_parents: create_dirs,
            }
            .put(kind, None);
            put.target = target.unwrap_or_default();
            put.force = force;
            let kind = if p.ends_with('/') && kind == FileKind::File {
                FileKind::Directory
            } else {
                kind
            };
            put.kind = kind;
            backend.instance_file_put(&inst, &p, &put, &mut std::io::empty())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The push flags; `None` takes the source's value.
struct Overrides {
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u32>,
    make_parents: bool,
}

impl Overrides {
    fn put(&self, kind: FileKind, meta: Option<&std::fs::Metadata>) -> FilePut {
        FilePut {
            kind,
            uid: self.uid.or(meta.map(|m| m.uid())),
            gid: self.gid.or(meta.map(|m| m.gid())),
            mode: self.mode.or(meta.map(|m| m.permissions().mode() & 0o7777)),
            make_parents: self.make_parents,
            ..FilePut::file()
        }
    }
}

fn push_one(
    backend: &dyn Backend,
    inst: &str,
    src: &Path,
    dest: &str,
    ov: &Overrides,
) -> Result<()> {
    let meta = std::fs::symlink_metadata(src)
        .map_err(|e| Error::not_found(format!("{}: {e}", src.display())))?;
    let ft = meta.file_type();
    if ft.is_symlink() {
        let mut put = ov.put(FileKind::Symlink, Some(&meta));
        put.target = std::fs::read_link(src)?.to_string_lossy().into_owned();
        put.force = true;
        backend.instance_file_put(inst, dest, &put, &mut std::io::empty())
    } else if ft.is_dir() {
        backend.instance_file_put(
            inst,
            dest,
            &ov.put(FileKind::Directory, Some(&meta)),
            &mut std::io::empty(),
        )?;
        let mut names: Vec<_> = std::fs::read_dir(src)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()?;
        names.sort();
        for n in names {
            push_one(
                backend,
                inst,
                &src.join(&n),
                &join(dest, &n.to_string_lossy()),
                ov,
            )?;
        }
        Ok(())
    } else if ft.is_file() {
        let mut f = std::fs::File::open(src)?;
        backend.instance_file_put(inst, dest, &ov.put(FileKind::File, Some(&meta)), &mut f)
    } else {
        Err(Error::unsupported(format!(
            "{}: only files, directories and symlinks can be pushed",
            src.display()
        )))
    }
}

fn pull_one(b: &dyn Backend, inst: &str, path: &str, dest: &Path, recursive: bool) -> Result<()> {
    // The destination the user named is opened by path (its symlinks are theirs);
    // everything below it is made through directory descriptors.
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::invalid(format!("{}: not a file name", dest.display())))?;
    let dir =
        DestDir::open(parent).map_err(|e| Error::invalid(format!("{}: {e}", parent.display())))?;
    pull_at(b, inst, path, &dir, &name, dest, recursive)
}

/// Pulls `path` into the entry `name` of `dir` (`shown` is its path, for messages).
/// Entry names come from the guest or a server: each must be a single name, and
/// nothing it planted (a symlink named like a directory or our temporary file) is
/// ever followed.
fn pull_at(
    b: &dyn Backend,
    inst: &str,
    path: &str,
    dir: &DestDir,
    name: &str,
    shown: &Path,
    recursive: bool,
) -> Result<()> {
    let fail = |e: std::io::Error| Error::invalid(format!("{}: {e}", shown.display()));
    if !is_entry_name(name) {
        return Err(Error::invalid(format!(
            "Refusing to pull {path}: invalid entry name \"{}\"",
            name.escape_debug()
        )));
    }
    // Stream a file straight to a temporary name beside its destination (made new,
    // never through whatever was there).
    let tmp = format!(".{name}.incus-pull");
    dir.remove(&tmp).map_err(fail)?;
    let mut f = dir.create_new(&tmp).map_err(fail)?;
    let info: FileInfo = match b.instance_file_get(inst, path, &mut f) {
        Ok(i) => i,
        Err(e) => {
            let _ = dir.remove(&tmp);
            return Err(e);
        }
    };
    match info.kind {
        FileKind::File => {
            // Permission bits only, as upstream's client: no setuid file from a guest.
            f.set_permissions(std::fs::Permissions::from_mode(info.mode & 0o777))
                .map_err(fail)?;
            drop(f);
            dir.rename(&tmp, name).map_err(fail)?;
        }
        FileKind::Symlink => {
            drop(f);
            dir.remove(&tmp).map_err(fail)?;
            dir.remove(name).map_err(fail)?;
            dir.symlink(&info.target, name).map_err(fail)?;
        }
        FileKind::Directory => {
            drop(f);
            dir.remove(&tmp).map_err(fail)?;
            if !recursive {
                return Err(Error::invalid(format!(
                    "{path} is a directory: use -r to pull it recursively"
                )));
            }
            let sub = dir.subdir(name).map_err(fail)?;
            for n in &info.entries {
                pull_at(b, inst, &join(path, n), &sub, n, &shown.join(n), true)?;
            }
            sub.chmod(info.mode & 0o777).map_err(fail)?;
        }
    }
    Ok(())
}
