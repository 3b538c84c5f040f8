//! Rendering `metadata.yaml` templates into a rootfs.
//!
//! Upstream renders with pongo2 (Django-like); we use minijinja, which shares the syntax image
//! templates use in practice (`{{ instance.name }}`, `{% if config_get("k", "") %}`, `{% for %}`).
//! Not supported: pongo2's Django filter-argument syntax (`{{ x|default:"y" }}`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use minijinja::value::Value;
use minijinja::{context, AutoEscape, Environment};

use crate::error::{Error, Result};
use crate::metadata::{ImageMetadata, TemplateEntry};
use crate::paths::split_path;
use crate::safefs::{self, c_bytes, walk, Dir, Kind, WalkError};
use crate::unpack::read_in_tree;

/// Largest template source or included file we read.
const MAX_TEMPLATE_SIZE: u64 = 4 << 20;

/// Bounds template execution: templates come from images, and a hostile one could loop forever.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// What templates see about the instance (upstream's pongo2 context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateContext {
    /// `instance.name`.
    pub instance_name: String,
    /// `instance.type`: "container" (or "virtual-machine").
    pub instance_type: String,
    /// `instance.architecture`, e.g. "x86_64".
    pub architecture: String,
    /// `instance.privileged` (rendered "true"/"false" as upstream).
    pub privileged: bool,
    /// `instance.ephemeral` (rendered "true"/"false" as upstream).
    pub ephemeral: bool,
    /// The expanded instance config: `config` and `config_get()`.
    pub config: BTreeMap<String, String>,
    /// The expanded devices: `devices.<name>.<key>`.
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    /// The image's properties, exposed as `image.properties` (an addition; upstream has none).
    pub properties_image: BTreeMap<String, String>,
}

fn template_error(path: &str, tpl: &TemplateEntry, reason: impl Into<String>) -> Error {
    Error::Template {
        path: path.to_string(),
        template: tpl.template.clone(),
        reason: reason.into(),
    }
}

fn environment(rootfs: Dir, config: BTreeMap<String, String>) -> Environment<'static> {
    let mut env = Environment::new();
    // pongo2 keeps the final newline and upstream wraps templates in `autoescape off`.
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(TEMPLATE_FUEL));
    // Like upstream's ChrootLoader: `{% include %}` reads files of the rootfs, and never leaves it.
    env.set_loader(move |name| {
        let comps = match split_path(name.trim_start_matches('/').as_bytes()) {
            Ok(c) if !c.is_empty() => c,
            _ => return Ok(None),
        };
        match read_in_tree(&rootfs, &comps, MAX_TEMPLATE_SIZE) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("cannot include {name:?}: {e}"),
            )),
        }
    });
    env.add_function(
        "config_get",
        move |key: String, default: Option<Value>| -> Value {
            match config.get(&key) {
                Some(v) => Value::from(v.trim_end_matches(['\r', '\n'])),
                None => default.unwrap_or(Value::UNDEFINED),
            }
        },
    );
    env
}

