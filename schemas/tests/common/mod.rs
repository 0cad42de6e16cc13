//! Helpers shared by the integration tests: framing, golden files, proptest strategies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use apache_avro::types::Value;
use apache_avro::Schema;
use proptest::prelude::*;
use schemas::*;

/// A wire message: magic byte, schema id, body.
pub fn framed(id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Path of a golden file.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.chunks(32) {
        for b in line {
            out.push_str(&format!("{b:02x}"));
        }
        out.push('\n');
    }
    out
}

pub fn from_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The bytes of a golden file.
pub fn read_golden(name: &str) -> Vec<u8> {
    from_hex(&std::fs::read_to_string(golden_path(name)).unwrap())
}

/// Compares `bytes` with the golden file `name` (hex, 32 bytes a line); with
/// `UPDATE_GOLDEN=1` in the environment, (re)writes the file instead. Returns the golden
/// bytes.
pub fn golden(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, to_hex(bytes)).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    let expected = from_hex(&text);
    assert_eq!(
        to_hex(bytes),
        to_hex(&expected),
        "{name} differs from the golden file; if the change is intended, run with UPDATE_GOLDEN=1"
    );
    expected
}

/// The current value of an event projected on an older writer schema: top-level fields
/// the writer does not have are dropped.
pub fn project(value: Value, writer: &Schema) -> Value {
    let Schema::Record(rec) = writer else {
        panic!("not a record schema")
    };
    let Value::Record(fields) = value else {
        panic!("not a record value")
    };
    Value::Record(
        fields
            .into_iter()
            .filter(|(k, _)| rec.fields.iter().any(|f| &f.name == k))
            .collect(),
    )
}

/// What a current reader sees for `event` written by a writer of `version`: the fields
/// added after that version hold their defaults.
pub fn as_written_by(event: &Event, version: u32) -> Event {
    let mut e = event.clone();
    match &mut e {
        Event::SessionEnded(s) if version < 2 => {
            s.scope_items = 0;
            s.conflicts = 0;
        }
        Event::UserState(u) if version < 2 => u.saved_searches = Vec::new(),
        _ => {}
    }
    e
}

/// Every valid message we have: the examples, the command, the old-version goldens.
pub fn all_messages() -> Vec<(String, Vec<u8>, bool)> {
    let mut out: Vec<(String, Vec<u8>, bool)> = examples::named()
        .into_iter()
        .map(|(n, e)| (n.to_owned(), schemas::wire::encode(&e), false))
        .collect();
    out.push((
        "admin_command".into(),
        schemas::wire::encode_command(&examples::command()),
        true,
    ));
    for name in [
        "session_ended.v1",
        "session_ended_skipped.v1",
        "user_state.v1",
    ] {
        out.push((name.into(), read_golden(&format!("{name}.hex")), false));
    }
    out
}

pub fn decode_any(bytes: &[u8], is_command: bool) -> Result<(), DecodeError> {
    if is_command {
        schemas::wire::decode_command(bytes).map(drop)
    } else {
        schemas::wire::decode(bytes).map(drop)
    }
}

// ---- proptest strategies -------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,24}"
}

fn enumeration<E: AvroEnum + std::fmt::Debug>() -> impl Strategy<Value = E> {
    proptest::sample::select(E::ALL)
}

fn header() -> impl Strategy<Value = Header> {
    (text(), text(), text(), text(), any::<i64>(), text(), text()).prop_map(
        |(event_id, tenant_id, profile_id, user_id, occurred_at_ms, engine_id, engine_version)| {
            Header {
                event_id,
                tenant_id,
                profile_id,
                user_id,
                occurred_at_ms,
                engine_id,
                engine_version,
            }
        },
    )
}

fn counts() -> impl Strategy<Value = DirectionCounts> {
    (any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(created, updated, deleted)| {
        DirectionCounts {
            created,
            updated,
            deleted,
        }
    })
}

