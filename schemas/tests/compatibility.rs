//! Schema evolution: every (writer version, reader version) pair of every kind is
//! compatible, and data written with any version reads correctly through `wire::decode`.

mod common;

use apache_avro::schema_compatibility::SchemaCompatibility;
use common::{as_written_by, framed, project};
use schemas::registry::{self, MessageKind, SCHEMAS};
use schemas::{examples, reference, wire, EventKind};

fn kinds() -> impl Iterator<Item = MessageKind> {
    EventKind::ALL
        .into_iter()
        .map(MessageKind::Event)
        .chain([MessageKind::AdminCommand])
}

#[test]
fn every_version_pair_is_compatible() {
    let mut pairs = 0;
    for kind in kinds() {
        for w in registry::versions(kind) {
            for r in registry::versions(kind) {
                SchemaCompatibility::can_read(w.schema(), r.schema()).unwrap_or_else(|e| {
                    panic!("{} cannot read {}: {e}", r.file, w.file);
                });
                pairs += 1;
            }
        }
    }
    // 6 kinds with one version, 2 kinds with two.
    assert_eq!(pairs, 6 + 2 * 4);
}

#[test]
fn data_of_every_version_resolves_to_every_other() {
    for (name, event) in examples::named() {
        let kind = MessageKind::Event(event.kind());
        for w in registry::versions(kind) {
            let value = project(reference::to_value(&event), w.schema());
            let body = apache_avro::to_avro_datum(w.schema(), value).unwrap();
            for r in registry::versions(kind) {
                let read =
                    apache_avro::from_avro_datum(w.schema(), &mut &body[..], Some(r.schema()));
                assert!(
                    read.is_ok(),
                    "{name}: v{} -> v{}: {read:?}",
                    w.version,
                    r.version
                );
            }
            // Through the wire decoder: resolved to the current version, defaults filled.
            assert_eq!(
                wire::decode(&framed(w.id, &body)),
                Ok(as_written_by(&event, w.version)),
                "{name} written as v{}",
                w.version
            );
        }
    }
}

#[test]
fn newer_writer_read_by_older_reader_drops_new_fields() {
    // What an old consumer (reader v1) sees of a current (v2) message.
    let event = examples::session_ended_error();
    let v1 = registry::lookup(301).unwrap();
    let v2 = registry::lookup(302).unwrap();
    let body = reference::encode_body(&event).unwrap();
    let value =
        apache_avro::from_avro_datum(v2.schema(), &mut &body[..], Some(v1.schema())).unwrap();
    let apache_avro::types::Value::Record(fields) = value else {
        panic!("record expected")
    };
    assert!(fields
        .iter()
        .all(|(k, _)| k != "scope_items" && k != "conflicts"));
    assert_eq!(fields.len(), 20);
}

#[test]
fn unknown_enum_symbol_of_a_newer_writer_falls_back_to_the_default() {
    // A future writer adding an ObjectType symbol: the current reader maps it to Other.
    let current = registry::lookup(401).unwrap();
    let future = current
        .source
        .replacen("\"Opportunity\",", "\"Opportunity\", \"Quote\",", 1);
    assert_ne!(future, current.source);
    let future = apache_avro::Schema::parse_str(&future).unwrap();
    let mut value = reference::to_value(&examples::sync_issue());
    if let apache_avro::types::Value::Record(fields) = &mut value {
        for (k, v) in fields.iter_mut() {
            if k == "object_type" {
                *v = apache_avro::types::Value::Enum(7, "Quote".into());
            }
        }
    }
    let body = apache_avro::to_avro_datum(&future, value).unwrap();
    let read =
        apache_avro::from_avro_datum(&future, &mut &body[..], Some(current.schema())).unwrap();
    let apache_avro::types::Value::Record(fields) = read else {
        panic!("record expected")
    };
    let object_type = &fields.iter().find(|(k, _)| k == "object_type").unwrap().1;
    assert_eq!(
        object_type,
        &apache_avro::types::Value::Enum(7, "Other".into())
    );
}

#[test]
fn schema_ids_never_change() {
    // The table is part of the contract; this list may only grow.
    let ids: Vec<(u32, &str)> = SCHEMAS.iter().map(|e| (e.id, e.file)).collect();
    assert_eq!(
        ids,
        vec![
            (101, "session_queued.v1.avsc"),
            (201, "session_started.v1.avsc"),
            (301, "session_ended.v1.avsc"),
            (302, "session_ended.v2.avsc"),
            (401, "sync_issue.v1.avsc"),
            (501, "session_log.v1.avsc"),
            (601, "user_state.v1.avsc"),
            (602, "user_state.v2.avsc"),
            (701, "profile_state.v1.avsc"),
            (801, "admin_command.v1.avsc"),
        ]
    );
}
