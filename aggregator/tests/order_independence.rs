//! Order and duplicates do not matter: any permutation plus duplication of a user's
//! events derives exactly what the events in order, once, derive. Also: the pure rules
//! agree with the simulator's reference model (its manifest) for every user.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use aggregator::rules::{derive_user, Limits};
use common::fixtures::*;
use proptest::prelude::*;
use schemas::{ChangeKind, Event, ProfileState, SessionStatus, SyncSetting};
use simulator::SimConfig;

fn status() -> impl Strategy<Value = SessionStatus> {
    prop_oneof![
        Just(SessionStatus::Success),
        Just(SessionStatus::Error),
        Just(SessionStatus::Canceled),
        Just(SessionStatus::Skipped),
    ]
}

fn setting() -> impl Strategy<Value = SyncSetting> {
    prop_oneof![
        Just(SyncSetting::Enabled),
        Just(SyncSetting::DisabledByAdmin),
        Just(SyncSetting::Suspended),
        Just(SyncSetting::DisabledDueToError),
    ]
}

/// A user's history, in order: state changes and sessions (some never ending), with
/// start times that may tie.
fn history() -> impl Strategy<Value = (Vec<Event>, Vec<ProfileState>)> {
    let sessions = prop::collection::vec(
        (0i64..50, 1i64..400, status(), any::<bool>(), any::<bool>()),
        0..12,
    );
    let states = prop::collection::vec((0i64..50, setting(), 0u8..4, any::<bool>()), 0..4);
    let profiles = prop::collection::vec((0i64..50, any::<bool>(), 0u8..5), 0..4);
    (sessions, states, profiles).prop_map(|(sessions, states, profiles)| {
        let mut events = vec![created()];
        for (i, (slot, dur, st, ends, with_start)) in sessions.into_iter().enumerate() {
            let id = format!("s{i:02}");
            let start = 2_000 + slot * 1_000;
            if with_start || !ends {
                events.push(started(&id, start));
            }
            if ends {
                events.push(ended(&id, start, start + dur, st));
            }
        }
        for (i, (slot, set, p, deleted)) in states.into_iter().enumerate() {
            let change = if deleted && i == 0 {
                ChangeKind::Deleted
            } else {
                ChangeKind::Updated
            };
            let profile_id = if p == 0 { "p2" } else { P };
            events.push(user(
                &format!("st{i}"),
                2_000 + slot * 1_000,
                profile_id,
                change,
                set,
            ));
        }
        let profiles = profiles
            .into_iter()
            .enumerate()
            .map(|(i, (slot, enabled, kind))| {
                let change = if kind == 0 {
                    ChangeKind::Deleted
                } else {
                    ChangeKind::Updated
                };
                let id = if i % 2 == 0 { P } else { "p2" };
                profile(&format!("pr{i}"), 2_000 + slot * 1_000, id, change, enabled)
            })
            .collect();
        (events, profiles)
    })
}

/// The events, shuffled and some delivered several times: a permutation of indices with
/// repeats, covering every index at least once.
fn delivery(n: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..n.max(1), 0..n.max(1) * 2).prop_flat_map(move |extra| {
        let mut all: Vec<usize> = (0..n).collect();
        all.extend(extra.into_iter().filter(|_| n > 0));
        Just(all).prop_shuffle()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_permutation_with_duplicates_derives_the_same(
        ((events, profiles), order) in history().prop_flat_map(|h| {
            let n = h.0.len();
            (Just(h), delivery(n))
        }),
        now in 0i64..200_000,
    ) {
        let limits = Limits { stall_after_ms: 5_000, no_session_after_ms: 40_000 };
        let once = derive_user(&events, &profiles, now, &limits);
        let delivered: Vec<Event> = order.iter().map(|&i| events[i].clone()).collect();
        // Profile events too: reversed and delivered twice.
        let mut profiles_delivered: Vec<ProfileState> = profiles.iter().rev().cloned().collect();
        profiles_delivered.extend(profiles.iter().cloned());
        prop_assert_eq!(derive_user(&delivered, &profiles_delivered, now, &limits), once);
    }
}

/// Every user of a simulated fleet (with duplicates and out-of-order delivery on the
/// wire): the pure rules, fed the decoded records in delivery order, give exactly the
/// manifest's reference state.
#[test]
fn rules_agree_with_the_simulator_manifest() {
    let cfg = SimConfig {
        seed: 7,
        tenants: 2,
        profiles_per_tenant: 3,
        users_per_profile: 20,
        span_ms: 6 * 3_600_000,
        state_change_rate: 0.05,
        abandoned_session_rate: 0.03,
        duplicate_rate: 0.1,
        reorder_rate: 0.1,
        ..SimConfig::default()
    };
    let (records, manifest) = simulator::simulate(&cfg);
    let mut by_user: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut profiles = Vec::new();
    for r in &records {
        let Ok(event) = schemas::decode_valid(&r.payload) else {
            continue;
        };
        match event {
            Event::ProfileState(p) => profiles.push(p),
            Event::SessionLog(_) => {}
            e => {
                let key = format!(
                    "{}/{}",
                    e.tenant_id(),
                    e.header().map_or("", |h| &h.user_id)
                );
                by_user.entry(key).or_default().push(e);
            }
        }
    }
    // No stall limit in the manifest: evaluate at the end of the span with limits that
    // cannot trigger.
    let limits = Limits {
        stall_after_ms: i64::MAX,
        no_session_after_ms: i64::MAX,
    };
    assert_eq!(by_user.len(), manifest.users.len());
    for (key, expected) in &manifest.users {
        let got = derive_user(&by_user[key], &profiles, manifest.end_ms, &limits)
            .unwrap_or_else(|| panic!("{key}: no state"));
        let s = &got.sessions;
        assert_eq!(
            got.effective_status.as_str(),
            expected.effective_status,
            "{key}"
        );
        assert_eq!(got.sync_state.as_str(), expected.sync_state, "{key}");
        assert_eq!(got.profile_id, expected.profile_id, "{key}");
        assert_eq!(got.deleted, expected.deleted, "{key}");
        assert_eq!(got.sync_setting, expected.sync_setting, "{key}");
        assert_eq!(got.crm_token_active, expected.crm_token_active, "{key}");
        assert_eq!(
            got.mail_token_authorized, expected.mail_token_authorized,
            "{key}"
        );
        assert_eq!(s.last_session_id, expected.last_session_id, "{key}");
        assert_eq!(
            s.last_started_at_ms, expected.last_session_started_at_ms,
            "{key}"
        );
        assert_eq!(
            s.last_ended_at_ms, expected.last_session_ended_at_ms,
            "{key}"
        );
        assert_eq!(s.last_outcome, expected.last_outcome, "{key}");
        assert_eq!(s.ever_succeeded, expected.ever_succeeded, "{key}");
        assert_eq!(s.last_error_category, expected.last_error_category, "{key}");
        assert_eq!(s.last_error_source, expected.last_error_source, "{key}");
        assert_eq!(s.last_error_message, expected.last_error_message, "{key}");
        assert_eq!(
            s.consecutive_failures, expected.consecutive_failures,
            "{key}"
        );
    }
}
