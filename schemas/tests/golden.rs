//! Golden tests: every example encodes to its checked-in bytes, the hand-written encoder
//! and decoder agree with apache-avro reading the `.avsc` files, and the golden bytes
//! decode back to the example. `UPDATE_GOLDEN=1 cargo test -p schemas --test golden`
//! rewrites the files.

mod common;

use common::{as_written_by, framed, golden, project};
use schemas::registry::{self, MessageKind};
use schemas::{examples, reference, wire};

#[test]
fn examples_cover_every_kind() {
    let kinds: std::collections::BTreeSet<_> = examples::all().iter().map(|e| e.kind()).collect();
    assert_eq!(kinds.len(), schemas::EventKind::ALL.len());
}

#[test]
fn current_version_goldens() {
    for (name, event) in examples::named() {
        let entry = registry::current(MessageKind::Event(event.kind()));
        let bytes = wire::encode(&event);

        // The hand-written encoder writes what apache-avro writes from the .avsc.
        let reference = framed(entry.id, &reference::encode_body(&event).unwrap());
        assert_eq!(bytes, reference, "{name}: hand-written vs apache-avro");

        // encode_into appends.
        let mut buf = b"prefix".to_vec();
        wire::encode_into(&event, &mut buf);
        assert_eq!(&buf[6..], &bytes[..], "{name}: encode_into");

        let golden = golden(&format!("{name}.v{}.hex", entry.version), &bytes);
        assert_eq!(wire::decode(&golden), Ok(event.clone()), "{name}: decode");

        // apache-avro reads the hand-written bytes as the same value.
        let body = &golden[wire::HEADER_LEN..];
        let value = reference::decode_body(MessageKind::Event(event.kind()), body).unwrap();
        assert_eq!(
            value,
            reference::to_value(&event),
            "{name}: apache-avro decode"
        );
    }
}

#[test]
fn older_version_goldens() {
    // Bytes as a v1 engine wrote them (apache-avro with the v1 .avsc): frozen, so that a
    // change of the reader can never silently stop reading what old engines send.
    for (name, event) in examples::named() {
        for entry in registry::versions(MessageKind::Event(event.kind())).filter(|e| !e.current) {
            let value = project(reference::to_value(&event), entry.schema());
            let body = apache_avro::to_avro_datum(entry.schema(), value).unwrap();
            let bytes = framed(entry.id, &body);
            let golden = golden(&format!("{name}.v{}.hex", entry.version), &bytes);
            assert_eq!(
                wire::decode(&golden),
                Ok(as_written_by(&event, entry.version)),
                "{name} v{}",
                entry.version
            );
        }
    }
}

#[test]
fn command_golden() {
    let command = examples::command();
    let entry = registry::current(MessageKind::AdminCommand);
    let bytes = wire::encode_command(&command);
    let reference = framed(entry.id, &reference::encode_command_body(&command).unwrap());
    assert_eq!(bytes, reference);
    let golden = golden(&format!("admin_command.v{}.hex", entry.version), &bytes);
    assert_eq!(wire::decode_command(&golden), Ok(command.clone()));
    let value =
        reference::decode_body(MessageKind::AdminCommand, &golden[wire::HEADER_LEN..]).unwrap();
    assert_eq!(value, reference::command_to_value(&command));
}

#[test]
fn examples_are_valid() {
    for e in examples::all() {
        schemas::validate::validate(&e).unwrap();
        schemas::decode_valid(&wire::encode(&e)).unwrap();
    }
    schemas::validate::validate_command(&examples::command()).unwrap();
    schemas::decode_valid_command(&wire::encode_command(&examples::command())).unwrap();
}
