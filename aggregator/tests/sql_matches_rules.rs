//! The SQL recompute mirrors the pure rules: many random users, their events written in a
//! shuffled order with duplicates, one cycle; every row equals what `rules::derive_user`
//! gives at the row's `computed_at_ms`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aggregator::rules::derive_user;
use aggregator::Aggregator;
use common::fixtures::*;
use common::Db;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use schemas::{AvroEnum, ChangeKind, Event, ProfileState, SessionStatus, SyncSetting};

const STATUSES: [SessionStatus; 4] = [
    SessionStatus::Success,
    SessionStatus::Error,
    SessionStatus::Canceled,
    SessionStatus::Skipped,
];
const SETTINGS: [SyncSetting; 4] = [
    SyncSetting::Enabled,
    SyncSetting::DisabledByAdmin,
    SyncSetting::Suspended,
    SyncSetting::DisabledDueToError,
];

fn for_user(events: Vec<Event>, user_id: &str) -> Vec<Event> {
    events
        .into_iter()
        .map(|mut e| {
            let h = match &mut e {
                Event::UserState(s) => &mut s.header,
                Event::SessionStarted(s) => &mut s.header,
                Event::SessionEnded(s) => &mut s.header,
                Event::SessionQueued(s) => &mut s.header,
                _ => return e,
            };
            h.user_id = user_id.to_owned();
            h.event_id = format!("{user_id}-{}", h.event_id);
            e
        })
        .collect()
}

/// A random history for one user, times near `base` (ms).
fn history(rng: &mut impl Rng, base: i64) -> Vec<Event> {
    let mut events = vec![user(
        "c",
        base,
        P,
        ChangeKind::Created,
        SyncSetting::Enabled,
    )];
    for i in 0..rng.random_range(0..10) {
        let id = format!("s{i}");
        let start = base + rng.random_range(1..40) * 60_000;
        let status = STATUSES[rng.random_range(0..4)];
        match rng.random_range(0..10) {
            0 => events.push(started(&id, start)),
            1 => events.push(ended(&id, start, start + 5_000, status)),
            2 => events.push(queued(&id, start)),
            _ => events.extend(session(
                &id,
                start,
                start + rng.random_range(1..90_000),
                status,
            )),
        }
    }
    for i in 0..rng.random_range(0..3) {
        let at = base + rng.random_range(1..40) * 60_000;
        let change = if rng.random_bool(0.1) {
            ChangeKind::Deleted
        } else {
            ChangeKind::Updated
        };
        let profile = if rng.random_bool(0.3) { "p2" } else { P };
        let setting = SETTINGS[rng.random_range(0..4)];
        let mut e = user(&format!("st{i}"), at, profile, change, setting);
        if let Event::UserState(s) = &mut e {
            s.crm_token_active = rng.random_bool(0.8);
            s.mail_token_authorized = rng.random_bool(0.8);
        }
        events.push(e);
    }
    events
}

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
    let sym = |o: Option<&'static str>| o.unwrap_or("").to_owned();
    for (id, events) in &per_user {
        let row = &rows[&format!("{T}/{id}")];
        let want = derive_user(events, &profiles, row.computed_at_ms, &limits).unwrap();
        let s = &want.sessions;
        let expected = (
            (
                want.profile_id.clone(),
                want.deleted,
                want.profile_deleted,
                want.profile_status.as_str(),
                want.effective_status.as_str(),
                want.sync_state.as_str(),
                want.no_recent_session,
                (want.crm_token_active, want.mail_token_authorized),
            ),
            s.last_session_id.clone().unwrap_or_default(),
            s.last_started_at_ms.unwrap_or(0),
            s.last_ended_at_ms.unwrap_or(0),
            s.last_duration_ms().unwrap_or(0),
            sym(s.last_status.map(|x| x.symbol())),
            sym(s.last_outcome.map(|x| x.symbol())),
            (
                s.last_outcome_session_id.clone().unwrap_or_default(),
                s.last_outcome_started_at_ms.unwrap_or(0),
                s.last_error_session_id.clone().unwrap_or_default(),
                s.last_error_started_at_ms.unwrap_or(0),
            ),
            s.ever_succeeded,
            (
                sym(s.last_error_category.map(|x| x.symbol())),
                sym(s.last_error_source.map(|x| x.symbol())),
                s.last_error_message.clone().unwrap_or_default(),
                s.consecutive_failures,
            ),
            want.first_seen_ms,
            want.changes_at_ms,
        );
        let got = (
            (
                row.profile_id.clone(),
                row.deleted == 1,
                row.profile_deleted == 1,
                row.profile_status.as_str(),
                row.effective_status.as_str(),
                row.sync_state.as_str(),
                row.no_recent_session == 1,
                (row.crm_token_active == 1, row.mail_token_authorized == 1),
            ),
            row.last_session_id.clone(),
            row.last_session_started_at_ms,
            row.last_session_ended_at_ms,
            row.last_session_duration_ms,
            row.last_session_status.clone(),
            row.last_outcome.clone(),
            (
                row.last_outcome_session_id.clone(),
                row.last_outcome_started_at_ms,
                row.last_error_session_id.clone(),
                row.last_error_started_at_ms,
            ),
            row.ever_succeeded == 1,
            (
                row.last_error_category.clone(),
                row.last_error_source.clone(),
                row.last_error_message.clone(),
                row.consecutive_failures,
            ),
            row.first_seen_ms,
            row.changes_at_ms,
        );
        assert_eq!(got, expected, "{id}");
    }
    // The cases the rules distinguish all occur.
    let states: std::collections::BTreeSet<&str> =
        rows.values().map(|r| r.sync_state.as_str()).collect();
    assert_eq!(states.len(), 5, "{states:?}");
    assert!(rows.values().any(|r| r.no_recent_session == 1));
    assert!(rows.values().any(|r| r.consecutive_failures > 1));
    db.drop().await;
}
