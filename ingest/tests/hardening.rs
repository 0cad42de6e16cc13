//! What must never wedge ingest: oversized messages, a dead-letter topic that refuses a
//! record, a broker that skips the rest of a record batch after a pause, and a crash
//! followed by a restart at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{http_get, metric, Harness};
use ingest::sink::headers;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sha2::{Digest, Sha256};
use simulator::publish::Pace;
use simulator::{simulate, SimConfig};
use tokio_util::sync::CancellationToken;

fn small_fleet(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 10,
        span_ms: 4 * 3_600_000,
        duplicate_rate: 0.02,
        reorder_rate: 0.02,
        ..SimConfig::default()
    }
}

/// Publishes `payload` to `topic`/`partition` with a producer that allows large messages.
async fn publish_large(topic: &str, partition: i32, payload: &[u8]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", testkit::kafka_brokers())
        .set("message.max.bytes", (16 << 20).to_string())
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to(topic)
                .partition(partition)
                .key("t-big/u-big")
                .payload(payload),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the broker accepts a large message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_dead_letter_and_their_neighbours_are_stored() {
    let h = Harness::new("oversized").await;
    h.migrate().await;
    let (records, manifest) = simulate(&small_fleet(21));
    let (first, second) = records.split_at(records.len() / 2);
    let shutdown = CancellationToken::new();
    let running = ingest::start(h.config(), shutdown.clone()).await.unwrap();
    h.publish(first.to_vec(), Pace::Unlimited).await;
    // 5 MB and 10 MB messages on three partitions, between valid traffic.
    let events = h.topics.name("events").to_owned();
    let mut big = Vec::new();
    for (i, size) in [5 << 20, 10 << 20, 5 << 20].into_iter().enumerate() {
        let payload: Vec<u8> = (0..size).map(|b| (b % 251) as u8).collect();
        publish_large(&events, i as i32, &payload).await;
        big.push((i as i32, payload));
    }
    h.publish(second.to_vec(), Pace::Unlimited).await;
    h.assert_matches_manifest_plus(&manifest, &records, Duration::from_secs(120), 3)
        .await;

    // In the table: the origin, the reason, the size and digest, the first bytes.
    let rows: Vec<(i32, String, u64, String, u8, u64)> = h
        .db
        .client()
        .query("SELECT partition, error_kind, payload_bytes, payload_sha256, payload_truncated, length(payload) FROM dead_letters FINAL ORDER BY partition")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for ((partition, kind, bytes, sha, truncated, kept), (p, payload)) in rows.iter().zip(&big) {
        assert_eq!(partition, p);
        assert_eq!(kind, "oversized");
        assert_eq!(*bytes, payload.len() as u64);
        assert_eq!(*sha, hex::encode(Sha256::digest(payload)));
        assert_eq!(*truncated, 1);
        assert_eq!(*kept, 1_000_000, "the default max_payload_bytes");
    }
    // In the topic: the same, as headers, with the payload's first bytes.
    let dlq = h.dead_letter_messages(3).await;
    assert_eq!(dlq.len(), 3);
    for (hdrs, key, payload) in &dlq {
        assert_eq!(hdrs[headers::ERROR_KIND], "oversized");
        assert_eq!(hdrs[headers::ORIGIN_TOPIC], events);
        assert_eq!(key, b"t-big/u-big");
        let p: i32 = hdrs[headers::ORIGIN_PARTITION].parse().unwrap();
        let original = &big.iter().find(|(q, _)| *q == p).unwrap().1;
        assert_eq!(hdrs[headers::PAYLOAD_BYTES], original.len().to_string());
        assert_eq!(
            hdrs[headers::PAYLOAD_SHA256],
            hex::encode(Sha256::digest(original))
        );
        assert_eq!(hdrs[headers::PAYLOAD_TRUNCATED], "1");
        assert_eq!(payload[..], original[..1_000_000]);
    }
    assert_eq!(
        metric(running.http_addr, "ingest_dead_letters_truncated_total", "").await,
        3.0
    );
    let health = http_get(running.http_addr, "/health").await;
    assert!(health.starts_with("HTTP/1.0 200"), "{health}");
    shutdown.cancel();
    running.join().await.unwrap();
    h.cleanup().await;
}

/// A dead-letter topic that refuses records: too large is resent without the payload;
/// refused even so, it stays in the table only. Neither blocks the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_the_topic_refuses_does_not_block_the_batch() {
    use ingest::batch::Batch;
    use ingest::decode::{decode, Limits, Origin};
    use ingest::sink::{Sink, WriteProgress};

    let h = Harness::new("dlq_refused").await;
    h.migrate().await;
    let dlq_topic = h.topics.name("deadletter").to_owned();
    let mut batch = Batch::default();
    let limits = Limits::default();
    // 20 KB and 200 KB of junk: both bad input.
    for (offset, size) in [(1i64, 20_000usize), (2, 200_000)] {
        let payload = vec![7u8; size];
        let origin = Origin {
            topic: "events",
            partition: 0,
            offset,
            key: b"k",
            timestamp_ms: 1,
        };
        batch
            .push(
                decode(&payload, origin, ingest::sink::now_ms(), &limits),
                origin,
                size,
            )
            .expect("a dead letter is always added");
    }
    // A producer whose records may hold 50 KB: the first fits, the second goes without
    // its payload.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", testkit::kafka_brokers())
        .set("message.max.bytes", "50000")
        .create()
        .unwrap();
    let metrics =
        ingest::metrics::Metrics::new(&mut prometheus_client::registry::Registry::default());
    let sink = Sink::new(h.db.client(), producer, dlq_topic.clone());
    let mut progress = WriteProgress::default();
    sink.write(&batch, &mut progress, &metrics)
        .await
        .expect("stored");
    let dlq = h.dead_letter_messages(2).await;
    let mut seen: Vec<(String, String, usize)> = dlq
        .iter()
        .map(|(hdr, _, p)| {
            (
                hdr[headers::ORIGIN_OFFSET].clone(),
                hdr[headers::PAYLOAD_TRUNCATED].clone(),
                p.len(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("1".into(), "0".into(), 20_000),
            ("2".into(), "1".into(), 0)
        ]
    );
    assert_eq!(h.count("SELECT count() FROM dead_letters FINAL").await, 2);
    assert_eq!(metrics.dead_letters_unpublished.get(), 0);

    // A producer whose records hold 300 bytes: not even the headers fit. Kept in the
    // table, counted, and the batch is stored.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", testkit::kafka_brokers())
        .set("message.max.bytes", "1000")
        .create()
        .unwrap();
    let mut long_reason = Batch::default();
    let origin = Origin {
        topic: "events",
        partition: 0,
        offset: 3,
        key: &[b'k'; 2000],
        timestamp_ms: 1,
    };
    long_reason
        .push(
            decode(b"", origin, ingest::sink::now_ms(), &limits),
            origin,
            0,
        )
        .expect("a dead letter is always added");
    let sink = Sink::new(h.db.client(), producer, dlq_topic);
    let mut progress = WriteProgress::default();
    sink.write(&long_reason, &mut progress, &metrics)
        .await
        .expect("stored");
    assert_eq!(metrics.dead_letters_unpublished.get(), 1);
    assert_eq!(h.count("SELECT count() FROM dead_letters FINAL").await, 3);
    h.cleanup().await;
}

/// Producer batches of 10 000 messages, and ingest pausing its partitions at once when
/// the next batch is full: on a broker that answers a fetch starting inside a record
/// batch with the next batch (tansu), the resumed fetch skips messages; ingest notices
/// the gap and re-reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_under_large_producer_batches_loses_nothing() {
    let h = Harness::new("pause_gaps").await;
    h.migrate().await;
    let (records, manifest) = simulate(&small_fleet(22));
    let mut config = h.config();
    config.batch.max_messages = 400;
    // Pause at once instead of holding back: the path that skips on tansu.
    config.batch.hold_max_ms = 0;
    let shutdown = CancellationToken::new();
    let running = ingest::start(config, shutdown.clone()).await.unwrap();
    h.publish_batched(records.clone(), Pace::Unlimited, 10_000)
        .await;
    h.assert_matches_manifest(&manifest, &records, Duration::from_secs(120))
        .await;
    let addr = running.http_addr;
    let recovered = metric(addr, "ingest_offset_gaps_total", "outcome=\"recovered\"").await;
    let lost = metric(addr, "ingest_lost_messages_total", "").await;
    let reread = metric(addr, "ingest_reread_messages_total", "").await;
    println!("gaps recovered by re-reading: {recovered} ({reread} messages read again); messages lost: {lost}");
    assert_eq!(lost, 0.0);
    shutdown.cancel();
    running.join().await.unwrap();
    h.cleanup().await;
}

/// How long the restarted ingest may take to consume again: the dead member's session
/// timeout (30 s) has to pass before the group can give its partitions to anyone;
/// `kafka.rejoin_after_unassigned_ms` (45 s) plus one group check (10 s) plus a join
/// (up to ~6 s on tansu) is the bound on a broker that never reassigns them. With static
/// membership a restart within the session timeout takes them back at once (tansu holds a
/// static join for about 6 s).
const RESTART_BOUND: Duration = Duration::from_secs(75);

/// Stores half the traffic, SIGKILLs ingest, starts it again at once, publishes the rest:
/// the seconds from the restart until everything is stored.
async fn kill_and_restart(name: &str, seed: u64, instance_id: Option<&str>) -> f64 {
    let h = Harness::new(name).await;
    h.migrate().await;
    let (records, manifest) = simulate(&small_fleet(seed));
    let (first, second) = records.split_at(records.len() / 2);
    let mut child = h.spawn_ingest(instance_id);
    h.publish_batched(first.to_vec(), Pace::Unlimited, 10_000)
        .await;
    let stored = || async { h.count("SELECT count() FROM session_events").await };
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored().await == 0 {
        assert!(Instant::now() < deadline, "the first ingest stored nothing");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    let restarted = Instant::now();
    let mut child = h.spawn_ingest(instance_id);
    h.publish_batched(second.to_vec(), Pace::Unlimited, 10_000)
        .await;
    h.assert_matches_manifest(&manifest, &records, RESTART_BOUND + Duration::from_secs(60))
        .await;
    let took = restarted.elapsed();
    assert!(
        took < RESTART_BOUND + Duration::from_secs(60),
        "took {took:?}"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    h.cleanup().await;
    took.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_an_immediate_restart_consume_again_within_the_bound() {
    let took = kill_and_restart("restart", 23, None).await;
    println!(
        "restarted ingest (dynamic membership) stored everything {took:.1} s after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_static_membership_a_restart_takes_its_partitions_back() {
    let took = kill_and_restart("restart_static", 24, Some("ingest-test-1")).await;
    println!(
        "restarted ingest (static membership) stored everything {took:.1} s after the restart"
    );
}
