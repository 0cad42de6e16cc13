//! The Kafka side: consumer with a context that tracks rebalances and lag, and the
//! dead-letter producer.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};

use crate::batch::Partition;
use crate::config::KafkaConfig;
use crate::health::{self, SharedFacts};
use crate::metrics::{Metrics, PartitionLabel, RebalanceLabel};
use crate::sink::now_ms;

/// Timestamps of the newest stored message per partition (for lag in seconds).
pub type StoredTimestamps = Arc<Mutex<HashMap<(String, i32), i64>>>;

/// The end offset (high watermark, from fetch responses) of each consumed partition, as
/// the last statistics said.
pub type EndOffsets = Arc<Mutex<HashMap<Partition, i64>>>;

/// A change of assignment, for the consumer loop (which learns of it before any message
/// of the new assignment, as callbacks run inside its poll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentChange {
    /// These partitions were assigned.
    Assigned(Vec<Partition>),
    /// These partitions were revoked (or lost).
    Revoked(Vec<Partition>),
}

/// Assignment changes not yet seen by the loop.
#[derive(Debug, Default)]
pub struct AssignmentChanges {
    pending: AtomicBool,
    queue: Mutex<VecDeque<AssignmentChange>>,
}

impl AssignmentChanges {
    fn push(&self, change: AssignmentChange) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(change);
        self.pending.store(true, Ordering::Release);
    }

    /// Takes the changes queued so far (cheap when there are none).
    pub fn take(&self) -> Vec<AssignmentChange> {
        if !self.pending.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.drain(..).collect()
    }
}

/// Consumer context: logs rebalances and commit failures, queues assignment changes for
/// the loop, turns librdkafka statistics into lag metrics and health facts.
pub struct IngestContext {
    metrics: Arc<Metrics>,
    stored: StoredTimestamps,
    changes: Arc<AssignmentChanges>,
    facts: SharedFacts,
    ends: EndOffsets,
}

impl IngestContext {
    /// The assignment changes not yet taken by the loop.
    pub fn changes(&self) -> &AssignmentChanges {
        &self.changes
    }
}

impl ClientContext for IngestContext {
    fn stats(&self, statistics: Statistics) {
        let now = now_ms();
        let stored = self.stored.lock().map(|m| m.clone()).unwrap_or_default();
        let mut total_lag = 0;
        let mut ends = HashMap::new();
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                if *partition < 0 || p.consumer_lag < 0 {
                    continue; // internal partition, or not consuming it
                }
                let label = PartitionLabel {
                    topic: topic.clone(),
                    partition: *partition,
                };
                self.metrics
                    .lag_messages
                    .get_or_create(&label)
                    .set(p.consumer_lag);
                total_lag += p.consumer_lag;
                if p.hi_offset >= 0 {
                    ends.insert((topic.clone(), *partition), p.hi_offset);
                }
                let seconds = match stored.get(&(topic.clone(), *partition)) {
                    Some(ts) if p.consumer_lag > 0 && *ts > 0 => (now - ts).max(0) as f64 / 1e3,
                    _ => 0.0,
                };
                self.metrics.lag_seconds.get_or_create(&label).set(seconds);
            }
        }
        health::update(&self.facts, |f| f.set_lag(total_lag, now));
        *self.ends.lock().unwrap_or_else(|e| e.into_inner()) = ends;
    }
}

impl ConsumerContext for IngestContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let kind = match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned");
                self.changes
                    .push(AssignmentChange::Assigned(partitions(tpl)));
                "assign"
            }
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked");
                self.changes
                    .push(AssignmentChange::Revoked(partitions(tpl)));
                "revoke"
            }
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance failed");
                "error"
            }
        };
        self.metrics
            .rebalances
            .get_or_create(&RebalanceLabel { kind })
            .inc();
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            // The next commit covers these offsets; after a rebalance the new owner
            // re-reads from its committed position (storage is idempotent).
            tracing::warn!(error = %e, offsets = %describe(offsets), "offset commit failed");
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<Partition> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}:{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// What the consumer shares with the rest of ingest.
#[derive(Clone)]
pub struct Shared {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Newest stored timestamps per partition.
    pub stored: StoredTimestamps,
    /// Health facts.
    pub facts: SharedFacts,
    /// End offsets from the statistics.
    pub ends: EndOffsets,
}

/// The consumer, not yet subscribed (see [`subscribe`]). With `static_membership`, a
/// configured `group_instance_id` is used.
pub fn consumer(
    cfg: &KafkaConfig,
    shared: &Shared,
    static_membership: bool,
) -> KafkaResult<StreamConsumer<IngestContext>> {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", &cfg.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", cfg.session_timeout_ms.to_string())
        .set("max.poll.interval.ms", cfg.max_poll_interval_ms.to_string())
        .set(
            "queued.max.messages.kbytes",
            cfg.queued_max_messages_kbytes.to_string(),
        )
        .set("statistics.interval.ms", "5000");
    if static_membership && !cfg.group_instance_id.is_empty() {
        client.set("group.instance.id", &cfg.group_instance_id);
    }
    for (k, v) in &cfg.extra {
        client.set(k, v);
    }
    client.create_with_context(IngestContext {
        metrics: Arc::clone(&shared.metrics),
        stored: Arc::clone(&shared.stored),
        changes: Arc::new(AssignmentChanges::default()),
        facts: Arc::clone(&shared.facts),
        ends: Arc::clone(&shared.ends),
    })
}

/// Subscribes `consumer` to the configured topics (joins the group).
pub fn subscribe(cfg: &KafkaConfig, consumer: &StreamConsumer<IngestContext>) -> KafkaResult<()> {
    use rdkafka::consumer::Consumer;
    let topics: Vec<&str> = cfg.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)
}

/// Room for a dead letter's key, headers and record overhead beyond its payload, bytes.
pub const DEAD_LETTER_OVERHEAD_BYTES: usize = 64 * 1024;

/// The dead-letter producer: acks from all replicas, retries inside librdkafka, records up
/// to `max_payload_bytes` of payload plus [`DEAD_LETTER_OVERHEAD_BYTES`].
pub fn dead_letter_producer(
    cfg: &KafkaConfig,
    max_payload_bytes: usize,
) -> KafkaResult<FutureProducer> {
    let max_record = (max_payload_bytes + DEAD_LETTER_OVERHEAD_BYTES).max(1_000_000);
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &cfg.brokers)
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .set("message.max.bytes", max_record.to_string())
        .set("linger.ms", "5");
    for (k, v) in &cfg.extra {
        client.set(k, v);
    }
    client.create()
}
