//! The group watch: is anyone consuming the partitions this instance does not have?
//!
//! An instance with no partition is normal when the group has more members than
//! partitions. It is a fault when the partitions' messages wait and no member consumes
//! them: a broker that kept a dead member's partitions (tansu keeps them for good, with or
//! without static membership; Apache Kafka until the dead member's session times out).
//! The watch looks at every partition's committed offset and end offset twice,
//! `CHECK_EVERY` apart; a partition of another member with messages after its committed
//! offset that did not move is unconsumed. The consumer leaves the group and joins again
//! (the group forms anew around the members alive then, and the partitions are assigned
//! again) after `kafka.rejoin_after_unassigned_ms`:
//!
//! - without partitions, while some are unconsumed;
//! - with partitions of its own, while other members' partitions stay unconsumed the whole
//!   time and this instance stores its own batches (when its writes fail too, ClickHouse is
//!   away for everyone: the others are waiting it out, not dead).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::batch::Partition;
use crate::config::KafkaConfig;
use crate::health::{self, SharedFacts};
use crate::kafka::IngestContext;
use crate::sink::now_ms;

/// How far apart the two looks are.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Committed offset and end offset of each partition of the group's topics.
pub type Positions = HashMap<Partition, (i64, i64)>;

/// Partitions with messages after a committed offset that did not move between `before`
/// and `after`, sorted.
pub fn unconsumed(before: &Positions, after: &Positions) -> Vec<Partition> {
    let mut stuck: Vec<Partition> = after
        .iter()
        .filter(|(p, (committed, end))| {
            end > committed && before.get(*p).is_some_and(|(c, _)| c == committed)
        })
        .map(|(p, _)| p.clone())
        .collect();
    stuck.sort();
    stuck
}

/// Watches the group while this instance has no partition.
#[derive(Debug)]
pub struct GroupWatch {
    topics: Vec<String>,
    rejoin_after_ms: i64,
    created_ms: i64,
    previous: Option<(Instant, Positions)>,
    /// Since when (ms) other members' partitions have been unconsumed, while this instance
    /// has partitions.
    stuck_since_ms: Option<i64>,
}

impl GroupWatch {
    /// A watch for the configured topics, starting now.
    pub fn new(cfg: &KafkaConfig) -> Self {
        Self {
            topics: cfg.topics.clone(),
            rejoin_after_ms: cfg.rejoin_after_unassigned_ms as i64,
            created_ms: now_ms(),
            previous: None,
            stuck_since_ms: None,
        }
    }

    /// Called every few seconds: records what no member consumes in the health facts;
    /// true when the consumer should leave the group and join again.
    pub fn check(&mut self, consumer: &StreamConsumer<IngestContext>, facts: &SharedFacts) -> bool {
        let seen = health::snapshot(facts);
        let now = now_ms();
        let unassigned_since = seen.unassigned_since_ms;
        if unassigned_since.is_none() && seen.last_write_error.is_some() {
            // This instance cannot store either: the others may be waiting out the same
            // outage. Judge nobody.
            self.previous = None;
            self.stuck_since_ms = None;
            return false;
        }
        let watching_for = now - unassigned_since.unwrap_or(0).max(self.created_ms);
        if watching_for < CHECK_EVERY.as_millis() as i64 {
            return false;
        }
        if self
            .previous
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < CHECK_EVERY)
        {
            return false;
        }
        let current = match self.positions(consumer) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reading the group's offsets failed");
                return false;
            }
        };
        let own: HashSet<Partition> = consumer
            .assignment()
            .map(|tpl| {
                tpl.elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect()
            })
            .unwrap_or_default();
        let stuck: Vec<Partition> = match &self.previous {
            Some((at, before)) => {
                let others: Vec<Partition> = unconsumed(before, &current)
                    .into_iter()
                    .filter(|p| !own.contains(p))
                    .collect();
                if !others.is_empty() {
                    // Already still over the interval between the two looks.
                    let first_look = now - at.elapsed().as_millis() as i64;
                    self.stuck_since_ms.get_or_insert(first_look);
                }
                others
            }
            None => Vec::new(),
        };
        if stuck.is_empty() {
            self.stuck_since_ms = None;
        }
        self.previous = Some((Instant::now(), current));
        let names: Vec<String> = stuck.iter().map(|(t, p)| format!("{t}:{p}")).collect();
        if !names.is_empty() {
            tracing::warn!(
                partitions = %names.join(","),
                own_partitions = own.len(),
                watching_ms = watching_for,
                "no member consumes these"
            );
        }
        health::update(facts, |f| f.unconsumed_elsewhere = names);
        let waited = if unassigned_since.is_some() {
            watching_for
        } else {
            self.stuck_since_ms.map_or(0, |since| now - since)
        };
        self.rejoin_after_ms > 0 && waited >= self.rejoin_after_ms && !stuck.is_empty()
    }

    fn positions(
        &self,
        consumer: &StreamConsumer<IngestContext>,
    ) -> rdkafka::error::KafkaResult<Positions> {
        let mut tpl = TopicPartitionList::new();
        for topic in &self.topics {
            let metadata = consumer.fetch_metadata(Some(topic), LOOKUP_TIMEOUT)?;
            for t in metadata.topics() {
                for p in t.partitions() {
                    tpl.add_partition(t.name(), p.id());
                }
            }
        }
        let committed = consumer.committed_offsets(tpl, LOOKUP_TIMEOUT)?;
        let mut positions = Positions::new();
        for e in committed.elements() {
            let (low, high) =
                consumer.fetch_watermarks(e.topic(), e.partition(), LOOKUP_TIMEOUT)?;
            let committed = match e.offset() {
                Offset::Offset(o) => o,
                _ => low,
            };
            positions.insert((e.topic().to_owned(), e.partition()), (committed, high));
        }
        Ok(positions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: i32) -> Partition {
        ("events".to_owned(), n)
    }

    #[test]
    fn a_partition_with_waiting_messages_and_a_still_offset_is_unconsumed() {
        let before: Positions = [(p(0), (10, 20)), (p(1), (5, 30)), (p(2), (7, 7))].into();
        let after: Positions = [
            (p(0), (10, 25)), // waiting, not moving: nobody consumes it
            (p(1), (12, 30)), // moving: someone consumes it
            (p(2), (7, 7)),   // nothing to consume
            (p(3), (0, 4)),   // new: not seen twice yet
        ]
        .into();
        assert_eq!(unconsumed(&before, &after), vec![p(0)]);
        assert!(unconsumed(&after, &after).contains(&p(3)));
    }
}
