//! A batch: rows per table, dead letters, and the offsets it covers. Cut by messages,
//! bytes or age, whichever comes first. Pure data; no I/O.
//!
//! Rows are encoded to RowBinary as they are added ([`EncodedRows`]): a batch of 50,000
//! messages holds one buffer per table, not a struct and its strings per row, and
//! storing it sends those bytes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use store::rowbinary::{EncodeError, EncodedRows};
use store::rows::{
    DeadLetterRow, IssueEventRow, LogLineRef, ProfileStateRow, Row, SessionEventRow, UserStateRow,
};

use crate::config::BatchConfig;
use crate::decode::{Decoded, Origin};

/// A topic partition.
pub type Partition = (String, i32);

/// What the batch covers of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covered {
    /// Highest offset in the batch; the commit is `last_offset + 1`.
    pub last_offset: i64,
    /// Timestamp of that message, ms since the Unix epoch (0 when none).
    pub last_timestamp_ms: i64,
}

/// Messages waiting to be stored, and the offsets they cover.
#[derive(Debug, Default)]
pub struct Batch {
    /// For `session_events`.
    pub sessions: EncodedRows<SessionEventRow>,
    /// For `issue_events`.
    pub issues: EncodedRows<IssueEventRow>,
    /// For `log_lines`.
    pub log_lines: EncodedRows<LogLineRef<'static>>,
    /// For `user_state_events`.
    pub user_states: EncodedRows<UserStateRow>,
    /// For `profile_state_events`.
    pub profile_states: EncodedRows<ProfileStateRow>,
    /// For the dead-letter topic and the `dead_letters` table.
    pub dead_letters: Vec<DeadLetterRow>,
    /// Per partition: what this batch covers.
    pub offsets: BTreeMap<Partition, Covered>,
    /// Messages per topic.
    pub per_topic: BTreeMap<String, u64>,
    /// Messages in the batch.
    pub messages: usize,
    /// Payload bytes in the batch.
    pub bytes: usize,
    /// When the first message was added.
    pub opened: Option<Instant>,
}

impl Batch {
    /// Adds one decoded message. An error (a row RowBinary cannot encode: a bug in a row
    /// type, which the unit tests of every row type rule out) adds nothing of it; the
    /// caller dead-letters the message instead.
    pub fn push(
        &mut self,
        decoded: Decoded,
        origin: Origin<'_>,
        payload_len: usize,
    ) -> Result<(), EncodeError> {
        match decoded {
            Decoded::Rows(Row::Session(r)) => self.sessions.push(&r)?,
            Decoded::Rows(Row::Issue(r)) => self.issues.push(&r)?,
            Decoded::Rows(Row::LogLines(chunk)) => self.log_lines.push_all(chunk.rows())?,
            Decoded::Rows(Row::UserState(r)) => self.user_states.push(&r)?,
            Decoded::Rows(Row::ProfileState(r)) => self.profile_states.push(&r)?,
            Decoded::Dead(d) => self.dead_letters.push(d),
        }
        let here = Covered {
            last_offset: origin.offset,
            last_timestamp_ms: origin.timestamp_ms,
        };
        // A handful of partitions: a scan finds the entry without allocating a key per
        // message; the key is built once per partition and batch.
        let known = self.offsets.iter_mut().find(|((topic, partition), _)| {
            topic == origin.topic && *partition == origin.partition
        });
        match known {
            Some((_, covered)) if origin.offset >= covered.last_offset => *covered = here,
            Some(_) => {}
            None => {
                self.offsets
                    .insert((origin.topic.to_owned(), origin.partition), here);
            }
        }
        if let Some(n) = self.per_topic.get_mut(origin.topic) {
            *n += 1;
        } else {
            self.per_topic.insert(origin.topic.to_owned(), 1);
        }
        self.messages += 1;
        self.bytes += payload_len;
        self.opened.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Sets `ingested_at` of every row: the writer stamps the batch before each attempt to
    /// store it, with that attempt's time (see `writer::store_with_retries` for why).
    pub fn stamp(&mut self, ingested_at: u32) {
        self.sessions.stamp(ingested_at);
        self.issues.stamp(ingested_at);
        self.log_lines.stamp(ingested_at);
        self.user_states.stamp(ingested_at);
        self.profile_states.stamp(ingested_at);
    }

    /// No message yet.
    pub fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// A size limit is reached: the batch must be cut now.
    pub fn is_full(&self, cfg: &BatchConfig) -> bool {
        self.messages >= cfg.max_messages || self.bytes >= cfg.max_bytes
    }

    /// The batch should be cut: full, or its first message is `max_age` old.
    pub fn is_due(&self, cfg: &BatchConfig, now: Instant) -> bool {
        self.is_full(cfg)
            || self
                .opened
                .is_some_and(|t| now.saturating_duration_since(t) >= cfg.max_age())
    }

    /// Time until the batch is due by age (None when empty).
    pub fn due_in(&self, cfg: &BatchConfig, now: Instant) -> Option<Duration> {
        self.opened.map(|t| {
            cfg.max_age()
                .saturating_sub(now.saturating_duration_since(t))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(offset: i64) -> Origin<'static> {
        Origin {
            topic: "events",
            partition: 1,
            offset,
            key: b"k",
            timestamp_ms: offset * 10,
        }
    }

    fn dead() -> Decoded {
        Decoded::Dead(DeadLetterRow {
            topic: "events".into(),
            partition: 1,
            offset: 0,
            message_key: String::new(),
            payload: vec![],
            payload_bytes: 0,
            payload_sha256: String::new(),
            payload_truncated: 0,
            message_timestamp_ms: 0,
            error_kind: "empty".into(),
            error_message: "empty".into(),
            received_at_ms: 0,
        })
    }

    #[test]
    fn tracks_the_highest_offset_per_partition() {
        let mut batch = Batch::default();
        for offset in [5, 7, 6] {
            batch.push(dead(), origin(offset), 10).unwrap();
        }
        assert_eq!(
            batch.offsets[&("events".to_owned(), 1)],
            Covered {
                last_offset: 7,
                last_timestamp_ms: 70
            }
        );
        assert_eq!((batch.messages, batch.bytes), (3, 30));
        assert_eq!(batch.per_topic["events"], 3);
    }

    #[test]
    fn cut_by_messages_bytes_or_age() {
        let cfg = BatchConfig {
            max_messages: 3,
            max_bytes: 100,
            max_age_ms: 1_000,
            ..BatchConfig::default()
        };
        let mut batch = Batch::default();
        let now = Instant::now();
        assert!(!batch.is_due(&cfg, now + Duration::from_secs(60)));
        batch.push(dead(), origin(1), 10).unwrap();
        assert!(!batch.is_due(&cfg, now));
        assert!(batch.is_due(&cfg, now + Duration::from_millis(1_001)));
        batch.push(dead(), origin(2), 95).unwrap();
        assert!(batch.is_full(&cfg), "bytes");
        let mut batch = Batch::default();
        for o in 0..3 {
            batch.push(dead(), origin(o), 1).unwrap();
        }
        assert!(batch.is_full(&cfg), "messages");
    }
}
