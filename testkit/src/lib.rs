//! Helpers for integration tests against the real ClickHouse and broker.
