//! One row type per raw table, and how an event becomes rows.
//!
//! Columns with a DEFAULT computed from the row (`occurred_at`, ...) are left to ClickHouse;
//! `ingested_at` is set by ingest per batch, at each attempt to store it (see
//! [`SessionEventRow::ingested_at`]).
//! Optional values are stored as empty strings; enums by their variant name.

use schemas::{AvroEnum, Event};
use serde::Serialize;

/// Table `session_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct SessionEventRow {
    pub tenant_id: String,
    pub profile_id: String,
    pub user_id: String,
    pub session_id: String,
    pub event_kind: &'static str,
    pub event_id: String,
    pub occurred_at_ms: i64,
    pub engine_id: String,
    pub engine_version: String,
    pub trigger: &'static str,
    pub started_at_ms: i64,
    pub ended_at_ms: i64,
    pub status: &'static str,
    pub scope_items: i64,
    pub changes: i64,
    pub total_changes: i64,
    pub failures: i64,
    pub issues: i64,
    pub conflicts: i64,
    pub objects_type: Vec<&'static str>,
    pub objects_synchronized: Vec<i64>,
    pub objects_mail_to_crm_created: Vec<i64>,
    pub objects_mail_to_crm_updated: Vec<i64>,
    pub objects_mail_to_crm_deleted: Vec<i64>,
    pub objects_crm_to_mail_created: Vec<i64>,
    pub objects_crm_to_mail_updated: Vec<i64>,
    pub objects_crm_to_mail_deleted: Vec<i64>,
    pub error_category: &'static str,
    pub error_source: &'static str,
    pub message: String,
    pub exception: String,
    /// When ingest stored the row, s (ClickHouse's clock): set per batch, at each attempt
    /// to store it.
    pub ingested_at: u32,
}

/// Table `issue_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct IssueEventRow {
    pub tenant_id: String,
    pub profile_id: String,
    pub user_id: String,
    pub session_id: String,
    pub issue_id: String,
    pub event_id: String,
    pub occurred_at_ms: i64,
    pub engine_id: String,
    pub engine_version: String,
    pub object_type: &'static str,
    pub direction: &'static str,
    pub mail_system: &'static str,
    pub crm_system: &'static str,
    pub object_name: String,
    pub operation: &'static str,
    pub error_code: u8,
    pub description: String,
    pub error_source: &'static str,
    pub target_object_id: String,
    /// When ingest stored the row, s (ClickHouse's clock): set per batch, at each attempt
    /// to store it.
    pub ingested_at: u32,
}

/// Table `log_lines`: one row per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct LogLineRow {
    pub tenant_id: String,
    pub profile_id: String,
    pub user_id: String,
    pub session_id: String,
    pub sequence: i32,
    pub line_no: u32,
    pub event_id: String,
    pub chunk_at_ms: i64,
    pub at_ms: i64,
    pub level: &'static str,
    pub text: String,
    /// When ingest stored the row, s (ClickHouse's clock): set per batch, at each attempt
    /// to store it.
    pub ingested_at: u32,
}

/// Table `log_lines`, borrowed from a [`LogChunk`]: one line with its chunk's ids, which
/// ingest encodes without copying them into every line. Same columns as [`LogLineRow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct LogLineRef<'a> {
    pub tenant_id: &'a str,
    pub profile_id: &'a str,
    pub user_id: &'a str,
    pub session_id: &'a str,
    pub sequence: i32,
    pub line_no: u32,
    pub event_id: &'a str,
    pub chunk_at_ms: i64,
    pub at_ms: i64,
    pub level: &'static str,
    pub text: &'a str,
    /// As [`LogLineRow::ingested_at`].
    pub ingested_at: u32,
}

impl LogLineRef<'_> {
    /// The owned row.
    pub fn to_row(&self) -> LogLineRow {
        LogLineRow {
            tenant_id: self.tenant_id.to_owned(),
            profile_id: self.profile_id.to_owned(),
            user_id: self.user_id.to_owned(),
            session_id: self.session_id.to_owned(),
            sequence: self.sequence,
            line_no: self.line_no,
            event_id: self.event_id.to_owned(),
            chunk_at_ms: self.chunk_at_ms,
            at_ms: self.at_ms,
            level: self.level,
            text: self.text.to_owned(),
            ingested_at: self.ingested_at,
        }
    }
}

/// One `session_log` event: the chunk's ids once and its lines, which become one row of
/// `log_lines` per line ([`LogChunk::rows`] borrowed, or owned by iterating the chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogChunk {
    header: schemas::Header,
    session_id: String,
    sequence: i32,
    lines: Vec<schemas::LogLine>,
    ingested_at: u32,
}

