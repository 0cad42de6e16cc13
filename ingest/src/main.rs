//! `ingest`: see the library docs. This file only parses the command line, sets up logs
//! and calls the library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ingest::replay::ReplayFilter;
use ingest::IngestConfig;
use tokio_util::sync::CancellationToken;

/// Kafka to ClickHouse for sync telemetry.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Config file (TOML); environment variables override it (see README).
    #[arg(long, short, env = "SYNCTEL_INGEST_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    json_logs: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then consume until SIGINT/SIGTERM (the default).
    Run,
    /// Validate the config and print it; change nothing.
    Check,
    /// Apply pending ClickHouse migrations and exit.
    Migrate {
        /// Also run rewrite migrations on tables that have rows (they copy the table: see
        /// the README, "Rewrite migrations").
        #[arg(long)]
        rewrite: bool,
    },
    /// Re-publish dead letters to their original topics.
    ReplayDeadLetters {
        /// Received at or after (ms since the Unix epoch).
        #[arg(long)]
        from_ms: Option<i64>,
        /// Received before (ms since the Unix epoch).
        #[arg(long)]
        to_ms: Option<i64>,
        /// Only this error kind (e.g. unknown_schema_id).
        #[arg(long)]
        error_kind: Option<String>,
        /// Count only.
        #[arg(long)]
        dry_run: bool,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    service_kit::init_logs(args.json_logs, "info,rdkafka=warn");
    let env: HashMap<String, String> = std::env::vars().collect();
    let config =
        IngestConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Migrate { rewrite } => {
            ingest::migrate(&config, Duration::from_secs(60), rewrite).await?
        }
        Command::ReplayDeadLetters {
            from_ms,
            to_ms,
            error_kind,
            dry_run,
        } => {
            let filter = ReplayFilter {
                from_ms,
                to_ms,
                error_kind,
            };
            let n = ingest::replay::replay(&config, &filter, dry_run).await?;
            println!(
                "{n} dead letters {}",
                if dry_run {
                    "would be replayed"
                } else {
                    "replayed"
                }
            );
        }
        Command::Run => {
            ingest::migrate(&config, Duration::from_secs(60), false).await?;
            let shutdown = CancellationToken::new();
            let running = ingest::start(config, shutdown.clone()).await?;
            service_kit::cancel_on_signal(shutdown);
            running.join().await?;
        }
    }
    Ok(())
}
