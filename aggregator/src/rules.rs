//! The status rules as pure functions: no I/O, no clock, no unwrap.
//!
//! Every function here is order-independent and idempotent: the inputs are *sets* of
//! events (a duplicate changes nothing, the order they are given in changes nothing),
//! because each "latest" is chosen by a total order on the events' own fields
//! (`occurred_at_ms` then `event_id`; for sessions the start time then `session_id`),
//! never by arrival. `docs/status-rules.md` lists every rule with its test; the SQL in
//! `aggregator/sql/` mirrors these functions and is checked against them by
//! `tests/sql_matches_rules.rs`.

use std::collections::BTreeMap;

use schemas::{
    ChangeKind, ErrorCategory, ErrorSource, Event, ProfileState, SessionStatus, SyncSetting,
    UserState,
};

/// Limits that let time change a user's state without new events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A session started this long ago (ms) and never ended is Stalled. Default 1 h.
    pub stall_after_ms: i64,
    /// An enabled user whose last session started this long ago (ms), or who never had a
    /// session and was first seen this long ago, is flagged "no recent session". Default 24 h.
    pub no_session_after_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            stall_after_ms: 3_600_000,
            no_session_after_ms: 86_400_000,
        }
    }
}

/// A profile's sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileStatus {
    /// Sync enabled for the profile (also when nothing is known about it).
    Enabled,
    /// Sync disabled for the profile, or the profile deleted.
    Disabled,
}

pub use schemas::{EffectiveStatus, SyncState};

macro_rules! as_str {
    ($ty:ident { $($v:ident),+ }) => {
        impl $ty {
            /// The name stored in ClickHouse and shown by the API.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$v => stringify!($v)),+ }
            }
        }
    };
}
as_str!(ProfileStatus { Enabled, Disabled });

/// The latest of a set of profile-state events of one profile: greatest
/// (`occurred_at_ms`, `event_id`). Rule P2.
pub fn latest_profile_state<'a>(
    events: impl IntoIterator<Item = &'a ProfileState>,
) -> Option<&'a ProfileState> {
    events
        .into_iter()
        .max_by(|a, b| (a.occurred_at_ms, &a.event_id).cmp(&(b.occurred_at_ms, &b.event_id)))
}

/// Profile status from the profile's latest state event (rules P1-P4).
pub fn profile_status(latest: Option<&ProfileState>) -> ProfileStatus {
    match latest {
        None => ProfileStatus::Enabled,
        Some(p) if p.change == ChangeKind::Deleted || !p.sync_enabled => ProfileStatus::Disabled,
        Some(_) => ProfileStatus::Enabled,
    }
}

/// Effective status (rules E1-E5): Disabled when the profile or the user is disabled,
/// then "disabled due to an error", then Suspended, else Enabled.
pub fn effective_status(profile: ProfileStatus, setting: SyncSetting) -> EffectiveStatus {
    match setting {
        _ if profile == ProfileStatus::Disabled => EffectiveStatus::Disabled,
        SyncSetting::DisabledByAdmin => EffectiveStatus::Disabled,
        SyncSetting::DisabledDueToError => EffectiveStatus::DisabledDueToError,
        SyncSetting::Suspended => EffectiveStatus::Suspended,
        SyncSetting::Enabled => EffectiveStatus::Enabled,
    }
}

/// The latest of a user's state events: greatest (`occurred_at_ms`, `event_id`). Rule U2.
pub fn latest_user_state<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<&'a UserState> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::UserState(s) => Some(s),
            _ => None,
        })
        .max_by(|a, b| {
            (a.header.occurred_at_ms, &a.header.event_id)
                .cmp(&(b.header.occurred_at_ms, &b.header.event_id))
        })
}

