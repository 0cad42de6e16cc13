//! A cycle finds what to recompute by ingestion time in `ingest_touches` (written by
//! materialized views as events are stored), not by scanning the raw tables: an event
//! that happened long ago (older than any partition, retention period or overlap) but
//! arrives now is found by when it was stored, and its user and session are recomputed
//! from their whole history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aggregator::{Aggregator, CycleReport};
use common::fixtures::*;
use common::Db;
use schemas::{ChangeKind, SessionStatus, SyncSetting};

const NEVER_SECS: u64 = 100 * 365 * 86_400;
const DAY_MS: i64 = 86_400_000;

async fn aggregator(db: &Db) -> Aggregator {
    let mut config = db.config(NEVER_SECS, NEVER_SECS);
    // A short overlap, so that a cycle 3.5 s after another re-reads none of its window.
    config.cycle.overlap_secs = 1;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    Aggregator::new(config, metrics).await.unwrap()
}

/// One cycle over everything inserted before it (`ingested_at` has whole seconds, the
/// test config settles for 1 s) and nothing the cycle before read.
async fn cycle(agg: &mut Aggregator) -> CycleReport {
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    agg.cycle().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_event_from_last_year_is_found_by_when_it_was_stored() {
    let db = Db::new("agg_history_late").await;
    let mut agg = aggregator(&db).await;
    let now = aggregator::cycle::now_ms();
    let mut events = vec![user(
        "created",
        now - 500 * DAY_MS,
        P,
        ChangeKind::Created,
        SyncSetting::Enabled,
    )];
    events.extend(session(
        "recent",
        now - 3_600_000,
        now - 3_500_000,
        SessionStatus::Error,
    ));
    db.insert(&events).await;
    let first = cycle(&mut agg).await;
    assert_eq!(first.touched, 1);
    let u = &db.users().await["t/u"];
    assert_eq!(
        (
            u.sync_state.as_str(),
            u.ever_succeeded,
            u.consecutive_failures
        ),
        ("NeverSynced", 0, 1)
    );

    // Nothing new: nothing is recomputed (the window holds no touch).
    let idle = cycle(&mut agg).await;
    assert_eq!((idle.touched, idle.sessions), (0, 0), "{idle:?}");

    // A session of 400 days ago, reported only now: older than every partition, retention
    // period and overlap the aggregator knows of.
    let old_start = now - 400 * DAY_MS;
    db.insert(&session(
        "last-year",
        old_start,
        old_start + 60_000,
        SessionStatus::Success,
    ))
    .await;
    let late = cycle(&mut agg).await;
    assert_eq!((late.touched, late.sessions), (1, 1), "{late:?}");
    let u = &db.users().await["t/u"];
    // It succeeded once, long before the latest session, which still failed.
    assert_eq!(
        (
            u.sync_state.as_str(),
            u.ever_succeeded,
            u.consecutive_failures,
            u.last_session_id.as_str()
        ),
        ("LastSyncFailed", 1, 1, "recent")
    );
    let (state, view) = db.session_state_and_view().await;
    assert_eq!(state, view);
    assert_eq!(state.len(), 2, "{state:#?}");
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cycle_reads_the_touches_not_the_raw_tables() {
    let db = Db::new("agg_history_touches").await;
    let mut agg = aggregator(&db).await;
    let now = aggregator::cycle::now_ms();
    db.insert(&[created()]).await;
    assert_eq!(cycle(&mut agg).await.touched, 1);
    let mut events = vec![user(
        "moved",
        now,
        P,
        ChangeKind::Updated,
        SyncSetting::Suspended,
    )];
    events.extend(session("s", now - 1_000, now - 500, SessionStatus::Success));
    db.insert(&events).await;
    let touches: u64 = db
        .client()
        .query("SELECT count() FROM ingest_touches WHERE source IN ('session', 'user_state')")
        .fetch_one()
        .await
        .unwrap();
    // created; then one row for the session (its two events in one insert) and one for
    // the user-state event.
    assert_eq!(touches, 3);
    // With the touches gone, the new raw rows are not found: the cycle reads only the
    // touches of its window.
    db.client()
        .query("TRUNCATE TABLE ingest_touches")
        .execute()
        .await
        .unwrap();
    let blind = cycle(&mut agg).await;
    assert_eq!((blind.touched, blind.sessions), (0, 0), "{blind:?}");
    assert_eq!(db.users().await["t/u"].sync_setting, "Enabled");
    db.drop().await;
}

/// A touched session's events are read from `cycle.session_lookback_days` (7) before the
/// earliest time its new events carry, so that months of `session_events` that cannot hold
/// them are skipped. Every end reports its start: an end arriving long after its start
/// (400 days, far past the lookback) still finds the start event, whose trigger only it
/// carries; a replay of a session from 40 days ago finds its own events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_arriving_long_after_its_start_reads_the_start_event() {
    let db = Db::new("agg_history_lookback").await;
    let mut agg = aggregator(&db).await;
    let now = aggregator::cycle::now_ms();
    let start = now - 400 * DAY_MS;
    db.insert(&[
        created(),
        queued("long", start - 1_000),
        started("long", start),
    ])
    .await;
    let first = cycle(&mut agg).await;
    assert_eq!((first.touched, first.sessions), (1, 1), "{first:?}");

    // The end alone, now: the window's earliest time is the start it reports.
    db.insert(&[ended("long", start, now - 1_000, SessionStatus::Success)])
        .await;
    // One 'session_time' row per insert of the session (migration 0020): the day of the
    // earliest time its events carry, the queued event's and then the start the end reports.
    let days: Vec<u32> = db
        .client()
        .query(
            "SELECT toUInt32(toDateTime(day)) FROM ingest_touches \
             WHERE source = 'session_time' ORDER BY ingested_at",
        )
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(days.len(), 2, "{days:?}");
    for (day, at) in days.iter().zip([start - 1_000, start]) {
        let at_s = u32::try_from(at / 1_000).unwrap();
        assert!(*day <= at_s && at_s - day < 86_400, "{day} for {at_s}");
    }
    let end = cycle(&mut agg).await;
    assert_eq!((end.touched, end.sessions), (1, 1), "{end:?}");
    let (state, view) = db.session_state_and_view().await;
    assert_eq!(state, view);
    assert_eq!(state.len(), 1, "{state:#?}");
    // The start event's trigger and the queued time: read from 400 days back.
    assert!(state[0].contains(r#""trigger":"Schedule""#), "{}", state[0]);
    assert!(
        state[0].contains(&format!(r#""queued_at_ms":"{}""#, start - 1_000))
            || state[0].contains(&format!(r#""queued_at_ms":{}"#, start - 1_000)),
        "{}",
        state[0]
    );
    let u = &db.users().await["t/u"];
    assert_eq!(
        (u.sync_state.as_str(), u.ever_succeeded),
        ("LastSyncSucceeded", 1)
    );

    // A session of 40 days ago replayed now, its end first and its start in a later insert.
    let old = now - 40 * DAY_MS;
    db.insert(&[ended("replayed", old, old + 60_000, SessionStatus::Error)])
        .await;
    cycle(&mut agg).await;
    db.insert(&[started("replayed", old)]).await;
    cycle(&mut agg).await;
    let (state, view) = db.session_state_and_view().await;
    assert_eq!(state, view);
    assert_eq!(state.len(), 2, "{state:#?}");
    db.drop().await;
}
