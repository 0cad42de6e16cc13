//! Pure: one Kafka message in, either rows for ClickHouse or a dead letter out.

use schemas::InvalidMessage;
use store::rows::{DeadLetterRow, Row};

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key (empty when none).
    pub key: &'a [u8],
    /// Message timestamp, ms since the Unix epoch (0 when none).
    pub timestamp_ms: i64,
}

/// What a message becomes. Short-lived (moved straight into the batch), so the size
/// difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A valid event, as rows.
    Rows(Row),
    /// A message that cannot be stored: dead-letter it.
    Dead(DeadLetterRow),
}

/// Decodes and validates `payload` (at time `now_ms`).
pub fn decode(payload: &[u8], origin: Origin<'_>, now_ms: i64) -> Decoded {
    match schemas::decode_valid_at(payload, now_ms) {
        Ok(event) => Decoded::Rows(Row::from_event(&event)),
        Err(error) => Decoded::Dead(dead_letter(payload, origin, &error, now_ms)),
    }
}

/// The dead-letter row for a message that failed with `error`.
pub fn dead_letter(
    payload: &[u8],
    origin: Origin<'_>,
    error: &InvalidMessage,
    now_ms: i64,
) -> DeadLetterRow {
    DeadLetterRow {
        topic: origin.topic.to_owned(),
        partition: origin.partition,
        offset: origin.offset,
        message_key: String::from_utf8_lossy(origin.key).into_owned(),
        payload: payload.to_vec(),
        message_timestamp_ms: origin.timestamp_ms,
        error_kind: error.kind().to_owned(),
        error_message: error.to_string(),
        received_at_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000 + 86_400_000;

    fn origin() -> Origin<'static> {
        Origin {
            topic: "t",
            partition: 2,
            offset: 41,
            key: b"tenant/user",
            timestamp_ms: 5,
        }
    }

    #[test]
    fn every_example_becomes_rows() {
        for event in schemas::examples::all() {
            let bytes = schemas::wire::encode(&event);
            match decode(&bytes, origin(), NOW) {
                Decoded::Rows(row) => assert_eq!(row, Row::from_event(&event)),
                Decoded::Dead(d) => panic!("{:?} dead-lettered: {}", event.kind(), d.error_message),
            }
        }
    }

    #[test]
    fn bad_input_becomes_a_dead_letter_with_its_origin() {
        for (payload, kind) in [
            (&b""[..], "empty"),
            (&[1u8, 0, 0, 0, 1][..], "bad_magic_byte"),
            (&[0u8, 0, 0x0f, 0x42, 0x3f, 2][..], "unknown_schema_id"),
        ] {
            let Decoded::Dead(d) = decode(payload, origin(), NOW) else {
                panic!("{kind} accepted");
            };
            assert_eq!(d.error_kind, kind, "{}", d.error_message);
            assert_eq!((d.topic.as_str(), d.partition, d.offset), ("t", 2, 41));
            assert_eq!(d.message_key, "tenant/user");
            assert_eq!(d.payload, payload);
            assert_eq!(d.received_at_ms, NOW);
            assert!(!d.error_message.is_empty());
        }
    }
}
