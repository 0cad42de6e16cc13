//! `fleet-sim`: publishes simulated sync-engine traffic to Kafka and writes a manifest.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use simulator::publish::{publish, Pace, Progress, PublishConfig};
use simulator::{FaultInjector, Generator, SimConfig};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Replays `--days` of past traffic ending now, as fast as `--rate` allows.
    History,
    /// Publishes `--days` of past traffic at once, then follows the wall clock for
    /// `--duration-secs`.
    Live,
}

/// Publish realistic sync-engine traffic (sessions, issues, logs, state changes).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Kafka bootstrap servers.
    #[arg(long, env = "SYNCTEL_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// Topic for events.
    #[arg(long, env = "SYNCTEL_EVENTS_TOPIC", default_value = "synctel.events")]
    events_topic: String,
    /// Topic for session logs.
    #[arg(long, env = "SYNCTEL_LOGS_TOPIC", default_value = "synctel.logs")]
    logs_topic: String,
    /// History (replay past days fast) or live (follow the wall clock).
    #[arg(long, value_enum, default_value = "history")]
    mode: Mode,
    /// Days of past traffic to publish (history mode: all of it; live mode: before
    /// following the wall clock).
    #[arg(long, default_value_t = 1.0)]
    days: f64,
    /// History mode: start of the span, ms since the Unix epoch (default: now - days).
    #[arg(long)]
    start_ms: Option<i64>,
    /// Live mode: how long to run.
    #[arg(long, default_value_t = 3600)]
    duration_secs: u64,
    /// Random seed: the same seed and options give the same traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tenants.
    #[arg(long, default_value_t = 3)]
    tenants: u32,
    /// Profiles per tenant.
    #[arg(long, default_value_t = 4)]
    profiles: u32,
    /// Users per profile.
    #[arg(long, default_value_t = 25)]
    users: u32,
    /// Mean seconds between two sessions of a user.
    #[arg(long, default_value_t = 300)]
    interval_secs: i64,
    /// Messages per second (0: as fast as possible). Ignored in live mode.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Share of users that never sync successfully.
    #[arg(long, default_value_t = 0.05)]
    never_synced_share: f64,
    /// Probability that a session starts and never ends.
    #[arg(long, default_value_t = 0.01)]
    abandoned_rate: f64,
    /// Probability of a state change before a session.
    #[arg(long, default_value_t = 0.003)]
    state_change_rate: f64,
    /// Probability that a message is sent twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate_rate: f64,
    /// Probability that a message is delivered late, after later ones.
    #[arg(long, default_value_t = 0.0)]
    reorder_rate: f64,
    /// Probability of a malformed message next to a valid one.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Most messages per produced batch (1 avoids a tansu 0.6 fetch bug, see
    /// deploy/README.md; 10000 is fastest).
    #[arg(long, default_value_t = 10_000)]
    max_batch_messages: u32,
    /// Do not publish session logs.
    #[arg(long)]
    no_logs: bool,
    /// Write the manifest (what was sent, expected final state) to this JSON file.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Generate and count only; publish nothing.
    #[arg(long)]
    dry_run: bool,
    /// Topic of the admins' commands, which the fleet's engines obey in live mode
    /// (simulator/src/engine.rs).
    #[arg(
        long,
        env = "SYNCTEL_COMMANDS_TOPIC",
        default_value = "synctel.commands"
    )]
    commands_topic: String,
    /// Live mode: do not obey admin commands.
    #[arg(long)]
    no_commands: bool,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_millis() as i64;
    let (start_ms, span_ms, pace) = match args.mode {
        Mode::History => {
            let span = (args.days * 86_400_000.0) as i64;
            let pace = if args.rate > 0.0 {
                Pace::Rate(args.rate)
            } else {
                Pace::Unlimited
            };
            (args.start_ms.unwrap_or(now_ms - span), span, pace)
        }
        Mode::Live => {
            let backfill = (args.days * 86_400_000.0) as i64;
            let span = backfill + args.duration_secs as i64 * 1_000;
            (now_ms - backfill, span, Pace::RealTime)
        }
    };
    let cfg = SimConfig {
        seed: args.seed,
        tenants: args.tenants,
        profiles_per_tenant: args.profiles,
        users_per_profile: args.users,
        start_ms,
        span_ms,
        session_interval_ms: args.interval_secs * 1_000,
        never_synced_share: args.never_synced_share,
        abandoned_session_rate: args.abandoned_rate,
        state_change_rate: args.state_change_rate,
        logs: !args.no_logs,
        duplicate_rate: args.duplicate_rate,
        reorder_rate: args.reorder_rate,
        malformed_rate: args.malformed_rate,
    };
    cfg.validate().context("invalid simulator options")?;
    tracing::info!(
        users = cfg.total_users(),
        start_ms,
        span_ms,
        mode = ?args.mode,
        "simulating"
    );

    let mut generator = Generator::new(cfg.clone());
    let end_ms = generator.end_ms();
    // Live mode: the engines obey the admins' commands (simulator/src/engine.rs).
    let engines_stop = Arc::new(AtomicBool::new(false));
    let engines = if matches!(args.mode, Mode::Live) && !args.dry_run && !args.no_commands {
        let inbox = simulator::engine::Inbox::default();
        let engine = simulator::engine::Engine::new(generator.obey_engines(inbox.clone()));
        let engine_cfg = simulator::engine::EngineConfig {
            brokers: args.brokers.clone(),
            commands_topic: args.commands_topic.clone(),
            events_topic: args.events_topic.clone(),
        };
        let stop = engines_stop.clone();
        Some(std::thread::spawn(move || {
            if let Err(e) = simulator::engine::run(&engine_cfg, engine, Some(inbox), &stop) {
                tracing::error!(error = %e, "the engines stopped obeying admin commands");
            }
        }))
    } else {
        None
    };
    let mut records = FaultInjector::new(generator, &cfg, end_ms);
    let report = |p: Progress| {
        let done = ((p.at_ms - start_ms) as f64 / span_ms as f64 * 100.0).clamp(0.0, 100.0);
        tracing::info!(
            sent = p.sent,
            delivered = p.delivered,
            per_sec = (p.sent as f64 / p.elapsed_secs.max(1e-9)) as u64,
            simulated_pct = format!("{done:.1}"),
            "progress"
        );
    };
    let summary = if args.dry_run {
        let started = std::time::Instant::now();
        let sent = records.by_ref().count() as u64;
        Progress {
            sent,
            delivered: 0,
            elapsed_secs: started.elapsed().as_secs_f64(),
            at_ms: end_ms,
        }
    } else {
        let stop = Arc::new(AtomicBool::new(false));
        let on_signal = stop.clone();
        std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::signal::ctrl_c().await;
                });
                tracing::warn!("interrupted: flushing what was sent");
                on_signal.store(true, Ordering::Relaxed);
            }
        });
        let publish_cfg = PublishConfig {
            brokers: args.brokers.clone(),
            events_topic: args.events_topic.clone(),
            logs_topic: args.logs_topic.clone(),
            pace,
            progress_every: Duration::from_secs(2),
            max_batch_messages: args.max_batch_messages,
        };
        publish(records.by_ref(), &publish_cfg, &stop, report)?
    };
    engines_stop.store(true, Ordering::Relaxed);
    if let Some(engines) = engines {
        let _ = engines.join();
    }
    let manifest = records.finish();
    tracing::info!(
        messages = summary.sent,
        valid = manifest.messages.valid,
        duplicates = manifest.messages.duplicates,
        reordered = manifest.messages.reordered,
        malformed = manifest.messages.malformed.values().sum::<u64>(),
        seconds = format!("{:.2}", summary.elapsed_secs),
        per_sec = (summary.sent as f64 / summary.elapsed_secs.max(1e-9)) as u64,
        "done"
    );
    if let Some(path) = args.manifest {
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(std::io::BufWriter::new(file), &manifest)
            .context("writing the manifest")?;
    }
    Ok(())
}
