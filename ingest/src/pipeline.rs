//! The consumer loop: poll, check offsets, decode, batch, hand batches to the writer,
//! commit what the writer stored.
//!
//! Backpressure: while a batch is being stored and the next one is full, the loop stops
//! reading (the broker client's bounded prefetch queue fills and it stops fetching) for up
//! to `batch.hold_max_ms`; only a longer outage pauses the partitions, and then the loop
//! polls again so the consumer stays in its group however long ClickHouse is away.
//! Holding back instead of pausing matters: a broker may answer the fetch that follows a
//! resume from the next record batch (tansu does), and the offset tracker then has to
//! re-read (see [`crate::offsets`]).
//!
//! Every few seconds the loop also records health facts and, when it has had no
//! partition for `kafka.rejoin_after_unassigned_ms` while no member consumes some of the
//! group's partitions, leaves the group and joins again (see [`crate::group`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batch, Covered, Partition};
use crate::config::IngestConfig;
use crate::decode::{dead_letter, decode, Decoded, Limits, Origin, UNENCODABLE};
use crate::error::IngestError;
use crate::group::GroupWatch;
use crate::guard::DeadLetterGuard;
use crate::health::{self, SharedFacts};
use crate::kafka::{self, AssignmentChange, IngestContext, Shared};
use crate::metrics::{GapLabel, Metrics, TopicLabel};
use crate::offsets::{OffsetTracker, Verdict, FIRST_DISTANCE};
use crate::sink::now_ms;
use crate::writer::Written;

type Kafka = StreamConsumer<IngestContext>;

/// How often the partitions' ends are checked for gaps.
const TICK: Duration = Duration::from_secs(1);
/// Every how many ticks health facts are refreshed and the group is checked.
const SLOW_TICKS: u32 = 5;
/// Timeout of the broker look-ups the loop makes (committed offsets, watermarks).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the loop until `shutdown`, then flushes (bounded) and commits.
pub async fn consume(
    config: &IngestConfig,
    consumer: Kafka,
    shared: Shared,
    batches: mpsc::Sender<Batch>,
    mut written: mpsc::Receiver<Written>,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let mut consumer = consumer;
    let mut state = Loop {
        ends: Arc::clone(&shared.ends),
        metrics: Arc::clone(&shared.metrics),
        facts: Arc::clone(&shared.facts),
        stored: shared.stored.clone(),
        batch: Batch::default(),
        in_flight: false,
        paused: false,
        holding_since: None,
        pending_counts: BTreeMap::new(),
        tracker: OffsetTracker::new(config.kafka.gap_recovery_max_messages),
        limits: config.limits(),
        hold_max: Duration::from_millis(config.batch.hold_max_ms),
    };
    let mut watch = GroupWatch::new(&config.kafka);
    let mut guard = DeadLetterGuard::new(config.dead_letters.clone());
    let cfg = &config.batch;
    let mut tick = tokio::time::interval(TICK);
    let mut ticks = 0u32;
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wait = state.wait(cfg);
        let reading = state.reading(cfg);
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            report = written.recv() => match report {
                Some(Written::Stored(offsets)) => state.stored_batch(&consumer, &offsets)?,
                Some(Written::Failed(e)) => return Err(e.into()),
                Some(Written::Abandoned) | None => break,
            },
            // Before the messages: with a backlog a message is always ready, and a biased
            // select would never get to the tick.
            _ = tick.tick() => {
                state.check_partition_ends(&consumer);
                ticks = ticks.wrapping_add(1);
                if ticks.is_multiple_of(SLOW_TICKS) {
                    state.on_tick(&consumer, config);
                    if watch.check(&consumer, &state.facts) {
                        consumer = state.rejoin(consumer, config, &shared).await?;
                        watch = GroupWatch::new(&config.kafka);
                    }
                }
            },
            message = consumer.recv(), if reading => match message {
                Ok(m) => state.on_message(&consumer, &m, &mut guard)?,
                Err(e) => tracing::warn!(error = %e, "kafka consumer error"),
            },
            _ = tokio::time::sleep(wait) => {}
        }
        if state.batch.is_due(cfg, Instant::now()) && !state.batch.is_empty() && !state.in_flight {
            state.hand_over(&batches).await;
        }
        state.hold_or_pause(&consumer, cfg);
    }
    state.shutdown(&consumer, batches, written).await
}

