//! The Confluent wire format: magic byte `0`, the schema id as 4 bytes big-endian, then
//! the Avro binary body.
//!
//! Writers always use the current schema version of a kind (see [`crate::registry`]).
//! Readers accept every shipped version: the current one is read by a hand-written,
//! schema-specific decoder; older ones are resolved to the current schema through
//! apache-avro first (defaults filled in).
//!
//! The decoders never panic and bound what they allocate by the size of the input: each
//! length prefix is checked against the bytes left before allocating, and arrays are
//! capped at [`MAX_ARRAY_ITEMS`] items.

use crate::binary::Reader;
use crate::codec;
use crate::error::DecodeError;
use crate::event::{AdminCommand, Event};
use crate::registry::{self, MessageKind, SchemaEntry};
use crate::resolve;

pub use crate::binary::MAX_ARRAY_ITEMS;

/// The first byte of every message.
pub const MAGIC_BYTE: u8 = 0;

/// Bytes before the Avro body: the magic byte and the 4-byte schema id.
pub const HEADER_LEN: usize = 5;

/// Encodes an event with the current schema of its kind.
pub fn encode(event: &Event) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    encode_into(event, &mut buf);
    buf
}

/// Appends the encoded event to `buf` (which is not cleared first), so a caller can
/// reuse one buffer for many messages.
pub fn encode_into(event: &Event, buf: &mut Vec<u8>) {
    put_header(buf, registry::current_id(MessageKind::Event(event.kind())));
    codec::put_event(buf, event);
}

/// Encodes an admin command with the current command schema.
pub fn encode_command(command: &AdminCommand) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    put_header(&mut buf, registry::current_id(MessageKind::AdminCommand));
    codec::put_command(&mut buf, command);
    buf
}

fn put_header(buf: &mut Vec<u8>, id: u32) {
    buf.push(MAGIC_BYTE);
    buf.extend_from_slice(&id.to_be_bytes());
}

/// Reads the schema id of a message without decoding its body.
pub fn schema_id(bytes: &[u8]) -> Result<u32, DecodeError> {
    let (&magic, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if magic != MAGIC_BYTE {
        return Err(DecodeError::BadMagicByte(magic));
    }
    match rest.first_chunk::<4>() {
        Some(id) => Ok(u32::from_be_bytes(*id)),
        None => Err(DecodeError::Truncated {
            field: "schema_id",
            offset: bytes.len(),
        }),
    }
}

/// The shipped schema a message was written with, and its body.
fn split(bytes: &[u8]) -> Result<(&'static SchemaEntry, &[u8]), DecodeError> {
    let id = schema_id(bytes)?;
    let entry = registry::lookup(id).ok_or(DecodeError::UnknownSchemaId(id))?;
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    Ok((entry, body))
}

/// Decodes an event written with any shipped version of its kind's schema.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let (entry, body) = split(bytes)?;
    let MessageKind::Event(kind) = entry.kind else {
        return Err(DecodeError::WrongMessageType {
            id: entry.id,
            expected: "an event",
        });
    };
    if entry.current {
        return codec::read_event(kind, &mut Reader::new(body, HEADER_LEN));
    }
    let current = registry::current(entry.kind);
    let body = resolve::to_current(entry, current, body)?;
    codec::read_event(kind, &mut Reader::new(&body, HEADER_LEN)).map_err(|e| {
        DecodeError::Resolution {
            id: entry.id,
            reason: e.to_string(),
        }
    })
}

/// Decodes an admin command written with any shipped version of the command schema.
pub fn decode_command(bytes: &[u8]) -> Result<AdminCommand, DecodeError> {
    let (entry, body) = split(bytes)?;
    if entry.kind != MessageKind::AdminCommand {
        return Err(DecodeError::WrongMessageType {
            id: entry.id,
            expected: "an admin command",
        });
    }
    if entry.current {
        return codec::read_command(&mut Reader::new(body, HEADER_LEN));
    }
    let current = registry::current(entry.kind);
    let body = resolve::to_current(entry, current, body)?;
    codec::read_command(&mut Reader::new(&body, HEADER_LEN)).map_err(|e| DecodeError::Resolution {
        id: entry.id,
        reason: e.to_string(),
    })
}
