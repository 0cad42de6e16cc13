//! `ingest`: Kafka to ClickHouse, nothing lost, nothing doubled.
//!
//! The pipeline, one module per step:
//! [`decode`] (pure: message -> rows or dead letter) -> [`batch`] (cut by messages, bytes,
//! age) -> [`writer`]/[`sink`] (dead letters to their topic, one INSERT per table, retried
//! with [`backoff`] while servers are away) -> commit in [`pipeline`], only after the rows
//! are stored. [`guard`] stops consumption when too much input is bad. [`metrics`] (served by
//! `service_kit::http`) expose what happens; [`config`] is checked before anything starts; [`replay`]
//! re-publishes dead letters once their cause is fixed.
//!
//! Delivery is at least once; storage is idempotent (see `docs/clickhouse-schema.md`), so
//! a replay or a crash between insert and commit never doubles a row as seen through the
//! views.

pub mod backoff;
pub mod batch;
pub mod config;
pub mod decode;
pub mod error;
pub mod guard;
pub mod kafka;
pub mod metrics;
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

/// Applies pending migrations, waiting for ClickHouse to come up (up to `wait`). Refuses
/// on drift.
pub async fn migrate(config: &IngestConfig, wait: Duration) -> Result<(), IngestError> {
    store::migrate::migrate_waiting(&config.clickhouse, wait).await?;
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
    let listener = TcpListener::bind(config.http.listen)
        .await
        .map_err(IngestError::Http)?;
    let http_addr = listener.local_addr().map_err(IngestError::Http)?;
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            if let Err(e) = service_kit::http::serve(listener, registry, shutdown).await {
                tracing::error!(error = %e, "metrics endpoint failed");
            }
        }
    });
    let stored = Arc::new(Mutex::new(Default::default()));
    let consumer = kafka::consumer(&config.kafka, metrics.clone(), Arc::clone(&stored))?;
    let producer = kafka::dead_letter_producer(&config.kafka)?;
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
        shutdown.clone(),
    ));
    tracing::info!(topics = ?config.kafka.topics, group = %config.kafka.group_id, %http_addr, "ingest started");
    let task = tokio::spawn(async move {
        let result = pipeline::consume(
            &config,
            consumer,
            batch_tx,
            written_rx,
            metrics,
            stored,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        let _ = writer.await;
        result
    });
    Ok(Running { http_addr, task })
}
