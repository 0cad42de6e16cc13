//! `session_state` (the aggregator's per-session rows that a profile's session lists read)
//! holds, after every cycle, exactly the started sessions of the `sessions` view, merged the
//! same way: while events arrive in several cycles, in any order, with duplicates, when a
//! session's key (profile, start) moves, and for a database whose first cycles ran before the
//! table existed (backfill).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aggregator::{Aggregator, CycleReport};
use common::fixtures::*;
use common::{events_of, Db};
use schemas::{ChangeKind, Event, SessionEnded, SessionStarted, SessionStatus, SyncSetting};
use simulator::SimConfig;

async fn aggregator(db: &Db) -> Aggregator {
    let mut config = db.config(3_600, 86_400);
    config.cycle.settle_secs = 0;
    config.cycle.max_sessions_per_statement = 7;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    Aggregator::new(config, metrics).await.unwrap()
}

/// One cycle over everything inserted before it (`ingested_at` has whole seconds).
async fn cycle(agg: &mut Aggregator) -> CycleReport {
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    agg.cycle().await.unwrap()
}

async fn assert_same(db: &Db, when: &str) {
    let (state, view) = db.session_state_and_view().await;
    assert!(!view.is_empty(), "{when}: no sessions to compare");
    assert_eq!(state, view, "{when}: session_state differs from the view");
}

/// The daily session series as stored, per tenant and status, against the ended sessions
/// of the `sessions` view (each counted once, under its decided end). The cycles here run
/// in shards of 7 sessions, so the days to recount are found shard by shard.
async fn assert_counts_match(db: &Db, when: &str) {
    let series: Vec<(String, String, u64)> = db
        .client()
        .query(
            "SELECT tenant_id, status, toUInt64(sum(sessions)) FROM session_counts FINAL \
             WHERE granularity = 'day' GROUP BY tenant_id, status HAVING sum(sessions) > 0 \
             ORDER BY tenant_id, status",
        )
        .fetch_all()
        .await
        .unwrap();
    let view: Vec<(String, String, u64)> = db
        .client()
        .query(
            "SELECT tenant_id, status, count() FROM sessions WHERE ended_at_ms != 0 \
             GROUP BY tenant_id, status ORDER BY tenant_id, status",
        )
        .fetch_all()
        .await
        .unwrap();
    assert!(!view.is_empty(), "{when}: no ended sessions to count");
    assert_eq!(series, view, "{when}: session_counts differs from the view");
}

async fn tombstones(db: &Db) -> u64 {
    db.client()
        .query("SELECT count() FROM (SELECT deleted FROM session_state FINAL) WHERE deleted = 1")
        .fetch_one()
        .await
        .unwrap()
}

#[tokio::test]
async fn it_equals_the_sessions_view_after_every_cycle() {
    let db = Db::new("agg_session_state").await;
    let mut agg = aggregator(&db).await;
    let cfg = SimConfig {
        seed: 5,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 4,
        span_ms: 3 * 3_600_000,
        state_change_rate: 0.1,
        abandoned_session_rate: 0.05,
        duplicate_rate: 0.1,
        reorder_rate: 0.1,
        malformed_rate: 0.0,
        ..SimConfig::default()
    };
    let (records, _) = simulator::simulate(&cfg);
    let events = events_of(&records);
    // Delivered in three parts, a cycle after each: sessions start in one cycle and end in
    // a later one, duplicates land in other cycles than their originals.
    let third = events.len() / 3;
    for (i, part) in events.chunks(third.max(1)).enumerate() {
        db.insert(part).await;
        let report = cycle(&mut agg).await;
        assert!(report.sessions > 0, "part {i}: sessions recomputed");
        assert_same(&db, &format!("after part {i}")).await;
        assert_counts_match(&db, &format!("after part {i}")).await;
    }
    // Nothing new (the overlap window recomputes the latest sessions again: harmless).
    cycle(&mut agg).await;
    assert_same(&db, "after an idle cycle").await;
    db.drop().await;
}

