//! `aggregator`: per-user effective status and sync state, summary series and freshness,
//! kept current in ClickHouse.
//!
//! - [`rules`]: the status rules as pure functions (the specification; see
//!   `docs/status-rules.md`).
//! - [`cycle`]: one incremental recomputation cycle, in SQL that mirrors the rules: users
//!   touched since the watermark (by `ingested_at` of the raw tables) or whose state changes
//!   with time are recomputed from all their events into `user_state`
//!   (ReplacingMergeTree by version), then the hourly/daily series, then the watermark.
//! - [`lease`]: which of several instances runs the cycles (a Kafka consumer group over a
//!   one-partition topic; off by default).
//! - [`config`], [`metrics`]: operations, as in `ingest` (served by `service_kit::http`).
//!
//! No state lives only in memory: a restart continues from the watermark in ClickHouse and
//! recomputation is idempotent. See the "Aggregator" section of `ARCHITECTURE.md`.

pub mod config;
pub mod cycle;
pub mod error;
pub mod lease;
pub mod metrics;
pub mod rules;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::AggregatorConfig;
pub use cycle::{Aggregator, CycleReport};
pub use error::{AggregatorError, Result};

use crate::lease::Lease;
use crate::metrics::Metrics;

/// Applies pending migrations, waiting for ClickHouse to come up (up to `wait`). With
/// `rewrite`, rewrite migrations run whatever their table holds (`migrate --rewrite`);
/// without, they wait for that when the table has rows (`store::rewrite`).
pub async fn migrate(config: &AggregatorConfig, wait: Duration, rewrite: bool) -> Result<()> {
    let mode = if rewrite {
        store::migrate::Mode::Always
    } else {
        store::migrate::Mode::IfEmpty
    };
    store::migrate::migrate_waiting(&config.clickhouse, wait, mode).await?;
    Ok(())
}

/// A started aggregator.
pub struct Running {
    /// Where `/metrics` and `/health` listen.
    pub http_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits until the aggregator stops (after `shutdown`).
    pub async fn join(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "aggregator task panicked");
        }
    }
}

/// Starts the loop with a validated config: one cycle every `cycle.interval_ms` until
/// `shutdown`. A failed cycle is logged, counted and retried at the next tick (the
/// watermark did not move). The schema must be migrated; drift is refused here. With
/// `lease.enabled`, a cycle runs only while this instance holds the lease.
pub async fn start(config: AggregatorConfig, shutdown: CancellationToken) -> Result<Running> {
    config.validate()?;
    store::migrate::verify(&config.clickhouse).await?;
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));
    let registry = Arc::new(registry);
    let listener = TcpListener::bind(config.http.listen)
        .await
        .map_err(AggregatorError::Http)?;
    let http_addr = listener.local_addr().map_err(AggregatorError::Http)?;
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(e) = service_kit::http::serve(listener, registry, shutdown).await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        }
    });
    let lease = if config.lease.enabled {
        Some(Lease::start(&config.lease).await?)
    } else {
        None
    };
    let interval = config.cycle.interval();
    let mut aggregator = Aggregator::new(config, metrics.clone()).await?;
    tracing::info!(%http_addr, lease = lease.is_some(), "aggregator started");
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut running = lease.is_none();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Some(lease) = &lease {
                metrics
                    .lease_rejoins
                    .set(i64::try_from(lease.rejoins()).unwrap_or(i64::MAX));
                if !lease.held() {
                    running = false;
                    metrics.lease_held.set(0);
                    continue;
                }
                if !running {
                    // Another instance may have written since this one last did.
                    if let Err(e) = aggregator.resume().await {
                        tracing::warn!(error = %e, "reading the latest version failed; retrying next tick");
                        continue;
                    }
                    running = true;
                }
            }
            metrics.lease_held.set(1);
            match aggregator.cycle().await {
                Ok(report) if report.touched > 0 => {
                    tracing::info!(
                        users = report.touched,
                        shards = report.shards,
                        watermark = report.to_s,
                        "cycle"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cycle failed; retrying next tick"),
            }
        }
        if let Some(lease) = lease {
            // Leaving the group hands the lease to a standby at once.
            let _ = tokio::task::spawn_blocking(move || lease.stop()).await;
        }
        tracing::info!("aggregator stopped");
    });
    Ok(Running { http_addr, task })
}
