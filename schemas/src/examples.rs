//! Realistic example values of every kind, for tests (golden files, property tests of
//! downstream processors) and for the sync-engine authors' guide.
//!
//! All timestamps lie on 2025-03-14 (UTC), so [`crate::validate::validate`] accepts them.

use crate::enums::{
    AdminAction, ChangeKind, ConflictResolution, CrmSystem, Direction, ErrorCategory, ErrorSource,
    LogLevel, MailSystem, ObjectType, Operation, SessionStatus, SyncSetting, Trigger,
};
use crate::event::{
    AdminCommand, DirectionCounts, Event, Header, LogLine, ObjectReport, ProfileState, SavedSearch,
    SessionEnded, SessionLog, SessionQueued, SessionStarted, SyncIssue, UserState,
};

/// 2025-03-14T09:26:53.589Z, when the example session was queued.
pub const T0_MS: i64 = 1_741_944_413_589;

const SESSION: &str = "6f1c2a8e-3b7d-4e59-9a41-0c5d2e7f8b13";

fn header(event_id: &str, at_ms: i64) -> Header {
    Header {
        event_id: event_id.to_owned(),
        tenant_id: "acme-corp".to_owned(),
        profile_id: "prf-sales-emea".to_owned(),
        user_id: "usr-00042".to_owned(),
        occurred_at_ms: at_ms,
        engine_id: "sync-engine-eu-west-1a-07".to_owned(),
        engine_version: "5.12.3".to_owned(),
    }
}

/// A session queued.
pub fn session_queued() -> Event {
    Event::SessionQueued(SessionQueued {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f01", T0_MS),
        session_id: SESSION.to_owned(),
    })
}

/// A session started by the schedule.
pub fn session_started() -> Event {
    Event::SessionStarted(SessionStarted {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f02", T0_MS + 1_250),
        session_id: SESSION.to_owned(),
        trigger: Trigger::Schedule,
    })
}

/// A failed session with every optional field filled in.
pub fn session_ended_error() -> Event {
    let started = T0_MS + 1_250;
    Event::SessionEnded(SessionEnded {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f03", started + 48_731),
        session_id: SESSION.to_owned(),
        started_at_ms: started,
        ended_at_ms: started + 48_731,
        status: SessionStatus::Error,
        scope_items: 1_284,
        objects: vec![
            ObjectReport {
                object_type: ObjectType::Email,
                synchronized: 37,
                mail_to_crm: DirectionCounts {
                    created: 35,
                    updated: 2,
                    deleted: 0,
                },
                crm_to_mail: DirectionCounts::default(),
            },
            ObjectReport {
                object_type: ObjectType::Contact,
                synchronized: 12,
                mail_to_crm: DirectionCounts {
                    created: 1,
                    updated: 4,
                    deleted: 0,
                },
                crm_to_mail: DirectionCounts {
                    created: 3,
                    updated: 3,
                    deleted: 1,
                },
            },
        ],
        changes: 49,
        total_changes: 1_333,
        failures: 2,
        issues: 2,
        conflicts: 1,
        error_category: Some(ErrorCategory::Throttling),
        error_source: Some(ErrorSource::Crm),
        message: Some("REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.".to_owned()),
        exception: Some(
            "SyncException: REQUEST_LIMIT_EXCEEDED\n   at Crm.Salesforce.Client.Send()\n   at Sync.Session.Run()"
                .to_owned(),
        ),
    })
}

/// A skipped session: no report, every optional field empty.
pub fn session_ended_skipped() -> Event {
    let started = T0_MS + 300_000;
    Event::SessionEnded(SessionEnded {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f04", started + 412),
        session_id: "9d2e4f6a-8b1c-4d3e-a5f7-2b4c6d8e0f1a".to_owned(),
        started_at_ms: started,
        ended_at_ms: started + 412,
        status: SessionStatus::Skipped,
        scope_items: 0,
        objects: Vec::new(),
        changes: 0,
        total_changes: 1_333,
        failures: 0,
        issues: 0,
        conflicts: 0,
        error_category: None,
        error_source: None,
        message: None,
        exception: None,
    })
}

