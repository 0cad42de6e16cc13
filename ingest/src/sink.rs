//! Storing a batch: dead letters to the dead-letter topic, then one INSERT per table.
//! Each step is done once per batch even when a later one is retried, and retries are safe
//! because storage is idempotent (ReplacingMergeTree keyed by event identity).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clickhouse::Client;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use store::rows::DeadLetterRow;
use thiserror::Error;

use crate::batch::Batch;
use crate::metrics::{Metrics, ReasonLabel, TableLabel};

/// Header names on dead-letter messages.
pub mod headers {
    /// Stable reason, e.g. `truncated`, `contract_violation`.
    pub const ERROR_KIND: &str = "synctel-error-kind";
    /// Human readable reason.
    pub const ERROR_MESSAGE: &str = "synctel-error-message";
    /// Topic the message was read from.
    pub const ORIGIN_TOPIC: &str = "synctel-origin-topic";
    /// Its partition (decimal).
    pub const ORIGIN_PARTITION: &str = "synctel-origin-partition";
    /// Its offset (decimal).
    pub const ORIGIN_OFFSET: &str = "synctel-origin-offset";
    /// Its timestamp, ms since the Unix epoch (decimal).
    pub const ORIGIN_TIMESTAMP_MS: &str = "synctel-origin-timestamp-ms";
    /// When it was dead-lettered, ms since the Unix epoch (decimal).
    pub const DEAD_LETTERED_AT_MS: &str = "synctel-dead-lettered-at-ms";
}

/// Why a write failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Worth retrying: the server is down, busy or slow.
    #[error("retryable {target} error: {message}")]
    Retryable {
        /// `clickhouse` or `dead_letter_topic`.
        target: &'static str,
        /// The error.
        message: String,
    },
    /// Retrying cannot help (the rows do not fit the tables: a schema mismatch). The
    /// consumer stops without committing, so nothing is skipped.
    #[error("clickhouse rejected the rows of {table} (code {code:?}): {message}")]
    Fatal {
        /// The table.
        table: &'static str,
        /// ClickHouse error code, if any.
        code: Option<u32>,
        /// The error.
        message: String,
    },
}

impl SinkError {
    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Retryable { .. })
    }
}

/// ClickHouse error codes that mean the data or the schema is wrong: retrying the same
/// rows cannot succeed. (6 CANNOT_PARSE_TEXT, 16 NO_SUCH_COLUMN_IN_TABLE, 26/27 parse
/// errors, 33 CANNOT_READ_ALL_DATA, 38 CANNOT_PARSE_DATE, 41 CANNOT_PARSE_DATETIME,
/// 47 UNKNOWN_IDENTIFIER, 53 TYPE_MISMATCH, 60 UNKNOWN_TABLE, 62 SYNTAX_ERROR,
/// 69 ARGUMENT_OUT_OF_BOUND, 70 CANNOT_CONVERT_TYPE, 72 CANNOT_PARSE_NUMBER,
/// 81 UNKNOWN_DATABASE, 117 INCORRECT_DATA, 497 ACCESS_DENIED, 516 AUTHENTICATION_FAILED.)
pub const BAD_DATA_CODES: &[u32] = &[
    6, 16, 26, 27, 33, 38, 41, 47, 53, 60, 62, 69, 70, 72, 81, 117, 497, 516,
];

/// Sorts a ClickHouse error into retryable or fatal.
pub fn classify(table: &'static str, error: &clickhouse::error::Error) -> SinkError {
    let code = store::error::server_code(error);
    match code {
        Some(c) if BAD_DATA_CODES.contains(&c) => SinkError::Fatal {
            table,
            code,
            message: error.to_string(),
        },
        _ => SinkError::Retryable {
            target: "clickhouse",
            message: format!("{table}: {error}"),
        },
    }
}

/// Progress of one batch through the sink, so retries redo only what failed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteProgress {
    /// Dead letters published to the dead-letter topic.
    pub dead_letters_published: bool,
    /// Tables done, in [`TABLES`] order.
    pub tables_done: [bool; TABLES.len()],
}

/// The tables a batch writes to, in write order.
pub const TABLES: [&str; 6] = [
    "session_events",
    "issue_events",
    "log_lines",
    "user_state_events",
    "profile_state_events",
    "dead_letters",
];

/// Where batches go.
pub struct Sink {
    client: Client,
    producer: FutureProducer,
    dead_letter_topic: String,
    insert_timeout: Duration,
}

