//! Deleted users and profiles leave the counts; a user moved to another profile counts
//! only in the new one (cards, users-per-status series), while the sessions it ran keep
//! counting where they happened.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aggregator::Aggregator;
use common::fixtures::*;
use common::Db;
use schemas::{ChangeKind, Event, SessionStatus, SyncSetting};

fn as_user(events: Vec<Event>, user_id: &str, profile_id: &str) -> Vec<Event> {
    events
        .into_iter()
        .map(|mut e| {
            let h = match &mut e {
                Event::UserState(s) => &mut s.header,
                Event::SessionStarted(s) => &mut s.header,
                Event::SessionEnded(s) => &mut s.header,
                _ => return e,
            };
            h.user_id = user_id.to_owned();
            h.profile_id = profile_id.to_owned();
            h.event_id = format!("{user_id}-{}", h.event_id);
            e
        })
        .collect()
}

async fn cycle(db: &Db) {
    let mut config = db.config(3_600, 86_400);
    config.cycle.settle_secs = 0;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    agg.cycle().await.unwrap();
}

async fn per_profile(db: &Db) -> Vec<(String, u64)> {
    db.client()
        .query(
            "SELECT profile_id, sum(users) FROM user_status_series \
             WHERE granularity = 'day' AND bucket = (SELECT max(bucket) FROM user_status_counts WHERE granularity = 'day') \
             GROUP BY profile_id ORDER BY profile_id",
        )
        .fetch_all()
        .await
        .unwrap()
}

#[tokio::test]
async fn deleted_users_and_profiles_leave_the_counts_and_moves_count_once() {
    let db = Db::new("agg_counts").await;
    let now = aggregator::cycle::now_ms();
    let base = now - 600_000;
    let created = |profile: &str| {
        vec![user(
            "c",
            base,
            profile,
            ChangeKind::Created,
            SyncSetting::Enabled,
        )]
    };
    let ok = |id: &str| session(id, base + 60_000, base + 61_000, SessionStatus::Success);
    let mut events = Vec::new();
    // stays in p1; moves p1 -> p2 (after a session in p1); deleted; in p3, which is deleted.
    events.extend(as_user([created("p1"), ok("a")].concat(), "stay", "p1"));
    events.extend(as_user([created("p1"), ok("b")].concat(), "mover", "p1"));
    events.extend(as_user(
        vec![user(
            "m",
            base + 120_000,
            "p2",
            ChangeKind::Updated,
            SyncSetting::Enabled,
        )],
        "mover",
        "p2",
    ));
    events.extend(as_user([created("p1"), ok("c")].concat(), "gone", "p1"));
    events.extend(as_user(
        vec![user(
            "d",
            base + 120_000,
            "p1",
            ChangeKind::Deleted,
            SyncSetting::Enabled,
        )],
        "gone",
        "p1",
    ));
    events.extend(as_user([created("p3"), ok("d")].concat(), "orphan", "p3"));
    events.push(Event::ProfileState(profile(
        "p3del",
        base + 120_000,
        "p3",
        ChangeKind::Deleted,
        false,
    )));
    db.insert(&events).await;
    cycle(&db).await;

    assert_eq!(
        per_profile(&db).await,
        vec![("p1".to_owned(), 1), ("p2".to_owned(), 1)],
        "one user per live profile: the stayer in p1, the mover only in p2"
    );
    let cards: Vec<(String, u64, u64)> = db
        .client()
        .query(aggregator::cycle::sql::MONITOR_CARDS)
        .bind(T)
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(cards, vec![("LastSyncSucceeded".to_owned(), 2, 0)]);
    // Profiles (only those with a state event): the deleted one is Disabled, counts nobody.
    let profiles: Vec<(String, String, u8, u64)> = db
        .client()
        .query("SELECT profile_id, status, deleted, users FROM profile_status ORDER BY profile_id")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(
        profiles,
        vec![("p3".to_owned(), "Disabled".to_owned(), 1, 0)]
    );
    // Every user still has a row (for history and the API), flagged.
    let rows = db.users().await;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows["t/gone"].deleted, 1);
    assert_eq!(rows["t/orphan"].profile_deleted, 1);
    assert_eq!(rows["t/mover"].profile_id, "p2");
    // Sessions stay counted where they ran: all four in the profiles of their time.
    let sessions: Vec<(String, u64)> = db
        .client()
        .query("SELECT profile_id, sum(sessions) FROM session_counts FINAL WHERE granularity = 'day' GROUP BY profile_id ORDER BY profile_id")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(sessions, vec![("p1".to_owned(), 3), ("p3".to_owned(), 1)]);
    db.drop().await;
}
