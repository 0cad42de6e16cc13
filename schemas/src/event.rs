//! The Rust side of the event contract: one struct per event kind, plain data.
//!
//! Field meanings are documented once, here and in the matching `.avsc` file under
//! `schemas/avro/`. Timestamps are milliseconds since the Unix epoch, UTC.

use serde::{Deserialize, Serialize};

use crate::enums::{
    AdminAction, ChangeKind, ConflictResolution, CrmSystem, Direction, ErrorCategory, ErrorSource,
    LogLevel, MailSystem, ObjectType, Operation, SessionStatus, SyncSetting, Trigger,
};

/// Fields every event about a user carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Unique id of this event (a UUID); redeliveries carry the same id.
    pub event_id: String,
    /// The customer the user belongs to.
    pub tenant_id: String,
    /// The sync configuration ("organization" in older panels) the user belongs to.
    pub profile_id: String,
    /// The user: one mailbox plus one CRM login.
    pub user_id: String,
    /// When the event happened on the engine, ms since the Unix epoch (UTC).
    pub occurred_at_ms: i64,
    /// The sync engine instance that emitted the event.
    pub engine_id: String,
    /// The version of that engine.
    pub engine_version: String,
}

/// "Ready to synchronize": a session was queued for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionQueued {
    /// Common fields.
    pub header: Header,
    /// The session that will run.
    pub session_id: String,
}

/// A sync session started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// Common fields.
    pub header: Header,
    /// The session that started.
    pub session_id: String,
    /// What started it.
    pub trigger: Trigger,
}

/// Created/updated/deleted counts for one direction of one object type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectionCounts {
    /// Objects created in the target system.
    pub created: i64,
    /// Objects updated in the target system.
    pub updated: i64,
    /// Objects deleted in the target system.
    pub deleted: i64,
}

/// One line of a session's objects report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectReport {
    /// The object type this line is about.
    pub object_type: ObjectType,
    /// Objects of this type synchronized in the session.
    pub synchronized: i64,
    /// Changes written from the mail system to the CRM.
    pub mail_to_crm: DirectionCounts,
    /// Changes written from the CRM to the mail system.
    pub crm_to_mail: DirectionCounts,
}

/// A sync session ended, with its outcome and report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// Common fields.
    pub header: Header,
    /// The session that ended.
    pub session_id: String,
    /// When the session started, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// When the session ended, ms since the Unix epoch; never before `started_at_ms`.
    pub ended_at_ms: i64,
    /// Outcome.
    pub status: SessionStatus,
    /// Items eligible for synchronization (the synchronization scope). Added in v2; 0 when
    /// written by a v1 engine.
    pub scope_items: i64,
    /// Per object type report.
    pub objects: Vec<ObjectReport>,
    /// Changes made by this session.
    pub changes: i64,
    /// Total changes after synchronization.
    pub total_changes: i64,
    /// Failures during the session.
    pub failures: i64,
    /// Sync issues recorded (see `SyncIssue`).
    pub issues: i64,
    /// Conflicts detected. Added in v2; 0 when written by a v1 engine.
    pub conflicts: i64,
    /// Error category, present when the status is `Error`.
    pub error_category: Option<ErrorCategory>,
    /// Where the error came from, present when the status is `Error`.
    pub error_source: Option<ErrorSource>,
    /// Human readable outcome message.
    pub message: Option<String>,
    /// Exception text (stack trace) when the engine caught one.
    pub exception: Option<String>,
}

/// One object that could not be created, updated or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncIssue {
    /// Common fields.
    pub header: Header,
    /// Unique id of the issue.
    pub issue_id: String,
    /// The session that hit it.
    pub session_id: String,
    /// Type of the object.
    pub object_type: ObjectType,
    /// Direction of the failed change.
    pub direction: Direction,
    /// The mail system side of the direction.
    pub mail_system: MailSystem,
    /// The CRM side of the direction.
    pub crm_system: CrmSystem,
    /// Full name (contacts) or subject (emails, events) of the object.
    pub object_name: String,
    /// The operation that failed.
    pub operation: Operation,
    /// 0 active/success, 1 locked/operation error, 2 already removed, 3 inaccessible or
    /// updated prematurely.
    pub error_code: i32,
    /// Error text returned by the target system.
    pub description: String,
    /// Where the error came from.
    pub error_source: ErrorSource,
    /// Id of the object in the target system, when known.
    pub target_object_id: Option<String>,
}

