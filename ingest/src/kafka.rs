//! The Kafka side: consumer with a context that tracks rebalances and lag, and the
//! dead-letter producer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::metrics::{Metrics, PartitionLabel, RebalanceLabel};
use crate::sink::now_ms;

/// Timestamps of the newest stored message per partition (for lag in seconds).
pub type StoredTimestamps = Arc<Mutex<HashMap<(String, i32), i64>>>;

/// Consumer context: logs rebalances and commit failures, turns librdkafka statistics
/// into lag metrics.
pub struct IngestContext {
    metrics: Arc<Metrics>,
    stored: StoredTimestamps,
}

impl ClientContext for IngestContext {
    fn stats(&self, statistics: Statistics) {
        let now = now_ms();
        let stored = self.stored.lock().map(|m| m.clone()).unwrap_or_default();
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
                let seconds = match stored.get(&(topic.clone(), *partition)) {
                    Some(ts) if p.consumer_lag > 0 && *ts > 0 => (now - ts).max(0) as f64 / 1e3,
                    _ => 0.0,
                };
                self.metrics.lag_seconds.get_or_create(&label).set(seconds);
            }
        }
    }
}

impl ConsumerContext for IngestContext {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let kind = match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned");
                "assign"
            }
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked");
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

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}:{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The consumer, subscribed to the configured topics.
pub fn consumer(
    cfg: &KafkaConfig,
    metrics: Arc<Metrics>,
    stored: StoredTimestamps,
) -> KafkaResult<StreamConsumer<IngestContext>> {
    use rdkafka::consumer::Consumer;
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
    for (k, v) in &cfg.extra {
        client.set(k, v);
    }
    let consumer: StreamConsumer<IngestContext> =
        client.create_with_context(IngestContext { metrics, stored })?;
    let topics: Vec<&str> = cfg.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    Ok(consumer)
}

/// The dead-letter producer: acks from all replicas, retries inside librdkafka.
pub fn dead_letter_producer(cfg: &KafkaConfig) -> KafkaResult<FutureProducer> {
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &cfg.brokers)
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "5");
    for (k, v) in &cfg.extra {
        client.set(k, v);
    }
    client.create()
}
