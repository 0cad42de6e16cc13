//! Pure: the offsets each partition delivers, checked for gaps.
//!
//! Within a partition Kafka offsets follow each other; a message whose offset is past the
//! next one expected means messages were skipped. That happens on any broker when the
//! consumer fell behind retention (`auto.offset.reset`), on compacted topics and at
//! transaction markers, and on brokers that answer a fetch starting inside a record batch
//! from the next batch (tansu: after a pause, a seek, or a restart from a committed offset
//! in the middle of a producer's batch).
//!
//! A gap at the end of a partition shows no later message: the tracker also compares,
//! every few seconds, each partition's next offset with the end the broker reports; a
//! partition behind its end that delivered nothing since the last look is re-read the
//! same way.
//!
//! On a gap the tracker asks for the partition to be re-read from a little earlier,
//! doubling the distance each time the gap remains (a fetch from inside the batch before
//! the skipped one returns that batch whole), up to a limit; past it, or when the
//! broker's log starts after the gap (retention), the gap is accepted as lost, so the
//! caller counts and logs it. Re-read messages are dropped here (their rows are already in
//! a batch or stored), so re-reading is harmless.

use std::collections::HashMap;

use crate::batch::Partition;

/// A partition behind its end is stuck after this many calls of
/// [`OffsetTracker::stuck`] with no message from it.
pub const STUCK_AFTER_CHECKS: u32 = 2;

/// The first re-read starts this many messages before the gap; each next one twice as far.
pub const FIRST_DISTANCE: i64 = 1;

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The next message of its partition (or the first seen): take it.
    Take,
    /// Read before (a re-read after a seek back): drop it.
    Seen,
    /// The first message of a gap being re-read came: take it, the gap is closed.
    Recovered {
        /// The first offset that was missing.
        missing_from: i64,
    },
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
    /// Calls of [`OffsetTracker::stuck`] since a message of the partition arrived.
    idle_checks: u32,
}

impl State {
    fn at(next: i64) -> Self {
        Self {
            next,
            rereading: None,
            idle_checks: 0,
        }
    }

    /// The next step for a gap from `self.next` to `seen` (exclusive).
    fn gap(&mut self, seen: i64, max_distance: i64) -> Verdict {
        let missing_from = self.next;
        let distance = match self.rereading {
            None => FIRST_DISTANCE,
            Some(d) => d.saturating_mul(2),
        };
        // Offset 0 starts a batch: when a re-read from there still has the gap, it is real.
        let tried_from_start = matches!(self.rereading, Some(d) if missing_from - d <= 0);
        if distance > max_distance || tried_from_start {
            let reread = self.rereading.is_some();
            self.next = seen + 1;
            self.rereading = None;
            return Verdict::Lost {
                missing_from,
                count: seen - missing_from,
                reread,
            };
        }
        self.rereading = Some(distance);
        Verdict::Reread {
            offset: (missing_from - distance).max(0),
            missing_from,
        }
    }
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
                self.partitions.insert(partition, State::at(next));
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
            self.partitions
                .insert((topic.to_owned(), partition), State::at(offset + 1));
            return Verdict::Take;
        };
        state.idle_checks = 0;
        if offset < state.next {
            return Verdict::Seen;
        }
        if offset == state.next {
            state.next = offset + 1;
            if state.rereading.take().is_some() {
                return Verdict::Recovered {
                    missing_from: offset,
                };
            }
            return Verdict::Take;
        }
        state.gap(offset, self.max_distance)
    }

    /// Every second or so, with the end offset the broker reports for each partition: a
    /// partition behind its end that delivered no message for [`STUCK_AFTER_CHECKS`]
    /// calls is stuck in a gap at its end. Returns what to do for each:
    /// [`Verdict::Reread`], or [`Verdict::Lost`] (counting up to the end) once re-reading
    /// cannot help.
    pub fn stuck(&mut self, ends: &HashMap<Partition, i64>) -> Vec<(Partition, Verdict)> {
        let mut out = Vec::new();
        for (partition, state) in &mut self.partitions {
            let Some(end) = ends.get(partition).filter(|end| **end > state.next) else {
                state.idle_checks = 0; // not behind: nothing to wait for
                continue;
            };
            state.idle_checks += 1;
            if state.idle_checks <= STUCK_AFTER_CHECKS {
                continue;
            }
            state.idle_checks = 0;
            let verdict = state.gap(*end, self.max_distance);
            if let Verdict::Lost { .. } = verdict {
                // Nothing after the gap arrived: expect the end next.
                state.next = *end;
            }
            out.push((partition.clone(), verdict));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Counts every partition as active (reading was held back or paused: no message
    /// says nothing about gaps).
    pub fn mark_active(&mut self) {
        for state in self.partitions.values_mut() {
            state.idle_checks = 0;
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
        assert_eq!(
            t.observe("t", 0, 50),
            Verdict::Recovered { missing_from: 50 }
        );
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
    fn a_gap_at_the_end_is_found_by_the_end_offset() {
        let mut t = OffsetTracker::new(4);
        t.expect(p(), Some(50));
        assert_eq!(t.observe("t", 0, 50), Verdict::Take);
        let ends: HashMap<Partition, i64> = [(p(), 60)].into();
        // Stuck after STUCK_AFTER_CHECKS quiet looks, then re-read, each time further back.
        let next_verdict = |t: &mut OffsetTracker| loop {
            if let Some((_, v)) = t.stuck(&ends).pop() {
                break v;
            }
        };
        assert_eq!(
            next_verdict(&mut t),
            Verdict::Reread {
                offset: 50,
                missing_from: 51
            }
        );
        // Re-read messages arriving count as activity.
        assert_eq!(t.observe("t", 0, 50), Verdict::Seen);
        for _ in 0..STUCK_AFTER_CHECKS {
            assert!(t.stuck(&ends).is_empty());
        }
        assert!(matches!(
            t.stuck(&ends)[0].1,
            Verdict::Reread { offset: 49, .. }
        ));
        assert!(matches!(
            next_verdict(&mut t),
            Verdict::Reread { offset: 47, .. }
        ));
        assert_eq!(
            next_verdict(&mut t),
            Verdict::Lost {
                missing_from: 51,
                count: 9,
                reread: true
            }
        );
        for _ in 0..10 {
            assert!(t.stuck(&ends).is_empty(), "at the end now");
        }
        assert_eq!(t.observe("t", 0, 60), Verdict::Take);
        // Caught up: not stuck.
        let ends: HashMap<Partition, i64> = [(p(), 61)].into();
        for _ in 0..10 {
            assert!(t.stuck(&ends).is_empty());
        }
        // Not looked at while held back.
        let ends: HashMap<Partition, i64> = [(p(), 70)].into();
        for _ in 0..STUCK_AFTER_CHECKS {
            assert!(t.stuck(&ends).is_empty());
            t.mark_active();
        }
        assert!(t.stuck(&ends).is_empty());
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
