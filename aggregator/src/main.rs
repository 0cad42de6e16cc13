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
    Migrate {
        /// Also run rewrite migrations on tables that have rows (they copy the table: see
        /// the README, "Rewrite migrations").
        #[arg(long)]
        rewrite: bool,
    },
    /// Run one cycle and exit.
    Once,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    service_kit::init_logs(args.json_logs, "info");
    let env: HashMap<String, String> = std::env::vars().collect();
    let config =
        AggregatorConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command.unwrap_or(Command::Run) {
        Command::Check => {
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Migrate { rewrite } => {
            aggregator::migrate(&config, Duration::from_secs(60), rewrite).await?
        }
        Command::Once => {
            aggregator::migrate(&config, Duration::from_secs(60), false).await?;
            let registry = &mut prometheus_client::registry::Registry::default();
            let metrics = std::sync::Arc::new(aggregator::metrics::Metrics::new(registry));
            let mut agg = aggregator::Aggregator::new(config, metrics).await?;
            let report = agg.cycle().await?;
            println!("{report:?}");
        }
        Command::Run => {
            aggregator::migrate(&config, Duration::from_secs(60), false).await?;
            let shutdown = CancellationToken::new();
            let running = aggregator::start(config, shutdown.clone()).await?;
            service_kit::cancel_on_signal(shutdown);
            running.join().await;
        }
    }
    Ok(())
}
