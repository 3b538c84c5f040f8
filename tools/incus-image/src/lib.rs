//! `incus-image`: upstream's `incus image` commands, plus `build-busybox` (ours) to
//! make a test image from Debian's `busybox-static`.

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Image, ImagePut, Result};
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::{Backend, ImageSource, ImportOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Manage images.
#[derive(Debug, Parser)]
#[command(name = "incus-image", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Import an image: TARBALL (unified) or METADATA ROOTFS (split), then KEY=VALUE properties
    Import {
        /// Image file (unified tarball, or the metadata tarball of a split image)
        file: PathBuf,
        /// Rootfs tarball or squashfs of a split image, and KEY=VALUE properties
        rest: Vec<String>,
        /// Alias of the new image (repeatable)
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// Make the image public
        #[arg(long)]
        public: bool,
    },
    /// List images
    #[command(visible_alias = "ls")]
    List {
        /// Filters: a fingerprint or alias prefix
        filters: Vec<String>,
        /// Columns (upstream letters: l L f F p d a t s u e)
        #[arg(short = 'c', long = "columns", default_value = "lfpdatsu")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
        /// Show images of all projects
        #[arg(long)]
        all_projects: bool,
    },
    /// Show useful information about an image
    Info { image: String },
    /// Show an image's properties as YAML
    Show {
        image: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Edit an image's properties as YAML (from stdin when it is not a terminal)
    Edit { image: String },
    /// Delete images
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Copy an image to another remote: [REMOTE:]IMAGE REMOTE:
    #[command(visible_alias = "cp")]
    Copy {
        image: String,
        /// The target remote (`srv:`)
        target: String,
        /// Alias of the copy (repeatable)
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// Give the copy the source image's aliases too
        #[arg(long)]
        copy_aliases: bool,
        /// Make the copy public
        #[arg(long)]
        public: bool,
    },
    /// Export an image's files into a directory (current directory by default)
    Export {
        image: String,
        target: Option<PathBuf>,
    },
    /// Get an image property
    GetProperty { image: String, key: String },
    /// Set an image property
    SetProperty {
        image: String,
        key: String,
        value: String,
    },
    /// Unset an image property
    UnsetProperty { image: String, key: String },
    /// Manage image aliases
    Alias {
        #[command(subcommand)]
        command: AliasCmd,
    },
    /// Build a busybox system-container image from a static busybox (ours, for tests)
    BuildBusybox {
        /// Output directory
        out_dir: PathBuf,
        /// Static busybox binary (Debian's busybox-static)
        #[arg(long, default_value = "/bin/busybox")]
        busybox: PathBuf,
        /// Build a split image (metadata + rootfs tarballs) instead of a unified one
        #[arg(long)]
        split: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AliasCmd {
    /// Create an alias: ALIAS FINGERPRINT
    Create {
        alias: String,
        fingerprint: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete an alias
    #[command(visible_alias = "rm")]
    Delete { alias: String },
    /// Rename an alias
    #[command(visible_alias = "mv")]
    Rename { alias: String, new_name: String },
    /// List aliases
    #[command(visible_alias = "ls")]
    List {
        filters: Vec<String>,
        #[command(flatten)]
        format: ListFormat,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        if let Cmd::BuildBusybox {
            out_dir,
            busybox,
            split,
        } = &cli.command
        {
            return build_busybox(out_dir, busybox, *split);
        }
        let mut cmd = cli.command;
        if let Cmd::Copy {
            image,
            target,
            aliases,
            copy_aliases,
            public,
        } = cmd
        {
            return copy(&cli.global, image, target, aliases, copy_aliases, public);
        }
        if let Some(server) = image_server_of(&mut cmd)? {
            return read_image_server(&server, cmd);
        }
        let cfg = incus_client::config::ClientConfig::load()?;
        let remote = incus_client::target::strip_remote(&cfg, remote_args(&mut cmd))?;
        if let Cmd::List {
            filters,
            columns,
            format,
            all_projects: true,
        } = &mut cmd
        {
            filters.retain(|f| !f.is_empty());
            let mut images = Vec::new();
            for b in incus_client::target::connect_all_projects(&cfg, &remote)? {
                images.extend(b.images()?);
            }
            // A project without features.images shows default's: each image once.
            let mut seen = std::collections::HashSet::new();
            images.retain(|i: &Image| seen.insert((i.project.clone(), i.fingerprint.clone())));
            let columns = if columns == "lfpdatsu" {
                format!("e{columns}")
            } else {
                columns.clone()
            };
            print_images(images, filters, &columns, *format)?;
            return Ok(ExitCode::SUCCESS);
        }
        let b = incus_client::connect_remote(&cfg, &remote, &cli.global.project)?;
        match &mut cmd {
            Cmd::Import { rest, .. } => rest.retain(|a| !a.is_empty()),
            Cmd::List { filters, .. }
            | Cmd::Alias {
                command: AliasCmd::List { filters, .. },
            } => filters.retain(|f| !f.is_empty()),
            _ => {}
        }
        exec(b.as_ref(), cmd, cli.global.quiet)?;
        Ok(ExitCode::SUCCESS)
    })
}

fn build_busybox(
    out: &std::path::Path,
    busybox: &std::path::Path,
    split: bool,
) -> Result<ExitCode> {
    let format = if split {
        incus_imagefmt::BuildFormat::Split
    } else {
        incus_imagefmt::BuildFormat::Unified
    };
    let src = incus_imagefmt::build_busybox_image(busybox, out, format)
        .map_err(|e| Error::invalid(format!("Build busybox image: {e}")))?;
    match src {
        ImageSource::Unified(p) => println!("{}", p.display()),
        ImageSource::Split { metadata, rootfs } => {
            println!("{}", metadata.display());
            println!("{}", rootfs.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Header of an image list column letter (upstream's letters).
fn header(c: char) -> Result<&'static str> {
    Ok(match c {
        'l' => "ALIAS",
        'L' => "ALIASES",
        'f' | 'F' => "FINGERPRINT",
        'p' => "PUBLIC",
        'd' => "DESCRIPTION",
        'a' => "ARCHITECTURE",
        't' => "TYPE",
        's' => "SIZE",
        'u' => "UPLOAD DATE",
        'e' => "PROJECT",
        other => return Err(Error::usage(format!("Invalid column letter \"{other}\""))),
    })
}

/// Cell of a column letter already checked by [`header`].
fn cell(img: &Image, c: char) -> String {
    match c {
        'l' => img
            .aliases
            .first()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        'L' => img
            .aliases
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        'f' => img.fingerprint.chars().take(12).collect(),
        'F' => img.fingerprint.clone(),
        'p' => if img.public { "yes" } else { "no" }.into(),
        'd' => img
            .properties
            .get("description")
            .cloned()
            .unwrap_or_default(),
        'a' => img.architecture.clone(),
        't' if img.image_type == "virtual-machine" => "VIRTUAL-MACHINE".into(),
        't' => "CONTAINER".into(),
        's' => incus_cli::image_size(img.size),
        'u' => incus_cli::list_date(&img.uploaded_at),
        'e' => img.project.clone(),
        _ => String::new(),
    }
}

/// The `[REMOTE:]NAME` arguments (they choose the backend).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    // `import FILE [ROOTFS] [REMOTE:]`, `list [REMOTE:] [FILTER...]`.
    let bare = |a: &String| a.ends_with(':') && !a.contains('=');
    match cmd {
        Cmd::Import { rest, .. } => rest.iter_mut().filter(|a| bare(a)).collect(),
        Cmd::List { filters, .. } => filters
            .iter_mut()
            .take(1)
            .filter(|f| !f.contains('='))
            .collect(),
        Cmd::Info { image }
        | Cmd::Show { image, .. }
        | Cmd::Edit { image }
        | Cmd::Export { image, .. }
        | Cmd::GetProperty { image, .. }
        | Cmd::SetProperty { image, .. }
        | Cmd::UnsetProperty { image, .. } => vec![image],
        Cmd::Delete { images } => images.iter_mut().collect(),
        Cmd::Alias { command } => match command {
            AliasCmd::Create { alias, .. }
            | AliasCmd::Delete { alias }
            | AliasCmd::Rename { alias, .. } => vec![alias],
            AliasCmd::List { filters, .. } => filters
                .iter_mut()
                .take(1)
                .filter(|f| !f.contains('='))
                .collect(),
        },
        Cmd::BuildBusybox { .. } | Cmd::Copy { .. } => Vec::new(),
    }
}

/// The image server when the command names a simplestreams remote (`images:`), its
/// `REMOTE:` prefix stripped; None for an incus remote (nothing changed).
fn image_server_of(cmd: &mut Cmd) -> Result<Option<incus_client::simplestreams::Server>> {
    use incus_client::config::ClientConfig;
    let cfg = ClientConfig::load()?;
    let mut args = remote_args(cmd);
    let Some(first) = args.first() else {
        return Ok(None);
    };
    let (remote, _) = cfg.parse_remote(first)?;
    let Some(server) = incus_client::target::image_server(&cfg, &remote)? else {
        return Ok(None);
    };
    for a in args.iter_mut() {
        let (r, rest) = cfg.parse_remote(a)?;
        if r != remote {
            return Err(Error::unsupported(format!(
                "Mixing remotes in one command is not supported (\"{remote}\" and \"{r}\")"
            )));
        }
        **a = rest;
    }
    Ok(Some(server))
}

/// `image list|info|show|alias list` on a simplestreams server (read only, as upstream).
fn read_image_server(server: &incus_client::simplestreams::Server, cmd: Cmd) -> Result<ExitCode> {
    let catalog = server.catalog()?;
    match cmd {
        Cmd::List {
            mut filters,
            columns,
            format,
            ..
        } => {
            filters.retain(|f| !f.is_empty());
            print_images(catalog.images(), &filters, &columns, format)?;
        }
        Cmd::Info { image } => print_info(&catalog.resolve(&image)?.image)?,
        Cmd::Show { image, format } => {
            incus_cli::print_show(format, &catalog.resolve(&image)?.image)?
        }
        Cmd::Alias {
            command:
                AliasCmd::List {
                    mut filters,
                    format,
                },
        } => {
            filters.retain(|f| !f.is_empty());
            print_aliases(catalog.aliases(), &filters, format)?;
        }
        _ => return Err(Error::unsupported(
            "A simplestreams image server is read only: list, info, show, copy and launch use it",
        )),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_images(
    images: Vec<Image>,
    filters: &[String],
    columns: &str,
    format: ListFormat,
) -> Result<()> {
    let images: Vec<Image> = images
        .into_iter()
        .filter(|i| {
            filters.iter().all(|f| {
                i.fingerprint.starts_with(f.as_str())
                    || i.aliases.iter().any(|a| a.name.starts_with(f.as_str()))
            })
        })
        .collect();
    let headers: Vec<&str> = columns.chars().map(header).collect::<Result<_>>()?;
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|i| columns.chars().map(|c| cell(i, c)).collect())
        .collect();
    incus_cli::print_list(format, &headers, &rows, &images)
}

fn print_info(i: &Image) -> Result<()> {
    let mut s = format!(
        "Fingerprint: {}\nSize: {}\nArchitecture: {}\nType: {}\nPublic: {}\nTimestamps:\n    Created: {}\n    Uploaded: {}\n    Expires: {}\n    Last used: {}\nProperties:\n",
        i.fingerprint,
        incus_cli::image_size(i.size),
        i.architecture,
        i.image_type,
        if i.public { "yes" } else { "no" },
        i.created_at,
        i.uploaded_at,
        if i.expires_at.starts_with("0001") || i.expires_at.starts_with("1970") { "never".to_string() } else { i.expires_at.clone() },
        if i.last_used_at.starts_with("1970") { "never".to_string() } else { i.last_used_at.clone() },
    );
    for (k, v) in &i.properties {
        s.push_str(&format!("    {k}: {v}\n"));
    }
    s.push_str("Aliases:\n");
    for a in &i.aliases {
        s.push_str(&format!("    - {}\n", a.name));
    }
    s.push_str(&format!(
        "Cached: {}\nAuto update: {}\nProfiles:\n",
        if i.cached { "yes" } else { "no" },
        if i.auto_update { "enabled" } else { "disabled" }
    ));
    for p in &i.profiles {
        s.push_str(&format!("    - {p}\n"));
    }
    incus_cli::write_stdout(&s)
}

fn print_aliases(
    aliases: Vec<incus_api::ImageAliasesEntry>,
    filters: &[String],
    format: ListFormat,
) -> Result<()> {
    let aliases: Vec<_> = aliases
        .into_iter()
        .filter(|a| filters.iter().all(|f| a.name.starts_with(f.as_str())))
        .collect();
    let rows: Vec<Vec<String>> = aliases
        .iter()
        .map(|a| {
            vec![
                a.name.clone(),
                a.target.chars().take(12).collect(),
                a.alias_type.to_uppercase(),
                a.description.clone(),
            ]
        })
        .collect();
    incus_cli::print_list(
        format,
        &["ALIAS", "FINGERPRINT", "TYPE", "DESCRIPTION"],
        &rows,
        &aliases,
    )
}

/// `image copy [REMOTE:]IMAGE REMOTE:`: the one command that spans two remotes.
fn copy(
    global: &GlobalArgs,
    mut image: String,
    mut target: String,
    mut aliases: Vec<String>,
    copy_aliases: bool,
    public: bool,
) -> Result<ExitCode> {
    use incus_client::config::ClientConfig;
    use incus_client::target::{connect_remote, copy_image_from, image_server, strip_remote};
    let cfg = ClientConfig::load()?;
    let src_remote = strip_remote(&cfg, vec![&mut image])?;
    let dst_remote = strip_remote(&cfg, vec![&mut target])?;
    if !target.is_empty() {
        return Err(Error::usage(format!(
            "The target is a remote (\"{dst_remote}:\"), not \"{dst_remote}:{target}\""
        )));
    }
    if src_remote == dst_remote {
        return Err(Error::invalid("The source and target remotes are the same"));
    }
    let dst = connect_remote(&cfg, &dst_remote, &global.project)?;
    if copy_aliases {
        let source_aliases = match image_server(&cfg, &src_remote)? {
            Some(server) => server.catalog()?.resolve(&image)?.image.aliases.clone(),
            None => {
                connect_remote(&cfg, &src_remote, &global.project)?
                    .image(&image)?
                    .aliases
            }
        };
        aliases.extend(source_aliases.into_iter().map(|a| a.name));
    }
    let progress = incus_cli::Progress::new("Copying the image:", global.quiet);
    let report = |done: u64, total: u64| progress.update(done, total);
    let opts = ImportOptions {
        aliases,
        public,
        properties: Default::default(),
    };
    let fp = copy_image_from(
        &cfg,
        &src_remote,
        &global.project,
        &image,
        dst.as_ref(),
        &opts,
        Some(&report),
    );
    progress.finish();
    let fp = fp?;
    if !global.quiet {
        println!("Image copied successfully: {fp}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A temporary directory (removed when dropped).
fn tempfile_dir() -> Result<incus_client::TempDir> {
    incus_client::TempDir::new().map_err(|e| Error::internal(format!("Temporary directory: {e}")))
}

fn exec(backend: &dyn Backend, cmd: Cmd, quiet: bool) -> Result<()> {
    match cmd {
        Cmd::Import {
            file,
            rest,
            aliases,
            public,
        } => {
            let (props, files): (Vec<String>, Vec<String>) =
                rest.into_iter().partition(|r| r.contains('='));
            // `import https://...`: upstream's URL import (the URL's HEAD names the
            // image and its hash), downloaded here and imported as a file.
            let download = tempfile_dir()?;
            let file = match file.to_str().filter(|f| f.starts_with("https://")) {
                Some(url) if files.is_empty() => {
                    match incus_client::simplestreams::fetch_direct(url, download.path(), None)? {
                        (ImageSource::Unified(p), _) => p,
                        _ => unreachable!("a URL import is one file"),
                    }
                }
                _ => file,
            };
            let src = match files.as_slice() {
                [] => ImageSource::Unified(file),
                [rootfs] => ImageSource::Split {
                    metadata: file,
                    rootfs: PathBuf::from(rootfs),
                },
                _ => {
                    return Err(Error::usage(
                        "Too many files: give TARBALL or METADATA ROOTFS",
                    ))
                }
            };
            let progress = incus_cli::Progress::new("Importing image:", quiet);
            let report = |done: u64, total: u64| progress.update(done, total);
            let img = backend.image_import(
                &src,
                &ImportOptions {
                    aliases,
                    public,
                    properties: incus_cli::parse_pairs(&props)?,
                },
                Some(&report),
            );
            progress.finish();
            let img = img?;
            if !quiet {
                println!("Image imported with fingerprint: {}", img.fingerprint);
            }
        }
        Cmd::List {
            filters,
            columns,
            format,
            ..
        } => print_images(backend.images()?, &filters, &columns, format)?,
        Cmd::Info { image } => print_info(&backend.image(&image)?)?,
        Cmd::Show { image, format } => incus_cli::print_show(format, &backend.image(&image)?)?,
        Cmd::Edit { image } => {
            let cur = incus_cli::to_yaml(&ImagePut::from(&backend.image(&image)?))?;
            let new: ImagePut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            backend.image_update(&image, new)?;
        }
        Cmd::Delete { images } => {
            for i in images {
                backend.image_delete(&i)?;
            }
        }
        Cmd::Export { image, target } => {
            let dir = target.unwrap_or_else(|| PathBuf::from("."));
            for f in backend.image_export(&image, &dir)? {
                if !quiet {
                    println!("{}", f.display());
                }
            }
        }
        Cmd::GetProperty { image, key } => {
            println!(
                "{}",
                backend
                    .image(&image)?
                    .properties
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            );
        }
        Cmd::SetProperty { image, key, value } => {
            let mut put = ImagePut::from(&backend.image(&image)?);
            put.properties.insert(key, value);
            backend.image_update(&image, put)?;
        }
        Cmd::UnsetProperty { image, key } => {
            let mut put = ImagePut::from(&backend.image(&image)?);
            if put.properties.remove(&key).is_none() {
                return Err(Error::not_found(format!("Property \"{key}\" is not set")));
            }
            backend.image_update(&image, put)?;
        }
        Cmd::Alias { command } => match command {
            AliasCmd::Create {
                alias,
                fingerprint,
                description,
            } => backend.image_alias_create(&alias, &fingerprint, &description)?,
            AliasCmd::Delete { alias } => backend.image_alias_delete(&alias)?,
            AliasCmd::Rename { alias, new_name } => {
                backend.image_alias_rename(&alias, &new_name)?
            }
            AliasCmd::List { filters, format } => {
                print_aliases(backend.image_aliases()?, &filters, format)?
            }
        },
        Cmd::BuildBusybox { .. } | Cmd::Copy { .. } => unreachable!("handled before connecting"),
    }
    Ok(())
}
