//! The pipeline in front of the aggregator, for the tests that run it whole: ingest's
//! config for a test's topics and database, and the simulator's records published to the
//! test's topics.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use simulator::publish::{publish, Pace, PublishConfig};
use simulator::Record;
use store::ClickHouseConfig;
use testkit::{kafka_brokers, unique_name, TestTopics};

/// Ingest reading `topics`' `events` and `logs` (dead letters to `deadletter`) into `ch`,
/// in its own consumer group, with short batches and its HTTP on a free port.
pub fn ingest_config(
    topics: &TestTopics,
    ch: ClickHouseConfig,
    group: &str,
) -> ingest::IngestConfig {
    let mut cfg = ingest::IngestConfig::default();
    cfg.kafka.brokers = kafka_brokers();
    cfg.kafka.group_id = unique_name(group);
    cfg.kafka.topics = vec![
        topics.name("events").to_owned(),
        topics.name("logs").to_owned(),
    ];
    cfg.kafka.dead_letter_topic = topics.name("deadletter").to_owned();
    cfg.clickhouse = ch;
    cfg.batch.max_age_ms = 200;
    cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    cfg
}

/// Publishes `records` to `topics` as fast as the broker takes them, one message per
/// request; every one delivered.
pub async fn publish_records(topics: &TestTopics, records: Vec<Record>) {
    let publish_cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: topics.name("events").to_owned(),
        logs_topic: topics.name("logs").to_owned(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(3600),
        max_batch_messages: 1,
    };
    let sent = tokio::task::spawn_blocking(move || {
        publish(
            records.into_iter(),
            &publish_cfg,
            &AtomicBool::new(false),
            |_| {},
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(sent.delivered, sent.sent);
}