/// One line of a session log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When the line was written, ms since the Unix epoch.
    pub at_ms: i64,
    /// Severity.
    pub level: LogLevel,
    /// The text.
    pub text: String,
}

/// A chunk of a session's log; chunks are ordered by `sequence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLog {
    /// Common fields.
    pub header: Header,
    /// The session the lines belong to.
    pub session_id: String,
    /// Position of this chunk in the session's log, from 0.
    pub sequence: i32,
    /// The lines, in order.
    pub lines: Vec<LogLine>,
}

/// One saved search in a user's sync scope, with its conflict rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSearch {
    /// Name of the saved search.
    pub name: String,
    /// Object type it selects.
    pub object_type: ObjectType,
    /// Who wins when both sides changed the same object.
    pub conflict_resolution: ConflictResolution,
}

/// A user was created, updated or deleted; carries the full current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// Common fields; `header.profile_id` is the user's profile after this change (a
    /// changed profile id is a move between profiles).
    pub header: Header,
    /// Created, updated or deleted.
    pub change: ChangeKind,
    /// Display name.
    pub display_name: String,
    /// Mail account (address) synced.
    pub mail_account: String,
    /// CRM login name.
    pub crm_user_name: String,
    /// Mail system of the account.
    pub mail_system: MailSystem,
    /// CRM system of the login.
    pub crm_system: CrmSystem,
    /// The user's sync setting.
    pub sync_setting: SyncSetting,
    /// CRM token active ("Active" in the monitor).
    pub crm_token_active: bool,
    /// Mail token authorized ("Authorized" in the monitor).
    pub mail_token_authorized: bool,
    /// Last token refresh error, if any.
    pub last_token_error: Option<String>,
    /// Saved searches in the sync scope with their conflict resolution.
    pub saved_searches: Vec<SavedSearch>,
}

/// A profile was created, updated or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileState {
    /// Unique id of this event (a UUID).
    pub event_id: String,
    /// The customer.
    pub tenant_id: String,
    /// The profile.
    pub profile_id: String,
    /// When the change happened, ms since the Unix epoch.
    pub occurred_at_ms: i64,
    /// The engine (or provisioning service) that emitted the event.
    pub engine_id: String,
    /// Its version.
    pub engine_version: String,
    /// Created, updated or deleted.
    pub change: ChangeKind,
    /// Profile name.
    pub name: String,
    /// Whether sync is enabled for the profile.
    pub sync_enabled: bool,
}

/// A command from an admin to the sync engines, published by `query-api`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminCommand {
    /// Unique id of this command (a UUID).
    pub command_id: String,
    /// Client-supplied idempotency key; the same request id never acts twice.
    pub request_id: String,
    /// The customer.
    pub tenant_id: String,
    /// The user's profile.
    pub profile_id: String,
    /// The user the command is for.
    pub user_id: String,
    /// What to do.
    pub action: AdminAction,
    /// Principal that issued the command.
    pub issued_by: String,
    /// When it was issued, ms since the Unix epoch.
    pub issued_at_ms: i64,
    /// New mail account, for `UpdateCredentials`.
    pub new_mail_account: Option<String>,
    /// New CRM user name, for `UpdateCredentials`.
    pub new_crm_user_name: Option<String>,
}

/// Any event a sync engine publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub enum Event {
    /// See [`SessionQueued`].
    SessionQueued(SessionQueued),
    /// See [`SessionStarted`].
    SessionStarted(SessionStarted),
    /// See [`SessionEnded`].
    SessionEnded(SessionEnded),
    /// See [`SyncIssue`].
    SyncIssue(SyncIssue),
    /// See [`SessionLog`].
    SessionLog(SessionLog),
    /// See [`UserState`].
    UserState(UserState),
    /// See [`ProfileState`].
    ProfileState(ProfileState),
}
