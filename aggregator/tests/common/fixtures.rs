//! Small event builders for the rule tests (one tenant `t`, one user `u` by default).

use schemas::{
    ChangeKind, CrmSystem, ErrorCategory, ErrorSource, Event, Header, MailSystem, ProfileState,
    SessionEnded, SessionQueued, SessionStarted, SessionStatus, SyncSetting, Trigger, UserState,
};

pub const T: &str = "t";
pub const U: &str = "u";
pub const P: &str = "p1";

pub fn header(event_id: &str, at: i64) -> Header {
    Header {
        event_id: event_id.to_owned(),
        tenant_id: T.to_owned(),
        profile_id: P.to_owned(),
        user_id: U.to_owned(),
        occurred_at_ms: at,
        engine_id: "e".to_owned(),
        engine_version: "1".to_owned(),
    }
}

/// A user-state event.
pub fn user(
    event_id: &str,
    at: i64,
    profile: &str,
    change: ChangeKind,
    setting: SyncSetting,
) -> Event {
    let mut header = header(event_id, at);
    header.profile_id = profile.to_owned();
    Event::UserState(UserState {
        header,
        change,
        display_name: format!("name {event_id}"),
        mail_account: "u@example.com".to_owned(),
        crm_user_name: "u".to_owned(),
        mail_system: MailSystem::Office365,
        crm_system: CrmSystem::Salesforce,
        sync_setting: setting,
        crm_token_active: true,
        mail_token_authorized: true,
        last_token_error: None,
        saved_searches: Vec::new(),
    })
}

/// The user created at 1000 in profile `p1`, enabled.
pub fn created() -> Event {
    user(
        "created",
        1_000,
        P,
        ChangeKind::Created,
        SyncSetting::Enabled,
    )
}

pub fn tokens(event_id: &str, at: i64, crm: bool, mail: bool) -> Event {
    let mut e = user(event_id, at, P, ChangeKind::Updated, SyncSetting::Enabled);
    if let Event::UserState(s) = &mut e {
        s.crm_token_active = crm;
        s.mail_token_authorized = mail;
    }
    e
}

pub fn profile(
    event_id: &str,
    at: i64,
    id: &str,
    change: ChangeKind,
    enabled: bool,
) -> ProfileState {
    ProfileState {
        event_id: event_id.to_owned(),
        tenant_id: T.to_owned(),
        profile_id: id.to_owned(),
        occurred_at_ms: at,
        engine_id: "p".to_owned(),
        engine_version: "1".to_owned(),
        change,
        name: id.to_owned(),
        sync_enabled: enabled,
    }
}

pub fn queued(session: &str, at: i64) -> Event {
    Event::SessionQueued(SessionQueued {
        header: header(&format!("{session}-q"), at),
        session_id: session.to_owned(),
    })
}

pub fn started(session: &str, at: i64) -> Event {
    Event::SessionStarted(SessionStarted {
        header: header(&format!("{session}-s"), at),
        session_id: session.to_owned(),
        trigger: Trigger::Schedule,
    })
}

pub fn ended(session: &str, start: i64, end: i64, status: SessionStatus) -> Event {
    let (category, source, message) = match status {
        SessionStatus::Error => (
            Some(ErrorCategory::Throttling),
            Some(ErrorSource::Crm),
            Some(format!("error in {session}")),
        ),
        _ => (None, None, Some("ok".to_owned())),
    };
    Event::SessionEnded(SessionEnded {
        header: header(&format!("{session}-e"), end),
        session_id: session.to_owned(),
        started_at_ms: start,
        ended_at_ms: end,
        status,
        scope_items: 0,
        objects: Vec::new(),
        changes: 0,
        total_changes: 0,
        failures: 0,
        issues: 0,
        conflicts: 0,
        error_category: category,
        error_source: source,
        message,
        exception: None,
    })
}

/// Started and ended events of one session.
pub fn session(session: &str, start: i64, end: i64, status: SessionStatus) -> Vec<Event> {
    vec![started(session, start), ended(session, start, end, status)]
}
