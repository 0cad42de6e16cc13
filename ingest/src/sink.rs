//! Storing a batch: dead letters to the dead-letter topic, then one INSERT per table.
//! Each step is done once per batch even when a later one is retried, and retries are safe
//! because storage is idempotent (ReplacingMergeTree keyed by event identity).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clickhouse::Client;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use store::rowbinary::EncodedRows;
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
    /// Size of the original payload, bytes (decimal).
    pub const PAYLOAD_BYTES: &str = "synctel-payload-bytes";
    /// Hex SHA-256 of the original payload.
    pub const PAYLOAD_SHA256: &str = "synctel-payload-sha256";
    /// `1` when the record carries only the first bytes of the payload (or none), `0`
    /// when it carries all of it.
    pub const PAYLOAD_TRUNCATED: &str = "synctel-payload-truncated";
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
    /// The dead-letter topic refuses us for good (authorization, an invalid topic): the
    /// consumer stops without committing, so nothing is skipped.
    #[error("the dead-letter topic refused the dead letters: {message}")]
    DeadLetterTopicRefused {
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
/// 47 UNKNOWN_IDENTIFIER, 53 TYPE_MISMATCH, 62 SYNTAX_ERROR, 69 ARGUMENT_OUT_OF_BOUND,
/// 70 CANNOT_CONVERT_TYPE, 72 CANNOT_PARSE_NUMBER, 117 INCORRECT_DATA, 497 ACCESS_DENIED,
/// 516 AUTHENTICATION_FAILED.)
///
/// A missing table or database (60 UNKNOWN_TABLE, 81 UNKNOWN_DATABASE) is not among them:
/// it is a schema change in progress, waited out like an outage. `migrate --rewrite` drops
/// and creates `session_events`' materialized view again while ingest writes, and an insert
/// that met the moment between the two failed with "Table ...ingest_touches_sessions
/// doesn't exist" (seen on the cluster); the same insert succeeds a moment later.
pub const BAD_DATA_CODES: &[u32] = &[
    6, 16, 26, 27, 33, 38, 41, 47, 53, 62, 69, 70, 72, 117, 497, 516,
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

/// What a failure to publish one dead letter means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishFailure {
    /// This record can never be accepted as it is (too large, invalid): send it again
    /// without its payload, then give up on the topic for it (the table keeps it).
    Poison,
    /// The broker is away, slow or electing a leader: retry with backoff.
    Retryable,
    /// We are not allowed, or the topic cannot exist: stop without committing.
    Fatal,
}

/// Sorts a dead-letter publishing error.
pub fn classify_publish(error: &KafkaError) -> PublishFailure {
    use RDKafkaErrorCode as C;
    let Some(code) = error.rdkafka_error_code() else {
        return PublishFailure::Retryable;
    };
    match code {
        C::MessageSizeTooLarge
        | C::MessageBatchTooLarge
        | C::InvalidMessageSize
        | C::InvalidMessage
        | C::InvalidRecord
        | C::BadMessage
        | C::UnsupportedForMessageFormat
        | C::PolicyViolation => PublishFailure::Poison,
        C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::SaslAuthenticationFailed
        | C::Authentication
        | C::InvalidTopic
        | C::InvalidRequiredAcks
        | C::Fatal => PublishFailure::Fatal,
        _ => PublishFailure::Retryable,
    }
}

/// Progress of one batch through the sink, so retries redo only what failed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteProgress {
    /// Every dead letter of the batch is published (or refused for good).
    pub dead_letters_published: bool,
    /// Per dead letter: acknowledged by the broker or refused for good (empty until the
    /// first attempt), so a retry publishes only the others.
    pub dead_letters_done: Vec<bool>,
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
    /// ClickHouse's clock minus ours, ms, and when it was read.
    clock: std::sync::Mutex<Option<(std::time::Instant, i64)>>,
}

