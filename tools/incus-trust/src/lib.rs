//! `incus-trust`: upstream's `incus config trust` commands (the dispatcher maps
//! `incus config trust ...` here).

use clap::{Parser, Subcommand};
use incus_api::Result;
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::{Backend, TrustOptions};
use std::process::ExitCode;

/// Manage trusted client certificates and join tokens.
#[derive(Debug, Parser)]
#[command(name = "incus-trust", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Make a single-use join token for a new client
    Add {
        name: String,
        /// Confine the client to these projects (comma separated)
        #[arg(long, value_delimiter = ',')]
        projects: Vec<String>,
        /// Restrict the client to its projects
        #[arg(long)]
        restricted: bool,
    },
    /// Trust a client certificate (PEM file)
    AddCertificate {
        file: std::path::PathBuf,
        /// Name (default: the start of the fingerprint)
        #[arg(long, default_value = "")]
        name: String,
        /// Certificate type: client or metrics
        #[arg(long = "type", default_value = "client")]
        cert_type: String,
        #[arg(long, value_delimiter = ',')]
        projects: Vec<String>,
        #[arg(long)]
        restricted: bool,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List trusted certificates
    #[command(visible_alias = "ls")]
    List {
        /// [REMOTE:] to list
        remote: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a trusted certificate
    Show {
        fingerprint: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Revoke trust in a certificate
    #[command(visible_alias = "rm")]
    Remove { fingerprint: String },
    /// List open join tokens
    ListTokens {
        /// [REMOTE:] to list
        remote: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Revoke a join token (by client name or id)
    RevokeToken { name: String },
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let mut cmd = cli.command;
        let b = incus_client::connect_args(&cli.global.project, remote_args(&mut cmd))?;
        exec(b.as_ref(), cmd, cli.global.quiet)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The `[REMOTE:]NAME` arguments (they choose the backend).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    match cmd {
        Cmd::Add { name, .. } | Cmd::RevokeToken { name } => vec![name],
        Cmd::Show { fingerprint, .. } | Cmd::Remove { fingerprint } => vec![fingerprint],
        Cmd::List { remote, .. } | Cmd::ListTokens { remote, .. } => remote.iter_mut().collect(),
        Cmd::AddCertificate { .. } => Vec::new(),
    }
}

fn exec(backend: &dyn Backend, cmd: Cmd, quiet: bool) -> Result<()> {
    match cmd {
        Cmd::Add {
            name,
            projects,
            restricted,
        } => {
            let opts = TrustOptions {
                restricted,
                projects,
                ..Default::default()
            };
            let (_, token) = backend.trust_token_create(&name, &opts)?;
            if quiet {
                println!("{}", token.encode());
            } else {
                println!("Client {name} certificate add token:\n{}", token.encode());
            }
        }
        Cmd::AddCertificate {
            file,
            name,
            cert_type,
            projects,
            restricted,
            description,
        } => {
            let data = std::fs::read(&file).map_err(|e| {
                incus_api::Error::from(e).context(format!("Read {}", file.display()))
            })?;
            let opts = TrustOptions {
                name,
                cert_type,
                restricted,
                projects,
                description,
            };
            backend.certificate_add(&data, &opts)?;
        }
        Cmd::List { format, .. } => {
            let certs = backend.certificates()?;
            let rows: Vec<Vec<String>> = certs
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.cert_type.clone(),
                        c.description.clone(),
                        c.fingerprint.chars().take(12).collect(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &["NAME", "TYPE", "DESCRIPTION", "FINGERPRINT"],
                &rows,
                &certs,
            )?;
        }
        Cmd::Show {
            fingerprint,
            format,
        } => incus_cli::print_show(format, &backend.certificate(&fingerprint)?)?,
        Cmd::Remove { fingerprint } => backend.certificate_remove(&fingerprint)?,
        Cmd::ListTokens { format, .. } => {
            let tokens = backend.trust_tokens()?;
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|(_, t)| {
                    // Only a hash of the secret is kept: the token is shown once, when made.
                    let token = if t.secret.is_empty() {
                        "(shown only when created)".to_string()
                    } else {
                        t.encode()
                    };
                    vec![t.client_name.clone(), token, t.expires_at.clone()]
                })
                .collect();
            let objects: Vec<&incus_client::JoinToken> = tokens.iter().map(|(_, t)| t).collect();
            incus_cli::print_list(format, &["NAME", "TOKEN", "EXPIRES AT"], &rows, &objects)?;
        }
        Cmd::RevokeToken { name } => backend.trust_token_revoke(&name)?,
    }
    Ok(())
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