impl LogChunk {
    /// Lines in the chunk.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// No line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Its rows, borrowed.
    pub fn rows(&self) -> impl Iterator<Item = LogLineRef<'_>> {
        let h = &self.header;
        self.lines
            .iter()
            .enumerate()
            .map(move |(n, line)| LogLineRef {
                tenant_id: &h.tenant_id,
                profile_id: &h.profile_id,
                user_id: &h.user_id,
                session_id: &self.session_id,
                sequence: self.sequence,
                line_no: u32::try_from(n).unwrap_or(u32::MAX),
                event_id: &h.event_id,
                chunk_at_ms: h.occurred_at_ms,
                at_ms: line.at_ms,
                level: line.level.symbol(),
                text: &line.text,
                ingested_at: self.ingested_at,
            })
    }

    /// Its rows, owned.
    pub fn to_rows(&self) -> Vec<LogLineRow> {
        self.rows().map(|r| r.to_row()).collect()
    }
}

impl IntoIterator for LogChunk {
    type Item = LogLineRow;
    type IntoIter = std::vec::IntoIter<LogLineRow>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_rows().into_iter()
    }
}

/// Table `user_state_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct UserStateRow {
    pub tenant_id: String,
    pub profile_id: String,
    pub user_id: String,
    pub event_id: String,
    pub occurred_at_ms: i64,
    pub engine_id: String,
    pub engine_version: String,
    pub change: &'static str,
    pub display_name: String,
    pub mail_account: String,
    pub crm_user_name: String,
    pub mail_system: &'static str,
    pub crm_system: &'static str,
    pub sync_setting: &'static str,
    pub crm_token_active: u8,
    pub mail_token_authorized: u8,
    pub last_token_error: String,
    pub saved_searches_name: Vec<String>,
    pub saved_searches_object_type: Vec<&'static str>,
    pub saved_searches_conflict_resolution: Vec<&'static str>,
    /// When ingest stored the row, s (ClickHouse's clock): set per batch, at each attempt
    /// to store it.
    pub ingested_at: u32,
}

/// Table `profile_state_events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct ProfileStateRow {
    pub tenant_id: String,
    pub profile_id: String,
    pub event_id: String,
    pub occurred_at_ms: i64,
    pub engine_id: String,
    pub engine_version: String,
    pub change: &'static str,
    pub name: String,
    pub sync_enabled: u8,
    /// When ingest stored the row, s (ClickHouse's clock): set per batch, at each attempt
    /// to store it.
    pub ingested_at: u32,
}

/// Table `dead_letters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, clickhouse::Row)]
#[allow(missing_docs)]
pub struct DeadLetterRow {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub message_key: String,
    /// The original bytes, or their first `dead_letters.max_payload_bytes` when
    /// `payload_truncated` (ClickHouse `String` holds arbitrary bytes).
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// Size of the original payload, bytes.
    pub payload_bytes: u64,
    /// Hex SHA-256 of the original payload.
    pub payload_sha256: String,
    /// 1 when `payload` holds only the first bytes of the original.
    pub payload_truncated: u8,
    pub message_timestamp_ms: i64,
    pub error_kind: String,
    pub error_message: String,
    pub received_at_ms: i64,
}

/// Rows of any table, as produced from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// For `session_events`.
    Session(SessionEventRow),
    /// For `issue_events`.
    Issue(IssueEventRow),
    /// For `log_lines` (one row per line of the chunk).
    LogLines(LogChunk),
    /// For `user_state_events`.
    UserState(UserStateRow),
    /// For `profile_state_events`.
    ProfileState(ProfileStateRow),
}

fn opt<T: AvroEnum>(value: Option<T>) -> &'static str {
    value.map_or("", AvroEnum::symbol)
}

impl Row {
    /// The rows one event becomes, stamped with `ingested_at` (s) as ingest stamps a batch.
    /// Fixtures and benches that write rows themselves use this: a row written with
    /// `ingested_at` 0 lies before every aggregator watermark and is never aggregated.
    pub fn from_event_at(event: &Event, ingested_at: u32) -> Row {
        let mut row = Row::from_event(event);
        row.stamp(ingested_at);
        row
    }

    /// Sets `ingested_at` of every row in this one.
    pub fn stamp(&mut self, ingested_at: u32) {
        match self {
            Row::Session(r) => r.ingested_at = ingested_at,
            Row::Issue(r) => r.ingested_at = ingested_at,
            Row::LogLines(chunk) => chunk.ingested_at = ingested_at,
            Row::UserState(r) => r.ingested_at = ingested_at,
            Row::ProfileState(r) => r.ingested_at = ingested_at,
        }
    }

