//! Why `ingest` stopped.

use thiserror::Error;

use crate::sink::SinkError;

/// A reason to stop. Offsets past the last stored batch are never committed, so every
/// one of these is safe to restart from.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The config is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Kafka client error (creating, subscribing, committing at shutdown).
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The ClickHouse schema is missing, drifted, or the server refused us.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A batch can never be stored.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// Too much of the input is bad: stopped without committing.
    #[error("dead-letter guard tripped: {dead} of the last {total} messages were bad; stopped without committing")]
    DeadLetterGuard {
        /// Dead letters in the window.
        dead: usize,
        /// Messages in the window.
        total: usize,
    },
    /// A row could not be encoded, not even a dead letter's (a bug in a row type).
    #[error("encoding a row for ClickHouse: {0}")]
    Encode(#[from] store::rowbinary::EncodeError),
    /// The metrics endpoint could not be opened.
    #[error("metrics endpoint: {0}")]
    Http(#[source] std::io::Error),
}
