//! Re-publishing dead letters once their cause is fixed (a new schema version deployed, a
//! producer bug fixed): each goes back to its original topic with its original key, and
//! with a header naming where it was dead-lettered from. Messages that are still bad just
//! come back to the dead-letter topic. Dead letters that kept only the first bytes of their
//! payload (`payload_truncated`, e.g. `oversized`) cannot be replayed and are left out.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use store::rows::DeadLetterRow;

use crate::config::IngestConfig;
use crate::error::IngestError;

/// Header on a replayed message: `topic/partition/offset` of the original.
pub const REPLAYED_FROM: &str = "synctel-replayed-from";

const QUERY: &str = include_str!("../sql/dead_letters_to_replay.sql");

/// Which dead letters to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayFilter {
    /// Received at or after, ms since the Unix epoch (default: the beginning).
    pub from_ms: Option<i64>,
    /// Received before, ms since the Unix epoch (default: the far future).
    pub to_ms: Option<i64>,
    /// Only this error kind (default: all).
    pub error_kind: Option<String>,
}

/// Republishes the selected dead letters; returns how many. With `dry_run`, only counts.
pub async fn replay(
    config: &IngestConfig,
    filter: &ReplayFilter,
    dry_run: bool,
) -> Result<u64, IngestError> {
    let kind = filter.error_kind.clone().unwrap_or_default();
    let letters: Vec<DeadLetterRow> = config
        .clickhouse
        .client()
        .query(QUERY)
        .bind(filter.from_ms.unwrap_or(0))
        .bind(filter.to_ms.unwrap_or(4_102_444_800_000))
        .bind(kind.as_str())
        .bind(kind.as_str())
        .fetch_all()
        .await
        .map_err(store::StoreError::from)?;
    if dry_run {
        return Ok(letters.len() as u64);
    }
    let producer =
        crate::kafka::dead_letter_producer(&config.kafka, config.dead_letters.max_payload_bytes)?;
    let mut sent = 0;
    for letter in &letters {
        let origin = format!("{}/{}/{}", letter.topic, letter.partition, letter.offset);
        let headers = OwnedHeaders::new().insert(Header {
            key: REPLAYED_FROM,
            value: Some(origin.as_str()),
        });
        let record = FutureRecord::to(&letter.topic)
            .key(letter.message_key.as_bytes())
            .payload(&letter.payload)
            .headers(headers);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| IngestError::Kafka(e))?;
        sent += 1;
    }
    tracing::info!(sent, "dead letters replayed");
    Ok(sent)
}
