//! Contract rules beyond what Avro expresses. Pure functions: the clock is a parameter
//! ([`validate_at`]); [`validate`] reads the system clock once and calls it.
//!
//! The rules, for every kind:
//! - ids (`event_id`, `tenant_id`, `profile_id`, `user_id`, `engine_id`, `engine_version`,
//!   `session_id`, `issue_id`, `command_id`, `request_id`, `issued_by`) are non-empty and
//!   at most [`MAX_ID_BYTES`]; an optional `target_object_id`, when present, too;
//! - names at most [`MAX_NAME_BYTES`], texts at most [`MAX_TEXT_BYTES`], exception text at
//!   most [`MAX_EXCEPTION_BYTES`];
//! - timestamps between [`MIN_TIMESTAMP_MS`] (2000-01-01) and now + [`MAX_CLOCK_SKEW_MS`];
//! - counts (and a log chunk's `sequence`) are >= 0;
//! - `session_ended`: `ended_at >= started_at`; `error_category` and `error_source` are
//!   present when the status is `Error`; at most [`MAX_OBJECT_REPORTS`] objects lines;
//! - `sync_issue`: `error_code` in 0..=3;
//! - `session_log`: at most [`MAX_LOG_LINES`] lines per chunk;
//! - `user_state`: at most [`MAX_SAVED_SEARCHES`] saved searches, each with a name;
//! - `admin_command`: `UpdateCredentials` carries a new mail account or CRM user name.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::enums::{AdminAction, SessionStatus};
use crate::error::ContractError;
use crate::event::{AdminCommand, DirectionCounts, Event, Header, SessionEnded};

/// Longest id, in bytes.
pub const MAX_ID_BYTES: usize = 256;
/// Longest name (display name, mail account, object name, ...), in bytes.
pub const MAX_NAME_BYTES: usize = 4 * 1024;
/// Longest text (message, description, log line, token error), in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest exception text, in bytes.
pub const MAX_EXCEPTION_BYTES: usize = 256 * 1024;
/// Most lines in one session log chunk.
pub const MAX_LOG_LINES: usize = 10_000;
/// Most lines in a session's objects report.
pub const MAX_OBJECT_REPORTS: usize = 256;
/// Most saved searches in a user's scope.
pub const MAX_SAVED_SEARCHES: usize = 1_000;
/// Earliest accepted timestamp: 2000-01-01T00:00:00Z, in ms since the Unix epoch.
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;
/// How far in the future (engine clock ahead of ours) a timestamp may be: one day, in ms.
pub const MAX_CLOCK_SKEW_MS: i64 = 24 * 60 * 60 * 1000;

type Result = std::result::Result<(), ContractError>;

/// Now, in ms since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Checks an event against the contract, with the system clock as "now".
pub fn validate(event: &Event) -> Result {
    validate_at(event, now_ms())
}

/// Checks an admin command against the contract, with the system clock as "now".
pub fn validate_command(command: &AdminCommand) -> Result {
    validate_command_at(command, now_ms())
}

/// Checks an event against the contract; `now_ms` bounds future timestamps.
pub fn validate_at(event: &Event, now_ms: i64) -> Result {
    let c = Check { now_ms };
    match event {
        Event::SessionQueued(e) => {
            c.header(&e.header)?;
            c.id("session_id", &e.session_id)
        }
        Event::SessionStarted(e) => {
            c.header(&e.header)?;
            c.id("session_id", &e.session_id)
        }
        Event::SessionEnded(e) => c.session_ended(e),
        Event::SyncIssue(e) => {
            c.header(&e.header)?;
            c.id("issue_id", &e.issue_id)?;
            c.id("session_id", &e.session_id)?;
            c.max("object_name", &e.object_name, MAX_NAME_BYTES)?;
            if !(0..=3).contains(&e.error_code) {
                return Err(ContractError::ErrorCodeOutOfRange(e.error_code));
            }
            c.max("description", &e.description, MAX_TEXT_BYTES)?;
            if let Some(t) = &e.target_object_id {
                c.id("target_object_id", t)?;
            }
            Ok(())
        }
        Event::SessionLog(e) => {
            c.header(&e.header)?;
            c.id("session_id", &e.session_id)?;
            c.count("sequence", i64::from(e.sequence))?;
            c.items("lines", e.lines.len(), MAX_LOG_LINES)?;
            for l in &e.lines {
                c.timestamp("lines.at", l.at_ms)?;
                c.max("lines.text", &l.text, MAX_TEXT_BYTES)?;
            }
            Ok(())
        }
        Event::UserState(e) => {
            c.header(&e.header)?;
            c.max("display_name", &e.display_name, MAX_NAME_BYTES)?;
            c.max("mail_account", &e.mail_account, MAX_NAME_BYTES)?;
            c.max("crm_user_name", &e.crm_user_name, MAX_NAME_BYTES)?;
            if let Some(t) = &e.last_token_error {
                c.max("last_token_error", t, MAX_TEXT_BYTES)?;
            }
            c.items("saved_searches", e.saved_searches.len(), MAX_SAVED_SEARCHES)?;
            for s in &e.saved_searches {
                c.non_empty("saved_searches.name", &s.name)?;
                c.max("saved_searches.name", &s.name, MAX_NAME_BYTES)?;
            }
            Ok(())
        }
        Event::ProfileState(e) => {
            c.id("event_id", &e.event_id)?;
            c.id("tenant_id", &e.tenant_id)?;
            c.id("profile_id", &e.profile_id)?;
            c.timestamp("occurred_at", e.occurred_at_ms)?;
            c.id("engine_id", &e.engine_id)?;
            c.id("engine_version", &e.engine_version)?;
            c.max("name", &e.name, MAX_NAME_BYTES)
        }
    }
}