    /// The rows one valid event becomes, `ingested_at` 0 (see [`Row::stamp`]). Clones the
    /// event; ingest, which owns what it decoded, uses [`Row::from_owned_event`].
    pub fn from_event(event: &Event) -> Row {
        Row::from_owned_event(event.clone())
    }

    /// [`Row::from_event`] taking the event: its strings move into the row instead of being
    /// copied.
    pub fn from_owned_event(event: Event) -> Row {
        match event {
            Event::SessionQueued(e) => Row::Session(SessionEventRow::header_only(
                e.header,
                e.session_id,
                "session_queued",
                "",
                false,
            )),
            Event::SessionStarted(e) => Row::Session(SessionEventRow::header_only(
                e.header,
                e.session_id,
                "session_started",
                e.trigger.symbol(),
                true,
            )),
            Event::SessionEnded(e) => {
                let h = e.header;
                let objects = &e.objects;
                let col = |f: fn(&schemas::ObjectReport) -> i64| objects.iter().map(f).collect();
                Row::Session(SessionEventRow {
                    tenant_id: h.tenant_id,
                    profile_id: h.profile_id,
                    user_id: h.user_id,
                    session_id: e.session_id,
                    event_kind: "session_ended",
                    event_id: h.event_id,
                    occurred_at_ms: h.occurred_at_ms,
                    engine_id: h.engine_id,
                    engine_version: h.engine_version,
                    trigger: "",
                    started_at_ms: e.started_at_ms,
                    ended_at_ms: e.ended_at_ms,
                    status: e.status.symbol(),
                    scope_items: e.scope_items,
                    changes: e.changes,
                    total_changes: e.total_changes,
                    failures: e.failures,
                    issues: e.issues,
                    conflicts: e.conflicts,
                    objects_type: objects.iter().map(|o| o.object_type.symbol()).collect(),
                    objects_synchronized: col(|o| o.synchronized),
                    objects_mail_to_crm_created: col(|o| o.mail_to_crm.created),
                    objects_mail_to_crm_updated: col(|o| o.mail_to_crm.updated),
                    objects_mail_to_crm_deleted: col(|o| o.mail_to_crm.deleted),
                    objects_crm_to_mail_created: col(|o| o.crm_to_mail.created),
                    objects_crm_to_mail_updated: col(|o| o.crm_to_mail.updated),
                    objects_crm_to_mail_deleted: col(|o| o.crm_to_mail.deleted),
                    error_category: opt(e.error_category),
                    error_source: opt(e.error_source),
                    message: e.message.unwrap_or_default(),
                    exception: e.exception.unwrap_or_default(),
                    ingested_at: 0,
                })
            }
            Event::SyncIssue(i) => {
                let h = i.header;
                Row::Issue(IssueEventRow {
                    tenant_id: h.tenant_id,
                    profile_id: h.profile_id,
                    user_id: h.user_id,
                    session_id: i.session_id,
                    issue_id: i.issue_id,
                    event_id: h.event_id,
                    occurred_at_ms: h.occurred_at_ms,
                    engine_id: h.engine_id,
                    engine_version: h.engine_version,
                    object_type: i.object_type.symbol(),
                    direction: i.direction.symbol(),
                    mail_system: i.mail_system.symbol(),
                    crm_system: i.crm_system.symbol(),
                    object_name: i.object_name,
                    operation: i.operation.symbol(),
                    // Validation guarantees 0..=3.
                    error_code: u8::try_from(i.error_code).unwrap_or(u8::MAX),
                    description: i.description,
                    error_source: i.error_source.symbol(),
                    target_object_id: i.target_object_id.unwrap_or_default(),
                    ingested_at: 0,
                })
            }
            Event::SessionLog(l) => Row::LogLines(LogChunk {
                header: l.header,
                session_id: l.session_id,
                sequence: l.sequence,
                lines: l.lines,
                ingested_at: 0,
            }),
            Event::UserState(u) => {
                let h = u.header;
                let searches = u.saved_searches;
                Row::UserState(UserStateRow {
                    tenant_id: h.tenant_id,
                    profile_id: h.profile_id,
                    user_id: h.user_id,
                    event_id: h.event_id,
                    occurred_at_ms: h.occurred_at_ms,
                    engine_id: h.engine_id,
                    engine_version: h.engine_version,
                    change: u.change.symbol(),
                    display_name: u.display_name,
                    mail_account: u.mail_account,
                    crm_user_name: u.crm_user_name,
                    mail_system: u.mail_system.symbol(),
                    crm_system: u.crm_system.symbol(),
                    sync_setting: u.sync_setting.symbol(),
                    crm_token_active: u8::from(u.crm_token_active),
                    mail_token_authorized: u8::from(u.mail_token_authorized),
                    last_token_error: u.last_token_error.unwrap_or_default(),
                    saved_searches_object_type: searches
                        .iter()
                        .map(|s| s.object_type.symbol())
                        .collect(),
                    saved_searches_conflict_resolution: searches
                        .iter()
                        .map(|s| s.conflict_resolution.symbol())
                        .collect(),
                    saved_searches_name: searches.into_iter().map(|s| s.name).collect(),
                    ingested_at: 0,
                })
            }
            Event::ProfileState(p) => Row::ProfileState(ProfileStateRow {
                tenant_id: p.tenant_id,
                profile_id: p.profile_id,
                event_id: p.event_id,
                occurred_at_ms: p.occurred_at_ms,
                engine_id: p.engine_id,
                engine_version: p.engine_version,
                change: p.change.symbol(),
                name: p.name,
                sync_enabled: u8::from(p.sync_enabled),
                ingested_at: 0,
            }),
        }
    }
}

