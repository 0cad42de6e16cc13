//! The writer task: stores batches one at a time, retrying with backoff while ClickHouse or
//! the broker is unavailable, and reports each stored batch back to the consumer loop,
//! which then commits its offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::batch::{Batch, Covered, Partition};
use crate::config::RetryConfig;
use crate::health::{self, SharedFacts};
use crate::metrics::{Metrics, TargetLabel};
use crate::sink::{Sink, SinkError, WriteProgress};

/// What the writer reports.
#[derive(Debug)]
pub enum Written {
    /// The batch is stored: its offsets may be committed.
    Stored(std::collections::BTreeMap<Partition, Covered>),
    /// Storing failed for good; stop without committing.
    Failed(SinkError),
    /// Shutdown came while ClickHouse was unavailable: the batch is not stored.
    Abandoned,
}

/// Runs until `batches` closes; `shutdown` bounds the retries of the last batches.
pub async fn run(
    sink: Sink,
    mut batches: mpsc::Receiver<Batch>,
    written: mpsc::Sender<Written>,
    retry: RetryConfig,
    metrics: Arc<Metrics>,
    facts: SharedFacts,
    shutdown: CancellationToken,
) {
    while let Some(mut batch) = batches.recv().await {
        let started = Instant::now();
        let outcome =
            store_with_retries(&sink, &mut batch, &retry, &metrics, &facts, &shutdown).await;
        let report = match outcome {
            Ok(()) => {
                metrics
                    .batch_flush_seconds
                    .observe(started.elapsed().as_secs_f64());
                metrics.batch_messages.observe(batch.messages as f64);
                Written::Stored(batch.offsets)
            }
            Err(Some(e)) => Written::Failed(e),
            Err(None) => Written::Abandoned,
        };
        let stop = !matches!(report, Written::Stored(_));
        if written.send(report).await.is_err() || stop {
            return;
        }
    }
}

/// `Err(None)`: gave up because of shutdown.
///
/// Every attempt stamps the rows it sends with ClickHouse's time of that attempt
/// ([`Batch::stamp`]), not of the first one:
/// - The aggregator reads each window of `ingested_at` once, `settle + overlap` seconds
///   (12 s by default) behind its clock. A batch that waited out a longer outage with its
///   first stamp would land behind the window and be aggregated only when its users and
///   sessions were touched again.
/// - On a replicated table, a retry of the same bytes after a failure that stored the
///   block anyway (a quorum that timed out, a materialized view's target missing during a
///   rewrite) is deduplicated, and ClickHouse then skips the table's materialized views:
///   the batch's `ingest_touches` rows would be lost. A new stamp makes new bytes; the
///   copy it may store is one more duplicate of the kind every raw table absorbs
///   (`ReplacingMergeTree`, the views and `FINAL`).
async fn store_with_retries(
    sink: &Sink,
    batch: &mut Batch,
    retry: &RetryConfig,
    metrics: &Metrics,
    facts: &SharedFacts,
    shutdown: &CancellationToken,
) -> Result<(), Option<SinkError>> {
    let mut progress = WriteProgress::default();
    let mut backoff = Backoff::new(
        Duration::from_millis(retry.initial_backoff_ms),
        Duration::from_millis(retry.max_backoff_ms),
    );
    let mut shutdown_deadline: Option<Instant> = None;
    loop {
        batch.stamp(sink.server_time_s().await);
        match sink.write(batch, &mut progress, metrics).await {
            Ok(()) => return Ok(()),
            Err(e @ (SinkError::Fatal { .. } | SinkError::DeadLetterTopicRefused { .. })) => {
                return Err(Some(e))
            }
            Err(e) => {
                health::update(facts, |f| f.last_write_error = Some(e.to_string()));
                let target = match &e {
                    SinkError::Retryable { target, .. } => *target,
                    _ => "clickhouse",
                };
                metrics.retries.get_or_create(&TargetLabel { target }).inc();
                let wait = backoff.next_wait(&mut rand::rng());
                tracing::warn!(
                    error = %e,
                    attempt = backoff.attempts(),
                    wait_ms = wait.as_millis() as u64,
                    messages = batch.messages,
                    "storing a batch failed; retrying"
                );
                if shutdown.is_cancelled() {
                    let deadline = *shutdown_deadline.get_or_insert_with(|| {
                        Instant::now() + Duration::from_millis(retry.shutdown_flush_timeout_ms)
                    });
                    if Instant::now() >= deadline {
                        return Err(None);
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.cancelled(), if shutdown_deadline.is_none() => {}
                }
            }
        }
    }
}
