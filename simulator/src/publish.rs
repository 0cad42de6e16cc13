//! Publishing records to Kafka, paced, with progress reports and delivery accounting.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::ClientContext;
use thiserror::Error;

use crate::record::{Record, Route};

/// How fast to publish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// As fast as the broker takes them.
    Unlimited,
    /// At most this many messages per second.
    Rate(f64),
    /// Each record when the wall clock reaches its `at_ms` (live mode).
    RealTime,
}

/// Where and how to publish.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// Topic for events.
    pub events_topic: String,
    /// Topic for session logs.
    pub logs_topic: String,
    /// Pacing.
    pub pace: Pace,
    /// How often to report progress.
    pub progress_every: Duration,
    /// Most messages per produced record batch (librdkafka `batch.num.messages`).
    /// Tests against tansu use 1: its memory engine answers a fetch that starts inside a
    /// batch with the following batch, skipping the rest (see deploy/README.md).
    pub max_batch_messages: u32,
}

/// Progress of a publishing run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Messages handed to the producer.
    pub sent: u64,
    /// Messages the broker acknowledged.
    pub delivered: u64,
    /// Seconds since the start.
    pub elapsed_secs: f64,
    /// Simulated time of the last message, ms since the Unix epoch.
    pub at_ms: i64,
}

/// Why publishing failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The producer could not be created.
    #[error("creating the producer: {0}")]
    Producer(#[source] KafkaError),
    /// A message could not be queued.
    #[error("queueing a message: {0}")]
    Send(#[source] KafkaError),
    /// The broker did not acknowledge every message.
    #[error("{failed} messages were not delivered; first error: {first_error}")]
    Undelivered {
        /// Messages that failed.
        failed: u64,
        /// The first delivery error.
        first_error: String,
    },
    /// Flushing at the end timed out.
    #[error("flushing the producer: {0}")]
    Flush(#[source] KafkaError),
}

#[derive(Default)]
struct Delivery {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

struct Counting(Arc<Delivery>);

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.0.first_error.lock() {
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// Publishes every record (until `stop` is set), calling `on_progress` every
/// `progress_every`; waits for every delivery before returning.
pub fn publish(
    records: impl Iterator<Item = Record>,
    cfg: &PublishConfig,
    stop: &AtomicBool,
    mut on_progress: impl FnMut(Progress),
) -> Result<Progress, PublishError> {
    let delivery = Arc::new(Delivery::default());
    let producer: ThreadedProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("linger.ms", "5")
        .set("batch.num.messages", cfg.max_batch_messages.to_string())
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "300000")
        .set("acks", "all")
        .create_with_context(Counting(delivery.clone()))
        .map_err(PublishError::Producer)?;
    let started = Instant::now();
    let mut last_report = started;
    let mut sent = 0u64;
    let mut at_ms = 0i64;
    for record in records {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        pace(cfg.pace, sent, started, record.at_ms);
        let topic = match record.route {
            Route::Events => &cfg.events_topic,
            Route::Logs => &cfg.logs_topic,
        };
        let mut message = BaseRecord::to(topic)
            .key(&record.key)
            .payload(&record.payload);
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    message = back;
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err((e, _)) => return Err(PublishError::Send(e)),
            }
        }
        sent += 1;
        at_ms = record.at_ms;
        if last_report.elapsed() >= cfg.progress_every {
            last_report = Instant::now();
            on_progress(progress(sent, &delivery, started, at_ms));
        }
    }
    producer
        .flush(Timeout::After(Duration::from_secs(300)))
        .map_err(PublishError::Flush)?;
    let failed = delivery.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first_error = delivery
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_default();
        return Err(PublishError::Undelivered {
            failed,
            first_error,
        });
    }
    Ok(progress(sent, &delivery, started, at_ms))
}

fn progress(sent: u64, delivery: &Delivery, started: Instant, at_ms: i64) -> Progress {
    Progress {
        sent,
        delivered: delivery.delivered.load(Ordering::Relaxed),
        elapsed_secs: started.elapsed().as_secs_f64(),
        at_ms,
    }
}

fn pace(pace: Pace, sent: u64, started: Instant, at_ms: i64) {
    let wait = match pace {
        Pace::Unlimited => return,
        Pace::Rate(rate) => {
            let due = Duration::from_secs_f64(sent as f64 / rate);
            due.saturating_sub(started.elapsed())
        }
        Pace::RealTime => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            Duration::from_millis(at_ms.saturating_sub(now_ms).max(0) as u64)
        }
    };
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
}