#[tokio::test]
async fn a_moved_key_leaves_a_tombstone_and_one_live_row() {
    let db = Db::new("agg_session_key").await;
    let mut agg = aggregator(&db).await;
    let now = aggregator::cycle::now_ms();
    let start = now - 600_000;
    let created = user(
        "c",
        start - 60_000,
        "p1",
        ChangeKind::Created,
        SyncSetting::Enabled,
    );
    // Cycle 1: queued (no row yet), then started in p1.
    db.insert(&[created, queued("s1", start - 1_000)]).await;
    cycle(&mut agg).await;
    let (state, _) = db.session_state_and_view().await;
    assert!(state.is_empty(), "a queued session has no row: {state:?}");
    db.insert(&[started("s1", start)]).await;
    cycle(&mut agg).await;
    assert_same(&db, "started in p1").await;
    // Cycle 3: the user moved to p2 and the end reports a later start: the key moves.
    let mut end = ended("s1", start + 5_000, start + 60_000, SessionStatus::Error);
    if let Event::SessionEnded(e) = &mut end {
        e.header.profile_id = "p2".to_owned();
    }
    db.insert(&[end]).await;
    cycle(&mut agg).await;
    assert_same(&db, "ended in p2 with another start").await;
    let keys: Vec<(String, i64, u8)> = db
        .client()
        .query(
            "SELECT profile_id, started_at_ms, deleted FROM session_state FINAL \
             ORDER BY profile_id, started_at_ms",
        )
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        keys,
        vec![
            ("p1".to_owned(), start, 1),
            ("p1".to_owned(), start + 5_000, 1),
            ("p2".to_owned(), start, 1),
            ("p2".to_owned(), start + 5_000, 0),
        ],
        "every other (profile, start) pair is a tombstone"
    );
    assert_eq!(tombstones(&db).await, 3);
    db.drop().await;
}

#[tokio::test]
async fn a_database_from_before_the_table_is_backfilled_in_one_cycle() {
    let db = Db::new("agg_session_backfill").await;
    let now = aggregator::cycle::now_ms();
    let base = now - 3_600_000;
    let mut events = vec![created()];
    // 20 sessions of 10 users in 2 tenants, 2 each: in statements of 7 sessions the users
    // split into 3 ranges (t/u0-u3, t/u4-t2/u1, t2/u2-u4), one of them across the tenants.
    for i in 0..20 {
        let start = base + i * 60_000;
        let status = if i % 3 == 0 {
            SessionStatus::Error
        } else {
            SessionStatus::Success
        };
        let (tenant, user) = (["t", "t2"][i as usize % 2], format!("u{}", i % 5));
        let of_user = |mut e: Event| {
            if let Event::SessionStarted(SessionStarted { header, .. })
            | Event::SessionEnded(SessionEnded { header, .. }) = &mut e
            {
                header.tenant_id = tenant.to_owned();
                header.user_id.clone_from(&user);
            }
            e
        };
        let pair = session(&format!("s{i:02}"), start, start + 30_000, status);
        events.extend(pair.into_iter().map(of_user));
    }
    db.insert(&events).await;
    // The main watermark is past every event, as after cycles of a version without
    // session_state: only the table's own (missing) watermark brings the sessions in.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    db.client()
        .query(
            "INSERT INTO aggregator_progress (name, watermark, cycle_at_ms, version) \
             SELECT 'main', now(), 0, 1",
        )
        .execute()
        .await
        .unwrap();
    let mut agg = aggregator(&db).await;
    let report = cycle(&mut agg).await;
    assert!(report.from_s > 0, "the main window starts at its watermark");
    assert_eq!(report.sessions_from_s, 0, "the sessions step starts at 0");
    assert_eq!(
        report.session_shards, 3,
        "20 sessions of 10 users at 7 per statement: 3 ranges of users, got {report:?}"
    );
    assert_same(&db, "backfilled").await;
    let (state, _) = db.session_state_and_view().await;
    assert_eq!(state.len(), 20);
    db.drop().await;
}
