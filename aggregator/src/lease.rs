//! The lease: which of several aggregator instances runs the cycles.
//!
//! Kafka decides, as it decides which ingest instance reads which partition: every instance
//! joins the consumer group `lease.group` over `lease.topic`, a topic of one partition, and
//! the member assigned partition 0 holds the lease and runs the cycles; the others stand by
//! and take over when the group gives them the partition (the holder stopped, crashed or
//! lost its session). A cycle is one set of idempotent statements from a watermark kept in
//! ClickHouse, so an instance that takes over continues from where the last finished cycle
//! left off, and two holders overlap at most for the cycle the old one had in flight.
//!
//! The holder also writes a small heartbeat record to the partition every `heartbeat_ms`.
//! A standby watches the partition's end offset: when it has not moved for
//! `takeover_after_ms`, the holder is gone without the broker noticing (tansu keeps a dead
//! member's partitions; Apache Kafka drops them after `session.timeout.ms`), and the
//! standby leaves the group and joins again, so the group forms anew around the members
//! alive then. The same watch lets an instance restarted at once after a crash take the
//! lease back from its own dead predecessor.
//!
//! The Kafka client runs on a thread of its own (librdkafka's calls block); the cycle loop
//! reads [`Lease::held`] before every cycle.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::LeaseConfig;
use crate::error::{AggregatorError, Result};

/// The lease partition.
pub const PARTITION: i32 = 0;
const POLL: Duration = Duration::from_millis(200);
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// What the heartbeat watch is told while the partition's end cannot be read.
const UNREADABLE: i64 = -1;

/// Decides, from the lease partition's end offset seen over time, when the holder is gone:
/// true once the offset has not moved for `after`. Pure; the clock is passed in.
#[derive(Debug, Clone)]
pub struct HeartbeatWatch {
    after: Duration,
    last: Option<i64>,
    since: Instant,
}

impl HeartbeatWatch {
    /// A watch that starts waiting at `now`.
    pub fn new(after: Duration, now: Instant) -> Self {
        Self {
            after,
            last: None,
            since: now,
        }
    }

    /// Starts waiting again at `now` (after joining the group anew, or while holding).
    pub fn reset(&mut self, now: Instant) {
        self.last = None;
        self.since = now;
    }

    /// Records the end offset seen at `now`; true when it has not moved for `after`.
    pub fn stale(&mut self, end_offset: i64, now: Instant) -> bool {
        if self.last != Some(end_offset) {
            if self.last.is_some() {
                self.since = now;
            }
            self.last = Some(end_offset);
        }
        now.saturating_duration_since(self.since) >= self.after
    }
}

#[derive(Debug, Default)]
struct Shared {
    held: AtomicBool,
    stop: AtomicBool,
    rejoins: AtomicU64,
}

/// A running lease client.
pub struct Lease {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("held", &self.held())
            .field("rejoins", &self.rejoins())
            .finish()
    }
}

impl Lease {
    /// Creates the lease topic if it is missing, then joins the group on a thread of its
    /// own.
    pub async fn start(cfg: &LeaseConfig) -> Result<Self> {
        ensure_topic(cfg).await?;
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("aggregator-lease".to_owned())
            .spawn({
                let cfg = cfg.clone();
                let shared = shared.clone();
                move || run(&cfg, &shared)
            })
            .map_err(|e| AggregatorError::Lease(format!("starting the lease thread: {e}")))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether this instance holds the lease now.
    pub fn held(&self) -> bool {
        self.shared.held.load(Ordering::Acquire)
    }

    /// How many times this instance left the group and joined again because no heartbeat
    /// came.
    pub fn rejoins(&self) -> u64 {
        self.shared.rejoins.load(Ordering::Relaxed)
    }

    /// Leaves the group (the lease goes to another member at once) and ends the thread.
    /// Blocks up to a few seconds: call it off the async runtime.
    pub fn stop(mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the lease thread panicked");
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
    }
}

async fn ensure_topic(cfg: &LeaseConfig) -> Result<()> {
    let fail = |e: KafkaError| AggregatorError::Lease(format!("creating {}: {e}", cfg.topic));
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .create()
        .map_err(fail)?;
    let topic = NewTopic::new(
        &cfg.topic,
        1,
        TopicReplication::Fixed(cfg.replication_factor),
    );
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics([&topic], &opts).await.map_err(fail)? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(AggregatorError::Lease(format!("creating {name}: {code}")));
            }
        }
    }
    Ok(())
}

/// [`ensure_topic`] from the lease thread.
fn ensure_topic_blocking(cfg: &LeaseConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AggregatorError::Lease(format!("a runtime for the admin client: {e}")))?;
    runtime.block_on(ensure_topic(cfg))
}

fn consumer(cfg: &LeaseConfig) -> std::result::Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", &cfg.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", cfg.session_timeout_ms.to_string())
        .create()?;
    consumer.subscribe(&[&cfg.topic])?;
    Ok(consumer)
}

