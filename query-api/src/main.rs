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
    /// Revoke a token by id. Running instances refuse it once their cached lookup expires
    /// (`auth.token_cache_ttl_ms`, default 5 s).
    Revoke {
        /// The token id (`tok_...`).
        token_id: String,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    service_kit::init_logs(args.json_logs, "info");
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
                    eprintln!(
                        "running instances refuse it within auth.token_cache_ttl_ms ({} ms here)",
                        config.auth.token_cache_ttl_ms
                    );
                }
            }
        }
        Command::Run => {
            let shutdown = CancellationToken::new();
            service_kit::cancel_on_signal(shutdown.clone());
            query_api::run(config, shutdown).await?;
        }
    }
    Ok(())
}