/// How often the sink reads ClickHouse's clock again.
const CLOCK_REFRESH: Duration = Duration::from_secs(60);

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Sink {
    /// A sink writing with `client` and dead-lettering to `dead_letter_topic`.
    pub fn new(client: Client, producer: FutureProducer, dead_letter_topic: String) -> Self {
        Self {
            client,
            producer,
            dead_letter_topic,
            insert_timeout: Duration::from_secs(60),
            clock: std::sync::Mutex::new(None),
        }
    }

    /// Now by ClickHouse's clock, s: the `ingested_at` of a batch. The aggregator's
    /// windows are read on ClickHouse's clock, so several ingest hosts whose clocks differ
    /// still stamp rows on one time line. The offset is read once a minute; while
    /// ClickHouse does not answer, the last offset (or none) is used.
    pub async fn server_time_s(&self) -> u32 {
        let cached = *self
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let offset_ms = match cached {
            Some((read, offset)) if read.elapsed() < CLOCK_REFRESH => offset,
            _ => {
                let before = wall_ms();
                let server = self
                    .client
                    .query("SELECT toUInt32(now())")
                    .fetch_one::<u32>()
                    .await;
                let after = wall_ms();
                match server {
                    Ok(server_s) => {
                        let offset = i64::from(server_s) * 1_000 + 500 - (before + after) / 2;
                        *self
                            .clock
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) =
                            Some((std::time::Instant::now(), offset));
                        offset
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "could not read ClickHouse's clock");
                        cached.map_or(0, |(_, offset)| offset)
                    }
                }
            }
        };
        u32::try_from((wall_ms() + offset_ms) / 1_000).unwrap_or(u32::MAX)
    }

    /// Writes what `progress` says is not done yet; updates it as steps succeed.
    pub async fn write(
        &self,
        batch: &Batch,
        progress: &mut WriteProgress,
        metrics: &Metrics,
    ) -> Result<(), SinkError> {
        if !progress.dead_letters_published {
            if progress.dead_letters_done.len() != batch.dead_letters.len() {
                progress.dead_letters_done = vec![false; batch.dead_letters.len()];
            }
            self.publish_dead_letters(
                &batch.dead_letters,
                &mut progress.dead_letters_done,
                metrics,
            )
            .await?;
            progress.dead_letters_published = true;
            for d in &batch.dead_letters {
                if d.payload_truncated == 1 {
                    metrics.dead_letters_truncated.inc();
                }
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
                0 => self.insert_encoded(table, &batch.sessions).await?,
                1 => self.insert_encoded(table, &batch.issues).await?,
                2 => self.insert_encoded(table, &batch.log_lines).await?,
                3 => self.insert_encoded(table, &batch.user_states).await?,
                4 => self.insert_encoded(table, &batch.profile_states).await?,
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

    async fn insert_encoded<T>(
        &self,
        table: &'static str,
        rows: &EncodedRows<T>,
    ) -> Result<u64, SinkError>
    where
        T: clickhouse::RowWrite,
    {
        rows.insert(&self.client, table, self.insert_timeout)
            .await
            .map_err(|e| classify(table, &e))?;
        Ok(rows.len() as u64)
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

    /// Enqueues every dead letter not yet done at once, then waits for every
    /// acknowledgement; marks in `done` those acknowledged. A dead letter the topic refuses
    /// as it is (too large for the topic, invalid) is sent again without its payload; one
    /// refused even so is counted, logged and left to the `dead_letters` table. A retryable
    /// failure returns after every delivery was awaited, so the retry only sends the rest.
    async fn publish_dead_letters(
        &self,
        dead: &[DeadLetterRow],
        done: &mut [bool],
        metrics: &Metrics,
    ) -> Result<(), SinkError> {
        let now_ms = now_ms().to_string();
        let mut retryable: Option<String> = None;
        let mut poison = Vec::new();
        let mut deliveries = Vec::new();
        for (i, d) in dead.iter().enumerate() {
            if done[i] {
                continue;
            }
            match self
                .send(d, &d.payload, d.payload_truncated == 1, &now_ms)
                .await
            {
                Ok(delivery) => deliveries.push((i, delivery)),
                Err(e) => match classify_publish(&e) {
                    PublishFailure::Poison => poison.push((i, e)),
                    PublishFailure::Retryable => {
                        retryable.get_or_insert(e.to_string());
                    }
                    PublishFailure::Fatal => return Err(refused(&e)),
                },
            }
        }
        for (i, delivery) in deliveries {
            match delivery.await {
                Ok(Ok(_)) => done[i] = true,
                Ok(Err((e, _))) => match classify_publish(&e) {
                    PublishFailure::Poison => poison.push((i, e)),
                    PublishFailure::Retryable => {
                        retryable.get_or_insert(e.to_string());
                    }
                    PublishFailure::Fatal => return Err(refused(&e)),
                },
                Err(_) => {
                    retryable.get_or_insert("the producer was dropped".to_owned());
                }
            }
        }
        for (i, first) in poison {
            let d = &dead[i];
            let outcome = match self.send(d, &[], true, &now_ms).await {
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((e, _))) => Err(e),
                    Err(_) => {
                        retryable.get_or_insert("the producer was dropped".to_owned());
                        continue;
                    }
                },
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    tracing::warn!(
                        topic = %d.topic, partition = d.partition, offset = d.offset,
                        payload_bytes = d.payload_bytes, error = %first,
                        "dead letter published without its payload"
                    );
                    done[i] = true;
                }
                Err(e) => match classify_publish(&e) {
                    PublishFailure::Poison => {
                        tracing::error!(
                            topic = %d.topic, partition = d.partition, offset = d.offset,
                            error = %e,
                            "the dead-letter topic refused a dead letter; it is kept in the dead_letters table only"
                        );
                        metrics.dead_letters_unpublished.inc();
                        done[i] = true;
                    }
                    PublishFailure::Retryable => {
                        retryable.get_or_insert(e.to_string());
                    }
                    PublishFailure::Fatal => return Err(refused(&e)),
                },
            }
        }
        match retryable {
            Some(message) => Err(SinkError::Retryable {
                target: "dead_letter_topic",
                message,
            }),
            None => Ok(()),
        }
    }

    /// Enqueues one dead letter with `payload` (waits while the producer's queue is full).
    async fn send(
        &self,
        d: &DeadLetterRow,
        payload: &[u8],
        truncated: bool,
        now_ms: &str,
    ) -> Result<rdkafka::producer::DeliveryFuture, KafkaError> {
        let partition = d.partition.to_string();
        let offset = d.offset.to_string();
        let timestamp = d.message_timestamp_ms.to_string();
        let size = d.payload_bytes.to_string();
        let headers = OwnedHeaders::new()
            .insert(header(headers::ERROR_KIND, &d.error_kind))
            .insert(header(headers::ERROR_MESSAGE, &d.error_message))
            .insert(header(headers::ORIGIN_TOPIC, &d.topic))
            .insert(header(headers::ORIGIN_PARTITION, &partition))
            .insert(header(headers::ORIGIN_OFFSET, &offset))
            .insert(header(headers::ORIGIN_TIMESTAMP_MS, &timestamp))
            .insert(header(headers::DEAD_LETTERED_AT_MS, now_ms))
            .insert(header(headers::PAYLOAD_BYTES, &size))
            .insert(header(headers::PAYLOAD_SHA256, &d.payload_sha256))
            .insert(header(
                headers::PAYLOAD_TRUNCATED,
                if truncated { "1" } else { "0" },
            ));
        let mut record = FutureRecord::to(&self.dead_letter_topic)
            .key(d.message_key.as_bytes())
            .payload(payload)
            .headers(headers);
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }
}

