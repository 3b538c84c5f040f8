//! `cargo xtask gen`: regenerates the checked-in man pages (`man/`), shell completions
//! (`completions/`) and the schema picture (`common/db/schema.sql`) from their single
//! sources (the clap definitions and the migrations). `cargo xtask gen --check` fails
//! when a checked-in file is stale.

use clap_complete::Shell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every user-facing tool and its clap definition.
fn tools() -> Vec<clap::Command> {
    vec![
        incus::command(),
        incus_instance::command(),
        incus_image::command(),
        incus_storage::command(),
        incus_profile::command(),
        incus_project::command(),
        incus_admin::command(),
        incus_benchmark::command(),
        incus_events::command(),
        incus_snapshot::command(),
        incus_net::command(),
        incus_serve::command(),
        incus_trust::command(),
        incus_remote::command(),
        lxd_to_incus::command(),
    ]
}

/// Renders every generated file into memory: relative path -> bytes.
pub fn generate() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for cmd in tools() {
        let name = cmd.get_name().to_string();
        man_pages(&cmd, &name, &mut out);
        for (shell, dir, file) in [
            (Shell::Bash, "bash", name.clone()),
            (Shell::Zsh, "zsh", format!("_{name}")),
            (Shell::Fish, "fish", format!("{name}.fish")),
        ] {
            let mut buf = Vec::new();
            let mut c = cmd.clone();
            clap_complete::generate(shell, &mut c, name.clone(), &mut buf);
            out.insert(Path::new("completions").join(dir).join(file), buf);
        }
    }
    let db = incus_db::Db::open_in_memory().expect("in-memory schema");
    out.insert(
        PathBuf::from("common/db/schema.sql"),
        db.schema_dump().expect("schema dump").into_bytes(),
    );
    out
}

/// One page per command and subcommand (`incus-image-alias-create.1`), as git does.
fn man_pages(cmd: &clap::Command, page: &str, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let mut buf = Vec::new();
    let named = cmd.clone().name(page.to_string());
    clap_mangen::Man::new(named)
        .render(&mut buf)
        .expect("render man page");
    out.insert(Path::new("man").join(format!("{page}.1")), buf);
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" || sub.is_allow_external_subcommands_set() {
            continue;
        }
        man_pages(sub, &format!("{page}-{}", sub.get_name()), out);
    }
}

fn root() -> PathBuf {
    // tools/xtask -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

/// Lists the generated files that differ from (or are missing in) the tree, and the
/// files in man/ and completions/ that nothing generates any more.
pub fn stale(root: &Path) -> Vec<String> {
    let files = generate();
    let mut problems = Vec::new();
    for (rel, data) in &files {
        match std::fs::read(root.join(rel)) {
            Ok(cur) if &cur == data => {}
            Ok(_) => problems.push(format!("stale: {}", rel.display())),
            Err(_) => problems.push(format!("missing: {}", rel.display())),
        }
    }
    for dir in [
        "man",
        "completions/bash",
        "completions/zsh",
        "completions/fish",
    ] {
        if let Ok(rd) = std::fs::read_dir(root.join(dir)) {
            for e in rd.flatten() {
                let rel = Path::new(dir).join(e.file_name());
                if !files.contains_key(&rel) {
                    problems.push(format!("not generated any more: {}", rel.display()));
                }
            }
        }
    }
    problems
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen"] => {
            for dir in [
                "man",
                "completions/bash",
                "completions/zsh",
                "completions/fish",
            ] {
                let _ = std::fs::remove_dir_all(root.join(dir));
                std::fs::create_dir_all(root.join(dir)).expect("create output dir");
            }
            let files = generate();
            for (rel, data) in &files {
                std::fs::write(root.join(rel), data).expect("write generated file");
            }
            println!("wrote {} files", files.len());
            ExitCode::SUCCESS
        }
        ["gen", "--check"] => {
            let problems = stale(&root);
            if problems.is_empty() {
                println!("generated files are up to date");
                ExitCode::SUCCESS
            } else {
                for p in problems {
                    eprintln!("{p}");
                }
                eprintln!("run `cargo xtask gen` and commit the result");
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: cargo xtask gen [--check]");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_fresh() {
        let problems = super::stale(&super::root());
        assert!(
            problems.is_empty(),
            "{}\nrun `cargo xtask gen` and commit the result",
            problems.join("\n")
        );
    }
}