fn producer(cfg: &LeaseConfig) -> std::result::Result<BaseProducer, KafkaError> {
    ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("message.timeout.ms", cfg.takeover_after_ms.to_string())
        .create()
}

fn holds(consumer: &BaseConsumer, topic: &str) -> bool {
    consumer.assignment().is_ok_and(|tpl| {
        tpl.elements()
            .iter()
            .any(|e| e.topic() == topic && e.partition() == PARTITION)
    })
}

/// The lease thread: joins, reports whether partition 0 is held, writes heartbeats while
/// it is, and joins again when a standby sees none.
fn run(cfg: &LeaseConfig, shared: &Shared) {
    let heartbeat = Duration::from_millis(cfg.heartbeat_ms);
    let identity = format!(
        "{}:{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "aggregator".to_owned()),
        std::process::id()
    );
    let mut watch =
        HeartbeatWatch::new(Duration::from_millis(cfg.takeover_after_ms), Instant::now());
    'join: while !shared.stop.load(Ordering::Acquire) {
        let (consumer, producer) = match consumer(cfg).and_then(|c| Ok((c, producer(cfg)?))) {
            Ok(clients) => clients,
            Err(e) => {
                tracing::warn!(error = %e, "joining the lease group failed; retrying");
                std::thread::sleep(RETRY_AFTER);
                continue;
            }
        };
        watch.reset(Instant::now());
        let mut beat_at: Option<Instant> = None;
        let mut looked_at = Instant::now();
        loop {
            if shared.stop.load(Ordering::Acquire) {
                shared.held.store(false, Ordering::Release);
                consumer.unsubscribe();
                let _ = producer.flush(Duration::from_secs(2));
                break 'join;
            }
            if let Some(Err(e)) = consumer.poll(POLL) {
                tracing::debug!(error = %e, "lease consumer");
            }
            producer.poll(Duration::ZERO);
            let held = holds(&consumer, &cfg.topic);
            if held != shared.held.swap(held, Ordering::AcqRel) {
                if held {
                    tracing::info!(group = %cfg.group, "lease taken: this instance runs the cycles");
                } else {
                    tracing::info!(group = %cfg.group, "lease lost: standing by");
                }
            }
            let now = Instant::now();
            if held {
                watch.reset(now);
                if beat_at.is_none_or(|at| now.duration_since(at) >= heartbeat) {
                    let record = BaseRecord::<(), str>::to(&cfg.topic)
                        .partition(PARTITION)
                        .payload(&identity);
                    if let Err((e, _)) = producer.send(record) {
                        tracing::warn!(error = %e, "lease heartbeat not sent");
                    }
                    beat_at = Some(now);
                }
                continue;
            }
            beat_at = None;
            if now.duration_since(looked_at) < heartbeat {
                continue;
            }
            looked_at = now;
            match consumer.fetch_watermarks(&cfg.topic, PARTITION, LOOKUP_TIMEOUT) {
                Ok((_, end)) if watch.stale(end, Instant::now()) => {
                    tracing::warn!(
                        group = %cfg.group,
                        waited_ms = cfg.takeover_after_ms,
                        "no lease heartbeat: leaving the group and joining again"
                    );
                    shared.rejoins.fetch_add(1, Ordering::Relaxed);
                    consumer.unsubscribe();
                    continue 'join;
                }
                Ok(_) => {}
                // The topic may be gone (deleted, or a broker that lost it): after the same
                // wait, create it again and join anew, or nobody would ever hold the lease.
                Err(e) if watch.stale(UNREADABLE, Instant::now()) => {
                    tracing::warn!(error = %e, topic = %cfg.topic, "the lease partition cannot be read: creating the topic and joining again");
                    if let Err(e) = ensure_topic_blocking(cfg) {
                        tracing::warn!(error = %e, "creating the lease topic failed");
                    }
                    shared.rejoins.fetch_add(1, Ordering::Relaxed);
                    consumer.unsubscribe();
                    continue 'join;
                }
                Err(e) => tracing::debug!(error = %e, "reading the lease partition's end"),
            }
        }
    }
    shared.held.store(false, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_end_offset_is_a_live_holder_and_a_still_one_is_not() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut watch = HeartbeatWatch::new(s(20), t0);
        assert!(!watch.stale(5, t0 + s(2)));
        assert!(!watch.stale(6, t0 + s(15))); // moved: waiting starts again
        assert!(!watch.stale(6, t0 + s(30)));
        assert!(watch.stale(6, t0 + s(35)));
        watch.reset(t0 + s(36));
        assert!(!watch.stale(6, t0 + s(40)));
        assert!(watch.stale(6, t0 + s(56)));
    }

    #[test]
    fn a_partition_never_written_is_stale_after_the_wait() {
        let t0 = Instant::now();
        let mut watch = HeartbeatWatch::new(Duration::from_secs(20), t0);
        assert!(!watch.stale(0, t0 + Duration::from_secs(19)));
        assert!(watch.stale(0, t0 + Duration::from_secs(20)));
    }
}
