//! The error type of the store crate.

use thiserror::Error;

/// What can go wrong talking to ClickHouse or applying migrations.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// ClickHouse answered with an error or could not be reached.
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    /// A migration that ran before has changed since.
    #[error("migration {version} ({name}) changed after it was applied: recorded checksum {recorded}, file checksum {current}")]
    ChecksumDrift {
        /// Migration version.
        version: u32,
        /// Migration name.
        name: String,
        /// Checksum recorded when it ran.
        recorded: String,
        /// Checksum of the embedded file.
        current: String,
    },
    /// The database has a migration this binary does not know: it is older than the schema.
    #[error("the database has migration {version} ({name}) that this binary does not know; deploy a newer binary")]
    UnknownMigration {
        /// Migration version.
        version: u32,
        /// Migration name.
        name: String,
    },
    /// Migrations are pending and the caller asked not to apply them.
    #[error("{count} migrations are not applied yet (first: {first}); run the migrator")]
    Pending {
        /// How many.
        count: usize,
        /// The first pending one.
        first: String,
    },
    /// The nodes of a cluster do not agree on the schema.
    #[error("the nodes of cluster {cluster} differ: {}", problems.join("; "))]
    ClusterDrift {
        /// The node-per-shard cluster checked.
        cluster: String,
        /// What differs.
        problems: Vec<String>,
    },
    /// A configuration value is unusable.
    #[error("invalid clickhouse config: {0}")]
    Config(String),
}

/// Result alias of the store crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The ClickHouse server error code, when ClickHouse answered with one
    /// (`Code: 53, e.displayText() = ...`).
    pub fn server_code(&self) -> Option<u32> {
        match self {
            StoreError::ClickHouse(e) => server_code(e),
            _ => None,
        }
    }
}

/// The server error code in a ClickHouse error, if any.
pub fn server_code(error: &clickhouse::error::Error) -> Option<u32> {
    let clickhouse::error::Error::BadResponse(text) = error else {
        return None;
    };
    let rest = &text[text.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