/// Render the templates of `meta` that fire on `trigger` into `rootfs`.
///
/// - An entry renders only if `trigger` is in its `when` list.
/// - `create_only` entries render only when `first_create` is set and the file does not exist
///   yet (upstream checks only existence; `first_create` also keeps a file the user deleted from
///   coming back on a later start).
/// - An existing file is truncated and rewritten keeping its owner and mode (as upstream); a new
///   file gets the entry's `uid`/`gid`/`mode` (defaults 0/0/0644), missing parents get 0755.
/// - Paths are resolved inside `rootfs` without following symlinks: a target that is a symlink or
///   lies below one is refused with [`Error::Unsafe`]. Template sources are read the same way from
///   `templates_dir`.
///
/// Returns the host paths written, in the order of `meta.templates`.
pub fn render_templates(
    rootfs: &Path,
    templates_dir: &Path,
    meta: &ImageMetadata,
    trigger: &str,
    ctx: &TemplateContext,
    first_create: bool,
) -> Result<Vec<PathBuf>> {
    meta.validate()?;
    let wanted: Vec<(&String, &TemplateEntry)> = meta
        .templates
        .iter()
        .filter(|(_, t)| t.when.iter().any(|w| w == trigger))
        .filter(|(_, t)| !t.create_only || first_create)
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let root = Dir::open(rootfs).map_err(|e| Error::io(rootfs, e))?;
    let tdir = Dir::open(templates_dir).map_err(|e| Error::io(templates_dir, e))?;
    let env = environment(
        root.try_clone().map_err(|e| Error::io(rootfs, e))?,
        ctx.config.clone(),
    );
    let instance = context! {
        name => ctx.instance_name,
        type => ctx.instance_type,
        architecture => ctx.architecture,
        privileged => if ctx.privileged { "true" } else { "false" },
        ephemeral => if ctx.ephemeral { "true" } else { "false" },
    };
    let privileged = safefs::is_root();
    let mut written = Vec::new();

    for (path, tpl) in wanted {
        // validate() guaranteed a non-empty relative path without `..`.
        let comps = split_path(path.trim_start_matches('/').as_bytes())
            .map_err(|r| template_error(path, tpl, r))?;
        let Some((last, parents)) = comps.split_last() else {
            return Err(template_error(path, tpl, "empty path"));
        };
        let host = comps.iter().fold(rootfs.to_path_buf(), |p, c| {
            p.join(String::from_utf8_lossy(c).as_ref())
        });
        let parent = walk(&root, parents, Some(0o755)).map_err(|e| match e {
            WalkError::NotADirectory(c) => Error::Unsafe {
                entry: path.clone(),
                reason: format!(
                    "template target goes through {:?}, a symlink or non-directory",
                    String::from_utf8_lossy(&c)
                ),
            },
            WalkError::Missing(_) => template_error(path, tpl, "parent directory missing"),
            WalkError::Io(e) => Error::io(&host, e),
        })?;
        let name = c_bytes(last).map_err(|e| Error::io(&host, e))?;
        let existing = parent.lstat(&name).map_err(|e| Error::io(&host, e))?;
        match existing {
            Some(Kind::Symlink) => {
                return Err(Error::Unsafe {
                    entry: path.clone(),
                    reason: "template target is a symlink".into(),
                })
            }
            Some(Kind::File) | None => {}
            Some(_) => {
                return Err(template_error(
                    path,
                    tpl,
                    "target exists and is not a regular file",
                ))
            }
        }
        if existing.is_some() && tpl.create_only {
            continue;
        }

        let src_comps =
            split_path(tpl.template.as_bytes()).map_err(|r| template_error(path, tpl, r))?;
        let source = read_in_tree(&tdir, &src_comps, MAX_TEMPLATE_SIZE)
            .map_err(|e| template_error(path, tpl, format!("cannot read template: {e}")))?;
        let source = String::from_utf8(source)
            .map_err(|_| template_error(path, tpl, "template is not UTF-8"))?;
        let vars = context! {
            trigger => trigger,
            path => path,
            instance => instance.clone(),
            container => instance.clone(),
            config => ctx.config,
            devices => ctx.devices,
            properties => tpl.properties,
            image => context! { properties => ctx.properties_image },
        };
        // Render fully before touching the target so a broken template leaves the file alone.
        let out = env
            .render_named_str(&tpl.template, &source, vars)
            .map_err(|e| template_error(path, tpl, render_error(&e)))?;

        if existing.is_some() {
            let mut f = parent
                .open_truncate(&name)
                .map_err(|e| Error::io(&host, e))?;
            f.write_all(out.as_bytes())
                .map_err(|e| Error::io(&host, e))?;
        } else {
            let uid = tpl.file_uid().map_err(|r| template_error(path, tpl, r))?;
            let gid = tpl.file_gid().map_err(|r| template_error(path, tpl, r))?;
            let mode = tpl.file_mode().map_err(|r| template_error(path, tpl, r))?;
            let mut f = parent
                .create_file(&name, 0o600)
                .map_err(|e| Error::io(&host, e))?;
            f.write_all(out.as_bytes())
                .map_err(|e| Error::io(&host, e))?;
            match safefs::fchown(&f, uid, gid) {
                Err(e) if privileged => return Err(Error::io(&host, e)),
                _ => {}
            }
            safefs::fchmod(&f, mode).map_err(|e| Error::io(&host, e))?;
        }
        written.push(host);
    }
    Ok(written)
}

/// The error with its chain of causes (minijinja puts the detail in the sources).
fn render_error(e: &minijinja::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}