/// How a session ended: taken from its `session_ended` event with the greatest
/// (`occurred_at_ms`, `event_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd {
    /// End, ms since the Unix epoch.
    pub ended_at_ms: i64,
    /// Outcome.
    pub status: SessionStatus,
    /// Error category (Error sessions).
    pub error_category: Option<ErrorCategory>,
    /// Error source (Error sessions).
    pub error_source: Option<ErrorSource>,
    /// Message.
    pub message: Option<String>,
    order: (i64, String),
}

/// One session of a user, merged from its events (rule S1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Session id.
    pub session_id: String,
    /// Start: the greatest of the `session_started` time and the start reported by
    /// `session_ended`, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// The end, when an end event arrived.
    pub end: Option<SessionEnd>,
}

/// Merges a user's session events into sessions by id (rule S1). Queued-only sessions
/// are not sessions yet and are left out.
pub fn merge_sessions<'a>(
    events: impl IntoIterator<Item = &'a Event>,
) -> BTreeMap<String, Session> {
    let mut out: BTreeMap<String, Session> = BTreeMap::new();
    for event in events {
        let (id, started, end) = match event {
            Event::SessionStarted(s) => (&s.session_id, s.header.occurred_at_ms, None),
            Event::SessionEnded(e) => (
                &e.session_id,
                e.started_at_ms,
                Some(SessionEnd {
                    ended_at_ms: e.ended_at_ms,
                    status: e.status,
                    error_category: e.error_category,
                    error_source: e.error_source,
                    message: e.message.clone(),
                    order: (e.header.occurred_at_ms, e.header.event_id.clone()),
                }),
            ),
            _ => continue,
        };
        let session = out.entry(id.clone()).or_insert_with(|| Session {
            session_id: id.clone(),
            started_at_ms: i64::MIN,
            end: None,
        });
        session.started_at_ms = session.started_at_ms.max(started);
        if let Some(end) = end {
            if session.end.as_ref().is_none_or(|cur| end.order > cur.order) {
                session.end = Some(end);
            }
        }
    }
    out
}

/// What a user's sessions say (rules S2-S5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// The latest session by (start, id).
    pub last_session_id: Option<String>,
    /// Its start, ms.
    pub last_started_at_ms: Option<i64>,
    /// Its end, ms, when it ended.
    pub last_ended_at_ms: Option<i64>,
    /// Its status, when it ended.
    pub last_status: Option<SessionStatus>,
    /// Status of the latest ended session that was not Skipped.
    pub last_outcome: Option<SessionStatus>,
    /// That session's id.
    pub last_outcome_session_id: Option<String>,
    /// That session's start, ms.
    pub last_outcome_started_at_ms: Option<i64>,
    /// Some session succeeded.
    pub ever_succeeded: bool,
    /// Category of the latest Error session.
    pub last_error_category: Option<ErrorCategory>,
    /// Source of the latest Error session.
    pub last_error_source: Option<ErrorSource>,
    /// Message of the latest Error session.
    pub last_error_message: Option<String>,
    /// The latest Error session's id.
    pub last_error_session_id: Option<String>,
    /// Its start, ms (older than the last outcome's when the outcome is not an Error).
    pub last_error_started_at_ms: Option<i64>,
    /// Error sessions started after the latest Success started (all of them if none).
    pub consecutive_failures: u64,
}

impl SessionSummary {
    /// Duration of the latest session, ms, when it ended.
    pub fn last_duration_ms(&self) -> Option<i64> {
        Some(self.last_ended_at_ms? - self.last_started_at_ms?)
    }

    /// The latest session started and has not ended.
    pub fn last_open(&self) -> bool {
        self.last_started_at_ms.is_some() && self.last_ended_at_ms.is_none()
    }
}

