//! One test per row of `docs/status-rules.md` (the row id is in the test name).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aggregator::rules::*;
use common::fixtures::*;
use schemas::{ChangeKind, ErrorCategory, ErrorSource, Event, SessionStatus, SyncSetting};

const LIMITS: Limits = Limits {
    stall_after_ms: 3_600_000,
    no_session_after_ms: 86_400_000,
};
const NOW: i64 = 10_000_000;

fn derive(events: &[Event]) -> UserStatus {
    derive_at(events, &[], NOW)
}

fn derive_at(events: &[Event], profiles: &[schemas::ProfileState], now: i64) -> UserStatus {
    derive_user(events, profiles, now, &LIMITS).expect("a user-state event is present")
}

fn with(mut events: Vec<Event>, more: Vec<Event>) -> Vec<Event> {
    events.extend(more);
    events
}

#[test]
fn p1_unknown_profile_is_enabled() {
    let s = derive(&[created()]);
    assert_eq!(s.profile_status, ProfileStatus::Enabled);
    assert!(!s.profile_deleted);
}

#[test]
fn p2_latest_profile_event_wins_by_time_then_event_id() {
    let a = profile("a", 100, P, ChangeKind::Created, true);
    let b = profile("b", 200, P, ChangeKind::Updated, false);
    let c = profile("c", 200, P, ChangeKind::Updated, true);
    for order in [
        vec![a.clone(), b.clone(), c.clone()],
        vec![c.clone(), b.clone(), a.clone()],
    ] {
        assert_eq!(
            latest_profile_state(&order).map(|p| p.event_id.as_str()),
            Some("c")
        );
    }
    // Another profile's events do not count.
    let other = profile("z", 900, "p2", ChangeKind::Updated, false);
    let s = derive_at(&[created()], &[a, b, c, other], NOW);
    assert_eq!(s.profile_status, ProfileStatus::Enabled);
}

#[test]
fn p3_profile_sync_disabled_is_disabled() {
    let s = derive_at(
        &[created()],
        &[profile("a", 100, P, ChangeKind::Updated, false)],
        NOW,
    );
    assert_eq!(s.profile_status, ProfileStatus::Disabled);
}

#[test]
fn p4_deleted_profile_is_disabled_and_leaves_the_counts() {
    let s = derive_at(
        &[created()],
        &[profile("a", 100, P, ChangeKind::Deleted, true)],
        NOW,
    );
    assert_eq!(s.profile_status, ProfileStatus::Disabled);
    assert!(s.profile_deleted);
    assert!(!counted(&s));
}

#[test]
fn u1_no_user_state_event_no_row() {
    let events = session("s1", 2_000, 3_000, SessionStatus::Success);
    assert_eq!(derive_user(&events, &[], NOW, &LIMITS), None);
}

#[test]
fn u2_latest_user_state_wins_and_a_move_counts_in_the_new_profile_only() {
    let moved = user("m", 5_000, "p2", ChangeKind::Updated, SyncSetting::Enabled);
    let s = derive(&[moved.clone(), created()]);
    assert_eq!(s.profile_id, "p2");
    assert_eq!(s.display_name, "name m");
    assert!(counted(&s));
    // Same time: the greater event id wins.
    let tie = user("n", 5_000, "p3", ChangeKind::Updated, SyncSetting::Enabled);
    assert_eq!(
        derive(&[tie.clone(), moved.clone(), created()]).profile_id,
        "p3"
    );
    assert_eq!(derive(&[moved, created(), tie]).profile_id, "p3");
}

#[test]
fn u3_deleted_user_leaves_the_counts() {
    let gone = user("d", 5_000, P, ChangeKind::Deleted, SyncSetting::Enabled);
    let s = derive(&[created(), gone]);
    assert!(s.deleted);
    assert!(!counted(&s));
}

#[test]
fn e1_disabled_profile_disables_every_user_setting() {
    for setting in [
        SyncSetting::Enabled,
        SyncSetting::Suspended,
        SyncSetting::DisabledDueToError,
        SyncSetting::DisabledByAdmin,
    ] {
        assert_eq!(
            effective_status(ProfileStatus::Disabled, setting),
            EffectiveStatus::Disabled
        );
    }
}

#[test]
fn e2_disabled_by_admin_is_disabled() {
    let e = user(
        "x",
        2_000,
        P,
        ChangeKind::Updated,
        SyncSetting::DisabledByAdmin,
    );
    assert_eq!(
        derive(&[created(), e]).effective_status,
        EffectiveStatus::Disabled
    );
}

#[test]
fn e3_disabled_by_the_engine_is_disabled_due_to_error() {
    let e = user(
        "x",
        2_000,
        P,
        ChangeKind::Updated,
        SyncSetting::DisabledDueToError,
    );
    assert_eq!(
        derive(&[created(), e]).effective_status,
        EffectiveStatus::DisabledDueToError
    );
}

#[test]
fn e4_suspended_is_suspended() {
    let e = user("x", 2_000, P, ChangeKind::Updated, SyncSetting::Suspended);
    assert_eq!(
        derive(&[created(), e]).effective_status,
        EffectiveStatus::Suspended
    );
}

