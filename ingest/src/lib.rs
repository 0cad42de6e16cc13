//! Ingest service: Kafka to ClickHouse (issue 3; not built yet).
