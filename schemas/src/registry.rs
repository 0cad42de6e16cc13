//! The fixed table of shipped schemas and their ids.
//!
//! Each (kind, version) has a fixed schema id, `kind number * 100 + version`:
//!
//! | kind | number | versions (id) | current |
//! |---|---|---|---|
//! | session_queued | 1 | v1 (101) | v1 |
//! | session_started | 2 | v1 (201) | v1 |
//! | session_ended | 3 | v1 (301), v2 (302) | v2 |
//! | sync_issue | 4 | v1 (401) | v1 |
//! | session_log | 5 | v1 (501) | v1 |
//! | user_state | 6 | v1 (601), v2 (602) | v2 |
//! | profile_state | 7 | v1 (701) | v1 |
//! | admin_command | 8 | v1 (801) | v1 |
//!
//! The ids are part of the contract: an id, once shipped, always names the same schema.
//! Writers always use the current version; readers accept every version in the table.
//! A Confluent-compatible schema registry is optional and not implemented: the ids above
//! can be registered in one under the same numbers, but nothing here talks to one.

use std::sync::LazyLock;

use apache_avro::Schema;

use crate::EventKind;

/// What a schema describes: an event of some kind, or an admin command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// An event a sync engine publishes.
    Event(EventKind),
    /// A command `query-api` publishes to the engines.
    AdminCommand,
}

impl MessageKind {
    /// snake_case name, as in the `.avsc` file names (`session_ended`, `admin_command`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Event(k) => k.as_str(),
            MessageKind::AdminCommand => "admin_command",
        }
    }

    /// The number of the kind in schema ids (`id / 100`).
    pub fn number(self) -> u32 {
        match self {
            MessageKind::Event(EventKind::SessionQueued) => 1,
            MessageKind::Event(EventKind::SessionStarted) => 2,
            MessageKind::Event(EventKind::SessionEnded) => 3,
            MessageKind::Event(EventKind::SyncIssue) => 4,
            MessageKind::Event(EventKind::SessionLog) => 5,
            MessageKind::Event(EventKind::UserState) => 6,
            MessageKind::Event(EventKind::ProfileState) => 7,
            MessageKind::AdminCommand => 8,
        }
    }
}

/// One shipped schema version.
#[derive(Debug)]
pub struct SchemaEntry {
    /// The fixed schema id written after the magic byte.
    pub id: u32,
    /// What the schema describes.
    pub kind: MessageKind,
    /// Version of the schema within its kind, from 1.
    pub version: u32,
    /// Whether this is the version writers use now (and the hand-written codec reads).
    pub current: bool,
    /// File name under `schemas/avro/`, e.g. `session_ended.v2.avsc`.
    pub file: &'static str,
    /// The schema's JSON text.
    pub source: &'static str,
}

macro_rules! entry {
    ($id:expr, $kind:expr, $version:expr, $current:expr, $file:literal) => {
        SchemaEntry {
            id: $id,
            kind: $kind,
            version: $version,
            current: $current,
            file: $file,
            source: include_str!(concat!("../avro/", $file)),
        }
    };
}

use EventKind as K;
use MessageKind::{AdminCommand as Cmd, Event as E};

/// Every shipped schema, ordered by id.
pub static SCHEMAS: [SchemaEntry; 10] = [
    entry!(101, E(K::SessionQueued), 1, true, "session_queued.v1.avsc"),
    entry!(
        201,
        E(K::SessionStarted),
        1,
        true,
        "session_started.v1.avsc"
    ),
    entry!(301, E(K::SessionEnded), 1, false, "session_ended.v1.avsc"),
    entry!(302, E(K::SessionEnded), 2, true, "session_ended.v2.avsc"),
    entry!(401, E(K::SyncIssue), 1, true, "sync_issue.v1.avsc"),
    entry!(501, E(K::SessionLog), 1, true, "session_log.v1.avsc"),
    entry!(601, E(K::UserState), 1, false, "user_state.v1.avsc"),
    entry!(602, E(K::UserState), 2, true, "user_state.v2.avsc"),
    entry!(701, E(K::ProfileState), 1, true, "profile_state.v1.avsc"),
    entry!(801, Cmd, 1, true, "admin_command.v1.avsc"),
];

static PARSED: LazyLock<Vec<Schema>> = LazyLock::new(|| {
    SCHEMAS
        .iter()
        .map(|e| {
            // The files are compiled into the crate and a unit test parses every one of
            // them, so a failure here is a build defect, not a runtime condition.
            #[allow(clippy::expect_used)]
            Schema::parse_str(e.source).expect("shipped .avsc files parse")
        })
        .collect()
});

impl SchemaEntry {
    /// The parsed schema (parsed once, on first use, for all entries).
    pub fn schema(&'static self) -> &'static Schema {
        let i = SCHEMAS
            .iter()
            .position(|e| std::ptr::eq(e, self))
            .unwrap_or(0);
        &PARSED[i]
    }
}

/// The entry of a schema id, if shipped.
pub fn lookup(id: u32) -> Option<&'static SchemaEntry> {
    SCHEMAS.iter().find(|e| e.id == id)
}

/// The current (writer) entry of a kind.
pub fn current(kind: MessageKind) -> &'static SchemaEntry {
    // Every kind has exactly one current entry (a unit test checks it).
    SCHEMAS
        .iter()
        .find(|e| e.kind == kind && e.current)
        .unwrap_or(&SCHEMAS[0])
}

/// The schema id writers use for a kind now.
pub fn current_id(kind: MessageKind) -> u32 {
    match kind {
        MessageKind::Event(EventKind::SessionEnded) => 302,
        MessageKind::Event(EventKind::UserState) => 602,
        other => other.number() * 100 + 1,
    }
}

/// Every shipped version of a kind, oldest first.
pub fn versions(kind: MessageKind) -> impl Iterator<Item = &'static SchemaEntry> {
    SCHEMAS.iter().filter(move |e| e.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_parses_and_ids_follow_the_rule() {
        for e in &SCHEMAS {
            let s = e.schema();
            assert!(matches!(s, Schema::Record(_)), "{}", e.file);
            assert_eq!(e.id, e.kind.number() * 100 + e.version, "{}", e.file);
            assert_eq!(
                e.file,
                format!("{}.v{}.avsc", e.kind.as_str(), e.version),
                "{}",
                e.id
            );
            assert_eq!(lookup(e.id).map(|x| x.id), Some(e.id));
        }
    }

    #[test]
    fn one_current_version_per_kind_and_it_is_the_newest() {
        let kinds = EventKind::ALL
            .iter()
            .map(|k| MessageKind::Event(*k))
            .chain([MessageKind::AdminCommand]);
        for k in kinds {
            let cur: Vec<_> = versions(k).filter(|e| e.current).collect();
            assert_eq!(cur.len(), 1, "{k:?}");
            assert_eq!(current(k).id, cur[0].id);
            assert_eq!(current_id(k), cur[0].id);
            assert_eq!(versions(k).map(|e| e.version).max(), Some(cur[0].version));
        }
    }
}
