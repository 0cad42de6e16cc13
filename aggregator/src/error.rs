//! The aggregator's error type.

use thiserror::Error;

/// Why the aggregator could not start or finish a cycle.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AggregatorError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The schema is missing, drifted or unreachable.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A query failed (retried on the next cycle).
    #[error("clickhouse {step}: {source}")]
    ClickHouse {
        /// The step of the cycle (`touched`, `recompute`, ...).
        step: &'static str,
        /// The error.
        source: clickhouse::error::Error,
    },
    /// The metrics endpoint could not listen.
    #[error("http listener: {0}")]
    Http(std::io::Error),
    /// The lease could not start (its topic could not be created, the Kafka client failed).
    #[error("lease: {0}")]
    Lease(String),
}

/// Result alias.
pub type Result<T, E = AggregatorError> = std::result::Result<T, E>;

/// Attaches the step name to a ClickHouse error.
pub(crate) fn at(step: &'static str) -> impl FnOnce(clickhouse::error::Error) -> AggregatorError {
    move |source| AggregatorError::ClickHouse { step, source }
}
