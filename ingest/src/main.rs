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
    Migrate,
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,rdkafka=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let config =
        IngestConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Migrate => ingest::migrate(&config, Duration::from_secs(60)).await?,
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
            ingest::migrate(&config, Duration::from_secs(60)).await?;
            let shutdown = CancellationToken::new();
            let running = ingest::start(config, shutdown.clone()).await?;
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("signal received: stopping");
                shutdown.cancel();
            });
            running.join().await?;
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
