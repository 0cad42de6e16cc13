//! The ClickHouse side of the pipeline.
//!
//! - [`migrate`]: the numbered `.sql` migrations under `deploy/clickhouse/migrations/`,
//!   embedded in the binary, and the migrator that applies them once, records their
//!   checksums, and refuses to run on drift.
//! - [`rewrite`]: migrations that rewrite a table (a layout ClickHouse cannot alter).
//! - [`rows`]: one row type per raw table, as `ingest` inserts them.
//! - [`rowbinary`]: rows kept as the RowBinary bytes an `INSERT` sends.
//! - [`ClickHouseConfig`]: where the server is and how to connect.
//! - [`cluster`]: the same migrations rendered for a ClickHouse cluster (replicated,
//!   sharded tables under their usual names), when the config names one.
//!
//! Every statement runs on ClickHouse 18.16 and on current ClickHouse (checked by
//! `deploy/clickhouse/portability/run.sh`).

mod client;
pub mod cluster;
pub mod error;
pub mod migrate;
pub mod migrate_cluster;
pub mod rewrite;
pub mod rowbinary;
pub mod rows;

pub use client::{secrets_database, ClickHouseConfig};
pub use cluster::ClusterConfig;
pub use error::{Result, StoreError};