/// Summarizes merged sessions (rules S2-S5).
pub fn summarize_sessions<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> SessionSummary {
    let key = |s: &'a Session| (s.started_at_ms, s.session_id.as_str());
    let mut last: Option<&Session> = None;
    let mut outcome: Option<&Session> = None;
    let mut error: Option<&Session> = None;
    let mut success: Option<&Session> = None;
    let mut errors: Vec<i64> = Vec::new();
    let later = |cur: Option<&'a Session>, s: &'a Session| cur.is_none_or(|c| key(s) > key(c));
    for s in sessions {
        if later(last, s) {
            last = Some(s);
        }
        let Some(end) = &s.end else { continue };
        if end.status != SessionStatus::Skipped && later(outcome, s) {
            outcome = Some(s);
        }
        match end.status {
            SessionStatus::Success if later(success, s) => success = Some(s),
            SessionStatus::Error => {
                errors.push(s.started_at_ms);
                if later(error, s) {
                    error = Some(s);
                }
            }
            _ => {}
        }
    }
    let success_start = success.map(|s| s.started_at_ms);
    let error_end = error.and_then(|s| s.end.as_ref());
    SessionSummary {
        last_session_id: last.map(|s| s.session_id.clone()),
        last_started_at_ms: last.map(|s| s.started_at_ms),
        last_ended_at_ms: last.and_then(|s| s.end.as_ref()).map(|e| e.ended_at_ms),
        last_status: last.and_then(|s| s.end.as_ref()).map(|e| e.status),
        last_outcome: outcome.and_then(|s| s.end.as_ref()).map(|e| e.status),
        last_outcome_session_id: outcome.map(|s| s.session_id.clone()),
        last_outcome_started_at_ms: outcome.map(|s| s.started_at_ms),
        ever_succeeded: success.is_some(),
        last_error_category: error_end.and_then(|e| e.error_category),
        last_error_source: error_end.and_then(|e| e.error_source),
        last_error_message: error_end.and_then(|e| e.message.clone()),
        last_error_session_id: error.map(|s| s.session_id.clone()),
        last_error_started_at_ms: error.map(|s| s.started_at_ms),
        consecutive_failures: errors
            .iter()
            .filter(|&&start| success_start.is_none_or(|s| start > s))
            .count() as u64,
    }
}

/// Sync state at `now_ms` (rules Y1-Y5), first match wins.
pub fn sync_state(summary: &SessionSummary, now_ms: i64, limits: &Limits) -> SyncState {
    match summary.last_started_at_ms {
        Some(start) if summary.last_open() => {
            if now_ms.saturating_sub(start) >= limits.stall_after_ms {
                SyncState::Stalled
            } else {
                SyncState::InProgress
            }
        }
        _ if !summary.ever_succeeded => SyncState::NeverSynced,
        _ => match summary.last_outcome {
            Some(SessionStatus::Error) | Some(SessionStatus::Canceled) => SyncState::LastSyncFailed,
            _ => SyncState::LastSyncSucceeded,
        },
    }
}

/// The time a user's "no recent session" clock runs from: the latest session's start, or
/// when the user was first seen.
fn idle_since(summary: &SessionSummary, first_seen_ms: i64) -> i64 {
    summary.last_started_at_ms.unwrap_or(first_seen_ms)
}

/// Whether an active user is flagged for having had no session for the configured period
/// (rules N1-N3). Only users that should sync (effective status Enabled, not deleted) are
/// flagged.
pub fn no_recent_session(
    effective: EffectiveStatus,
    deleted: bool,
    summary: &SessionSummary,
    first_seen_ms: i64,
    now_ms: i64,
    limits: &Limits,
) -> bool {
    effective == EffectiveStatus::Enabled
        && !deleted
        && now_ms.saturating_sub(idle_since(summary, first_seen_ms)) >= limits.no_session_after_ms
}

