//! A message ready to publish: topic route, key and Confluent-framed Avro payload.

use schemas::Event;

/// Which topic a record goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The events topic: sessions, issues, user and profile state.
    Events,
    /// The logs topic: session logs.
    Logs,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic route.
    pub route: Route,
    /// Partition key: `tenant/user`, or `tenant/profile` for profile events.
    pub key: String,
    /// Confluent wire format payload (or damaged bytes, for malformed records).
    pub payload: Vec<u8>,
    /// When the event happened, ms since the Unix epoch (pacing in live mode).
    pub at_ms: i64,
}

impl Record {
    /// The record for a valid event.
    pub fn from_event(event: &Event) -> Self {
        let route = match event {
            Event::SessionLog(_) => Route::Logs,
            _ => Route::Events,
        };
        Self {
            route,
            key: event.partition_key(),
            payload: schemas::wire::encode(event),
            at_ms: event.occurred_at_ms(),
        }
    }
}
