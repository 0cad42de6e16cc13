//! Simulator traffic through the real broker: published, then read back byte-exact by a
//! consumer group that commits its offsets; each user's events stay in order in one
//! partition. Needs the stack (`deploy/stack.sh start`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{simulate, Route, SimConfig};
use testkit::{kafka_brokers, unique_name, TestTopics};

const EVENT_PARTITIONS: i32 = 4;
const LOG_PARTITIONS: i32 = 3;

fn consumer(group: &str) -> StreamConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .create()
        .expect("consumer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_traffic_roundtrips_byte_exact_through_a_consumer_group() {
    let topics = TestTopics::create(
        "roundtrip",
        &[("events", EVENT_PARTITIONS), ("logs", LOG_PARTITIONS)],
    )
    .await
    .expect("topics");
    let (events_topic, logs_topic) = (
        topics.name("events").to_owned(),
        topics.name("logs").to_owned(),
    );
    let cfg = SimConfig {
        seed: 42,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 10,
        span_ms: 2 * 3_600_000,
        ..SimConfig::default()
    };
    let (records, manifest) = simulate(&cfg);
    assert!(records.len() > 1_000, "{} records", records.len());

    let publish_cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: events_topic.clone(),
        logs_topic: logs_topic.clone(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(60),
        max_batch_messages: 1,
    };
    let sent = {
        let records = records.clone();
        tokio::task::spawn_blocking(move || {
            publish(
                records.into_iter(),
                &publish_cfg,
                &AtomicBool::new(false),
                |_| {},
            )
        })
        .await
        .expect("join")
        .expect("publish")
    };
    assert_eq!(sent.sent, manifest.messages.published);
    assert_eq!(sent.delivered, sent.sent);

    // Read everything back in one consumer group, committing as we go.
    let group = unique_name("roundtrip-group");
    let c = consumer(&group);
    c.subscribe(&[&events_topic, &logs_topic])
        .expect("subscribe");
    let mut got: Vec<(String, i32, i64, String, Vec<u8>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while got.len() < records.len() {
        assert!(
            Instant::now() < deadline,
            "only {} of {} read back",
            got.len(),
            records.len()
        );
        let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), c.recv()).await else {
            continue;
        };
        got.push((
            m.topic().to_owned(),
            m.partition(),
            m.offset(),
            String::from_utf8(m.key().expect("key").to_vec()).expect("utf8 key"),
            m.payload().expect("payload").to_vec(),
        ));
        if got.len().is_multiple_of(500) || got.len() == records.len() {
            c.commit_message(&m, CommitMode::Sync).expect("commit");
        }
    }
    c.commit_consumer_state(CommitMode::Sync)
        .expect("final commit");

    // Byte-exact: per topic, per key, the same payloads in the same order.
    let mut expected: HashMap<(String, String), Vec<Vec<u8>>> = HashMap::new();
    for r in &records {
        let topic = match r.route {
            Route::Events => &events_topic,
            Route::Logs => &logs_topic,
        };
        expected
            .entry((topic.clone(), r.key.clone()))
            .or_default()
            .push(r.payload.clone());
    }
    let mut actual: HashMap<(String, String), Vec<Vec<u8>>> = HashMap::new();
    let mut partitions_of_key: HashMap<(String, String), HashSet<i32>> = HashMap::new();
    let mut used: BTreeMap<String, HashSet<i32>> = BTreeMap::new();
    got.sort_by_key(|(t, p, o, _, _)| (t.clone(), *p, *o));
    let mut last_offset: HashMap<(String, i32), i64> = HashMap::new();
    for (topic, partition, offset, key, payload) in got {
        last_offset.insert((topic.clone(), partition), offset);
        used.entry(topic.clone()).or_default().insert(partition);
        partitions_of_key
            .entry((topic.clone(), key.clone()))
            .or_default()
            .insert(partition);
        actual.entry((topic, key)).or_default().push(payload);
    }
    assert_eq!(actual.len(), expected.len());
    for (key, payloads) in &expected {
        assert_eq!(
            actual.get(key),
            Some(payloads),
            "payloads or order differ for {key:?}"
        );
    }
    assert!(
        partitions_of_key.values().all(|p| p.len() == 1),
        "a key spans partitions"
    );
    assert_eq!(used[&events_topic].len(), EVENT_PARTITIONS as usize);
    assert_eq!(used[&logs_topic].len(), LOG_PARTITIONS as usize);

    // The group's committed offsets are the end of every partition: one past the last
    // offset read, and a fresh member of the group receives nothing more.
    let mut tpl = TopicPartitionList::new();
    for p in 0..EVENT_PARTITIONS {
        tpl.add_partition(&events_topic, p);
    }
    for p in 0..LOG_PARTITIONS {
        tpl.add_partition(&logs_topic, p);
    }
    let committed = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    for elem in committed.elements() {
        let end = last_offset[&(elem.topic().to_owned(), elem.partition())] + 1;
        assert_eq!(
            elem.offset(),
            Offset::Offset(end),
            "{}:{}",
            elem.topic(),
            elem.partition()
        );
    }
    drop(c);
    let again = consumer(&group);
    again
        .subscribe(&[&events_topic, &logs_topic])
        .expect("subscribe");
    let extra = tokio::time::timeout(Duration::from_secs(8), again.recv()).await;
    assert!(extra.is_err(), "the group re-read a committed message");
    // Consumers go before their topics: librdkafka 2.12 crashes (SIGSEGV in its metadata
    // cache) when tansu reports a deleted topic it is subscribed to.
    drop(again);
    topics.delete().await.expect("delete topics");
}
