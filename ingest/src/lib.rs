//! `ingest`: Kafka to ClickHouse, nothing lost, nothing doubled.
//!
//! The pipeline, one module per step:
//! [`decode`] (pure: message -> rows or dead letter) -> [`batch`] (cut by messages, bytes,
//! age) -> [`writer`]/[`sink`] (dead letters to their topic, one INSERT per table, retried
//! with [`backoff`] while servers are away) -> commit in [`pipeline`], only after the rows
//! are stored. [`guard`] stops consumption when too much input is bad. [`metrics`] (served by
//! `service_kit::http`) expose what happens; [`config`] is checked before anything starts; [`replay`]
//! re-publishes dead letters once their cause is fixed. [`offsets`] notices messages a broker
//! skipped and re-reads them; [`group`] notices partitions no member consumes and rejoins;
//! [`health`] says on `/health` whether ingest is doing its job.
//!
//! Delivery is at least once; storage is idempotent (see `docs/clickhouse-schema.md`), so
//! a replay or a crash between insert and commit never doubles a row as seen through the
//! views.

pub mod backoff;
pub mod batch;
pub mod config;
pub mod decode;
pub mod error;
pub mod group;
pub mod guard;
pub mod health;
pub mod kafka;
pub mod metrics;
pub mod offsets;
pub mod pipeline;
pub mod replay;
pub mod sink;
pub mod writer;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use config::IngestConfig;
pub use error::IngestError;

use crate::metrics::Metrics;

/// Applies pending migrations, waiting for ClickHouse to come up (up to `wait`). With
/// `rewrite`, rewrite migrations run whatever their table holds (`migrate --rewrite`);
/// without, they wait for that when the table has rows (`store::rewrite`). Refuses
/// on drift.
pub async fn migrate(
    config: &IngestConfig,
    wait: Duration,
    rewrite: bool,
) -> Result<(), IngestError> {
    let mode = if rewrite {
        store::migrate::Mode::Always
    } else {
        store::migrate::Mode::IfEmpty
    };
    store::migrate::migrate_waiting(&config.clickhouse, wait, mode).await?;
    Ok(())
}

/// A started ingest: where its metrics are, and how to wait for it.
pub struct Running {
    /// The address `/metrics` and `/health` listen on.
    pub http_addr: SocketAddr,
    task: tokio::task::JoinHandle<Result<(), IngestError>>,
}

impl Running {
    /// Waits until ingest stops (after `shutdown`, or on a fatal error).
    pub async fn join(self) -> Result<(), IngestError> {
        match self.task.await {
            Ok(result) => result,
            Err(e) => {
                tracing::error!(error = %e, "ingest task panicked");
                Ok(())
            }
        }
    }
}

/// Starts ingest with a validated config; stops when `shutdown` is cancelled (flushing and
/// committing what it can) or on a fatal error. Migrations must be applied (see
/// [`migrate`]); a drifted or missing schema is refused here.
pub async fn start(
    config: IngestConfig,
    shutdown: CancellationToken,
) -> Result<Running, IngestError> {
    config.validate()?;
    store::migrate::verify(&config.clickhouse).await?;
    let mut registry = Registry::default();
    let metrics = Arc::new(Metrics::new(&mut registry));
    let registry = Arc::new(registry);
    let facts: health::SharedFacts = Arc::new(Mutex::new(health::Facts::started(sink::now_ms())));
    let check: service_kit::http::HealthCheck = {
        let facts = Arc::clone(&facts);
        let cfg = config.health.clone();
        Arc::new(move || {
            let verdict = health::evaluate(&health::snapshot(&facts), sink::now_ms(), &cfg);
            let status = if verdict.is_ok() {
                service_kit::http::StatusCode::OK
            } else {
                service_kit::http::StatusCode::SERVICE_UNAVAILABLE
            };
            let body = serde_json::to_string(&verdict).unwrap_or_default();
            (status, body)
        })
    };
    let listener = TcpListener::bind(config.http.listen)
        .await
        .map_err(IngestError::Http)?;
    let http_addr = listener.local_addr().map_err(IngestError::Http)?;
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(e) =
                service_kit::http::serve_with_health(listener, registry, check, shutdown).await
            {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        }
    });
    let shared = kafka::Shared {
        metrics: Arc::clone(&metrics),
        stored: Arc::new(Mutex::new(Default::default())),
        facts: Arc::clone(&facts),
        ends: Arc::default(),
    };
    let consumer = kafka::consumer(&config.kafka, &shared, true)?;
    kafka::subscribe(&config.kafka, &consumer)?;
    let producer =
        kafka::dead_letter_producer(&config.kafka, config.dead_letters.max_payload_bytes)?;
    let sink = sink::Sink::new(
        config.clickhouse.client(),
        producer,
        config.kafka.dead_letter_topic.clone(),
    );
    let (batch_tx, batch_rx) = mpsc::channel(1);
    let (written_tx, written_rx) = mpsc::channel(1);
    let writer = tokio::spawn(writer::run(
        sink,
        batch_rx,
        written_tx,
        config.retry.clone(),
        metrics.clone(),
        facts,
        shutdown.clone(),
    ));
    tracing::info!(topics = ?config.kafka.topics, group = %config.kafka.group_id, %http_addr, "ingest started");
    let task = tokio::spawn(async move {
        let result = pipeline::consume(
            &config,
            consumer,
            shared,
            batch_tx,
            written_rx,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        let _ = writer.await;
        result
    });
    Ok(Running { http_addr, task })
}
