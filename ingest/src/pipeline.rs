//! The consumer loop: poll, decode, batch, hand batches to the writer, commit what the
//! writer stored. Backpressure: while a batch is being stored and the next one is full,
//! the assigned partitions are paused, and the loop keeps polling so the consumer stays in
//! its group however long ClickHouse is away.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, Covered, Partition};
use crate::config::IngestConfig;
use crate::decode::{decode, Decoded, Origin};
use crate::error::IngestError;
use crate::guard::DeadLetterGuard;
use crate::kafka::{IngestContext, StoredTimestamps};
use crate::metrics::{Metrics, TopicLabel};
use crate::sink::now_ms;
use crate::writer::Written;

/// Runs the loop until `shutdown`, then flushes (bounded) and commits.
pub async fn consume(
    config: &IngestConfig,
    consumer: StreamConsumer<IngestContext>,
    batches: mpsc::Sender<Batch>,
    mut written: mpsc::Receiver<Written>,
    metrics: Arc<Metrics>,
    stored: StoredTimestamps,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut state = Loop {
        consumer,
        metrics,
        stored,
        batch: Batch::default(),
        in_flight: false,
        paused: false,
        pending_counts: BTreeMap::new(),
    };
    let mut guard = DeadLetterGuard::new(config.dead_letters.clone());
    let cfg = &config.batch;
    loop {
        let wait = state
            .batch
            .due_in(cfg, Instant::now())
            .unwrap_or(Duration::from_secs(1));
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            report = written.recv() => match report {
                Some(Written::Stored(offsets)) => state.stored_batch(&offsets)?,
                Some(Written::Failed(e)) => return Err(e.into()),
                Some(Written::Abandoned) | None => break,
            },
            message = state.consumer.recv() => match message {
                Ok(m) => {
                    let payload = m.payload().unwrap_or_default();
                    let origin = Origin {
                        topic: m.topic(),
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().unwrap_or_default(),
                        timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
                    };
                    let decoded = decode(payload, origin, now_ms());
                    let dead = matches!(decoded, Decoded::Dead(_));
                    if let Err(t) = guard.record(dead) {
                        return Err(IngestError::DeadLetterGuard { dead: t.dead, total: t.total });
                    }
                    state.batch.push(decoded, origin, payload.len());
                    if state.paused {
                        // A message fetched before the pause, or from a partition assigned
                        // since: pause its partition too.
                        state.pause_partition(origin.topic, origin.partition);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "kafka consumer error"),
            },
            _ = tokio::time::sleep(wait) => {}
        }
        if state.batch.is_due(cfg, Instant::now()) && !state.batch.is_empty() {
            if !state.in_flight {
                state.hand_over(&batches).await;
            } else if state.batch.is_full(cfg) && !state.paused {
                state.pause_all();
            }
        }
    }
    state.shutdown(batches, written).await
}

struct Loop {
    consumer: StreamConsumer<IngestContext>,
    metrics: Arc<Metrics>,
    stored: StoredTimestamps,
    batch: Batch,
    in_flight: bool,
    paused: bool,
    /// Messages per topic of the batch being written (counted once stored).
    pending_counts: BTreeMap<String, u64>,
}

impl Loop {
    async fn hand_over(&mut self, batches: &mpsc::Sender<Batch>) {
        let batch = std::mem::take(&mut self.batch);
        self.pending_counts = batch.per_topic.clone();
        self.in_flight = true;
        // Capacity 1 and at most one batch in flight: this never waits.
        if batches.send(batch).await.is_err() {
            tracing::error!("the writer is gone");
        }
    }

    /// A batch is stored: commit its offsets (for partitions still ours) and resume.
    fn stored_batch(&mut self, offsets: &BTreeMap<Partition, Covered>) -> Result<(), IngestError> {
        self.in_flight = false;
        for (topic, n) in std::mem::take(&mut self.pending_counts) {
            self.metrics
                .consumed
                .get_or_create(&TopicLabel { topic })
                .inc_by(n);
        }
        self.commit(offsets, CommitMode::Async)?;
        if self.paused {
            self.resume_all();
        }
        Ok(())
    }

    fn commit(
        &self,
        offsets: &BTreeMap<Partition, Covered>,
        mode: CommitMode,
    ) -> Result<(), IngestError> {
        let assigned = self.consumer.assignment()?;
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), covered) in offsets {
            if assigned.find_partition(topic, *partition).is_none() {
                continue; // revoked meanwhile: the new owner re-reads it
            }
            tpl.add_partition_offset(topic, *partition, Offset::Offset(covered.last_offset + 1))?;
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        self.consumer.commit(&tpl, mode)?;
        self.metrics.commits.inc();
        if let Ok(mut stored) = self.stored.lock() {
            for ((topic, partition), covered) in offsets {
                stored.insert((topic.clone(), *partition), covered.last_timestamp_ms);
            }
        }
        Ok(())
    }

    fn pause_all(&mut self) {
        match self.consumer.assignment() {
            Ok(tpl) => match self.consumer.pause(&tpl) {
                Ok(()) => {
                    self.paused = true;
                    self.metrics.paused.set(1);
                    tracing::info!(
                        messages = self.batch.messages,
                        "backpressure: partitions paused"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "pausing partitions failed"),
            },
            Err(e) => tracing::warn!(error = %e, "reading the assignment failed"),
        }
    }

    fn pause_partition(&self, topic: &str, partition: i32) {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::warn!(error = %e, topic, partition, "pausing a partition failed");
        }
    }

    fn resume_all(&mut self) {
        match self.consumer.assignment() {
            Ok(tpl) => {
                if let Err(e) = self.consumer.resume(&tpl) {
                    tracing::warn!(error = %e, "resuming partitions failed");
                    return;
                }
                self.paused = false;
                self.metrics.paused.set(0);
                tracing::info!("partitions resumed");
            }
            Err(e) => tracing::warn!(error = %e, "reading the assignment failed"),
        }
    }

    /// Stop consuming; store what is pending (bounded by the writer's shutdown timeout);
    /// commit what was stored.
    async fn shutdown(
        mut self,
        batches: mpsc::Sender<Batch>,
        mut written: mpsc::Receiver<Written>,
    ) -> Result<(), IngestError> {
        tracing::info!(
            pending = self.batch.messages,
            in_flight = self.in_flight,
            "shutting down: flushing"
        );
        if !self.batch.is_empty() {
            if self.in_flight {
                match written.recv().await {
                    Some(Written::Stored(offsets)) => self.commit(&offsets, CommitMode::Sync)?,
                    Some(Written::Failed(e)) => return Err(e.into()),
                    Some(Written::Abandoned) | None => return Ok(()),
                }
            }
            let batch = std::mem::take(&mut self.batch);
            self.pending_counts = batch.per_topic.clone();
            if batches.send(batch).await.is_ok() {
                self.in_flight = true;
            }
        }
        drop(batches);
        if self.in_flight {
            match written.recv().await {
                Some(Written::Stored(offsets)) => {
                    self.in_flight = false;
                    for (topic, n) in std::mem::take(&mut self.pending_counts) {
                        self.metrics
                            .consumed
                            .get_or_create(&TopicLabel { topic })
                            .inc_by(n);
                    }
                    self.commit(&offsets, CommitMode::Sync)?;
                }
                Some(Written::Failed(e)) => return Err(e.into()),
                Some(Written::Abandoned) | None => {
                    tracing::warn!("shutdown: the last batch was not stored; it will be re-read");
                }
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}