#[test]
fn e5_enabled_user_in_enabled_profile_is_enabled() {
    let s = derive_at(
        &[created()],
        &[profile("a", 100, P, ChangeKind::Created, true)],
        NOW,
    );
    assert_eq!(s.effective_status, EffectiveStatus::Enabled);
}

#[test]
fn s1_sessions_merge_by_id_whatever_arrives_first() {
    // The end arrives before the start; the start is the greatest reported.
    let events = vec![
        ended("s1", 2_000, 5_000, SessionStatus::Success),
        started("s1", 2_000),
        queued("s1", 1_900),
        queued("s2", 9_000),
    ];
    let sessions = merge_sessions(&events);
    assert_eq!(
        sessions.len(),
        1,
        "queued-only sessions are not sessions yet"
    );
    let s1 = &sessions["s1"];
    assert_eq!(s1.started_at_ms, 2_000);
    assert_eq!(s1.end.as_ref().map(|e| e.ended_at_ms), Some(5_000));
}

#[test]
fn s2_last_session_is_the_latest_start_with_its_end_and_duration() {
    let events = with(
        session("s1", 2_000, 5_000, SessionStatus::Success),
        session("s2", 6_000, 9_500, SessionStatus::Error),
    );
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.last_session_id.as_deref(), Some("s2"));
    assert_eq!(s.last_started_at_ms, Some(6_000));
    assert_eq!(s.last_ended_at_ms, Some(9_500));
    assert_eq!(s.last_duration_ms(), Some(3_500));
    // A later session still running: no end, no duration.
    let events = with(events, vec![started("s3", 10_000)]);
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.last_session_id.as_deref(), Some("s3"));
    assert_eq!((s.last_ended_at_ms, s.last_duration_ms()), (None, None));
}

#[test]
fn s3_last_outcome_ignores_skipped() {
    let events = with(
        session("s1", 2_000, 3_000, SessionStatus::Error),
        session("s2", 4_000, 5_000, SessionStatus::Skipped),
    );
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.last_outcome, Some(SessionStatus::Error));
    assert_eq!(s.last_status, Some(SessionStatus::Skipped));
    // The outcome's own session, not the latest one.
    assert_eq!(s.last_outcome_session_id.as_deref(), Some("s1"));
    assert_eq!(s.last_outcome_started_at_ms, Some(2_000));
}

#[test]
fn s3_s4_a_canceled_outcome_keeps_an_older_error_apart() {
    let mut events = with(
        session("s1", 2_000, 3_000, SessionStatus::Error),
        session("s2", 4_000, 5_000, SessionStatus::Canceled),
    );
    events.extend(session("s3", 6_000, 7_000, SessionStatus::Skipped));
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.last_outcome, Some(SessionStatus::Canceled));
    assert_eq!(s.last_outcome_session_id.as_deref(), Some("s2"));
    assert_eq!(s.last_outcome_started_at_ms, Some(4_000));
    // The error shown is s1's, and its start says it is older than the outcome.
    assert_eq!(s.last_error_message.as_deref(), Some("error in s1"));
    assert_eq!(s.last_error_session_id.as_deref(), Some("s1"));
    assert_eq!(s.last_error_started_at_ms, Some(2_000));
    assert_eq!(s.last_started_at_ms, Some(6_000));
}

#[test]
fn s4_last_error_comes_from_the_latest_error_session() {
    let mut events = with(
        session("s1", 2_000, 3_000, SessionStatus::Error),
        session("s2", 4_000, 5_000, SessionStatus::Error),
    );
    events.extend(session("s3", 6_000, 7_000, SessionStatus::Success));
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.last_error_category, Some(ErrorCategory::Throttling));
    assert_eq!(s.last_error_source, Some(ErrorSource::Crm));
    assert_eq!(s.last_error_message.as_deref(), Some("error in s2"));
    assert_eq!(s.last_error_session_id.as_deref(), Some("s2"));
    assert_eq!(s.last_error_started_at_ms, Some(4_000));
    // Never an error: empty.
    let s =
        summarize_sessions(merge_sessions(&session("s9", 1, 2, SessionStatus::Success)).values());
    assert_eq!((s.last_error_category, s.last_error_message), (None, None));
}

#[test]
fn s5_consecutive_failures_count_errors_since_the_last_success() {
    let mut events = Vec::new();
    events.extend(session("a", 1_000, 1_100, SessionStatus::Error));
    events.extend(session("b", 2_000, 2_100, SessionStatus::Success));
    events.extend(session("c", 3_000, 3_100, SessionStatus::Error));
    events.extend(session("d", 4_000, 4_100, SessionStatus::Canceled));
    events.extend(session("e", 5_000, 5_100, SessionStatus::Skipped));
    events.extend(session("f", 6_000, 6_100, SessionStatus::Error));
    let s = summarize_sessions(merge_sessions(&events).values());
    assert_eq!(s.consecutive_failures, 2);
    // No success ever: every error counts.
    let s = summarize_sessions(merge_sessions(&events[..2]).values());
    assert_eq!(s.consecutive_failures, 1);
}

