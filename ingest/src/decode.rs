//! Pure: one Kafka message in, either rows for ClickHouse or a dead letter out.

use schemas::InvalidMessage;
use sha2::{Digest, Sha256};
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

/// Size limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A larger message is dead-lettered as `oversized` without being decoded.
    pub max_message_bytes: usize,
    /// A dead letter keeps at most this many bytes of its payload.
    pub max_dead_letter_payload_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1_000_000,
            max_dead_letter_payload_bytes: 1_000_000,
        }
    }
}

/// The reason label of a message larger than [`Limits::max_message_bytes`].
pub const OVERSIZED: &str = "oversized";

/// The reason label of a valid event whose rows cannot be encoded as RowBinary (a bug in a
/// row type; never seen, since every row type's encoding is tested).
pub const UNENCODABLE: &str = "unencodable";

/// A dead letter keeps at most this many bytes of the message key and of the error text,
/// so that the dead-letter record stays within a broker's message size.
pub const MAX_TEXT_BYTES: usize = 4096;

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
pub fn decode(payload: &[u8], origin: Origin<'_>, now_ms: i64, limits: &Limits) -> Decoded {
    if payload.len() > limits.max_message_bytes {
        let message = format!(
            "message of {} bytes is larger than the limit of {} bytes (kafka.max_message_bytes)",
            payload.len(),
            limits.max_message_bytes
        );
        return Decoded::Dead(dead_letter(
            payload, origin, OVERSIZED, &message, now_ms, limits,
        ));
    }
    match schemas::decode_valid_at(payload, now_ms) {
        Ok(event) => Decoded::Rows(Row::from_owned_event(event)),
        Err(error) => Decoded::Dead(invalid(payload, origin, &error, now_ms, limits)),
    }
}

/// The dead-letter row for a message that failed with `error`.
pub fn invalid(
    payload: &[u8],
    origin: Origin<'_>,
    error: &InvalidMessage,
    now_ms: i64,
    limits: &Limits,
) -> DeadLetterRow {
    dead_letter(
        payload,
        origin,
        error.kind(),
        &error.to_string(),
        now_ms,
        limits,
    )
}

/// The dead-letter row for a message rejected with reason `kind`: the origin, the reason,
/// the original size and digest, and as much of the payload as the limit allows.
pub fn dead_letter(
    payload: &[u8],
    origin: Origin<'_>,
    kind: &str,
    message: &str,
    now_ms: i64,
    limits: &Limits,
) -> DeadLetterRow {
    let kept = payload.len().min(limits.max_dead_letter_payload_bytes);
    DeadLetterRow {
        topic: origin.topic.to_owned(),
        partition: origin.partition,
        offset: origin.offset,
        message_key: truncate_text(&String::from_utf8_lossy(origin.key), MAX_TEXT_BYTES),
        payload: payload[..kept].to_vec(),
        payload_bytes: payload.len() as u64,
        payload_sha256: hex::encode(Sha256::digest(payload)),
        payload_truncated: u8::from(kept < payload.len()),
        message_timestamp_ms: origin.timestamp_ms,
        error_kind: kind.to_owned(),
        error_message: truncate_text(message, MAX_TEXT_BYTES),
        received_at_ms: now_ms,
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
pub fn truncate_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
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
            match decode(&bytes, origin(), NOW, &Limits::default()) {
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
            let Decoded::Dead(d) = decode(payload, origin(), NOW, &Limits::default()) else {
                panic!("{kind} accepted");
            };
            assert_eq!(d.error_kind, kind, "{}", d.error_message);
            assert_eq!((d.topic.as_str(), d.partition, d.offset), ("t", 2, 41));
            assert_eq!(d.message_key, "tenant/user");
            assert_eq!(d.payload, payload);
            assert_eq!(d.payload_bytes, payload.len() as u64);
            assert_eq!(d.payload_truncated, 0);
            assert_eq!(d.payload_sha256, hex::encode(Sha256::digest(payload)));
            assert_eq!(d.received_at_ms, NOW);
            assert!(!d.error_message.is_empty());
        }
    }

    #[test]
    fn an_oversized_message_keeps_its_size_digest_and_first_bytes() {
        let limits = Limits {
            max_message_bytes: 100,
            max_dead_letter_payload_bytes: 10,
        };
        // A valid event, too large: oversized wins before decoding.
        let mut bytes = schemas::wire::encode(&schemas::examples::all()[0]);
        bytes.resize(101, 0);
        let Decoded::Dead(d) = decode(&bytes, origin(), NOW, &limits) else {
            panic!("an oversized message was accepted");
        };
        assert_eq!(d.error_kind, OVERSIZED);
        assert!(d.error_message.contains("101 bytes"), "{}", d.error_message);
        assert_eq!(d.payload, &bytes[..10]);
        assert_eq!(d.payload_bytes, 101);
        assert_eq!(d.payload_truncated, 1);
        assert_eq!(d.payload_sha256, hex::encode(Sha256::digest(&bytes)));
        // At the limit it is decoded as usual.
        let Decoded::Dead(d) = decode(&bytes[..100], origin(), NOW, &limits) else {
            panic!("a cut event was accepted");
        };
        assert_ne!(d.error_kind, OVERSIZED);
        assert_eq!(d.payload_truncated, 1, "kept 10 of 100 bytes");
    }

    #[test]
    fn long_keys_and_texts_are_cut_at_a_character_boundary() {
        let key = "é".repeat(MAX_TEXT_BYTES);
        let o = Origin {
            key: key.as_bytes(),
            ..origin()
        };
        let d = dead_letter(b"x", o, "k", &"m".repeat(10_000), NOW, &Limits::default());
        assert!(d.message_key.len() <= MAX_TEXT_BYTES && d.message_key.len() > MAX_TEXT_BYTES - 2);
        assert!(d.message_key.chars().all(|c| c == 'é'));
        assert_eq!(d.error_message.len(), MAX_TEXT_BYTES);
    }
}