impl SessionEventRow {
    /// A row of an event with no fields beyond its header and session; `is_start` for
    /// `session_started`, whose start is its own time.
    fn header_only(
        h: schemas::Header,
        session_id: String,
        event_kind: &'static str,
        trigger: &'static str,
        is_start: bool,
    ) -> Self {
        Self {
            started_at_ms: if is_start { h.occurred_at_ms } else { 0 },
            tenant_id: h.tenant_id,
            profile_id: h.profile_id,
            user_id: h.user_id,
            session_id,
            event_kind,
            event_id: h.event_id,
            occurred_at_ms: h.occurred_at_ms,
            engine_id: h.engine_id,
            engine_version: h.engine_version,
            trigger,
            ended_at_ms: 0,
            status: "",
            scope_items: 0,
            changes: 0,
            total_changes: 0,
            failures: 0,
            issues: 0,
            conflicts: 0,
            objects_type: Vec::new(),
            objects_synchronized: Vec::new(),
            objects_mail_to_crm_created: Vec::new(),
            objects_mail_to_crm_updated: Vec::new(),
            objects_mail_to_crm_deleted: Vec::new(),
            objects_crm_to_mail_created: Vec::new(),
            objects_crm_to_mail_updated: Vec::new(),
            objects_crm_to_mail_deleted: Vec::new(),
            error_category: "",
            error_source: "",
            message: String::new(),
            exception: String::new(),
            ingested_at: 0,
        }
    }
}

/// Now by this machine's clock, whole seconds: an `ingested_at` for rows written outside
/// ingest (fixtures, benches) on the same machine as the server.
pub fn now_s() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::Row as _;

    /// A log chunk's borrowed rows are its owned rows: same columns, same values, and the
    /// same RowBinary bytes.
    #[test]
    fn a_chunks_borrowed_rows_are_its_owned_rows() {
        assert_eq!(LogLineRef::COLUMN_NAMES, LogLineRow::COLUMN_NAMES);
        let Row::LogLines(chunk) = Row::from_event_at(&schemas::examples::session_log(), 7) else {
            panic!("a session log becomes log lines");
        };
        assert!(chunk.len() > 1);
        let owned = chunk.to_rows();
        assert_eq!(owned.len(), chunk.len());
        for ((n, borrowed), row) in chunk.rows().enumerate().zip(&owned) {
            assert_eq!(&borrowed.to_row(), row);
            assert_eq!((row.line_no as usize, row.ingested_at), (n, 7));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            crate::rowbinary::encode(&borrowed, &mut a).unwrap();
            crate::rowbinary::encode(row, &mut b).unwrap();
            assert_eq!(a, b);
        }
        assert_eq!(chunk.into_iter().collect::<Vec<_>>(), owned);
    }

    /// Every raw-table row type ends with the column a batch stamps.
    #[test]
    fn every_raw_row_ends_with_ingested_at() {
        for columns in [
            SessionEventRow::COLUMN_NAMES,
            IssueEventRow::COLUMN_NAMES,
            LogLineRow::COLUMN_NAMES,
            LogLineRef::COLUMN_NAMES,
            UserStateRow::COLUMN_NAMES,
            ProfileStateRow::COLUMN_NAMES,
        ] {
            assert_eq!(columns.last(), Some(&crate::rowbinary::STAMPED_COLUMN));
        }
    }
}