fn session_ended() -> impl Strategy<Value = SessionEnded> {
    let object = (enumeration(), any::<i64>(), counts(), counts()).prop_map(
        |(object_type, synchronized, mail_to_crm, crm_to_mail)| ObjectReport {
            object_type,
            synchronized,
            mail_to_crm,
            crm_to_mail,
        },
    );
    (
        (
            header(),
            text(),
            any::<i64>(),
            any::<i64>(),
            enumeration(),
            any::<i64>(),
        ),
        prop::collection::vec(object, 0..4),
        prop::array::uniform5(any::<i64>()),
        (
            proptest::option::of(enumeration()),
            proptest::option::of(enumeration()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (header, session_id, started_at_ms, ended_at_ms, status, scope_items),
                objects,
                [changes, total_changes, failures, issues, conflicts],
                (error_category, error_source, message, exception),
            )| SessionEnded {
                header,
                session_id,
                started_at_ms,
                ended_at_ms,
                status,
                scope_items,
                objects,
                changes,
                total_changes,
                failures,
                issues,
                conflicts,
                error_category,
                error_source,
                message,
                exception,
            },
        )
}

fn sync_issue() -> impl Strategy<Value = SyncIssue> {
    (
        (
            header(),
            text(),
            text(),
            enumeration(),
            enumeration(),
            enumeration(),
        ),
        (
            enumeration(),
            text(),
            enumeration(),
            any::<i32>(),
            text(),
            enumeration(),
        ),
        proptest::option::of(text()),
    )
        .prop_map(
            |(
                (header, issue_id, session_id, object_type, direction, mail_system),
                (crm_system, object_name, operation, error_code, description, error_source),
                target_object_id,
            )| SyncIssue {
                header,
                issue_id,
                session_id,
                object_type,
                direction,
                mail_system,
                crm_system,
                object_name,
                operation,
                error_code,
                description,
                error_source,
                target_object_id,
            },
        )
}

fn session_log() -> impl Strategy<Value = SessionLog> {
    let line = (any::<i64>(), enumeration(), text()).prop_map(|(at_ms, level, text)| LogLine {
        at_ms,
        level,
        text,
    });
    (
        header(),
        text(),
        any::<i32>(),
        prop::collection::vec(line, 0..5),
    )
        .prop_map(|(header, session_id, sequence, lines)| SessionLog {
            header,
            session_id,
            sequence,
            lines,
        })
}

fn user_state() -> impl Strategy<Value = UserState> {
    let search = (text(), enumeration(), enumeration()).prop_map(
        |(name, object_type, conflict_resolution)| SavedSearch {
            name,
            object_type,
            conflict_resolution,
        },
    );
    (
        (header(), enumeration(), text(), text(), text()),
        (
            enumeration(),
            enumeration(),
            enumeration(),
            any::<bool>(),
            any::<bool>(),
        ),
        proptest::option::of(text()),
        prop::collection::vec(search, 0..4),
    )
        .prop_map(
            |(
                (header, change, display_name, mail_account, crm_user_name),
                (mail_system, crm_system, sync_setting, crm_token_active, mail_token_authorized),
                last_token_error,
                saved_searches,
            )| UserState {
                header,
                change,
                display_name,
                mail_account,
                crm_user_name,
                mail_system,
                crm_system,
                sync_setting,
                crm_token_active,
                mail_token_authorized,
                last_token_error,
                saved_searches,
            },
        )
}

fn profile_state() -> impl Strategy<Value = ProfileState> {
    (
        (text(), text(), text(), any::<i64>(), text(), text()),
        (enumeration(), text(), any::<bool>()),
    )
        .prop_map(
            |(
                (event_id, tenant_id, profile_id, occurred_at_ms, engine_id, engine_version),
                (change, name, sync_enabled),
            )| ProfileState {
                event_id,
                tenant_id,
                profile_id,
                occurred_at_ms,
                engine_id,
                engine_version,
                change,
                name,
                sync_enabled,
            },
        )
}

/// Any event, contract-valid or not (every Avro-representable value).
pub fn arb_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (header(), text()).prop_map(|(header, session_id)| Event::SessionQueued(SessionQueued {
            header,
            session_id
        })),
        (header(), text(), enumeration()).prop_map(|(header, session_id, trigger)| {
            Event::SessionStarted(SessionStarted {
                header,
                session_id,
                trigger,
            })
        }),
        session_ended().prop_map(Event::SessionEnded),
        sync_issue().prop_map(Event::SyncIssue),
        session_log().prop_map(Event::SessionLog),
        user_state().prop_map(Event::UserState),
        profile_state().prop_map(Event::ProfileState),
    ]
}

/// Any admin command.
pub fn arb_command() -> impl Strategy<Value = AdminCommand> {
    (
        (text(), text(), text(), text(), text()),
        (enumeration(), text(), any::<i64>()),
        (proptest::option::of(text()), proptest::option::of(text())),
    )
        .prop_map(
            |(
                (command_id, request_id, tenant_id, profile_id, user_id),
                (action, issued_by, issued_at_ms),
                (new_mail_account, new_crm_user_name),
            )| AdminCommand {
                command_id,
                request_id,
                tenant_id,
                profile_id,
                user_id,
                action,
                issued_by,
                issued_at_ms,
                new_mail_account,
                new_crm_user_name,
            },
        )
}
