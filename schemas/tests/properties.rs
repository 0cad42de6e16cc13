//! Property tests: arbitrary and mutated input never panics; encode/decode is the identity
//! on arbitrary events and agrees with apache-avro; old versions resolve for any value.

mod common;

use common::{all_messages, arb_command, arb_event, as_written_by, framed, project};
use proptest::prelude::*;
use schemas::registry::{self, MessageKind, SCHEMAS};
use schemas::wire::{decode, decode_command, encode, encode_command, HEADER_LEN};
use schemas::{decode_valid, reference};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
        let _ = decode_command(&bytes);
        let _ = decode_valid(&bytes);
    }

    #[test]
    fn arbitrary_bodies_under_every_id_never_panic(
        i in 0..SCHEMAS.len(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let b = framed(SCHEMAS[i].id, &body);
        let _ = decode(&b);
        let _ = decode_command(&b);
    }

    #[test]
    fn mutated_messages_never_panic(
        i in 0..11usize,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let messages = all_messages();
        let (_, mut b, _) = messages[i % messages.len()].clone();
        for (at, v) in edits {
            let at = at.index(b.len());
            if at >= HEADER_LEN {
                b[at] = v;
            }
        }
        let _ = decode(&b);
        let _ = decode_command(&b);
        let _ = decode(&b[..cut.index(b.len() + 1)]);
    }

    #[test]
    fn encode_decode_roundtrip(event in arb_event()) {
        let bytes = encode(&event);
        prop_assert_eq!(decode(&bytes), Ok(event.clone()));
        // And the hand-written encoder agrees with apache-avro for any value.
        let entry = registry::current(MessageKind::Event(event.kind()));
        prop_assert_eq!(bytes, framed(entry.id, &reference::encode_body(&event).unwrap()));
    }

    #[test]
    fn command_roundtrip(command in arb_command()) {
        let bytes = encode_command(&command);
        prop_assert_eq!(decode_command(&bytes), Ok(command.clone()));
        prop_assert_eq!(
            bytes,
            framed(801, &reference::encode_command_body(&command).unwrap())
        );
    }

    #[test]
    fn old_versions_resolve_for_any_value(event in arb_event()) {
        let kind = MessageKind::Event(event.kind());
        for w in registry::versions(kind).filter(|e| !e.current) {
            let value = project(reference::to_value(&event), w.schema());
            let body = apache_avro::to_avro_datum(w.schema(), value).unwrap();
            prop_assert_eq!(decode(&framed(w.id, &body)), Ok(as_written_by(&event, w.version)));
        }
    }
}