struct Loop {
    ends: kafka::EndOffsets,
    metrics: Arc<Metrics>,
    facts: SharedFacts,
    stored: kafka::StoredTimestamps,
    batch: Batch,
    in_flight: bool,
    paused: bool,
    /// Since when reading is held back (the next batch is full while one is stored).
    holding_since: Option<Instant>,
    /// Messages per topic of the batch being written (counted once stored).
    pending_counts: BTreeMap<String, u64>,
    tracker: OffsetTracker,
    limits: Limits,
    hold_max: Duration,
}

impl Loop {
    /// How long the loop may sleep when nothing else happens: until the batch is due, or
    /// while one is in flight (nothing can be handed over) until the hold may turn into a
    /// pause.
    fn wait(&self, cfg: &crate::config::BatchConfig) -> Duration {
        let idle = Duration::from_secs(1);
        if self.in_flight {
            return match self.holding_since {
                // Paused already: messages and the writer's report wake the loop.
                Some(since) if !self.paused => {
                    self.hold_max.saturating_sub(since.elapsed()).min(idle)
                }
                _ => idle,
            };
        }
        self.batch.due_in(cfg, Instant::now()).unwrap_or(idle)
    }

    /// Whether to take messages now: not while the next batch is full and one is being
    /// stored, unless the partitions are paused (then only the prefetched ones come).
    fn reading(&self, cfg: &crate::config::BatchConfig) -> bool {
        self.paused || !(self.in_flight && self.batch.is_full(cfg))
    }

    /// Starts holding back when the next batch is full; pauses the partitions when the
    /// hold lasted `hold_max`.
    fn hold_or_pause(&mut self, consumer: &Kafka, cfg: &crate::config::BatchConfig) {
        let full = self.in_flight && self.batch.is_full(cfg);
        match (full, self.holding_since) {
            (true, None) if !self.paused => {
                self.holding_since = Some(Instant::now());
                self.tracker.mark_active();
                self.metrics.holding.set(1);
                tracing::debug!(messages = self.batch.messages, "backpressure: holding back");
            }
            (true, Some(since)) if since.elapsed() >= self.hold_max && !self.paused => {
                self.pause_all(consumer);
            }
            (false, Some(_)) => {
                self.holding_since = None;
                self.tracker.mark_active();
                self.metrics.holding.set(0);
            }
            _ => {}
        }
    }

    /// One message: assignment changes first, then its offset, then decode and batch.
    fn on_message(
        &mut self,
        consumer: &Kafka,
        m: &BorrowedMessage<'_>,
        guard: &mut DeadLetterGuard,
    ) -> Result<(), IngestError> {
        self.apply_assignment_changes(consumer);
        if !self.offset_is_next(consumer, m.topic(), m.partition(), m.offset()) {
            return Ok(());
        }
        let payload = m.payload().unwrap_or_default();
        let origin = Origin {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().unwrap_or_default(),
            timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
        };
        let decoded = decode(payload, origin, now_ms(), &self.limits);
        let dead = matches!(decoded, Decoded::Dead(_));
        if let Err(t) = guard.record(dead) {
            return Err(IngestError::DeadLetterGuard {
                dead: t.dead,
                total: t.total,
            });
        }
        if let Err(e) = self.batch.push(decoded, origin, payload.len()) {
            let message = format!("the event's rows cannot be encoded for ClickHouse: {e}");
            let dead = dead_letter(
                payload,
                origin,
                UNENCODABLE,
                &message,
                now_ms(),
                &self.limits,
            );
            self.batch
                .push(Decoded::Dead(dead), origin, payload.len())?;
        }
        if self.paused {
            // A message fetched before the pause, or from a partition assigned since:
            // pause its partition too.
            pause_partition(consumer, origin.topic, origin.partition);
        }
        Ok(())
    }

