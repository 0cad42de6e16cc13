//! Schema-specific Avro encoders and decoders for the *current* version of each kind.
//!
//! Field order here is the field order of the current `.avsc` file of each kind; the
//! golden tests compare these bytes with what apache-avro writes from the `.avsc`, so a
//! drift between the two fails a test.

use crate::binary::{
    put_array, put_bool, put_enum, put_int, put_long, put_opt_enum, put_opt_str, put_str, Reader,
};
use crate::error::DecodeError;
use crate::event::{
    AdminCommand, DirectionCounts, Event, Header, LogLine, ObjectReport, ProfileState, SavedSearch,
    SessionEnded, SessionLog, SessionQueued, SessionStarted, SyncIssue, UserState,
};
use crate::EventKind;

type Result<T> = std::result::Result<T, DecodeError>;

/// Appends the Avro body of `event` (no wire header).
pub(crate) fn put_event(buf: &mut Vec<u8>, event: &Event) {
    match event {
        Event::SessionQueued(e) => {
            put_header(buf, &e.header);
            put_str(buf, &e.session_id);
        }
        Event::SessionStarted(e) => {
            put_header(buf, &e.header);
            put_str(buf, &e.session_id);
            put_enum(buf, e.trigger);
        }
        Event::SessionEnded(e) => put_session_ended(buf, e),
        Event::SyncIssue(e) => put_sync_issue(buf, e),
        Event::SessionLog(e) => {
            put_header(buf, &e.header);
            put_str(buf, &e.session_id);
            put_int(buf, e.sequence);
            put_array(buf, &e.lines, |buf, l| {
                put_long(buf, l.at_ms);
                put_enum(buf, l.level);
                put_str(buf, &l.text);
            });
        }
        Event::UserState(e) => put_user_state(buf, e),
        Event::ProfileState(e) => {
            put_str(buf, &e.event_id);
            put_str(buf, &e.tenant_id);
            put_str(buf, &e.profile_id);
            put_long(buf, e.occurred_at_ms);
            put_str(buf, &e.engine_id);
            put_str(buf, &e.engine_version);
            put_enum(buf, e.change);
            put_str(buf, &e.name);
            put_bool(buf, e.sync_enabled);
        }
    }
}

fn put_header(buf: &mut Vec<u8>, h: &Header) {
    put_str(buf, &h.event_id);
    put_str(buf, &h.tenant_id);
    put_str(buf, &h.profile_id);
    put_str(buf, &h.user_id);
    put_long(buf, h.occurred_at_ms);
    put_str(buf, &h.engine_id);
    put_str(buf, &h.engine_version);
}

fn put_counts(buf: &mut Vec<u8>, c: &DirectionCounts) {
    put_long(buf, c.created);
    put_long(buf, c.updated);
    put_long(buf, c.deleted);
}

fn put_session_ended(buf: &mut Vec<u8>, e: &SessionEnded) {
    put_header(buf, &e.header);
    put_str(buf, &e.session_id);
    put_long(buf, e.started_at_ms);
    put_long(buf, e.ended_at_ms);
    put_enum(buf, e.status);
    put_long(buf, e.scope_items);
    put_array(buf, &e.objects, |buf, o| {
        put_enum(buf, o.object_type);
        put_long(buf, o.synchronized);
        put_counts(buf, &o.mail_to_crm);
        put_counts(buf, &o.crm_to_mail);
    });
    put_long(buf, e.changes);
    put_long(buf, e.total_changes);
    put_long(buf, e.failures);
    put_long(buf, e.issues);
    put_long(buf, e.conflicts);
    put_opt_enum(buf, e.error_category);
    put_opt_enum(buf, e.error_source);
    put_opt_str(buf, e.message.as_deref());
    put_opt_str(buf, e.exception.as_deref());
}

fn put_sync_issue(buf: &mut Vec<u8>, e: &SyncIssue) {
    put_header(buf, &e.header);
    put_str(buf, &e.issue_id);
    put_str(buf, &e.session_id);
    put_enum(buf, e.object_type);
    put_enum(buf, e.direction);
    put_enum(buf, e.mail_system);
    put_enum(buf, e.crm_system);
    put_str(buf, &e.object_name);
    put_enum(buf, e.operation);
    put_int(buf, e.error_code);
    put_str(buf, &e.description);
    put_enum(buf, e.error_source);
    put_opt_str(buf, e.target_object_id.as_deref());
}

