//! Random users for the tests that compare the SQL with the pure rules: histories with
//! ties, lone starts and ends, queued-only sessions and state changes, and the comparison
//! of a `user_state` row with `rules::derive_user`.

use aggregator::rules::UserStatus;
use rand::Rng;
use schemas::{AvroEnum, ChangeKind, Event, SessionStatus, SyncSetting};

use super::fixtures::*;
use super::StateRow;

pub const STATUSES: [SessionStatus; 4] = [
    SessionStatus::Success,
    SessionStatus::Error,
    SessionStatus::Canceled,
    SessionStatus::Skipped,
];
pub const SETTINGS: [SyncSetting; 4] = [
    SyncSetting::Enabled,
    SyncSetting::DisabledByAdmin,
    SyncSetting::Suspended,
    SyncSetting::DisabledDueToError,
];

pub fn for_user(events: Vec<Event>, user_id: &str) -> Vec<Event> {
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
pub fn history(rng: &mut impl Rng, base: i64) -> Vec<Event> {
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

/// Asserts that a `user_state` row says what the rules derive (`want`), field by field.
pub fn assert_row(id: &str, row: &StateRow, want: &UserStatus) {
    let sym = |o: Option<&'static str>| o.unwrap_or("").to_owned();
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
