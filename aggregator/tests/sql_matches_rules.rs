//! The SQL recompute mirrors the pure rules: many random users, their events written in a
//! shuffled order with duplicates, one cycle; every row equals what `rules::derive_user`
//! gives at the row's `computed_at_ms`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aggregator::rules::derive_user;
use aggregator::Aggregator;
use common::fixtures::*;
use common::random_users::{assert_row, for_user, history};
use common::Db;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use schemas::{ChangeKind, Event, ProfileState};

#[tokio::test]
async fn sql_recompute_equals_the_pure_rules() {
    let db = Db::new("agg_sql_rules").await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    // Recent times, so the stall and no-session limits matter for some users.
    let now = aggregator::cycle::now_ms();
    let base = now - 45 * 60_000;
    let profiles: Vec<ProfileState> = vec![
        profile("pa", base, P, ChangeKind::Created, true),
        profile("pb", base, "p2", ChangeKind::Created, true),
        profile("pc", base + 60_000, "p2", ChangeKind::Updated, false),
    ];
    let mut per_user = Vec::new();
    let mut delivered: Vec<Event> = Vec::new();
    for n in 0..300 {
        let id = format!("user{n:03}");
        let events = for_user(history(&mut rng, base), &id);
        delivered.extend(events.iter().cloned());
        delivered.extend(events.iter().filter(|_| rng.random_bool(0.3)).cloned());
        per_user.push((id, events));
    }
    delivered.shuffle(&mut rng);
    let mut profile_events: Vec<Event> =
        profiles.iter().cloned().map(Event::ProfileState).collect();
    profile_events.extend(profile_events.clone());
    // In two inserts, so the duplicates sit in separate parts.
    let half = delivered.len() / 2;
    db.insert(&delivered[..half]).await;
    db.insert(&profile_events).await;
    db.insert(&delivered[half..]).await;

    let mut config = db.config(20 * 60, 30 * 60);
    config.cycle.settle_secs = 0;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let limits = config.rules.limits();
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let report = agg.cycle().await.unwrap();
    assert_eq!(report.touched, 300);
    assert!(report.shards > 1, "sharded recompute exercised");

    let rows = db.users().await;
    assert_eq!(rows.len(), 300);
    for (id, events) in &per_user {
        let row = &rows[&format!("{T}/{id}")];
        let want = derive_user(events, &profiles, row.computed_at_ms, &limits).unwrap();
        assert_row(id, row, &want);
    }
    // The cases the rules distinguish all occur.
    let states: std::collections::BTreeSet<&str> =
        rows.values().map(|r| r.sync_state.as_str()).collect();
    assert_eq!(states.len(), 5, "{states:?}");
    assert!(rows.values().any(|r| r.no_recent_session == 1));
    assert!(rows.values().any(|r| r.consecutive_failures > 1));
    db.drop().await;
}
