//! The typed errors of the contract: [`DecodeError`] (the bytes are not a message of a
//! shipped schema), [`ContractError`] (the message decodes but breaks a rule Avro cannot
//! express) and [`InvalidMessage`], either of the two, as handed to a dead-letter queue.
//!
//! Field names in errors are the Avro field names of `schemas/avro/*.avsc` (e.g.
//! `occurred_at`, not `occurred_at_ms`); nested fields are dotted (`objects.synchronized`).

/// Why bytes could not be decoded into an event or a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message has no bytes at all.
    #[error("empty message")]
    Empty,
    /// The input ended while reading `field`.
    #[error("message truncated while reading `{field}` at byte {offset}")]
    Truncated {
        /// The field (or `magic_byte` / `schema_id` for the header) being read.
        field: &'static str,
        /// Offset from the start of the message where more bytes were needed.
        offset: usize,
    },
    /// The first byte is not the Confluent magic byte 0.
    #[error("bad magic byte {0:#04x}, expected 0x00")]
    BadMagicByte(u8),
    /// The schema id is not in the table of shipped schemas.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The schema id is a shipped one, but of the other message type (a command where an
    /// event was expected, or the reverse).
    #[error("schema id {id} is not {expected}")]
    WrongMessageType {
        /// The schema id found.
        id: u32,
        /// What the caller expected: `"an event"` or `"an admin command"`.
        expected: &'static str,
    },
    /// A length prefix (string, bytes, array block) needs more than the bytes that are
    /// left in the message; nothing was allocated for it. A message cut inside a string or
    /// an array also ends up here (its prefix promises more than is left).
    #[error(
        "length prefix {declared} of `{field}` at byte {offset} needs more than the {remaining} bytes left"
    )]
    LengthTooLarge {
        /// The field whose length prefix is bad.
        field: &'static str,
        /// Offset of the length prefix.
        offset: usize,
        /// The declared length in bytes (strings, bytes, block sizes) or item count (arrays,
        /// whose items take at least one byte each).
        declared: u64,
        /// Bytes left in the message after the prefix.
        remaining: usize,
    },
    /// An array declares more items than the decoder accepts (see
    /// [`crate::wire::MAX_ARRAY_ITEMS`]).
    #[error("`{field}` declares {declared} items, more than the cap of {cap}")]
    TooManyItems {
        /// The array field.
        field: &'static str,
        /// Items declared so far.
        declared: u64,
        /// The cap.
        cap: usize,
    },
    /// The body is not valid Avro for the schema: wrong types, bad enum or union index,
    /// invalid UTF-8, trailing bytes, ...
    #[error("invalid avro{} at byte {offset}: {problem}", in_field(field))]
    InvalidAvro {
        /// The field being read (`""` for the record as a whole, e.g. trailing bytes).
        field: &'static str,
        /// Offset from the start of the message.
        offset: usize,
        /// What is wrong.
        problem: AvroProblem,
    },
    /// An older (or newer) writer version could not be resolved to the current reader
    /// schema. Should not happen for shipped versions; kept for registry-backed schemas.
    #[error("schema resolution from schema id {id} failed: {reason}")]
    Resolution {
        /// The writer schema id.
        id: u32,
        /// apache-avro's explanation.
        reason: String,
    },
}

fn in_field(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(" in `{field}`")
    }
}

