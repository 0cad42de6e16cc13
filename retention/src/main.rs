//! `retention`: see the library docs. This file only parses the command line, sets up logs
//! and calls the library.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use retention::RetentionConfig;

/// Drops the monthly partitions older than each kind of data's retention period.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Config file (TOML); environment variables override it (docs/ops/retention.md).
    #[arg(long, short, env = "SYNCTEL_RETENTION_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Drop every partition whose month is wholly older than its period.
    Run {
        /// Only print what would be dropped (table, partition, rows, bytes); drop nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the config, check that the tables exist, print the config; change nothing.
    Check,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    service_kit::init_logs(args.json_logs, "info");
    let env: HashMap<String, String> = std::env::vars().collect();
    let config =
        RetentionConfig::load(args.config.as_deref(), &env).context("invalid configuration")?;
    match args.command {
        Command::Check => {
            retention::check_tables(&config).await?;
            println!("{config:#?}");
            println!("config ok");
        }
        Command::Run { dry_run: true } => {
            let plan = retention::run(&config, true).await?;
            print!("{}", plan.render());
        }
        Command::Run { dry_run: false } => {
            retention::run(&config, false).await?;
        }
    }
    Ok(())
}
