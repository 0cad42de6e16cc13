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

/// Label: what became of a gap in a partition's offsets.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GapLabel {
    /// Topic name.
    pub topic: String,
    /// `recovered` (re-read), `lost` (not there on re-reading) or `retention` (the log
    /// starts after it: removed before it was read).
    pub outcome: &'static str,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

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
    /// 1 while reading is held back because the next batch is full.
    pub holding: Gauge,
    /// Partitions assigned now.
    pub assigned_partitions: Gauge,
    /// When a batch was last stored, seconds since the Unix epoch.
    pub last_stored_timestamp_seconds: FloatGauge,
    /// Since when `/health` says stalled, seconds since the Unix epoch; 0 when ok.
    pub stalled_since_timestamp_seconds: FloatGauge,
    /// Gaps in partitions' offsets, per topic and outcome.
    pub offset_gaps: Family<GapLabel, Counter>,
    /// Messages missing in gaps that were not recovered, per topic.
    pub lost_messages: Family<TopicLabel, Counter>,
    /// Messages read again while recovering a gap (dropped: already stored or batched).
    pub reread_messages: Counter,
    /// Times the consumer left its group and joined again (no partitions while no member
    /// consumed them).
    pub rejoins: Counter,
    /// Dead letters whose payload was cut to `dead_letters.max_payload_bytes`.
    pub dead_letters_truncated: Counter,
    /// Dead letters the dead-letter topic refused even without payload (kept in the
    /// `dead_letters` table only).
    pub dead_letters_unpublished: Counter,
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
            holding: Gauge::default(),
            assigned_partitions: Gauge::default(),
            last_stored_timestamp_seconds: FloatGauge::default(),
            stalled_since_timestamp_seconds: FloatGauge::default(),
            offset_gaps: Family::default(),
            lost_messages: Family::default(),
            reread_messages: Counter::default(),
            rejoins: Counter::default(),
            dead_letters_truncated: Counter::default(),
            dead_letters_unpublished: Counter::default(),
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
        r.register(
            "holding",
            "1 while reading is held back because the next batch is full",
            metrics.holding.clone(),
        );
        r.register(
            "assigned_partitions",
            "Partitions assigned to this consumer",
            metrics.assigned_partitions.clone(),
        );
        r.register(
            "last_stored_timestamp_seconds",
            "When a batch was last stored (Unix time)",
            metrics.last_stored_timestamp_seconds.clone(),
        );
        r.register(
            "stalled_since_timestamp_seconds",
            "Since when /health says stalled (Unix time); 0 when ok",
            metrics.stalled_since_timestamp_seconds.clone(),
        );
        r.register(
            "offset_gaps",
            "Gaps in a partition's offsets (recovered, lost, retention)",
            metrics.offset_gaps.clone(),
        );
        r.register(
            "lost_messages",
            "Messages missing in gaps that could not be re-read",
            metrics.lost_messages.clone(),
        );
        r.register(
            "reread_messages",
            "Messages read again while recovering a gap",
            metrics.reread_messages.clone(),
        );
        r.register(
            "rejoins",
            "Times the consumer left its group and joined again",
            metrics.rejoins.clone(),
        );
        r.register(
            "dead_letters_truncated",
            "Dead letters whose payload was cut to dead_letters.max_payload_bytes",
            metrics.dead_letters_truncated.clone(),
        );
        r.register(
            "dead_letters_unpublished",
            "Dead letters the dead-letter topic refused (kept in the dead_letters table)",
            metrics.dead_letters_unpublished.clone(),
        );
        metrics
    }
}