/// The next instant (ms) at which the derived state changes by time alone (a running
/// session turns Stalled, an enabled user gets the "no recent session" flag); 0 when time
/// alone changes nothing any more. The aggregator recomputes a user when this passes.
pub fn changes_at_ms(
    effective: EffectiveStatus,
    deleted: bool,
    summary: &SessionSummary,
    first_seen_ms: i64,
    now_ms: i64,
    limits: &Limits,
) -> i64 {
    let mut next: Option<i64> = None;
    if let Some(start) = summary.last_started_at_ms.filter(|_| summary.last_open()) {
        let at = start.saturating_add(limits.stall_after_ms);
        if at > now_ms {
            next = Some(at);
        }
    }
    if effective == EffectiveStatus::Enabled && !deleted {
        let at = idle_since(summary, first_seen_ms).saturating_add(limits.no_session_after_ms);
        if at > now_ms {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    next.unwrap_or(0)
}

/// Everything derived for one user at one instant: one row of `user_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    /// Tenant.
    pub tenant_id: String,
    /// User.
    pub user_id: String,
    /// Current profile (from the latest user-state event; a move counts only here).
    pub profile_id: String,
    /// Display name.
    pub display_name: String,
    /// Mail account.
    pub mail_account: String,
    /// The latest user-state event is a deletion.
    pub deleted: bool,
    /// The current profile is deleted.
    pub profile_deleted: bool,
    /// The user's own setting.
    pub sync_setting: SyncSetting,
    /// The current profile's status.
    pub profile_status: ProfileStatus,
    /// Effective status.
    pub effective_status: EffectiveStatus,
    /// Sync state (with the stall limit applied).
    pub sync_state: SyncState,
    /// No session for the configured period while enabled.
    pub no_recent_session: bool,
    /// CRM token active ("Active").
    pub crm_token_active: bool,
    /// Mail token authorized ("Authorized").
    pub mail_token_authorized: bool,
    /// The sessions' summary.
    pub sessions: SessionSummary,
    /// The earliest user-state event, ms.
    pub first_seen_ms: i64,
    /// See [`changes_at_ms`].
    pub changes_at_ms: i64,
}

/// Derives a user's status from all their events (any order, any duplicates) and the
/// tenant's profile-state events, at `now_ms`. `None` when no user-state event is known
/// yet (rule U1): the user appears once its state arrives.
pub fn derive_user(
    events: &[Event],
    profiles: &[ProfileState],
    now_ms: i64,
    limits: &Limits,
) -> Option<UserStatus> {
    let state = latest_user_state(events)?;
    let h = &state.header;
    let first_seen_ms = events
        .iter()
        .filter(|e| matches!(e, Event::UserState(_)))
        .map(Event::occurred_at_ms)
        .min()
        .unwrap_or(h.occurred_at_ms);
    let profile = latest_profile_state(
        profiles
            .iter()
            .filter(|p| p.tenant_id == h.tenant_id && p.profile_id == h.profile_id),
    );
    let profile_status = profile_status(profile);
    let profile_deleted = profile.is_some_and(|p| p.change == ChangeKind::Deleted);
    let effective = effective_status(profile_status, state.sync_setting);
    let deleted = state.change == ChangeKind::Deleted;
    let sessions = merge_sessions(events);
    let summary = summarize_sessions(sessions.values());
    Some(UserStatus {
        tenant_id: h.tenant_id.clone(),
        user_id: h.user_id.clone(),
        profile_id: h.profile_id.clone(),
        display_name: state.display_name.clone(),
        mail_account: state.mail_account.clone(),
        deleted,
        profile_deleted,
        sync_setting: state.sync_setting,
        profile_status,
        effective_status: effective,
        sync_state: sync_state(&summary, now_ms, limits),
        no_recent_session: no_recent_session(
            effective,
            deleted,
            &summary,
            first_seen_ms,
            now_ms,
            limits,
        ),
        crm_token_active: state.crm_token_active,
        mail_token_authorized: state.mail_token_authorized,
        changes_at_ms: changes_at_ms(effective, deleted, &summary, first_seen_ms, now_ms, limits),
        sessions: summary,
        first_seen_ms,
    })
}

/// Whether a user counts in the summary counts and cards (rule C1): not deleted, profile
/// not deleted. A moved user counts in its current profile only, because a user has one
/// row, keyed by user, carrying the current profile.
pub fn counted(status: &UserStatus) -> bool {
    !status.deleted && !status.profile_deleted
}
