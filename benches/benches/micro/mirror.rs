//! Mirrors of the current `.avsc` records (flat, with the Avro field names) so that
//! serde-driven Avro decoders (serde_avro_fast, apache-avro's `from_value`) can fill them;
//! each converts into the `schemas` event it mirrors, so every decoder in the comparison
//! ends with the same `Event`.

use schemas::{
    ChangeKind, CrmSystem, Direction, ErrorCategory, ErrorSource, Event, EventKind, Header,
    LogLevel, LogLine, MailSystem, ObjectReport, ObjectType, Operation, ProfileState, SavedSearch,
    SessionEnded, SessionLog, SessionQueued, SessionStarted, SessionStatus, SyncIssue, SyncSetting,
    Trigger, UserState,
};
use serde::Deserialize;

/// Declares a mirror record: the seven header fields, then `$field: $type`.
macro_rules! record {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Deserialize)]
        struct $name {
            event_id: String,
            tenant_id: String,
            profile_id: String,
            user_id: String,
            occurred_at: i64,
            engine_id: String,
            engine_version: String,
            $($field: $ty),*
        }
    };
}

/// Moves the header fields out of a mirror record.
macro_rules! header {
    ($m:ident) => {
        Header {
            event_id: $m.event_id,
            tenant_id: $m.tenant_id,
            profile_id: $m.profile_id,
            user_id: $m.user_id,
            occurred_at_ms: $m.occurred_at,
            engine_id: $m.engine_id,
            engine_version: $m.engine_version,
        }
    };
}

record!(Queued { session_id: String });
record!(Started {
    session_id: String,
    trigger: Trigger
});
record!(Ended {
    session_id: String,
    started_at: i64,
    ended_at: i64,
    status: SessionStatus,
    scope_items: i64,
    objects: Vec<ObjectReport>,
    changes: i64,
    total_changes: i64,
    failures: i64,
    issues: i64,
    conflicts: i64,
    error_category: Option<ErrorCategory>,
    error_source: Option<ErrorSource>,
    message: Option<String>,
    exception: Option<String>,
});
record!(Issue {
    issue_id: String,
    session_id: String,
    object_type: ObjectType,
    direction: Direction,
    mail_system: MailSystem,
    crm_system: CrmSystem,
    object_name: String,
    operation: Operation,
    error_code: i32,
    description: String,
    error_source: ErrorSource,
    target_object_id: Option<String>,
});

#[derive(Deserialize)]
struct Line {
    at: i64,
    level: LogLevel,
    text: String,
}

record!(Log {
    session_id: String,
    sequence: i32,
    lines: Vec<Line>,
});
record!(User {
    change: ChangeKind,
    display_name: String,
    mail_account: String,
    crm_user_name: String,
    mail_system: MailSystem,
    crm_system: CrmSystem,
    sync_setting: SyncSetting,
    crm_token_active: bool,
    mail_token_authorized: bool,
    last_token_error: Option<String>,
    saved_searches: Vec<SavedSearch>,
});

#[derive(Deserialize)]
struct Profile {
    event_id: String,
    tenant_id: String,
    profile_id: String,
    occurred_at: i64,
    engine_id: String,
    engine_version: String,
    change: ChangeKind,
    name: String,
    sync_enabled: bool,
}

/// Decodes a body of the current schema of `kind` with a serde-driven decoder: `de` is
/// called with the mirror type's marker and must deserialize it.
pub trait SerdeAvro {
    /// The decoder's error.
    type Error: std::fmt::Debug;
    /// Deserializes one mirror record.
    fn de<T: serde::de::DeserializeOwned>(&self) -> Result<T, Self::Error>;
}

/// The event a serde-driven decoder reads from a body of the current schema of `kind`.
pub fn decode<D: SerdeAvro>(kind: EventKind, d: &D) -> Result<Event, D::Error> {
    Ok(match kind {
        EventKind::SessionQueued => {
            let m: Queued = d.de()?;
            Event::SessionQueued(SessionQueued {
                session_id: m.session_id,
                header: header!(m),
            })
        }
        EventKind::SessionStarted => {
            let m: Started = d.de()?;
            Event::SessionStarted(SessionStarted {
                session_id: m.session_id,
                trigger: m.trigger,
                header: header!(m),
            })
        }
        EventKind::SessionEnded => {
            let m: Ended = d.de()?;
            Event::SessionEnded(SessionEnded {
                session_id: m.session_id,
                started_at_ms: m.started_at,
                ended_at_ms: m.ended_at,
                status: m.status,
                scope_items: m.scope_items,
                objects: m.objects,
                changes: m.changes,
                total_changes: m.total_changes,
                failures: m.failures,
                issues: m.issues,
                conflicts: m.conflicts,
                error_category: m.error_category,
                error_source: m.error_source,
                message: m.message,
                exception: m.exception,
                header: header!(m),
            })
        }
        EventKind::SyncIssue => {
            let m: Issue = d.de()?;
            Event::SyncIssue(SyncIssue {
                issue_id: m.issue_id,
                session_id: m.session_id,
                object_type: m.object_type,
                direction: m.direction,
                mail_system: m.mail_system,
                crm_system: m.crm_system,
                object_name: m.object_name,
                operation: m.operation,
                error_code: m.error_code,
                description: m.description,
                error_source: m.error_source,
                target_object_id: m.target_object_id,
                header: header!(m),
            })
        }
        EventKind::SessionLog => {
            let m: Log = d.de()?;
            Event::SessionLog(SessionLog {
                session_id: m.session_id,
                sequence: m.sequence,
                lines: m
                    .lines
                    .into_iter()
                    .map(|l| LogLine {
                        at_ms: l.at,
                        level: l.level,
                        text: l.text,
                    })
                    .collect(),
                header: header!(m),
            })
        }
        EventKind::UserState => {
            let m: User = d.de()?;
            Event::UserState(UserState {
                change: m.change,
                display_name: m.display_name,
                mail_account: m.mail_account,
                crm_user_name: m.crm_user_name,
                mail_system: m.mail_system,
                crm_system: m.crm_system,
                sync_setting: m.sync_setting,
                crm_token_active: m.crm_token_active,
                mail_token_authorized: m.mail_token_authorized,
                last_token_error: m.last_token_error,
                saved_searches: m.saved_searches,
                header: header!(m),
            })
        }
        EventKind::ProfileState => {
            let m: Profile = d.de()?;
            Event::ProfileState(ProfileState {
                event_id: m.event_id,
                tenant_id: m.tenant_id,
                profile_id: m.profile_id,
                occurred_at_ms: m.occurred_at,
                engine_id: m.engine_id,
                engine_version: m.engine_version,
                change: m.change,
                name: m.name,
                sync_enabled: m.sync_enabled,
            })
        }
    })
}