impl Sink {
    /// A sink writing with `client` and dead-lettering to `dead_letter_topic`.
    pub fn new(client: Client, producer: FutureProducer, dead_letter_topic: String) -> Self {
        Self {
            client,
            producer,
            dead_letter_topic,
            insert_timeout: Duration::from_secs(60),
        }
    }

    /// Writes what `progress` says is not done yet; updates it as steps succeed.
    pub async fn write(
        &self,
        batch: &Batch,
        progress: &mut WriteProgress,
        metrics: &Metrics,
    ) -> Result<(), SinkError> {
        if !progress.dead_letters_published {
            self.publish_dead_letters(&batch.dead_letters).await?;
            progress.dead_letters_published = true;
            for d in &batch.dead_letters {
                metrics
                    .dead_lettered
                    .get_or_create(&ReasonLabel {
                        reason: d.error_kind.clone(),
                    })
                    .inc();
            }
        }
        for (i, table) in TABLES.into_iter().enumerate() {
            if progress.tables_done[i] {
                continue;
            }
            let rows = match i {
                0 => self.insert(table, &batch.sessions).await?,
                1 => self.insert(table, &batch.issues).await?,
                2 => self.insert(table, &batch.log_lines).await?,
                3 => self.insert(table, &batch.user_states).await?,
                4 => self.insert(table, &batch.profile_states).await?,
                _ => self.insert(table, &batch.dead_letters).await?,
            };
            progress.tables_done[i] = true;
            metrics
                .inserted_rows
                .get_or_create(&TableLabel { table })
                .inc_by(rows);
        }
        Ok(())
    }

    async fn insert<T>(&self, table: &'static str, rows: &[T]) -> Result<u64, SinkError>
    where
        T: clickhouse::RowOwned + clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut insert = self
            .client
            .insert::<T>(table)
            .await
            .map_err(|e| classify(table, &e))?
            .with_timeouts(Some(self.insert_timeout), Some(self.insert_timeout));
        for row in rows {
            insert.write(row).await.map_err(|e| classify(table, &e))?;
        }
        insert.end().await.map_err(|e| classify(table, &e))?;
        Ok(rows.len() as u64)
    }

    /// Enqueues every dead letter at once, then waits for every acknowledgement.
    async fn publish_dead_letters(&self, dead: &[DeadLetterRow]) -> Result<(), SinkError> {
        let failed = |message: String| SinkError::Retryable {
            target: "dead_letter_topic",
            message,
        };
        let now_ms = now_ms().to_string();
        let mut deliveries = Vec::with_capacity(dead.len());
        for d in dead {
            let partition = d.partition.to_string();
            let offset = d.offset.to_string();
            let timestamp = d.message_timestamp_ms.to_string();
            let headers = OwnedHeaders::new()
                .insert(header(headers::ERROR_KIND, &d.error_kind))
                .insert(header(headers::ERROR_MESSAGE, &d.error_message))
                .insert(header(headers::ORIGIN_TOPIC, &d.topic))
                .insert(header(headers::ORIGIN_PARTITION, &partition))
                .insert(header(headers::ORIGIN_OFFSET, &offset))
                .insert(header(headers::ORIGIN_TIMESTAMP_MS, &timestamp))
                .insert(header(headers::DEAD_LETTERED_AT_MS, &now_ms));
            let mut record = FutureRecord::to(&self.dead_letter_topic)
                .key(d.message_key.as_bytes())
                .payload(&d.payload)
                .headers(headers);
            loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => break deliveries.push(delivery),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => return Err(failed(e.to_string())),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(failed(e.to_string())),
                Err(_) => return Err(failed("the producer was dropped".to_owned())),
            }
        }
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// Now, ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_data_is_fatal_and_outages_are_retryable() {
        let bad = clickhouse::error::Error::BadResponse(
            "Code: 53, e.displayText() = DB::Exception: Type mismatch".to_owned(),
        );
        assert!(matches!(
            classify("t", &bad),
            SinkError::Fatal { code: Some(53), .. }
        ));
        let busy = clickhouse::error::Error::BadResponse(
            "Code: 252, e.displayText() = DB::Exception: Too many parts".to_owned(),
        );
        assert!(classify("t", &busy).is_retryable());
        let down = clickhouse::error::Error::Network("connection refused".into());
        assert!(classify("t", &down).is_retryable());
    }
}
