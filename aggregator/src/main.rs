//! `aggregator`: see the library docs. This file only parses the command line, sets up
//! logs and calls the library.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aggregator::AggregatorConfig;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

/// Keeps per-user status, summary series and freshness current in ClickHouse.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Config file (TOML); environment variables override it.
    #[arg(long, short, env = "SYNCTEL_AGGREGATOR_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    json_logs: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply migrations, then aggregate until SIGINT/SIGTERM (the default).
    Run,
    /// Validate the config and print it; change nothing.
    Check,
    /// Apply pending ClickHouse migrations and exit.
    Migrate,
    /// Run one cycle and exit.
    Once,
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
    let config =
        AggregatorConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Migrate => aggregator::migrate(&config, Duration::from_secs(60)).await?,
        Command::Once => {
            aggregator::migrate(&config, Duration::from_secs(60)).await?;
            let registry = &mut prometheus_client::registry::Registry::default();
            let metrics = std::sync::Arc::new(aggregator::metrics::Metrics::new(registry));
            let mut agg = aggregator::Aggregator::new(config, metrics).await?;
            let report = agg.cycle().await?;
            println!("{report:?}");
        }
        Command::Run => {
            aggregator::migrate(&config, Duration::from_secs(60)).await?;
            let shutdown = CancellationToken::new();
            let running = aggregator::start(config, shutdown.clone()).await?;
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::info!("signal received: stopping");
                shutdown.cancel();
            });
            running.join().await;
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
