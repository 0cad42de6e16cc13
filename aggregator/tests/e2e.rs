//! End to end on the real servers: simulator traffic (duplicates, out-of-order delivery,
//! malformed messages) -> Kafka -> ingest -> ClickHouse -> aggregator. Every user of the
//! manifest has exactly its expected final state in `user_state`; the session and issue
//! series add up to the manifest's totals; the users-per-status snapshot counts exactly the
//! users the monitor shows (deleted users and profiles out, moved users in their new
//! profile); every tenant has a freshness row.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::pipeline::{ingest_config, publish_records};
use common::{manifest_counts, manifest_mismatches, Db};
use simulator::SimConfig;
use testkit::TestTopics;
use tokio_util::sync::CancellationToken;

/// Limits that never trigger: the manifest's reference model has no stall limit.
const NEVER_SECS: u64 = 100 * 365 * 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_output_matches_the_manifest_for_every_user() {
    let topics = TestTopics::create("agg_e2e", &[("events", 4), ("logs", 2), ("deadletter", 1)])
        .await
        .unwrap();
    let db = Db::new("agg_e2e").await;
    let shutdown = CancellationToken::new();

    let mut ingest_cfg = ingest_config(&topics, db.clickhouse(), "agg-e2e-ingest");
    ingest_cfg.kafka.session_timeout_ms = 10_000;
    let ingest = ingest::start(ingest_cfg, shutdown.clone()).await.unwrap();
    let aggregator = aggregator::start(db.config(NEVER_SECS, NEVER_SECS), shutdown.clone())
        .await
        .unwrap();

    let cfg = SimConfig {
        seed: 11,
        tenants: 2,
        profiles_per_tenant: 3,
        users_per_profile: 15,
        span_ms: 4 * 3_600_000,
        state_change_rate: 0.05,
        abandoned_session_rate: 0.03,
        duplicate_rate: 0.05,
        reorder_rate: 0.05,
        malformed_rate: 0.01,
        ..SimConfig::default()
    };
    let (records, manifest) = simulator::simulate(&cfg);
    publish_records(&topics, records).await;

    // Converged: every user as the manifest says.
    let deadline = Instant::now() + Duration::from_secs(360);
    loop {
        let bad = manifest_mismatches(&manifest, &db.users().await);
        if bad.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} mismatches, e.g. {:#?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Everything is stored and the watermark passed it: the series are final too.
    let stored_at = db.server_now().await;
    db.wait_watermark(stored_at + 1, Duration::from_secs(120))
        .await;
    let client = db.client();
    let sessions: Vec<(String, String, u64)> = client
        .query("SELECT tenant_id, status, sum(sessions) FROM session_counts FINAL WHERE granularity = 'day' GROUP BY tenant_id, status")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        nest(sessions),
        manifest.sessions,
        "sessions per tenant and status (daily series)"
    );
    let hourly: u64 = client
        .query("SELECT sum(sessions) FROM session_counts FINAL WHERE granularity = 'hour'")
        .fetch_one()
        .await
        .unwrap();
    let total: u64 = manifest.sessions.values().flat_map(|m| m.values()).sum();
    assert_eq!(hourly, total, "hourly series adds up to the same");
    let issues: Vec<(String, String, u64)> = client
        .query("SELECT tenant_id, toString(error_code), sum(issues) FROM issue_counts FINAL WHERE granularity = 'day' GROUP BY tenant_id, error_code")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        nest(issues),
        manifest.issues,
        "issues per tenant and code (daily series)"
    );

    let snapshot: Vec<(String, String, String, u64)> = client
        .query(
            "SELECT tenant_id, effective_status, sync_state, sum(users) FROM user_status_series \
             WHERE granularity = 'hour' AND bucket = (SELECT max(bucket) FROM user_status_counts) \
             GROUP BY tenant_id, effective_status, sync_state",
        )
        .fetch_all()
        .await
        .unwrap();
    let snapshot: BTreeMap<(String, String, String), u64> = snapshot
        .into_iter()
        .map(|(t, e, s, n)| ((t, e, s), n))
        .collect();
    assert_eq!(
        snapshot,
        manifest_counts(&manifest),
        "users per status snapshot"
    );

    let fresh: Vec<(String, i64, i64)> = client
        .query("SELECT tenant_id, as_of_ms, newest_event_at_ms FROM tenant_freshness ORDER BY tenant_id")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        fresh.len(),
        manifest.events.len(),
        "one freshness row per tenant"
    );
    for (tenant, as_of_ms, newest) in fresh {
        assert!(
            as_of_ms >= i64::from(stored_at) * 1000,
            "{tenant}: as of {as_of_ms}"
        );
        // (A state change may follow a session ending just before the span ends.)
        assert!(
            newest > manifest.start_ms && newest < manifest.end_ms + 60_000,
            "{tenant}: {newest}"
        );
    }
    // Every started session is in session_state, merged as the sessions view merges it.
    let (state, view) = db.session_state_and_view().await;
    assert!(!view.is_empty());
    assert_eq!(state, view, "session_state differs from the sessions view");
    let metrics = common::http_get(aggregator.http_addr, "/metrics")
        .await
        .unwrap();
    assert!(metrics.contains("aggregator_lag_seconds"), "{metrics}");
    // The counter is there and counted the sessions (an absent line fails too).
    let recomputed: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("aggregator_sessions_recomputed_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no aggregator_sessions_recomputed_total: {metrics}"));
    assert!(recomputed > 0.0, "{metrics}");

    shutdown.cancel();
    aggregator.join().await;
    ingest.join().await.unwrap();
    db.drop().await;
    topics.delete().await.unwrap();
}

fn nest(rows: Vec<(String, String, u64)>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (a, b, n) in rows {
        out.entry(a).or_default().insert(b, n);
    }
    out
}
