//! `query-api`: see the library docs. This file only parses the command line, sets up logs
//! and calls the library.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use query_api::auth::{self, Role};
use query_api::ApiConfig;
use tokio_util::sync::CancellationToken;

/// The admin API over the sync telemetry in ClickHouse.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Config file (TOML); environment variables override it (see README).
    #[arg(long, short, env = "SYNCTEL_API_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    json_logs: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve until SIGINT/SIGTERM (the default).
    Run,
    /// Validate the config and print it; change nothing.
    Check,
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (shown only once).
    Create {
        /// The tenant it sees.
        #[arg(long)]
        tenant: String,
        /// viewer or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Only these profiles (comma separated); default every profile of the tenant.
        #[arg(long, value_delimiter = ',')]
        profiles: Option<Vec<String>>,
        /// Free text (who it is for).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never the secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// The token id (`tok_...`).
        token_id: String,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let config = ApiConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Token(cmd) => {
            store::migrate::verify(&config.clickhouse).await?;
            let client = config.clickhouse.client();
            match cmd {
                TokenCommand::Create {
                    tenant,
                    role,
                    profiles,
                    label,
                } => {
                    let Some(role) = Role::parse(&role) else {
                        bail!("--role must be viewer or admin, got {role:?}");
                    };
                    if tenant.trim().is_empty() {
                        bail!("--tenant must not be empty");
                    }
                    let (id, token) =
                        auth::create_token(&client, &tenant, role, profiles, &label).await?;
                    eprintln!("created {id} (shown once; store it now)");
                    println!("{token}");
                }
                TokenCommand::List => {
                    for t in auth::list_tokens(&client).await? {
                        println!("{}", serde_json::to_string(&t)?);
                    }
                }
                TokenCommand::Revoke { token_id } => {
                    auth::revoke_token(&client, &token_id).await?;
                    println!("revoked {token_id}");
                }
            }
        }
        Command::Run => {
            let shutdown = CancellationToken::new();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("signal received: stopping");
                stop.cancel();
            });
            query_api::run(config, shutdown).await?;
        }
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