/// What exactly is wrong in an [`DecodeError::InvalidAvro`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvroProblem {
    /// A varint runs over 10 bytes or overflows 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// An `int` field holds a value outside `i32`.
    #[error("int value {0} out of range")]
    IntOutOfRange(i64),
    /// A length prefix is negative.
    #[error("negative length {0}")]
    NegativeLength(i64),
    /// A boolean byte other than 0 or 1.
    #[error("boolean byte {0:#04x} is neither 0 nor 1")]
    InvalidBool(u8),
    /// An enum index outside the symbols.
    #[error("enum index {index} out of range for {symbols} symbols")]
    BadEnumIndex {
        /// The index read.
        index: i64,
        /// How many symbols the enum has.
        symbols: usize,
    },
    /// A union branch index outside the branches.
    #[error("union index {index} out of range for {branches} branches")]
    BadUnionIndex {
        /// The index read.
        index: i64,
        /// How many branches the union has.
        branches: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string is not valid utf-8")]
    InvalidUtf8,
    /// The byte size announced by a negative-count array block does not match its items.
    #[error("array block declared {declared} bytes but its items took {actual}")]
    BlockSizeMismatch {
        /// Declared byte size.
        declared: u64,
        /// Bytes the items actually took.
        actual: usize,
    },
    /// Bytes left over after the record ended.
    #[error("{0} trailing bytes after the record")]
    TrailingBytes(usize),
    /// The schema uses a construct the checker does not support (only for
    /// registry-backed schemas; never for shipped ones).
    #[error("unsupported schema construct: {0}")]
    Unsupported(&'static str),
}

/// A decoded message that breaks the contract (rules beyond what Avro can express).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// A required string (an id, a name) is empty.
    #[error("`{field}` must not be empty")]
    EmptyField {
        /// The field.
        field: &'static str,
    },
    /// A string is longer than its cap, in bytes.
    #[error("`{field}` is {len} bytes, more than the cap of {max}")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The cap in bytes.
        max: usize,
    },
    /// A field required in this situation is missing.
    #[error("`{field}` is required {when}")]
    MissingField {
        /// The field.
        field: &'static str,
        /// The situation, e.g. `when status is Error`.
        when: &'static str,
    },
    /// A session ends before it starts.
    #[error("`ended_at` {ended_at_ms} is before `started_at` {started_at_ms}")]
    EndBeforeStart {
        /// Start, ms since the Unix epoch.
        started_at_ms: i64,
        /// End, ms since the Unix epoch.
        ended_at_ms: i64,
    },
    /// A count or sequence number is negative.
    #[error("`{field}` is negative ({value})")]
    NegativeCount {
        /// The field.
        field: &'static str,
        /// Its value.
        value: i64,
    },
    /// A sync issue's error code is not 0..=3.
    #[error("`error_code` {0} is outside 0..=3")]
    ErrorCodeOutOfRange(i32),
    /// A timestamp is before 2000-01-01 or more than a day in the future.
    #[error("`{field}` {value} ms is outside 2000-01-01 .. now + 1 day")]
    TimestampOutOfRange {
        /// The field.
        field: &'static str,
        /// Its value, ms since the Unix epoch.
        value: i64,
    },
    /// An array has more items than the contract allows (log lines per chunk, objects
    /// report lines, saved searches).
    #[error("`{field}` has {count} items, more than the cap of {max}")]
    TooManyItems {
        /// The field.
        field: &'static str,
        /// Items present.
        count: usize,
        /// The cap.
        max: usize,
    },
}

impl ContractError {
    /// The Avro field the error is about (dotted for nested fields).
    pub fn field(&self) -> &'static str {
        match self {
            ContractError::EmptyField { field }
            | ContractError::FieldTooLong { field, .. }
            | ContractError::MissingField { field, .. }
            | ContractError::NegativeCount { field, .. }
            | ContractError::TimestampOutOfRange { field, .. }
            | ContractError::TooManyItems { field, .. } => field,
            ContractError::EndBeforeStart { .. } => "ended_at",
            ContractError::ErrorCodeOutOfRange(_) => "error_code",
        }
    }
}

/// A message that cannot enter the pipeline: the reason it goes to the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The message decodes but breaks the contract.
    #[error("contract violation: {0}")]
    Contract(#[from] ContractError),
}

impl InvalidMessage {
    /// A stable short label for a dead-letter header or a metric label; the set of values
    /// is bounded: `empty`, `truncated`, `bad_magic_byte`, `unknown_schema_id`,
    /// `wrong_message_type`, `length_too_large`, `too_many_items`, `invalid_avro`,
    /// `resolution_failed`, `contract_violation`.
    pub fn kind(&self) -> &'static str {
        match self {
            InvalidMessage::Decode(e) => e.kind(),
            InvalidMessage::Contract(_) => "contract_violation",
        }
    }
}

impl DecodeError {
    /// A stable short label, see [`InvalidMessage::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadMagicByte(_) => "bad_magic_byte",
            DecodeError::UnknownSchemaId(_) => "unknown_schema_id",
            DecodeError::WrongMessageType { .. } => "wrong_message_type",
            DecodeError::LengthTooLarge { .. } => "length_too_large",
            DecodeError::TooManyItems { .. } => "too_many_items",
            DecodeError::InvalidAvro { .. } => "invalid_avro",
            DecodeError::Resolution { .. } => "resolution_failed",
        }
    }
}