fn refused(e: &KafkaError) -> SinkError {
    SinkError::DeadLetterTopicRefused {
        message: e.to_string(),
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

    fn server(code: u32, text: &str) -> clickhouse::error::Error {
        clickhouse::error::Error::BadResponse(format!(
            "Code: {code}, e.displayText() = DB::Exception: {text}"
        ))
    }

    /// Every ClickHouse failure the writer can meet, sorted.
    #[test]
    fn every_clickhouse_failure_is_sorted() {
        let retryable = [
            (159, "Timeout exceeded"),
            (164, "Cannot execute query in readonly mode"),
            (202, "Too many simultaneous queries"),
            (209, "Socket timeout"),
            (210, "Connection refused"),
            (241, "Memory limit (total) exceeded"),
            (242, "Table is in readonly mode (ZooKeeper down)"),
            (252, "Too many parts"),
            (225, "ZooKeeper session expired (cluster)"),
            (279, "All connection tries failed (a shard down, cluster)"),
            (319, "Unknown status, client must retry"),
            (999, "Keeper exception"),
            (
                60,
                "Table db.ingest_touches_sessions doesn't exist (a rewrite's view swap)",
            ),
            (81, "Database db doesn't exist (being created)"),
        ];
        for (code, text) in retryable {
            assert!(classify("t", &server(code, text)).is_retryable(), "{code}");
        }
        for code in BAD_DATA_CODES {
            assert!(
                matches!(classify("t", &server(*code, "x")), SinkError::Fatal { code: Some(c), .. } if c == *code),
                "{code}"
            );
        }
        for e in [
            clickhouse::error::Error::Network("reset by peer".into()),
            clickhouse::error::Error::TimedOut,
        ] {
            assert!(classify("t", &e).is_retryable(), "{e}");
        }
    }

    /// Every failure of the dead-letter path, sorted.
    #[test]
    fn every_dead_letter_failure_is_sorted() {
        use RDKafkaErrorCode as C;
        let produce = KafkaError::MessageProduction;
        for code in [
            C::MessageSizeTooLarge,
            C::MessageBatchTooLarge,
            C::InvalidMessageSize,
            C::InvalidMessage,
            C::InvalidRecord,
            C::BadMessage,
            C::UnsupportedForMessageFormat,
            C::PolicyViolation,
        ] {
            assert_eq!(
                classify_publish(&produce(code)),
                PublishFailure::Poison,
                "{code:?}"
            );
        }
        for code in [
            C::MessageTimedOut,
            C::BrokerTransportFailure,
            C::AllBrokersDown,
            C::LeaderNotAvailable,
            C::NotLeaderForPartition,
            C::UnknownTopicOrPartition,
            C::UnknownTopic,
            C::NotEnoughReplicas,
            C::NotEnoughReplicasAfterAppend,
            C::RequestTimedOut,
            C::QueueFull,
        ] {
            assert_eq!(
                classify_publish(&produce(code)),
                PublishFailure::Retryable,
                "{code:?}"
            );
        }
        for code in [
            C::TopicAuthorizationFailed,
            C::ClusterAuthorizationFailed,
            C::SaslAuthenticationFailed,
            C::Authentication,
            C::InvalidTopic,
            C::InvalidRequiredAcks,
            C::Fatal,
        ] {
            assert_eq!(
                classify_publish(&produce(code)),
                PublishFailure::Fatal,
                "{code:?}"
            );
        }
        assert_eq!(
            classify_publish(&KafkaError::Canceled),
            PublishFailure::Retryable
        );
    }
}
