//! Pure: the offsets each partition delivers, checked for gaps.
//!
//! Within a partition Kafka offsets follow each other; a message whose offset is past the
//! next one expected means messages were skipped. That happens on any broker when the
//! consumer fell behind retention (`auto.offset.reset`), on compacted topics and at
//! transaction markers, and on brokers that answer a fetch starting inside a record batch
//! from the next batch (tansu: after a pause, a seek, or a restart from a committed offset
//! in the middle of a producer's batch).
//!
//! On a gap the tracker asks for the partition to be re-read from a little earlier,
//! doubling the distance each time the gap remains (a fetch from inside the batch before
//! the skipped one returns that batch whole), up to a limit; past it, or when the
//! broker's log starts after the gap (retention), the gap is accepted as lost, so the
//! caller counts and logs it. Re-read messages are dropped here (their rows are already in
//! a batch or stored), so re-reading is harmless.

use std::collections::HashMap;

use crate::batch::Partition;

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next message of its partition (or the first seen): take it.
    Take,
    /// Read before (a re-read after a seek back): drop it.
    Seen,
    /// Messages were skipped: drop this one and re-read the partition from `offset`.
    Reread {
        /// Where to seek.
        offset: i64,
        /// The first offset missing.
        missing_from: i64,
    },
    /// Messages `missing_from..offset_of_this_message` are not there: take this message,
    /// and count the gap.
    Lost {
        /// The first offset missing.
        missing_from: i64,
        /// Messages missing.
        count: i64,
        /// Whether re-reading was tried first.
        reread: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct State {
    /// The offset expected next.
    next: i64,
    /// While re-reading: the last distance tried.
    rereading: Option<i64>,
}

/// The next expected offset of every partition, and the re-reads under way.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<Partition, State>,
    max_distance: i64,
}

impl OffsetTracker {
    /// A tracker that re-reads at most `max_distance` messages back before it accepts a
    /// gap (0: never re-read).
    pub fn new(max_distance: i64) -> Self {
        Self {
            partitions: HashMap::new(),
            max_distance: max_distance.max(0),
        }
    }

    /// The partition was assigned; its committed offset (when there is one) is the
    /// offset expected first.
    pub fn expect(&mut self, partition: Partition, committed: Option<i64>) {
        match committed {
            Some(next) if next >= 0 => {
                self.partitions.insert(
                    partition,
                    State {
                        next,
                        rereading: None,
                    },
                );
            }
            _ => {
                self.partitions.remove(&partition);
            }
        }
    }

    /// The partition was revoked (or the consumer re-joined): forget it.
    pub fn forget(&mut self, topic: &str, partition: i32) {
        self.partitions
            .retain(|(t, p), _| !(t == topic && *p == partition));
    }

    /// Forgets every partition.
    pub fn clear(&mut self) {
        self.partitions.clear();
    }

    /// Partitions being re-read now.
    pub fn rereading(&self) -> usize {
        self.partitions
            .values()
            .filter(|s| s.rereading.is_some())
            .count()
    }

    /// A message at `offset` arrived from `topic`/`partition`.
    pub fn observe(&mut self, topic: &str, partition: i32, offset: i64) -> Verdict {
        let found = self
            .partitions
            .iter_mut()
            .find(|((t, p), _)| t == topic && *p == partition);
        let Some((_, state)) = found else {
            self.partitions.insert(
                (topic.to_owned(), partition),
                State {
                    next: offset + 1,
                    rereading: None,
                },
            );
            return Verdict::Take;
        };
        if offset < state.next {
            return Verdict::Seen;
        }
        if offset == state.next {
            state.next = offset + 1;
            state.rereading = None;
            return Verdict::Take;
        }
        let missing_from = state.next;
        let distance = match state.rereading {
            None => 1,
            Some(d) => d.saturating_mul(2),
        };
        // Offset 0 starts a batch: when a re-read from there still has the gap, it is real.
        let tried_from_start = matches!(state.rereading, Some(d) if missing_from - d <= 0);
        if distance > self.max_distance || tried_from_start {
            let reread = state.rereading.is_some();
            state.next = offset + 1;
            state.rereading = None;
            return Verdict::Lost {
                missing_from,
                count: offset - missing_from,
                reread,
            };
        }
        state.rereading = Some(distance);
        Verdict::Reread {
            offset: (missing_from - distance).max(0),
            missing_from,
        }
    }

