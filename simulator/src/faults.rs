//! Delivery faults on top of the generated stream: duplicates, out-of-order delivery and
//! malformed messages, each at its configured rate, counted in the manifest.

use std::collections::{BTreeMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemas::Event;

use crate::config::SimConfig;
use crate::manifest::{Manifest, ManifestBuilder};
use crate::record::Record;

/// Ways a malformed message is damaged. Each maps to one decode or contract error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// Empty payload.
    Empty,
    /// A valid message cut short.
    Truncated,
    /// First byte not the magic 0.
    BadMagicByte,
    /// A schema id no version has.
    UnknownSchemaId,
    /// A string length prefix far past the end of the message.
    HugeLength,
    /// Random bytes after a valid header.
    Garbage,
    /// Valid Avro that breaks the contract (empty id, end before start, error code 7).
    ContractViolation,
}

impl Damage {
    /// Every kind of damage.
    pub const ALL: [Damage; 7] = [
        Damage::Empty,
        Damage::Truncated,
        Damage::BadMagicByte,
        Damage::UnknownSchemaId,
        Damage::HugeLength,
        Damage::Garbage,
        Damage::ContractViolation,
    ];

    /// Stable name, used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Damage::Empty => "empty",
            Damage::Truncated => "truncated",
            Damage::BadMagicByte => "bad_magic_byte",
            Damage::UnknownSchemaId => "unknown_schema_id",
            Damage::HugeLength => "huge_length",
            Damage::Garbage => "garbage",
            Damage::ContractViolation => "contract_violation",
        }
    }

    /// A damaged copy of `event`'s message.
    pub fn apply(self, event: &Event, rng: &mut impl Rng) -> Vec<u8> {
        let valid = schemas::wire::encode(event);
        match self {
            Damage::Empty => Vec::new(),
            Damage::Truncated => {
                let cut = rng.random_range(1..valid.len().max(2));
                valid[..cut.min(valid.len().saturating_sub(1))].to_vec()
            }
            Damage::BadMagicByte => {
                let mut bytes = valid;
                bytes[0] = rng.random_range(1..=255);
                bytes
            }
            Damage::UnknownSchemaId => {
                let mut bytes = valid;
                bytes[1..5].copy_from_slice(&999_999u32.to_be_bytes());
                bytes
            }
            Damage::HugeLength => {
                // Header of the real schema, then a string length of 2^40 bytes: zigzag
                // 2^41 as a varint.
                let mut bytes = valid[..5].to_vec();
                let mut n: u64 = 1 << 41;
                while n >= 0x80 {
                    bytes.push((n as u8) | 0x80);
                    n >>= 7;
                }
                bytes.push(n as u8);
                bytes
            }
            Damage::Garbage => {
                let mut bytes = valid[..5].to_vec();
                let len = rng.random_range(1..64);
                bytes.extend((0..len).map(|_| rng.random::<u8>()));
                bytes
            }
            Damage::ContractViolation => schemas::wire::encode(&violate(event.clone())),
        }
    }
}

/// The same event with one contract rule broken.
fn violate(mut event: Event) -> Event {
    match &mut event {
        Event::SessionEnded(e) => e.ended_at_ms = e.started_at_ms - 1_000,
        Event::SyncIssue(i) => i.error_code = 7,
        Event::ProfileState(p) => p.event_id.clear(),
        Event::SessionQueued(e) => e.header.event_id.clear(),
        Event::SessionStarted(e) => e.header.tenant_id.clear(),
        Event::SessionLog(e) => e.session_id.clear(),
        Event::UserState(e) => e.header.user_id.clear(),
    }
    event
}

/// Wraps an event stream and yields the records to publish, faults included.
pub struct FaultInjector<I> {
    events: I,
    rng: ChaCha8Rng,
    duplicate_rate: f64,
    reorder_rate: f64,
    malformed_rate: f64,
    manifest: ManifestBuilder,
    /// Records held back, by the emitted-count at which they are released.
    held: BTreeMap<(u64, u64), Record>,
    ready: VecDeque<Record>,
    emitted: u64,
    held_seq: u64,
    done: bool,
}

impl<I: Iterator<Item = Event>> FaultInjector<I> {
    /// Applies `cfg`'s fault rates to `events`.
    pub fn new(events: I, cfg: &SimConfig, end_ms: i64) -> Self {
        Self {
            events,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed_fa17),
            duplicate_rate: cfg.duplicate_rate,
            reorder_rate: cfg.reorder_rate,
            malformed_rate: cfg.malformed_rate,
            manifest: ManifestBuilder::new(cfg.seed, cfg.start_ms, end_ms),
            held: BTreeMap::new(),
            ready: VecDeque::new(),
            emitted: 0,
            held_seq: 0,
            done: false,
        }
    }

    /// The wrapped event stream.
    pub fn inner(&self) -> &I {
        &self.events
    }

    /// The manifest of everything yielded so far; call after the iterator is exhausted.
    pub fn finish(self) -> Manifest {
        self.manifest.finish()
    }

    fn hold(&mut self, record: Record, after: u64) {
        self.held_seq += 1;
        self.held
            .insert((self.emitted + after, self.held_seq), record);
    }

    /// Pulls one event from the source and queues what it turns into; false at the end.
    fn pull(&mut self) -> bool {
        let Some(event) = self.events.next() else {
            return false;
        };
        self.manifest.apply(&event);
        let record = Record::from_event(&event);
        if self.rng.random_bool(self.malformed_rate) {
            let damage = Damage::ALL[self.rng.random_range(0..Damage::ALL.len())];
            let payload = damage.apply(&event, &mut self.rng);
            *self
                .manifest
                .messages()
                .malformed
                .entry(damage.as_str().to_owned())
                .or_default() += 1;
            self.ready.push_back(Record {
                payload,
                ..record.clone()
            });
        }
        if self.rng.random_bool(self.duplicate_rate) {
            self.manifest.messages().duplicates += 1;
            let after = self.rng.random_range(0..32);
            self.hold(record.clone(), after);
        }
        if self.rng.random_bool(self.reorder_rate) {
            self.manifest.messages().reordered += 1;
            // Mostly a few messages late (an end before its start), sometimes far behind
            // (a replay of old traffic).
            let after = if self.rng.random_bool(0.8) {
                self.rng.random_range(1..8)
            } else {
                self.rng.random_range(8..5_000)
            };
            self.hold(record, after);
        } else {
            self.ready.push_back(record);
        }
        true
    }
}

impl<I: Iterator<Item = Event>> Iterator for FaultInjector<I> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(entry) = self.held.first_entry() {
                if entry.key().0 <= self.emitted || self.done {
                    let record = entry.remove();
                    return Some(self.emit(record));
                }
            }
            if let Some(record) = self.ready.pop_front() {
                return Some(self.emit(record));
            }
            if self.done {
                return None;
            }
            if !self.pull() {
                self.done = true;
            }
        }
    }
}

impl<I> FaultInjector<I> {
    fn emit(&mut self, record: Record) -> Record {
        self.emitted += 1;
        self.manifest.messages().published += 1;
        record
    }
}