/// Checks an admin command against the contract; `now_ms` bounds future timestamps.
pub fn validate_command_at(command: &AdminCommand, now_ms: i64) -> Result {
    let c = Check { now_ms };
    c.id("command_id", &command.command_id)?;
    c.id("request_id", &command.request_id)?;
    c.id("tenant_id", &command.tenant_id)?;
    c.id("profile_id", &command.profile_id)?;
    c.id("user_id", &command.user_id)?;
    c.id("issued_by", &command.issued_by)?;
    c.timestamp("issued_at", command.issued_at_ms)?;
    if let Some(m) = &command.new_mail_account {
        c.non_empty("new_mail_account", m)?;
        c.max("new_mail_account", m, MAX_NAME_BYTES)?;
    }
    if let Some(u) = &command.new_crm_user_name {
        c.non_empty("new_crm_user_name", u)?;
        c.max("new_crm_user_name", u, MAX_NAME_BYTES)?;
    }
    if command.action == AdminAction::UpdateCredentials
        && command.new_mail_account.is_none()
        && command.new_crm_user_name.is_none()
    {
        return Err(ContractError::MissingField {
            field: "new_mail_account",
            when: "when action is UpdateCredentials and new_crm_user_name is absent",
        });
    }
    Ok(())
}

struct Check {
    now_ms: i64,
}

impl Check {
    fn non_empty(&self, field: &'static str, v: &str) -> Result {
        if v.is_empty() {
            return Err(ContractError::EmptyField { field });
        }
        Ok(())
    }

    fn max(&self, field: &'static str, v: &str, max: usize) -> Result {
        if v.len() > max {
            return Err(ContractError::FieldTooLong {
                field,
                len: v.len(),
                max,
            });
        }
        Ok(())
    }

    fn id(&self, field: &'static str, v: &str) -> Result {
        self.non_empty(field, v)?;
        self.max(field, v, MAX_ID_BYTES)
    }

    fn count(&self, field: &'static str, value: i64) -> Result {
        if value < 0 {
            return Err(ContractError::NegativeCount { field, value });
        }
        Ok(())
    }

    fn timestamp(&self, field: &'static str, value: i64) -> Result {
        let latest = self.now_ms.saturating_add(MAX_CLOCK_SKEW_MS);
        if !(MIN_TIMESTAMP_MS..=latest).contains(&value) {
            return Err(ContractError::TimestampOutOfRange { field, value });
        }
        Ok(())
    }

    fn items(&self, field: &'static str, count: usize, max: usize) -> Result {
        if count > max {
            return Err(ContractError::TooManyItems { field, count, max });
        }
        Ok(())
    }

    fn header(&self, h: &Header) -> Result {
        self.id("event_id", &h.event_id)?;
        self.id("tenant_id", &h.tenant_id)?;
        self.id("profile_id", &h.profile_id)?;
        self.id("user_id", &h.user_id)?;
        self.timestamp("occurred_at", h.occurred_at_ms)?;
        self.id("engine_id", &h.engine_id)?;
        self.id("engine_version", &h.engine_version)
    }

    fn counts(&self, c: &DirectionCounts, fields: [&'static str; 3]) -> Result {
        self.count(fields[0], c.created)?;
        self.count(fields[1], c.updated)?;
        self.count(fields[2], c.deleted)
    }

    fn session_ended(&self, e: &SessionEnded) -> Result {
        self.header(&e.header)?;
        self.id("session_id", &e.session_id)?;
        self.timestamp("started_at", e.started_at_ms)?;
        self.timestamp("ended_at", e.ended_at_ms)?;
        if e.ended_at_ms < e.started_at_ms {
            return Err(ContractError::EndBeforeStart {
                started_at_ms: e.started_at_ms,
                ended_at_ms: e.ended_at_ms,
            });
        }
        self.count("scope_items", e.scope_items)?;
        self.items("objects", e.objects.len(), MAX_OBJECT_REPORTS)?;
        for o in &e.objects {
            self.count("objects.synchronized", o.synchronized)?;
            self.counts(
                &o.mail_to_crm,
                [
                    "objects.mail_to_crm.created",
                    "objects.mail_to_crm.updated",
                    "objects.mail_to_crm.deleted",
                ],
            )?;
            self.counts(
                &o.crm_to_mail,
                [
                    "objects.crm_to_mail.created",
                    "objects.crm_to_mail.updated",
                    "objects.crm_to_mail.deleted",
                ],
            )?;
        }
        self.count("changes", e.changes)?;
        self.count("total_changes", e.total_changes)?;
        self.count("failures", e.failures)?;
        self.count("issues", e.issues)?;
        self.count("conflicts", e.conflicts)?;
        if e.status == SessionStatus::Error {
            if e.error_category.is_none() {
                return Err(ContractError::MissingField {
                    field: "error_category",
                    when: "when status is Error",
                });
            }
            if e.error_source.is_none() {
                return Err(ContractError::MissingField {
                    field: "error_source",
                    when: "when status is Error",
                });
            }
        }
        if let Some(m) = &e.message {
            self.max("message", m, MAX_TEXT_BYTES)?;
        }
        if let Some(x) = &e.exception {
            self.max("exception", x, MAX_EXCEPTION_BYTES)?;
        }
        Ok(())
    }
}