    /// The gap at `missing_from` cannot be recovered (the log starts after it): accept the
    /// message at `offset` that revealed it.
    pub fn give_up(&mut self, topic: &str, partition: i32, offset: i64) {
        if let Some((_, state)) = self
            .partitions
            .iter_mut()
            .find(|((t, p), _)| t == topic && *p == partition)
        {
            state.next = offset + 1;
            state.rereading = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Partition {
        ("t".to_owned(), 0)
    }

    #[test]
    fn consecutive_offsets_are_taken_and_re_reads_dropped() {
        let mut t = OffsetTracker::new(100);
        assert_eq!(t.observe("t", 0, 7), Verdict::Take, "first seen");
        assert_eq!(t.observe("t", 0, 8), Verdict::Take);
        assert_eq!(t.observe("t", 0, 5), Verdict::Seen);
        assert_eq!(t.observe("t", 0, 8), Verdict::Seen);
        assert_eq!(t.observe("t", 0, 9), Verdict::Take);
        assert_eq!(t.observe("t", 1, 0), Verdict::Take, "another partition");
    }

    #[test]
    fn a_gap_is_re_read_from_further_back_each_time() {
        let mut t = OffsetTracker::new(100);
        t.expect(p(), Some(50));
        // A broker that skips the rest of a batch: 50..60 missing.
        assert_eq!(
            t.observe("t", 0, 60),
            Verdict::Reread {
                offset: 49,
                missing_from: 50
            }
        );
        assert_eq!(t.rereading(), 1);
        // The fetch from 49 started inside the same batch: skipped again.
        assert_eq!(
            t.observe("t", 0, 60),
            Verdict::Reread {
                offset: 48,
                missing_from: 50
            }
        );
        assert_eq!(
            t.observe("t", 0, 60),
            Verdict::Reread {
                offset: 46,
                missing_from: 50
            }
        );
        // From 46 the batch before came whole: 46..49 seen, then 50 on.
        for o in 46..50 {
            assert_eq!(t.observe("t", 0, o), Verdict::Seen);
        }
        assert_eq!(t.observe("t", 0, 50), Verdict::Take);
        assert_eq!(t.rereading(), 0);
        assert_eq!(t.observe("t", 0, 51), Verdict::Take);
    }

    #[test]
    fn a_gap_that_stays_is_lost_past_the_distance() {
        let mut t = OffsetTracker::new(4);
        t.expect(p(), Some(100));
        let mut rereads = 0;
        let lost = loop {
            match t.observe("t", 0, 103) {
                Verdict::Reread { .. } => rereads += 1,
                other => break other,
            }
        };
        assert_eq!(rereads, 3, "distances 1, 2, 4");
        assert_eq!(
            lost,
            Verdict::Lost {
                missing_from: 100,
                count: 3,
                reread: true
            }
        );
        assert_eq!(t.observe("t", 0, 104), Verdict::Take);
    }

    #[test]
    fn without_re_reading_a_gap_is_lost_at_once() {
        let mut t = OffsetTracker::new(0);
        t.expect(p(), Some(10));
        assert_eq!(
            t.observe("t", 0, 12),
            Verdict::Lost {
                missing_from: 10,
                count: 2,
                reread: false
            }
        );
    }

    #[test]
    fn a_gap_near_the_start_stops_after_reading_from_zero() {
        let mut t = OffsetTracker::new(1_000);
        t.expect(p(), Some(2));
        assert!(matches!(
            t.observe("t", 0, 5),
            Verdict::Reread { offset: 1, .. }
        ));
        assert!(matches!(
            t.observe("t", 0, 5),
            Verdict::Reread { offset: 0, .. }
        ));
        assert!(matches!(
            t.observe("t", 0, 5),
            Verdict::Lost { count: 3, .. }
        ));
    }

    #[test]
    fn give_up_and_forget() {
        let mut t = OffsetTracker::new(100);
        t.expect(p(), Some(10));
        assert!(matches!(t.observe("t", 0, 20), Verdict::Reread { .. }));
        t.give_up("t", 0, 20);
        assert_eq!(t.observe("t", 0, 21), Verdict::Take);
        t.forget("t", 0);
        assert_eq!(t.observe("t", 0, 3), Verdict::Take, "forgotten: first seen");
        t.expect(p(), None);
        assert_eq!(t.observe("t", 0, 1), Verdict::Take, "no committed offset");
    }
}
