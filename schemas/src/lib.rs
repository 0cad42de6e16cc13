//! The event contract between sync engines and the telemetry pipeline.
//!
//! - [`event`]: one plain struct per event kind, and [`Event`] over all of them.
//! - [`enums`]: the closed vocabularies (statuses, categories, sources, ...), each an Avro
//!   enum with the variant names as symbols ([`AvroEnum`]).
//! - [`status`]: the statuses derived per user ([`EffectiveStatus`], [`SyncState`]), shared by
//!   the aggregator that derives them and the query API that shows them.
//! - [`registry`]: the fixed table of schema ids and the `.avsc` files under `avro/`.
//! - [`wire`]: encode/decode in the Confluent wire format (magic byte 0, 4-byte big-endian
//!   schema id, Avro binary body), hand-written for the current schema of each kind,
//!   with writer/reader resolution (apache-avro) for older versions.
//! - [`validate`]: contract rules beyond Avro (non-empty ids, end >= start, ...).
//! - [`decode_valid`]: both, with one error type [`InvalidMessage`] for dead letters.
//! - [`examples`]: realistic values of every kind; [`reference`](mod@reference): the slow apache-avro
//!   `Value` path, for cross-checks and benchmarks.
//!
//! See `schemas/README.md` for the contract as sync-engine authors read it.

pub mod avro_enum;
mod binary;
mod codec;
pub mod enums;
pub mod error;
pub mod event;
pub mod examples;
pub mod reference;
pub mod registry;
mod resolve;
pub mod status;
pub mod validate;
pub mod wire;

pub use avro_enum::AvroEnum;
pub use enums::*;
pub use error::{AvroProblem, ContractError, DecodeError, InvalidMessage};
pub use event::*;
pub use registry::MessageKind;
pub use status::{EffectiveStatus, SyncState};

/// Decodes an event and checks it against the contract (system clock as "now").
pub fn decode_valid(bytes: &[u8]) -> Result<Event, InvalidMessage> {
    decode_valid_at(bytes, validate::now_ms())
}

/// Decodes an event and checks it against the contract, `now_ms` bounding future
/// timestamps (ms since the Unix epoch).
pub fn decode_valid_at(bytes: &[u8], now_ms: i64) -> Result<Event, InvalidMessage> {
    let event = wire::decode(bytes)?;
    validate::validate_at(&event, now_ms)?;
    Ok(event)
}

/// Decodes an admin command and checks it against the contract (system clock as "now").
pub fn decode_valid_command(bytes: &[u8]) -> Result<AdminCommand, InvalidMessage> {
    let command = wire::decode_command(bytes)?;
    validate::validate_command(&command)?;
    Ok(command)
}

impl Event {
    /// The key a message is published under: `tenant/user` for user events and
    /// `tenant/profile` for profile events, so each user's events stay in one partition,
    /// in order.
    pub fn partition_key(&self) -> String {
        match self {
            Event::ProfileState(p) => format!("{}/{}", p.tenant_id, p.profile_id),
            other => match other.header() {
                Some(h) => format!("{}/{}", h.tenant_id, h.user_id),
                None => String::new(),
            },
        }
    }

    /// The common header of a user event; `None` for profile events.
    pub fn header(&self) -> Option<&Header> {
        match self {
            Event::SessionQueued(e) => Some(&e.header),
            Event::SessionStarted(e) => Some(&e.header),
            Event::SessionEnded(e) => Some(&e.header),
            Event::SyncIssue(e) => Some(&e.header),
            Event::SessionLog(e) => Some(&e.header),
            Event::UserState(e) => Some(&e.header),
            Event::ProfileState(_) => None,
        }
    }

    /// The event id (idempotency key).
    pub fn event_id(&self) -> &str {
        match self {
            Event::ProfileState(p) => &p.event_id,
            other => other.header().map_or("", |h| h.event_id.as_str()),
        }
    }

    /// The tenant.
    pub fn tenant_id(&self) -> &str {
        match self {
            Event::ProfileState(p) => &p.tenant_id,
            other => other.header().map_or("", |h| h.tenant_id.as_str()),
        }
    }

    /// When the event happened, ms since the Unix epoch.
    pub fn occurred_at_ms(&self) -> i64 {
        match self {
            Event::ProfileState(p) => p.occurred_at_ms,
            other => other.header().map_or(0, |h| h.occurred_at_ms),
        }
    }

    /// Short stable name of the kind, as used in metrics, manifests and topic routing.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::SessionQueued(_) => EventKind::SessionQueued,
            Event::SessionStarted(_) => EventKind::SessionStarted,
            Event::SessionEnded(_) => EventKind::SessionEnded,
            Event::SyncIssue(_) => EventKind::SyncIssue,
            Event::SessionLog(_) => EventKind::SessionLog,
            Event::UserState(_) => EventKind::UserState,
            Event::ProfileState(_) => EventKind::ProfileState,
        }
    }
}

impl AdminCommand {
    /// The key a command is published under: `tenant/user`, like the user's events.
    pub fn partition_key(&self) -> String {
        format!("{}/{}", self.tenant_id, self.user_id)
    }
}

/// The kinds of events, without their payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// [`SessionQueued`]
    SessionQueued,
    /// [`SessionStarted`]
    SessionStarted,
    /// [`SessionEnded`]
    SessionEnded,
    /// [`SyncIssue`]
    SyncIssue,
    /// [`SessionLog`]
    SessionLog,
    /// [`UserState`]
    UserState,
    /// [`ProfileState`]
    ProfileState,
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 7] = [
        EventKind::SessionQueued,
        EventKind::SessionStarted,
        EventKind::SessionEnded,
        EventKind::SyncIssue,
        EventKind::SessionLog,
        EventKind::UserState,
        EventKind::ProfileState,
    ];

    /// snake_case name, e.g. `session_ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SessionQueued => "session_queued",
            EventKind::SessionStarted => "session_started",
            EventKind::SessionEnded => "session_ended",
            EventKind::SyncIssue => "sync_issue",
            EventKind::SessionLog => "session_log",
            EventKind::UserState => "user_state",
            EventKind::ProfileState => "profile_state",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
