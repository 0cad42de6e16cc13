//! The one error type of the crate.

use thiserror::Error;

/// What can stop a retention run. Nothing is dropped after the first error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// A statement failed.
    #[error("clickhouse ({step}): {source}")]
    ClickHouse {
        /// Which statement.
        step: &'static str,
        /// Why.
        source: clickhouse::error::Error,
    },
    /// A managed table is not in the database (not migrated, or the wrong database).
    #[error("table {table} is not in database {database} (run the migrations first)")]
    MissingTable {
        /// The table.
        table: &'static str,
        /// The database.
        database: String,
    },
    /// A partition id that is not `YYYYMM`: the table is not partitioned by month.
    #[error("table {table} has partition {partition_id:?}, not a YYYYMM month: nothing of it is dropped")]
    NotAMonth {
        /// The table.
        table: &'static str,
        /// The id.
        partition_id: String,
    },
    /// The server's date could not be read.
    #[error("server date {0:?} is not YYYY-MM-DD")]
    ServerDate(String),
}

/// The crate's result.
pub type Result<T, E = RetentionError> = std::result::Result<T, E>;

/// Maps a ClickHouse error to [`RetentionError::ClickHouse`] for `step`.
pub(crate) fn at(step: &'static str) -> impl FnOnce(clickhouse::error::Error) -> RetentionError {
    move |source| RetentionError::ClickHouse { step, source }
}