/// An issue: a contact the CRM refused to update.
pub fn sync_issue() -> Event {
    Event::SyncIssue(SyncIssue {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f05", T0_MS + 31_004),
        issue_id: "iss-7c3d9e1f".to_owned(),
        session_id: SESSION.to_owned(),
        object_type: ObjectType::Contact,
        direction: Direction::MailToCrm,
        mail_system: MailSystem::Office365,
        crm_system: CrmSystem::Salesforce,
        object_name: "Zoë Müller-Lüdenscheidt".to_owned(),
        operation: Operation::Update,
        error_code: 1,
        description: "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record"
            .to_owned(),
        error_source: ErrorSource::Crm,
        target_object_id: Some("0035g00000XyZ12AAF".to_owned()),
    })
}

/// The first chunk of a session's log.
pub fn session_log() -> Event {
    let at = T0_MS + 1_250;
    let line = |dt: i64, level, text: &str| LogLine {
        at_ms: at + dt,
        level,
        text: text.to_owned(),
    };
    Event::SessionLog(SessionLog {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f06", at + 48_731),
        session_id: SESSION.to_owned(),
        sequence: 0,
        lines: vec![
            line(0, LogLevel::Info, "Session started (trigger: Schedule)"),
            line(
                2_114,
                LogLevel::Debug,
                "Mailbox: 37 new items since watermark",
            ),
            line(
                30_987,
                LogLevel::Warn,
                "Contact 'Zoë Müller-Lüdenscheidt': UNABLE_TO_LOCK_ROW",
            ),
            line(
                48_730,
                LogLevel::Error,
                "REQUEST_LIMIT_EXCEEDED; ending session",
            ),
        ],
    })
}

/// A user's full state after an update, with saved searches and a token error.
pub fn user_state() -> Event {
    Event::UserState(UserState {
        header: header("0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f07", T0_MS - 86_400_000),
        change: ChangeKind::Updated,
        display_name: "Jane Doe".to_owned(),
        mail_account: "jane.doe@acme.example".to_owned(),
        crm_user_name: "jane.doe@acme.example.sfdc".to_owned(),
        mail_system: MailSystem::Office365,
        crm_system: CrmSystem::Salesforce,
        sync_setting: SyncSetting::Enabled,
        crm_token_active: true,
        mail_token_authorized: false,
        last_token_error: Some("AADSTS700082: The refresh token has expired".to_owned()),
        saved_searches: vec![
            SavedSearch {
                name: "My open opportunities".to_owned(),
                object_type: ObjectType::Opportunity,
                conflict_resolution: ConflictResolution::CrmWins,
            },
            SavedSearch {
                name: "Contacts I own".to_owned(),
                object_type: ObjectType::Contact,
                conflict_resolution: ConflictResolution::LatestWins,
            },
        ],
    })
}

/// A profile created, sync enabled.
pub fn profile_state() -> Event {
    Event::ProfileState(ProfileState {
        event_id: "0b8f4c3e-5a71-4d2b-8e6f-1a9c7d3e2f08".to_owned(),
        tenant_id: "acme-corp".to_owned(),
        profile_id: "prf-sales-emea".to_owned(),
        occurred_at_ms: T0_MS - 30 * 86_400_000,
        engine_id: "provisioning-api".to_owned(),
        engine_version: "2.4.0".to_owned(),
        change: ChangeKind::Created,
        name: "Sales EMEA".to_owned(),
        sync_enabled: true,
    })
}

/// Every example with a stable name (used for golden file names), one or more per kind.
pub fn named() -> Vec<(&'static str, Event)> {
    vec![
        ("session_queued", session_queued()),
        ("session_started", session_started()),
        ("session_ended", session_ended_error()),
        ("session_ended_skipped", session_ended_skipped()),
        ("sync_issue", sync_issue()),
        ("session_log", session_log()),
        ("user_state", user_state()),
        ("profile_state", profile_state()),
    ]
}

/// Every example event, at least one per kind.
pub fn all() -> Vec<Event> {
    named().into_iter().map(|(_, e)| e).collect()
}

/// An admin command: new mail account for a user.
pub fn command() -> AdminCommand {
    AdminCommand {
        command_id: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f".to_owned(),
        request_id: "req-2025-03-14-0001".to_owned(),
        tenant_id: "acme-corp".to_owned(),
        profile_id: "prf-sales-emea".to_owned(),
        user_id: "usr-00042".to_owned(),
        action: AdminAction::UpdateCredentials,
        issued_by: "admin:ops@acme.example".to_owned(),
        issued_at_ms: T0_MS + 3_600_000,
        new_mail_account: Some("jane.doe@acme-new.example".to_owned()),
        new_crm_user_name: None,
    }
}
