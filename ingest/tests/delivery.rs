//! Simulator traffic with duplicates, out-of-order delivery and malformed messages of
//! every kind lands exactly as the manifest says; every bad message is in the dead-letter
//! topic (with its reason and origin) and table; valid neighbours are unaffected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{metric, Harness};
use ingest::sink::headers;
use simulator::publish::Pace;
use simulator::{simulate, SimConfig};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_traffic_lands_exactly_as_the_manifest_says() {
    let h = Harness::new("delivery").await;
    h.migrate().await;
    let cfg = SimConfig {
        seed: 11,
        tenants: 3,
        profiles_per_tenant: 2,
        users_per_profile: 10,
        span_ms: 4 * 3_600_000,
        state_change_rate: 0.05,
        duplicate_rate: 0.05,
        reorder_rate: 0.05,
        malformed_rate: 0.02,
        ..SimConfig::default()
    };
    let (records, manifest) = simulate(&cfg);
    assert_eq!(
        manifest.messages.malformed.len(),
        simulator::Damage::ALL.len(),
        "every kind of damage is sent"
    );
    let shutdown = CancellationToken::new();
    let mut config = h.config();
    // The malformed share here is far below the guard's limit.
    config.dead_letters.max_ratio = 0.2;
    // Small batches: the next batch fills while one is being stored, so partitions are
    // paused and resumed many times (backpressure) during the run.
    config.batch.max_messages = 300;
    let config_for_replay = config.clone();
    let running = ingest::start(config, shutdown.clone())
        .await
        .expect("start");
    let addr = running.http_addr;
    h.publish(records.clone(), Pace::Unlimited).await;
    h.assert_matches_manifest(&manifest, &records, Duration::from_secs(120))
        .await;

    // The dead-letter topic has each bad message once, with reason and origin headers
    // that agree with the dead_letters table.
    let malformed: u64 = manifest.messages.malformed.values().sum();
    let dlq = h.dead_letter_messages(malformed as usize).await;
    assert_eq!(dlq.len() as u64, malformed);
    let table: Vec<store::rows::DeadLetterRow> =
        h.db.client()
            .query("SELECT ?fields FROM dead_letters FINAL")
            .fetch_all()
            .await
            .unwrap();
    let by_origin: BTreeMap<(String, i32, i64), (String, Vec<u8>)> = table
        .into_iter()
        .map(|d| ((d.topic, d.partition, d.offset), (d.error_kind, d.payload)))
        .collect();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for (hdrs, _key, payload) in &dlq {
        for name in [
            headers::ERROR_KIND,
            headers::ERROR_MESSAGE,
            headers::ORIGIN_TOPIC,
            headers::ORIGIN_PARTITION,
            headers::ORIGIN_OFFSET,
            headers::ORIGIN_TIMESTAMP_MS,
            headers::DEAD_LETTERED_AT_MS,
        ] {
            assert!(hdrs.contains_key(name), "missing header {name}: {hdrs:?}");
        }
        let origin = (
            hdrs[headers::ORIGIN_TOPIC].clone(),
            hdrs[headers::ORIGIN_PARTITION].parse().unwrap(),
            hdrs[headers::ORIGIN_OFFSET].parse().unwrap(),
        );
        let (kind, stored_payload) = by_origin.get(&origin).expect("dead letter in the table");
        assert_eq!(&hdrs[headers::ERROR_KIND], kind);
        assert_eq!(stored_payload, payload, "original bytes kept");
        assert!(!hdrs[headers::ERROR_MESSAGE].is_empty());
        *kinds.entry(kind.clone()).or_default() += 1;
    }
    // Damage with one possible reading maps to one reason.
    for (damage, reason) in [
        ("empty", "empty"),
        ("bad_magic_byte", "bad_magic_byte"),
        ("unknown_schema_id", "unknown_schema_id"),
        ("contract_violation", "contract_violation"),
        ("huge_length", "length_too_large"),
    ] {
        let sent = manifest
            .messages
            .malformed
            .get(damage)
            .copied()
            .unwrap_or(0);
        assert!(
            kinds.get(reason).copied().unwrap_or(0) >= sent,
            "{damage}: {kinds:?}"
        );
    }
    assert!(metric(addr, "ingest_dead_lettered_total", "").await >= malformed as f64);
    assert!(metric(addr, "ingest_rows_inserted_total", "session_events").await > 0.0);

    // Replay: the contract violations go back to their original topics; still bad, they
    // come back as new dead letters (new offsets, same bytes).
    let filter = ingest::replay::ReplayFilter {
        error_kind: Some("contract_violation".to_owned()),
        ..Default::default()
    };
    let violations_sql =
        "SELECT count() FROM dead_letters FINAL WHERE error_kind = 'contract_violation'";
    let violations = h.count(violations_sql).await;
    assert!(violations > 0);
    let dry = ingest::replay::replay(&config_for_replay, &filter, true)
        .await
        .expect("dry run");
    assert_eq!(dry, violations);
    let replayed = ingest::replay::replay(&config_for_replay, &filter, false)
        .await
        .expect("replay");
    assert_eq!(replayed, violations);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while h.count(violations_sql).await < 2 * violations {
        assert!(
            std::time::Instant::now() < deadline,
            "replayed messages not seen again"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(h.count(violations_sql).await, 2 * violations);
    let distinct_payloads = h
        .count("SELECT uniqExact(payload) FROM dead_letters FINAL WHERE error_kind = 'contract_violation'")
        .await;
    assert_eq!(
        distinct_payloads, violations,
        "replayed bytes differ from the originals"
    );
    assert_eq!(
        h.count("SELECT count() FROM dead_letters FINAL").await,
        malformed + violations
    );
    shutdown.cancel();
    running.join().await.expect("clean stop");
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_stops_without_committing_when_most_input_is_bad() {
    let h = Harness::new("guard").await;
    h.migrate().await;
    let cfg = SimConfig {
        seed: 3,
        tenants: 1,
        profiles_per_tenant: 1,
        users_per_profile: 5,
        span_ms: 3_600_000,
        malformed_rate: 1.0,
        ..SimConfig::default()
    };
    let (records, _) = simulate(&cfg);
    let mut config = h.config();
    config.dead_letters.max_ratio = 0.3;
    config.dead_letters.window = 100;
    config.dead_letters.min_messages = 50;
    let running = ingest::start(config, CancellationToken::new())
        .await
        .expect("start");
    let total = records.len();
    h.publish(records, Pace::Unlimited).await;
    let result = tokio::time::timeout(Duration::from_secs(60), running.join())
        .await
        .expect("stops by itself");
    assert!(
        matches!(result, Err(ingest::IngestError::DeadLetterGuard { .. })),
        "{result:?}"
    );
    // Nothing past the point where the guard tripped is committed: at most the messages
    // it had seen (it trips at the first check with 50 in its window), which were stored
    // before their commit; the rest stays for the restart after the producer is fixed.
    let committed = committed_total(&h).await;
    assert!(
        committed <= 50,
        "{committed} offsets committed past the guard"
    );
    assert!(committed < total as i64);
    h.cleanup().await;
}

async fn committed_total(h: &Harness) -> i64 {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    let consumer: StreamConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", testkit::kafka_brokers())
        .set("group.id", &h.group)
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..4 {
        tpl.add_partition(h.topics.name("events"), p);
    }
    for p in 0..2 {
        tpl.add_partition(h.topics.name("logs"), p);
    }
    let committed = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    committed
        .elements()
        .iter()
        .filter_map(|e| e.offset().to_raw())
        .filter(|o| *o > 0)
        .sum()
}
