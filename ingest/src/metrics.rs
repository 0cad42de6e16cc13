//! Every metric `ingest` exports, in one place. Units are in the names; labels are bounded
//! (topic, partition, table, reason), never a tenant or user. Updated per batch.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label: a topic.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    /// Topic name.
    pub topic: String,
}

/// Label: a topic partition.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabel {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

/// Label: a ClickHouse table.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    /// Table name.
    pub table: &'static str,
}

/// Label: why a message was dead-lettered.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Stable reason (`truncated`, `contract_violation`, ...).
    pub reason: String,
}

/// Label: what a rebalance did.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RebalanceLabel {
    /// `assign`, `revoke` or `error`.
    pub kind: &'static str,
}

/// Label: what a retry was for.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabel {
    /// `clickhouse` or `dead_letter_topic`.
    pub target: &'static str,
}

/// The ingest metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Messages consumed and stored (or dead-lettered), per topic.
    pub consumed: Family<TopicLabel, Counter>,
    /// Rows inserted, per table.
    pub inserted_rows: Family<TableLabel, Counter>,
    /// Messages dead-lettered, per reason.
    pub dead_lettered: Family<ReasonLabel, Counter>,
    /// Messages per flushed batch.
    pub batch_messages: Histogram,
    /// Seconds to write a batch (all tables, dead letters included), retries included.
    pub batch_flush_seconds: Histogram,
    /// Failed attempts that will be retried.
    pub retries: Family<TargetLabel, Counter>,
    /// Offsets committed (batches).
    pub commits: Counter,
    /// Messages between our committed position and the end of each partition.
    pub lag_messages: Family<PartitionLabel, Gauge>,
    /// Age of the newest stored message of each partition when it still has lag, seconds.
    pub lag_seconds: Family<PartitionLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// 1 while partitions are paused for backpressure.
    pub paused: Gauge,
    /// Group rebalances seen by this consumer.
    pub rebalances: Family<RebalanceLabel, Counter>,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            consumed: Family::default(),
            inserted_rows: Family::default(),
            dead_lettered: Family::default(),
            batch_messages: Histogram::new(exponential_buckets(1.0, 4.0, 10)),
            batch_flush_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            retries: Family::default(),
            commits: Counter::default(),
            lag_messages: Family::default(),
            lag_seconds: Family::default(),
            paused: Gauge::default(),
            rebalances: Family::default(),
        };
        let r = registry.sub_registry_with_prefix("ingest");
        r.register(
            "messages_consumed",
            "Messages consumed and stored or dead-lettered",
            metrics.consumed.clone(),
        );
        r.register(
            "rows_inserted",
            "Rows inserted into ClickHouse",
            metrics.inserted_rows.clone(),
        );
        r.register(
            "dead_lettered",
            "Messages sent to the dead-letter topic",
            metrics.dead_lettered.clone(),
        );
        r.register(
            "batch_messages",
            "Messages per flushed batch",
            metrics.batch_messages.clone(),
        );
        r.register(
            "batch_flush_seconds",
            "Time to store a batch, retries included",
            metrics.batch_flush_seconds.clone(),
        );
        r.register(
            "retries",
            "Failed attempts that are retried",
            metrics.retries.clone(),
        );
        r.register(
            "commits",
            "Offset commits after a stored batch",
            metrics.commits.clone(),
        );
        r.register(
            "consumer_lag_messages",
            "Messages not yet consumed per partition",
            metrics.lag_messages.clone(),
        );
        r.register(
            "consumer_lag_seconds",
            "Age of the newest stored message while a partition has lag",
            metrics.lag_seconds.clone(),
        );
        r.register(
            "rebalances",
            "Consumer group rebalances seen (assign, revoke, error)",
            metrics.rebalances.clone(),
        );
        r.register(
            "paused",
            "1 while partitions are paused for backpressure",
            metrics.paused.clone(),
        );
        metrics
    }
}
