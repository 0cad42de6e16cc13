//! ClickHouse unreachable from ingest alone, for longer than the aggregator's
//! `settle + overlap`, while the aggregator keeps running its cycles: the batch ingest
//! retried through the outage is aggregated all the same once it is stored. Each attempt
//! stamps the batch anew (`ingest::writer`); stamped once, before the first attempt, the
//! batch landed behind the aggregator's window and its users and sessions kept their old
//! state until touched again.
//!
//! Ingest reaches ClickHouse through a [`testkit::TcpGate`] the test closes; the aggregator
//! talks to the same server directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::pipeline::{ingest_config, publish_records};
use common::{manifest_mismatches, Db};
use simulator::SimConfig;
use testkit::{TcpGate, TestTopics};
use tokio_util::sync::CancellationToken;

/// Limits that never trigger: the manifest's reference model has no stall limit.
const NEVER_SECS: u64 = 100 * 365 * 86_400;

/// How long ingest is cut off: past the test config's settle (1 s) + overlap (5 s).
const OUTAGE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_retried_through_an_outage_is_aggregated() {
    let topics = TestTopics::create(
        "ingest_outage",
        &[("events", 2), ("logs", 1), ("deadletter", 1)],
    )
    .await
    .unwrap();
    let db = Db::new("ingest_outage").await;
    let server = db
        .db
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let gate = TcpGate::open(&server).await.unwrap();
    let shutdown = CancellationToken::new();

    let mut ingest_cfg = ingest_config(&topics, db.clickhouse(), "ingest-outage");
    ingest_cfg.clickhouse.url = format!("http://{}", gate.addr());
    // The second part of the traffic fits in one batch, formed while the gate is closed.
    ingest_cfg.batch.max_age_ms = 1_000;
    ingest_cfg.retry.max_backoff_ms = 1_000;
    let ingest = ingest::start(ingest_cfg, shutdown.clone()).await.unwrap();
    let aggregator = aggregator::start(db.config(NEVER_SECS, NEVER_SECS), shutdown.clone())
        .await
        .unwrap();

    let cfg = SimConfig {
        seed: 23,
        tenants: 1,
        profiles_per_tenant: 2,
        users_per_profile: 6,
        span_ms: 3 * 3_600_000,
        ..SimConfig::default()
    };
    let (records, manifest) = simulator::simulate(&cfg);
    // The last fifth of the traffic comes during the outage: it holds the final state of
    // most users (their last sessions).
    let cut = records.len() * 4 / 5;
    let (before, during) = (records[..cut].to_vec(), records[cut..].to_vec());

    publish_records(&topics, before).await;
    let stored = wait_stored(&db).await;
    db.wait_watermark(db.server_now().await + 1, Duration::from_secs(120))
        .await;

    gate.close();
    let closed_at = db.server_now().await;
    publish_records(&topics, during).await;
    tokio::time::sleep(OUTAGE).await;
    // Meanwhile the aggregator went on: its window passed the outage's start.
    let watermark = db.watermark().await;
    assert!(
        watermark > closed_at + 6,
        "the aggregator's watermark {watermark} did not pass the outage's start {closed_at} + settle + overlap"
    );
    let metrics = common::http_get(ingest.http_addr, "/metrics")
        .await
        .unwrap();
    let retries: f64 = metrics
        .lines()
        .find(|l| l.starts_with("ingest_retries_total{") && l.contains("clickhouse"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(retries > 0.0, "ingest never retried during the outage");
    let during_outage = count_raw(&db).await;
    assert_eq!(during_outage, stored, "rows stored through a closed gate");

    gate.reopen();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let bad = manifest_mismatches(&manifest, &db.users().await);
        if bad.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} users differ from the manifest after the outage (raw rows {} before, {} now), e.g. {:#?}",
            bad.len(),
            stored,
            count_raw(&db).await,
            &bad[..bad.len().min(3)]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stored_at = db.server_now().await;
    db.wait_watermark(stored_at + 1, Duration::from_secs(60))
        .await;
    let (state, view) = db.session_state_and_view().await;
    assert!(!view.is_empty());
    assert_eq!(state, view, "session_state differs from the sessions view");

    shutdown.cancel();
    aggregator.join().await;
    ingest.join().await.unwrap();
    drop(gate);
    db.drop().await;
    topics.delete().await.unwrap();
}

/// Rows of the raw tables (copies included).
async fn count_raw(db: &Db) -> u64 {
    db.client()
        .query(
            "SELECT (SELECT count() FROM session_events) + (SELECT count() FROM issue_events) \
             + (SELECT count() FROM user_state_events) + (SELECT count() FROM log_lines)",
        )
        .fetch_one()
        .await
        .unwrap()
}

/// Waits until the raw tables hold rows and stop growing for 3 s; answers their count.
async fn wait_stored(db: &Db) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut last, mut since) = (0, Instant::now());
    loop {
        let now = count_raw(db).await;
        if now != last {
            (last, since) = (now, Instant::now());
        } else if now > 0 && since.elapsed() > Duration::from_secs(3) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the traffic before the outage was not stored"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
