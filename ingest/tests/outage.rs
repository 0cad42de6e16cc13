//! ClickHouse stopped for 30 s under traffic and started again: nothing lost, the consumer
//! never left its group (no rebalance), reading was held back and then the partitions
//! paused meanwhile, `/health` said stalled with the writer's error, and the backlog
//! drains. Uses a ClickHouse server of its own so other tests are not disturbed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::{metric, Harness};
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{simulate, SimConfig};
use testkit::PrivateClickHouse;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_outage_is_waited_out_without_leaving_the_group() {
    let server = tokio::task::spawn_blocking(|| PrivateClickHouse::start("outage"))
        .await
        .unwrap()
        .expect("private clickhouse");
    let h = Harness::with_clickhouse("outage", server.url()).await;
    h.migrate().await;
    let cfg = SimConfig {
        seed: 9,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 15,
        span_ms: 12 * 3_600_000,
        duplicate_rate: 0.01,
        ..SimConfig::default()
    };
    let (records, manifest) = simulate(&cfg);
    let mut config = h.config();
    config.batch.max_messages = 2_000;
    // Hold back for 5 s, then pause: the outage covers both.
    config.batch.hold_max_ms = 5_000;
    config.health.stall_after_ms = 10_000;
    let shutdown = CancellationToken::new();
    let running = ingest::start(config, shutdown.clone())
        .await
        .expect("start");
    let addr = running.http_addr;

    // Traffic keeps flowing for the whole outage: ~50 s at this pace.
    let pace = Pace::Rate(records.len() as f64 / 50.0);
    let publish_cfg = PublishConfig {
        brokers: testkit::kafka_brokers(),
        events_topic: h.topics.name("events").to_owned(),
        logs_topic: h.topics.name("logs").to_owned(),
        pace,
        progress_every: Duration::from_secs(3600),
        max_batch_messages: 1,
    };
    let publishing = {
        let records = records.clone();
        tokio::task::spawn_blocking(move || {
            publish(
                records.into_iter(),
                &publish_cfg,
                &AtomicBool::new(false),
                |_| {},
            )
        })
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    while h.count("SELECT count() FROM session_events").await == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing stored before the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let assigned_before = metric(addr, "ingest_rebalances_total", "assign").await;
    assert!(assigned_before >= 1.0);

    let server = tokio::task::spawn_blocking(move || server.stop().map(|()| server))
        .await
        .unwrap()
        .expect("stop clickhouse");
    let outage = Instant::now();
    let (mut saw_hold, mut saw_pause, mut saw_stalled) = (false, false, false);
    while outage.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        saw_hold |= metric(addr, "ingest_holding", "").await == 1.0;
        saw_pause |= metric(addr, "ingest_paused", "").await == 1.0;
        let health = common::http_get(addr, "/health").await;
        if health.starts_with("HTTP/1.0 503") {
            assert!(health.contains("\"status\":\"stalled\""), "{health}");
            assert!(health.contains("no batch stored"), "{health}");
            assert!(
                health.contains("clickhouse"),
                "the writer's error: {health}"
            );
            saw_stalled = true;
        }
    }
    let retries = metric(addr, "ingest_retries_total", "clickhouse").await;
    let server = tokio::task::spawn_blocking(move || server.restart().map(|()| server))
        .await
        .unwrap()
        .expect("restart clickhouse");

    publishing.await.unwrap().expect("publish");
    h.assert_matches_manifest(&manifest, &records, Duration::from_secs(180))
        .await;
    assert!(retries > 0.0, "no retries during the outage");
    assert!(saw_hold, "reading was never held back during the outage");
    assert!(saw_pause, "partitions were never paused during the outage");
    assert!(saw_stalled, "/health never said stalled during the outage");
    let health = common::http_get(addr, "/health").await;
    assert!(
        health.starts_with("HTTP/1.0 200"),
        "healthy again: {health}"
    );
    assert_eq!(
        metric(addr, "ingest_rebalances_total", "assign").await,
        assigned_before,
        "rebalanced"
    );
    assert_eq!(
        metric(addr, "ingest_rebalances_total", "revoke").await,
        0.0,
        "left the group"
    );
    assert_eq!(metric(addr, "ingest_paused", "").await, 0.0, "still paused");
    shutdown.cancel();
    running.join().await.expect("clean stop");
    h.topics.delete().await.unwrap();
    tokio::task::spawn_blocking(move || server.destroy())
        .await
        .unwrap()
        .unwrap();
}