#[test]
fn y1_open_session_past_the_stall_limit_is_stalled() {
    let events = vec![created(), started("s1", NOW - LIMITS.stall_after_ms)];
    assert_eq!(derive(&events).sync_state, SyncState::Stalled);
}

#[test]
fn y2_open_latest_session_is_in_progress() {
    let mut events = vec![created()];
    events.extend(session("s1", 2_000, 3_000, SessionStatus::Success));
    events.push(started("s2", NOW - 1_000));
    assert_eq!(derive(&events).sync_state, SyncState::InProgress);
}

#[test]
fn y3_no_success_ever_is_never_synced() {
    assert_eq!(derive(&[created()]).sync_state, SyncState::NeverSynced);
    let events = with(
        vec![created()],
        session("s1", 2_000, 3_000, SessionStatus::Error),
    );
    assert_eq!(derive(&events).sync_state, SyncState::NeverSynced);
}

#[test]
fn y4_last_outcome_error_or_canceled_is_last_sync_failed() {
    for status in [SessionStatus::Error, SessionStatus::Canceled] {
        let mut events = vec![created()];
        events.extend(session("s1", 2_000, 3_000, SessionStatus::Success));
        events.extend(session("s2", 4_000, 5_000, status));
        assert_eq!(derive(&events).sync_state, SyncState::LastSyncFailed);
    }
}

#[test]
fn y5_last_outcome_success_is_last_sync_succeeded() {
    let mut events = vec![created()];
    events.extend(session("s1", 2_000, 3_000, SessionStatus::Error));
    events.extend(session("s2", 4_000, 5_000, SessionStatus::Success));
    assert_eq!(derive(&events).sync_state, SyncState::LastSyncSucceeded);
}

#[test]
fn y6_skipped_sessions_do_not_change_the_last_outcome() {
    let mut ok = vec![created()];
    ok.extend(session("s1", 2_000, 3_000, SessionStatus::Success));
    ok.extend(session("s2", 4_000, 5_000, SessionStatus::Skipped));
    assert_eq!(derive(&ok).sync_state, SyncState::LastSyncSucceeded);
    let mut failed = vec![created()];
    failed.extend(session("s0", 1_500, 1_600, SessionStatus::Success));
    failed.extend(session("s1", 2_000, 3_000, SessionStatus::Error));
    failed.extend(session("s2", 4_000, 5_000, SessionStatus::Skipped));
    assert_eq!(derive(&failed).sync_state, SyncState::LastSyncFailed);
}

#[test]
fn t1_token_flags_come_from_the_latest_user_state() {
    let s = derive(&[created(), tokens("k", 2_000, false, true)]);
    assert!(!s.crm_token_active);
    assert!(s.mail_token_authorized);
    let s = derive(&[
        tokens("k", 2_000, false, true),
        tokens("l", 3_000, true, false),
        created(),
    ]);
    assert!(s.crm_token_active);
    assert!(!s.mail_token_authorized);
}

#[test]
fn n1_enabled_user_without_a_session_for_the_period_is_flagged() {
    let day = LIMITS.no_session_after_ms;
    let events = with(
        vec![created()],
        session("s1", 2_000, 3_000, SessionStatus::Success),
    );
    assert!(!derive_at(&events, &[], 2_000 + day - 1).no_recent_session);
    assert!(derive_at(&events, &[], 2_000 + day).no_recent_session);
    // Never a session: counted from when the user was first seen.
    assert!(derive_at(&[created()], &[], 1_000 + day).no_recent_session);
}

#[test]
fn n2_users_not_meant_to_sync_are_never_flagged() {
    let late = 1_000 + 10 * LIMITS.no_session_after_ms;
    let suspended = user("x", 1_500, P, ChangeKind::Updated, SyncSetting::Suspended);
    assert!(!derive_at(&[created(), suspended], &[], late).no_recent_session);
    let gone = user("d", 1_500, P, ChangeKind::Deleted, SyncSetting::Enabled);
    assert!(!derive_at(&[created(), gone], &[], late).no_recent_session);
    let off = profile("a", 100, P, ChangeKind::Updated, false);
    assert!(!derive_at(&[created()], &[off], late).no_recent_session);
}

#[test]
fn n3_changes_at_is_when_time_alone_changes_the_state() {
    // Running session: it turns Stalled first.
    let events = vec![created(), started("s1", 5_000)];
    let s = derive_at(&events, &[], 6_000);
    assert_eq!(s.changes_at_ms, 5_000 + LIMITS.stall_after_ms);
    let later = derive_at(&events, &[], s.changes_at_ms);
    assert_eq!(later.sync_state, SyncState::Stalled);
    // Then the "no recent session" flag.
    assert_eq!(later.changes_at_ms, 5_000 + LIMITS.no_session_after_ms);
    assert!(derive_at(&events, &[], later.changes_at_ms).no_recent_session);
    // Nothing left to change: 0.
    assert_eq!(
        derive_at(&events, &[], later.changes_at_ms).changes_at_ms,
        0
    );
}

#[test]
fn c1_counted_users_are_those_not_deleted_in_live_profiles() {
    assert!(counted(&derive(&[created()])));
}