fn put_user_state(buf: &mut Vec<u8>, e: &UserState) {
    put_header(buf, &e.header);
    put_enum(buf, e.change);
    put_str(buf, &e.display_name);
    put_str(buf, &e.mail_account);
    put_str(buf, &e.crm_user_name);
    put_enum(buf, e.mail_system);
    put_enum(buf, e.crm_system);
    put_enum(buf, e.sync_setting);
    put_bool(buf, e.crm_token_active);
    put_bool(buf, e.mail_token_authorized);
    put_opt_str(buf, e.last_token_error.as_deref());
    put_array(buf, &e.saved_searches, |buf, s| {
        put_str(buf, &s.name);
        put_enum(buf, s.object_type);
        put_enum(buf, s.conflict_resolution);
    });
}

/// Appends the Avro body of a command (no wire header).
pub(crate) fn put_command(buf: &mut Vec<u8>, c: &AdminCommand) {
    put_str(buf, &c.command_id);
    put_str(buf, &c.request_id);
    put_str(buf, &c.tenant_id);
    put_str(buf, &c.profile_id);
    put_str(buf, &c.user_id);
    put_enum(buf, c.action);
    put_str(buf, &c.issued_by);
    put_long(buf, c.issued_at_ms);
    put_opt_str(buf, c.new_mail_account.as_deref());
    put_opt_str(buf, c.new_crm_user_name.as_deref());
}

/// Reads the body of an event of `kind` written with the current schema, up to its
/// last byte.
pub(crate) fn read_event(kind: EventKind, r: &mut Reader<'_>) -> Result<Event> {
    let event = match kind {
        EventKind::SessionQueued => Event::SessionQueued(SessionQueued {
            header: read_header(r)?,
            session_id: r.string("session_id")?,
        }),
        EventKind::SessionStarted => Event::SessionStarted(SessionStarted {
            header: read_header(r)?,
            session_id: r.string("session_id")?,
            trigger: r.enumeration("trigger")?,
        }),
        EventKind::SessionEnded => Event::SessionEnded(read_session_ended(r)?),
        EventKind::SyncIssue => Event::SyncIssue(read_sync_issue(r)?),
        EventKind::SessionLog => Event::SessionLog(SessionLog {
            header: read_header(r)?,
            session_id: r.string("session_id")?,
            sequence: r.int("sequence")?,
            // at (>= 1 byte) + level (1) + text length (>= 1)
            lines: r.array("lines", 3, |r| {
                Ok(LogLine {
                    at_ms: r.long("lines.at")?,
                    level: r.enumeration("lines.level")?,
                    text: r.string("lines.text")?,
                })
            })?,
        }),
        EventKind::UserState => Event::UserState(read_user_state(r)?),
        EventKind::ProfileState => Event::ProfileState(ProfileState {
            event_id: r.string("event_id")?,
            tenant_id: r.string("tenant_id")?,
            profile_id: r.string("profile_id")?,
            occurred_at_ms: r.long("occurred_at")?,
            engine_id: r.string("engine_id")?,
            engine_version: r.string("engine_version")?,
            change: r.enumeration("change")?,
            name: r.string("name")?,
            sync_enabled: r.bool("sync_enabled")?,
        }),
    };
    r.finish()?;
    Ok(event)
}

fn read_header(r: &mut Reader<'_>) -> Result<Header> {
    Ok(Header {
        event_id: r.string("event_id")?,
        tenant_id: r.string("tenant_id")?,
        profile_id: r.string("profile_id")?,
        user_id: r.string("user_id")?,
        occurred_at_ms: r.long("occurred_at")?,
        engine_id: r.string("engine_id")?,
        engine_version: r.string("engine_version")?,
    })
}

fn read_counts(r: &mut Reader<'_>, field: [&'static str; 3]) -> Result<DirectionCounts> {
    Ok(DirectionCounts {
        created: r.long(field[0])?,
        updated: r.long(field[1])?,
        deleted: r.long(field[2])?,
    })
}

