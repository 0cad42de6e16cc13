//! The reference path through apache-avro's generic `Value`: slower than [`crate::wire`],
//! kept so tests can cross-check the hand-written codec against the `.avsc` files and
//! benchmarks can show the difference. Not for production use.

use apache_avro::types::Value;

use crate::avro_enum::AvroEnum;
use crate::event::{AdminCommand, DirectionCounts, Event, Header};
use crate::registry::{self, MessageKind};

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn ts(ms: i64) -> Value {
    Value::TimestampMillis(ms)
}

fn en<E: AvroEnum>(e: E) -> Value {
    Value::Enum(e.index() as u32, e.symbol().to_owned())
}

fn opt(v: Option<Value>) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(v)),
    }
}

fn rec(fields: Vec<(&str, Value)>) -> Value {
    Value::Record(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn header(h: &Header) -> Vec<(&'static str, Value)> {
    vec![
        ("event_id", s(&h.event_id)),
        ("tenant_id", s(&h.tenant_id)),
        ("profile_id", s(&h.profile_id)),
        ("user_id", s(&h.user_id)),
        ("occurred_at", ts(h.occurred_at_ms)),
        ("engine_id", s(&h.engine_id)),
        ("engine_version", s(&h.engine_version)),
    ]
}

fn counts(c: &DirectionCounts) -> Value {
    rec(vec![
        ("created", Value::Long(c.created)),
        ("updated", Value::Long(c.updated)),
        ("deleted", Value::Long(c.deleted)),
    ])
}

/// The event as an apache-avro `Value` of the current schema of its kind.
pub fn to_value(event: &Event) -> Value {
    let fields = match event {
        Event::SessionQueued(e) => {
            let mut f = header(&e.header);
            f.push(("session_id", s(&e.session_id)));
            f
        }
        Event::SessionStarted(e) => {
            let mut f = header(&e.header);
            f.push(("session_id", s(&e.session_id)));
            f.push(("trigger", en(e.trigger)));
            f
        }
        Event::SessionEnded(e) => {
            let mut f = header(&e.header);
            let objects = e
                .objects
                .iter()
                .map(|o| {
                    rec(vec![
                        ("object_type", en(o.object_type)),
                        ("synchronized", Value::Long(o.synchronized)),
                        ("mail_to_crm", counts(&o.mail_to_crm)),
                        ("crm_to_mail", counts(&o.crm_to_mail)),
                    ])
                })
                .collect();
            f.extend([
                ("session_id", s(&e.session_id)),
                ("started_at", ts(e.started_at_ms)),
                ("ended_at", ts(e.ended_at_ms)),
                ("status", en(e.status)),
                ("scope_items", Value::Long(e.scope_items)),
                ("objects", Value::Array(objects)),
                ("changes", Value::Long(e.changes)),
                ("total_changes", Value::Long(e.total_changes)),
                ("failures", Value::Long(e.failures)),
                ("issues", Value::Long(e.issues)),
                ("conflicts", Value::Long(e.conflicts)),
                ("error_category", opt(e.error_category.map(en))),
                ("error_source", opt(e.error_source.map(en))),
                ("message", opt(e.message.as_deref().map(s))),
                ("exception", opt(e.exception.as_deref().map(s))),
            ]);
            f
        }
        Event::SyncIssue(e) => {
            let mut f = header(&e.header);
            f.extend([
                ("issue_id", s(&e.issue_id)),
                ("session_id", s(&e.session_id)),
                ("object_type", en(e.object_type)),
                ("direction", en(e.direction)),
                ("mail_system", en(e.mail_system)),
                ("crm_system", en(e.crm_system)),
                ("object_name", s(&e.object_name)),
                ("operation", en(e.operation)),
                ("error_code", Value::Int(e.error_code)),
                ("description", s(&e.description)),
                ("error_source", en(e.error_source)),
                (
                    "target_object_id",
                    opt(e.target_object_id.as_deref().map(s)),
                ),
            ]);
            f
        }
        Event::SessionLog(e) => {
            let mut f = header(&e.header);
            let lines = e
                .lines
                .iter()
                .map(|l| {
                    rec(vec![
                        ("at", ts(l.at_ms)),
                        ("level", en(l.level)),
                        ("text", s(&l.text)),
                    ])
                })
                .collect();
            f.extend([
                ("session_id", s(&e.session_id)),
                ("sequence", Value::Int(e.sequence)),
                ("lines", Value::Array(lines)),
            ]);
            f
        }
        Event::UserState(e) => {
            let mut f = header(&e.header);
            let searches = e
                .saved_searches
                .iter()
                .map(|x| {
                    rec(vec![
                        ("name", s(&x.name)),
                        ("object_type", en(x.object_type)),
                        ("conflict_resolution", en(x.conflict_resolution)),
                    ])
                })
                .collect();
            f.extend([
                ("change", en(e.change)),
                ("display_name", s(&e.display_name)),
                ("mail_account", s(&e.mail_account)),
                ("crm_user_name", s(&e.crm_user_name)),
                ("mail_system", en(e.mail_system)),
                ("crm_system", en(e.crm_system)),
                ("sync_setting", en(e.sync_setting)),
                ("crm_token_active", Value::Boolean(e.crm_token_active)),
                (
                    "mail_token_authorized",
                    Value::Boolean(e.mail_token_authorized),
                ),
                (
                    "last_token_error",
                    opt(e.last_token_error.as_deref().map(s)),
                ),
                ("saved_searches", Value::Array(searches)),
            ]);
            f
        }
        Event::ProfileState(e) => vec![
            ("event_id", s(&e.event_id)),
            ("tenant_id", s(&e.tenant_id)),
            ("profile_id", s(&e.profile_id)),
            ("occurred_at", ts(e.occurred_at_ms)),
            ("engine_id", s(&e.engine_id)),
            ("engine_version", s(&e.engine_version)),
            ("change", en(e.change)),
            ("name", s(&e.name)),
            ("sync_enabled", Value::Boolean(e.sync_enabled)),
        ],
    };
    rec(fields)
}

/// The command as an apache-avro `Value` of the current command schema.
pub fn command_to_value(c: &AdminCommand) -> Value {
    rec(vec![
        ("command_id", s(&c.command_id)),
        ("request_id", s(&c.request_id)),
        ("tenant_id", s(&c.tenant_id)),
        ("profile_id", s(&c.profile_id)),
        ("user_id", s(&c.user_id)),
        ("action", en(c.action)),
        ("issued_by", s(&c.issued_by)),
        ("issued_at", ts(c.issued_at_ms)),
        (
            "new_mail_account",
            opt(c.new_mail_account.as_deref().map(s)),
        ),
        (
            "new_crm_user_name",
            opt(c.new_crm_user_name.as_deref().map(s)),
        ),
    ])
}

/// The Avro body of `event` as apache-avro writes it from the current `.avsc`.
pub fn encode_body(event: &Event) -> Result<Vec<u8>, apache_avro::Error> {
    let entry = registry::current(MessageKind::Event(event.kind()));
    apache_avro::to_avro_datum(entry.schema(), to_value(event))
}

/// The Avro body of `command` as apache-avro writes it from the current `.avsc`.
pub fn encode_command_body(command: &AdminCommand) -> Result<Vec<u8>, apache_avro::Error> {
    let entry = registry::current(MessageKind::AdminCommand);
    apache_avro::to_avro_datum(entry.schema(), command_to_value(command))
}

/// Decodes a body of the current schema of `kind` into a generic `Value` (the slow path a
/// generic consumer would take; for benchmarks).
pub fn decode_body(kind: MessageKind, mut body: &[u8]) -> Result<Value, apache_avro::Error> {
    let entry = registry::current(kind);
    apache_avro::from_avro_datum(entry.schema(), &mut body, None)
}