    /// Newly assigned partitions expect their committed offset first; revoked ones are
    /// forgotten.
    fn apply_assignment_changes(&mut self, consumer: &Kafka) {
        let changes = consumer.context().changes().take();
        if changes.is_empty() {
            return;
        }
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.metrics.assigned_partitions.set(assigned as i64);
        health::update(&self.facts, |f| f.set_assigned(assigned, now_ms()));
        for change in changes {
            match change {
                AssignmentChange::Revoked(partitions) => {
                    for (topic, partition) in partitions {
                        self.tracker.forget(&topic, partition);
                    }
                }
                AssignmentChange::Assigned(partitions) => {
                    let mut tpl = TopicPartitionList::new();
                    for (topic, partition) in &partitions {
                        tpl.add_partition(topic, *partition);
                    }
                    match consumer.committed_offsets(tpl, LOOKUP_TIMEOUT) {
                        Ok(committed) => {
                            for e in committed.elements() {
                                let next = match e.offset() {
                                    Offset::Offset(o) => Some(o),
                                    _ => None,
                                };
                                self.tracker
                                    .expect((e.topic().to_owned(), e.partition()), next);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reading committed offsets failed; gaps at the start of these partitions go unnoticed");
                        }
                    }
                }
            }
        }
    }

    /// Checks the message's offset against the partition's next; false when the message
    /// is to be dropped (read before, or a gap is being re-read).
    fn offset_is_next(
        &mut self,
        consumer: &Kafka,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> bool {
        loop {
            match self.tracker.observe(topic, partition, offset) {
                Verdict::Take => return true,
                Verdict::Recovered { missing_from } => {
                    self.count_gap(topic, "recovered");
                    tracing::info!(topic, partition, missing_from, "gap re-read");
                    return true;
                }
                Verdict::Seen => {
                    self.metrics.reread_messages.inc();
                    return false;
                }
                Verdict::Lost {
                    missing_from,
                    count,
                    reread,
                } => {
                    self.lost(topic, partition, missing_from, count, "lost");
                    tracing::error!(
                        topic,
                        partition,
                        missing_from,
                        missing_to = offset - 1,
                        count,
                        reread,
                        "messages missing in the partition: the broker has no records there"
                    );
                    return true;
                }
                Verdict::Reread {
                    offset: from,
                    missing_from,
                } => match self.reread(consumer, topic, partition, from, missing_from, offset) {
                    Reread::Seeking => return false,
                    Reread::Retention => continue,
                    Reread::Failed => return true,
                },
            }
        }
    }

    /// Seeks back to `from` to re-read the gap from `missing_from` (first noticed at
    /// `seen`), unless the broker's log starts after the gap.
    fn reread(
        &mut self,
        consumer: &Kafka,
        topic: &str,
        partition: i32,
        from: i64,
        missing_from: i64,
        seen: i64,
    ) -> Reread {
        // The broker's log may start after the gap: removed by retention before we read
        // it (an offset reset). Then no re-read can help. Asked once per gap (a broker
        // round trip, with the loop waiting).
        let first = from >= missing_from - FIRST_DISTANCE;
        let low = if first {
            consumer
                .fetch_watermarks(topic, partition, LOOKUP_TIMEOUT)
                .ok()
        } else {
            None
        };
        if let Some((low, _)) = low {
            if low > missing_from {
                self.lost(
                    topic,
                    partition,
                    missing_from,
                    low - missing_from,
                    "retention",
                );
                tracing::error!(
                    topic,
                    partition,
                    missing_from,
                    missing_to = low - 1,
                    "offset reset: messages removed by retention before they were read"
                );
                self.tracker
                    .expect((topic.to_owned(), partition), Some(low));
                return Reread::Retention;
            }
        }
        tracing::warn!(
            topic,
            partition,
            missing_from,
            next_seen = seen,
            reread_from = from,
            "gap in the partition's offsets: re-reading"
        );
        if let Err(e) = consumer.seek(topic, partition, Offset::Offset(from), Duration::ZERO) {
            tracing::warn!(error = %e, topic, partition, "seek failed; the gap will be accepted");
            self.tracker.give_up(topic, partition, seen);
            self.lost(topic, partition, missing_from, seen - missing_from, "lost");
            return Reread::Failed;
        }
        Reread::Seeking
    }

    /// Partitions behind their end that delivered nothing since the last tick: a gap at
    /// their end (not looked at while reading is held back or paused).
    fn check_partition_ends(&mut self, consumer: &Kafka) {
        if self.paused || self.holding_since.is_some() {
            self.tracker.mark_active();
            return;
        }
        let ends = self.ends.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for ((topic, partition), verdict) in self.tracker.stuck(&ends) {
            let end = ends.get(&(topic.clone(), partition)).copied().unwrap_or(0);
            match verdict {
                Verdict::Reread {
                    offset: from,
                    missing_from,
                } => {
                    if let Reread::Retention =
                        self.reread(consumer, &topic, partition, from, missing_from, end)
                    {
                        self.tracker.mark_active();
                    }
                }
                Verdict::Lost {
                    missing_from,
                    count,
                    reread,
                } => {
                    self.lost(&topic, partition, missing_from, count, "lost");
                    tracing::error!(
                        topic, partition, missing_from, missing_to = end - 1, count, reread,
                        "messages missing at the end of the partition: the broker has no records there"
                    );
                }
                Verdict::Take | Verdict::Seen | Verdict::Recovered { .. } => {}
            }
        }
    }

    fn count_gap(&self, topic: &str, outcome: &'static str) {
        self.metrics
            .offset_gaps
            .get_or_create(&GapLabel {
                topic: topic.to_owned(),
                outcome,
            })
            .inc();
    }

    fn lost(&self, topic: &str, partition: i32, from: i64, count: i64, outcome: &'static str) {
        self.count_gap(topic, outcome);
        self.metrics
            .lost_messages
            .get_or_create(&TopicLabel {
                topic: topic.to_owned(),
            })
            .inc_by(count.max(0) as u64);
        health::update(&self.facts, |f| {
            f.lost_messages += count.max(0) as u64;
            f.last_loss = Some(format!(
                "{topic}:{partition} offsets {from}..{} ({outcome})",
                from + count - 1
            ));
        });
    }

    /// Refreshes health facts and metrics; pauses when the hold lasted too long.
    fn on_tick(&mut self, consumer: &Kafka, config: &IngestConfig) {
        let now = now_ms();
        let assigned = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.metrics.assigned_partitions.set(assigned as i64);
        let facts = {
            let mut f = self.facts.lock().unwrap_or_else(|e| e.into_inner());
            f.set_assigned(assigned, now);
            f.clone()
        };
        let verdict = health::evaluate(&facts, now, &config.health);
        self.metrics
            .stalled_since_timestamp_seconds
            .set(verdict.stalled_since_ms.map_or(0.0, |ms| ms as f64 / 1e3));
        if self.tracker.rereading() > 0 {
            tracing::debug!(partitions = self.tracker.rereading(), "re-reading gaps");
        }
        self.hold_or_pause(consumer, &config.batch);
    }

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
    fn stored_batch(
        &mut self,
        consumer: &Kafka,
        offsets: &BTreeMap<Partition, Covered>,
    ) -> Result<(), IngestError> {
        self.in_flight = false;
        self.count_stored();
        self.commit(consumer, offsets, CommitMode::Async)?;
        if self.paused {
            self.resume_all(consumer);
        }
        Ok(())
    }

    fn count_stored(&mut self) {
        for (topic, n) in std::mem::take(&mut self.pending_counts) {
            self.metrics
                .consumed
                .get_or_create(&TopicLabel { topic })
                .inc_by(n);
        }
        let now = now_ms();
        self.metrics
            .last_stored_timestamp_seconds
            .set(now as f64 / 1e3);
        health::update(&self.facts, |f| {
            f.last_stored_ms = now;
            f.last_write_error = None;
        });
    }

    fn commit(
        &self,
        consumer: &Kafka,
        offsets: &BTreeMap<Partition, Covered>,
        mode: CommitMode,
    ) -> Result<(), IngestError> {
        let assigned = consumer.assignment()?;
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
        consumer.commit(&tpl, mode)?;
        self.metrics.commits.inc();
        if let Ok(mut stored) = self.stored.lock() {
            for ((topic, partition), covered) in offsets {
                stored.insert((topic.clone(), *partition), covered.last_timestamp_ms);
            }
        }
        Ok(())
    }

    fn pause_all(&mut self, consumer: &Kafka) {
        match consumer.assignment() {
            Ok(tpl) => match consumer.pause(&tpl) {
                Ok(()) => {
                    self.paused = true;
                    self.metrics.paused.set(1);
                    self.tracker.mark_active();
                    tracing::info!(
                        messages = self.batch.messages,
                        held_ms = self.hold_max.as_millis() as u64,
                        "backpressure: held back too long, partitions paused"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "pausing partitions failed"),
            },
            Err(e) => tracing::warn!(error = %e, "reading the assignment failed"),
        }
    }

    fn resume_all(&mut self, consumer: &Kafka) {
        match consumer.assignment() {
            Ok(tpl) => {
                if let Err(e) = consumer.resume(&tpl) {
                    tracing::warn!(error = %e, "resuming partitions failed");
                    return;
                }
                self.paused = false;
                self.metrics.paused.set(0);
                self.tracker.mark_active();
                tracing::info!("partitions resumed");
            }
            Err(e) => tracing::warn!(error = %e, "reading the assignment failed"),
        }
    }

    /// Leaves the group (closing the consumer) and joins again with a new one, without
    /// static membership (a static member's leave is not sent, so it would come back as
    /// the same member with the same empty assignment).
    async fn rejoin(
        &mut self,
        old: Kafka,
        config: &IngestConfig,
        shared: &Shared,
    ) -> Result<Kafka, IngestError> {
        tracing::warn!(
            "partitions of the group are not consumed: leaving the group and joining again"
        );
        self.metrics.rejoins.inc();
        let fresh = kafka::consumer(&config.kafka, shared, false)?;
        // Leave first, so the group forms anew around the members alive now.
        let _ = tokio::task::spawn_blocking(move || drop(old)).await;
        kafka::subscribe(&config.kafka, &fresh)?;
        self.tracker.clear();
        self.paused = false;
        self.metrics.paused.set(0);
        Ok(fresh)
    }

    /// Stop consuming; store what is pending (bounded by the writer's shutdown timeout);
    /// commit what was stored.
    async fn shutdown(
        mut self,
        consumer: &Kafka,
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
                    Some(Written::Stored(offsets)) => {
                        self.in_flight = false;
                        self.count_stored();
                        self.commit(consumer, &offsets, CommitMode::Sync)?;
                    }
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
                    self.count_stored();
                    self.commit(consumer, &offsets, CommitMode::Sync)?;
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

/// What a re-read came to.
enum Reread {
    /// Seeking back: drop the message that showed the gap.
    Seeking,
    /// The log starts after the gap (counted): look at the message again.
    Retention,
    /// The seek failed; the gap is counted as lost: take the message.
    Failed,
}

fn pause_partition(consumer: &Kafka, topic: &str, partition: i32) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    if let Err(e) = consumer.pause(&tpl) {
        tracing::warn!(error = %e, topic, partition, "pausing a partition failed");
    }
}