fn read_session_ended(r: &mut Reader<'_>) -> Result<SessionEnded> {
    Ok(SessionEnded {
        header: read_header(r)?,
        session_id: r.string("session_id")?,
        started_at_ms: r.long("started_at")?,
        ended_at_ms: r.long("ended_at")?,
        status: r.enumeration("status")?,
        scope_items: r.long("scope_items")?,
        // object_type + synchronized + 2 x 3 counts, each >= 1 byte
        objects: r.array("objects", 8, |r| {
            Ok(ObjectReport {
                object_type: r.enumeration("objects.object_type")?,
                synchronized: r.long("objects.synchronized")?,
                mail_to_crm: read_counts(
                    r,
                    [
                        "objects.mail_to_crm.created",
                        "objects.mail_to_crm.updated",
                        "objects.mail_to_crm.deleted",
                    ],
                )?,
                crm_to_mail: read_counts(
                    r,
                    [
                        "objects.crm_to_mail.created",
                        "objects.crm_to_mail.updated",
                        "objects.crm_to_mail.deleted",
                    ],
                )?,
            })
        })?,
        changes: r.long("changes")?,
        total_changes: r.long("total_changes")?,
        failures: r.long("failures")?,
        issues: r.long("issues")?,
        conflicts: r.long("conflicts")?,
        error_category: r.optional("error_category", |r| r.enumeration("error_category"))?,
        error_source: r.optional("error_source", |r| r.enumeration("error_source"))?,
        message: r.optional("message", |r| r.string("message"))?,
        exception: r.optional("exception", |r| r.string("exception"))?,
    })
}

fn read_sync_issue(r: &mut Reader<'_>) -> Result<SyncIssue> {
    Ok(SyncIssue {
        header: read_header(r)?,
        issue_id: r.string("issue_id")?,
        session_id: r.string("session_id")?,
        object_type: r.enumeration("object_type")?,
        direction: r.enumeration("direction")?,
        mail_system: r.enumeration("mail_system")?,
        crm_system: r.enumeration("crm_system")?,
        object_name: r.string("object_name")?,
        operation: r.enumeration("operation")?,
        error_code: r.int("error_code")?,
        description: r.string("description")?,
        error_source: r.enumeration("error_source")?,
        target_object_id: r.optional("target_object_id", |r| r.string("target_object_id"))?,
    })
}

fn read_user_state(r: &mut Reader<'_>) -> Result<UserState> {
    Ok(UserState {
        header: read_header(r)?,
        change: r.enumeration("change")?,
        display_name: r.string("display_name")?,
        mail_account: r.string("mail_account")?,
        crm_user_name: r.string("crm_user_name")?,
        mail_system: r.enumeration("mail_system")?,
        crm_system: r.enumeration("crm_system")?,
        sync_setting: r.enumeration("sync_setting")?,
        crm_token_active: r.bool("crm_token_active")?,
        mail_token_authorized: r.bool("mail_token_authorized")?,
        last_token_error: r.optional("last_token_error", |r| r.string("last_token_error"))?,
        // name length (>= 1) + object_type (1) + conflict_resolution (1)
        saved_searches: r.array("saved_searches", 3, |r| {
            Ok(SavedSearch {
                name: r.string("saved_searches.name")?,
                object_type: r.enumeration("saved_searches.object_type")?,
                conflict_resolution: r.enumeration("saved_searches.conflict_resolution")?,
            })
        })?,
    })
}

/// Reads the body of a command written with the current schema, up to its last byte.
pub(crate) fn read_command(r: &mut Reader<'_>) -> Result<AdminCommand> {
    let c = AdminCommand {
        command_id: r.string("command_id")?,
        request_id: r.string("request_id")?,
        tenant_id: r.string("tenant_id")?,
        profile_id: r.string("profile_id")?,
        user_id: r.string("user_id")?,
        action: r.enumeration("action")?,
        issued_by: r.string("issued_by")?,
        issued_at_ms: r.long("issued_at")?,
        new_mail_account: r.optional("new_mail_account", |r| r.string("new_mail_account"))?,
        new_crm_user_name: r.optional("new_crm_user_name", |r| r.string("new_crm_user_name"))?,
    };
    r.finish()?;
    Ok(c)
}
