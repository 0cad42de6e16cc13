//! The ingest configuration: one TOML file plus environment overrides, validated before
//! anything starts. Every field has a default, so an empty file is a valid config.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use service_kit::config::Env;
use store::ClickHouseConfig;

/// Everything `ingest` needs to run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Kafka side.
    pub kafka: KafkaConfig,
    /// ClickHouse side.
    pub clickhouse: ClickHouseConfig,
    /// When a batch is cut.
    pub batch: BatchConfig,
    /// Retries while ClickHouse or the broker is unavailable.
    pub retry: RetryConfig,
    /// The dead-letter guard.
    pub dead_letters: DeadLetterConfig,
    /// The metrics and health endpoint.
    pub http: HttpConfig,
    /// When `/health` reports ingest as stalled.
    pub health: HealthConfig,
}

/// Kafka consumer settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers. Default `127.0.0.1:9092`.
    pub brokers: String,
    /// Consumer group. Default `synctel-ingest`.
    pub group_id: String,
    /// Topics to consume. Default `synctel.events`, `synctel.logs`.
    pub topics: Vec<String>,
    /// Where bad messages go. Default `synctel.deadletter`.
    pub dead_letter_topic: String,
    /// Group session timeout, ms. Default 30000.
    pub session_timeout_ms: u32,
    /// Max time between polls before the group evicts us, ms. Default 300000. We keep
    /// polling during ClickHouse outages (partitions paused), so this is never hit by them.
    pub max_poll_interval_ms: u32,
    /// librdkafka prefetch cap per partition, KiB. Default 8192.
    pub queued_max_messages_kbytes: u32,
    /// A larger message is dead-lettered as `oversized` without being decoded, bytes.
    /// Default 1000000 (librdkafka's default `message.max.bytes`).
    pub max_message_bytes: usize,
    /// Static group membership (`group.instance.id`): a restarted instance with the same
    /// id takes its partitions back at once on brokers that support it (Apache Kafka 2.3+).
    /// Unique per running instance. Default empty (dynamic membership).
    pub group_instance_id: String,
    /// With no partition assigned for this long while the group's partitions are not
    /// being consumed, or with partitions while other members' partitions stay unconsumed
    /// for this long (see `group.rs`), leave the group and join again, ms. 0 never;
    /// otherwise more than `session_timeout_ms` (a dead member must have left the group by
    /// then). Default 45000.
    pub rejoin_after_unassigned_ms: u64,
    /// How far back, in messages, a gap in a partition's offsets is re-read before it is
    /// accepted as lost (counted and logged either way); 0 never re-reads. Default 65536.
    pub gap_recovery_max_messages: i64,
    /// Extra librdkafka properties, e.g. `security.protocol`.
    pub extra: HashMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".to_owned(),
            group_id: "synctel-ingest".to_owned(),
            topics: vec!["synctel.events".to_owned(), "synctel.logs".to_owned()],
            dead_letter_topic: "synctel.deadletter".to_owned(),
            session_timeout_ms: 30_000,
            max_poll_interval_ms: 300_000,
            queued_max_messages_kbytes: 8_192,
            max_message_bytes: 1_000_000,
            group_instance_id: String::new(),
            rejoin_after_unassigned_ms: 45_000,
            gap_recovery_max_messages: 65_536,
            extra: HashMap::new(),
        }
    }
}

/// When a batch is cut: whichever limit is reached first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchConfig {
    /// Messages per batch. Default 50000.
    pub max_messages: usize,
    /// Payload bytes per batch. Default 32 MiB.
    pub max_bytes: usize,
    /// Age of the oldest message in the batch, ms. Default 1000.
    pub max_age_ms: u64,
    /// While a batch is being stored and the next one is full, ingest stops reading (the
    /// broker client's prefetch queue fills and fetching stops) for up to this long before
    /// it pauses its partitions and polls again, ms. Default 120000; less than
    /// `kafka.max_poll_interval_ms`.
    pub hold_max_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_messages: 50_000,
            max_bytes: 32 << 20,
            max_age_ms: 1_000,
            hold_max_ms: 120_000,
        }
    }
}

impl BatchConfig {
    /// `max_age_ms` as a duration.
    pub fn max_age(&self) -> Duration {
        Duration::from_millis(self.max_age_ms)
    }
}

/// Capped exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// First wait, ms. Default 100.
    pub initial_backoff_ms: u64,
    /// Longest wait, ms. Default 10000.
    pub max_backoff_ms: u64,
    /// On shutdown, how long to keep trying to flush the last batch, ms. Default 10000.
    pub shutdown_flush_timeout_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff_ms: 100,
            max_backoff_ms: 10_000,
            shutdown_flush_timeout_ms: 10_000,
        }
    }
}

/// The dead-letter ratio guard: stop (without committing) when too much input is bad.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadLetterConfig {
    /// Largest share of dead letters among the last `window` messages. Default 0.5.
    pub max_ratio: f64,
    /// Messages the ratio is computed over. Default 1000.
    pub window: usize,
    /// The guard only trips once the window holds this many messages. Default 100.
    pub min_messages: usize,
    /// A dead letter keeps at most this many bytes of its payload (the rest is described
    /// by its size and SHA-256), bytes. Default 1000000.
    pub max_payload_bytes: usize,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        Self {
            max_ratio: 0.5,
            window: 1_000,
            min_messages: 100,
            max_payload_bytes: 1_000_000,
        }
    }
}

/// The HTTP endpoint for `/metrics` and `/health`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address. Default `127.0.0.1:9464`; port 0 picks a free port.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// When `/health` answers 503 (a supervisor restarts ingest on it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// Stalled: messages are waiting (lag) and no batch was stored for this long, ms.
    /// Default 120000.
    pub stall_after_ms: u64,
    /// Stalled: no partition assigned for this long, ms. Default 120000.
    pub unassigned_after_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            stall_after_ms: 120_000,
            unassigned_after_ms: 120_000,
        }
    }
}

pub use service_kit::config::ConfigError;

impl IngestConfig {
    /// Reads `path` (if any), applies overrides from `env`, validates.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config: IngestConfig = service_kit::config::read_toml(path)?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (unknown keys are an error).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Environment overrides (the names `deploy/stack.sh env` prints; see README):
    /// `SYNCTEL_KAFKA_BROKERS`, `SYNCTEL_INGEST_GROUP_ID`, `SYNCTEL_EVENTS_TOPIC` and
    /// `SYNCTEL_LOGS_TOPIC` (or `SYNCTEL_INGEST_TOPICS`, comma separated, which wins),
    /// `SYNCTEL_DEADLETTER_TOPIC`, `SYNCTEL_CLICKHOUSE_{URL,USER,PASSWORD,DATABASE}`,
    /// `SYNCTEL_INGEST_LISTEN`.
    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let vars = Env(env);
        vars.string("SYNCTEL_KAFKA_BROKERS", &mut self.kafka.brokers);
        vars.string("SYNCTEL_INGEST_GROUP_ID", &mut self.kafka.group_id);
        vars.string(
            "SYNCTEL_INGEST_INSTANCE_ID",
            &mut self.kafka.group_instance_id,
        );
        let events = vars.get("SYNCTEL_EVENTS_TOPIC");
        let logs = vars.get("SYNCTEL_LOGS_TOPIC");
        if events.is_some() || logs.is_some() {
            let default = KafkaConfig::default().topics;
            self.kafka.topics = vec![
                events.unwrap_or_else(|| default[0].clone()),
                logs.unwrap_or_else(|| default[1].clone()),
            ];
        }
        if let Some(v) = vars.get("SYNCTEL_INGEST_TOPICS") {
            self.kafka.topics = v.split(',').map(|t| t.trim().to_owned()).collect();
        }
        vars.string(
            "SYNCTEL_DEADLETTER_TOPIC",
            &mut self.kafka.dead_letter_topic,
        );
        self.clickhouse.apply_env(env);
        vars.parse("SYNCTEL_INGEST_LISTEN", &mut self.http.listen)
    }

    /// The size limits decoding applies.
    pub fn limits(&self) -> crate::decode::Limits {
        crate::decode::Limits {
            max_message_bytes: self.kafka.max_message_bytes,
            max_dead_letter_payload_bytes: self.dead_letters.max_payload_bytes,
        }
    }

    /// Checks every value; the first problem is returned, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.kafka.brokers.trim().is_empty() {
            return invalid("kafka.brokers", "must not be empty");
        }
        if self.kafka.group_id.trim().is_empty() {
            return invalid("kafka.group_id", "must not be empty");
        }
        if self.kafka.topics.is_empty() || self.kafka.topics.iter().any(|t| t.trim().is_empty()) {
            return invalid("kafka.topics", "must list at least one non-empty topic");
        }
        if self.kafka.dead_letter_topic.trim().is_empty() {
            return invalid("kafka.dead_letter_topic", "must not be empty");
        }
        if self.kafka.topics.contains(&self.kafka.dead_letter_topic) {
            return invalid("kafka.dead_letter_topic", "must not be one of kafka.topics");
        }
        if self.kafka.max_poll_interval_ms <= self.kafka.session_timeout_ms {
            return invalid(
                "kafka.max_poll_interval_ms",
                "must be larger than kafka.session_timeout_ms",
            );
        }
        self.clickhouse
            .validate()
            .or_else(|e| invalid("clickhouse", &e.to_string()))?;
        if self.batch.max_messages == 0 {
            return invalid("batch.max_messages", "must be at least 1");
        }
        if self.batch.max_bytes < 1024 {
            return invalid("batch.max_bytes", "must be at least 1024");
        }
        if self.batch.hold_max_ms >= u64::from(self.kafka.max_poll_interval_ms) {
            return invalid(
                "batch.hold_max_ms",
                "must be less than kafka.max_poll_interval_ms",
            );
        }
        if self.kafka.rejoin_after_unassigned_ms != 0
            && self.kafka.rejoin_after_unassigned_ms <= u64::from(self.kafka.session_timeout_ms)
        {
            return invalid(
                "kafka.rejoin_after_unassigned_ms",
                "must be 0 or more than kafka.session_timeout_ms",
            );
        }
        if self.kafka.max_message_bytes == 0 {
            return invalid("kafka.max_message_bytes", "must be at least 1");
        }
        if self.kafka.gap_recovery_max_messages < 0 {
            return invalid("kafka.gap_recovery_max_messages", "must not be negative");
        }
        if self.dead_letters.max_payload_bytes > 100_000_000 {
            return invalid(
                "dead_letters.max_payload_bytes",
                "must be at most 100000000 (the dead-letter producer's message.max.bytes)",
            );
        }
        if !(10..=60_000).contains(&self.batch.max_age_ms) {
            return invalid("batch.max_age_ms", "must be between 10 and 60000");
        }
        if self.retry.initial_backoff_ms == 0
            || self.retry.max_backoff_ms < self.retry.initial_backoff_ms
        {
            return invalid(
                "retry",
                "initial_backoff_ms must be positive and at most max_backoff_ms",
            );
        }
        if !(0.0..=1.0).contains(&self.dead_letters.max_ratio) || self.dead_letters.max_ratio == 0.0
        {
            return invalid("dead_letters.max_ratio", "must be in (0, 1]");
        }
        if self.dead_letters.window == 0
            || self.dead_letters.min_messages > self.dead_letters.window
        {
            return invalid(
                "dead_letters.window",
                "must be positive and at least dead_letters.min_messages",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_and_valid() {
        let config = IngestConfig::parse("").unwrap();
        assert_eq!(config, IngestConfig::default());
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = IngestConfig::parse("[batch]\nmax_rows = 5\n").unwrap_err();
        assert!(err.to_string().contains("max_rows"), "{err}");
    }

    #[test]
    fn env_overrides_the_file() {
        let mut config = IngestConfig::parse("[kafka]\nbrokers = \"a:1\"\n").unwrap();
        let env: HashMap<String, String> = [
            ("SYNCTEL_KAFKA_BROKERS", "b:2"),
            ("SYNCTEL_INGEST_TOPICS", "x, y"),
            ("SYNCTEL_CLICKHOUSE_DATABASE", "other"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        config.apply_env(&env).unwrap();
        assert_eq!(config.kafka.brokers, "b:2");
        assert_eq!(config.kafka.topics, vec!["x", "y"]);
        assert_eq!(config.clickhouse.database, "other");
    }

    #[test]
    fn invalid_values_name_their_field() {
        let cases: &[(&str, &str)] = &[
            ("[batch]\nmax_messages = 0\n", "batch.max_messages"),
            ("[batch]\nmax_age_ms = 5\n", "batch.max_age_ms"),
            ("[kafka]\ntopics = []\n", "kafka.topics"),
            (
                "[kafka]\ndead_letter_topic = \"synctel.events\"\n",
                "kafka.dead_letter_topic",
            ),
            (
                "[dead_letters]\nmax_ratio = 1.5\n",
                "dead_letters.max_ratio",
            ),
            ("[clickhouse]\nurl = \"localhost\"\n", "clickhouse"),
            ("[batch]\nhold_max_ms = 300000\n", "batch.hold_max_ms"),
            (
                "[dead_letters]\nmax_payload_bytes = 200000000\n",
                "dead_letters.max_payload_bytes",
            ),
            ("[clickhouse]\ndatabase = \"a;DROP\"\n", "clickhouse"),
        ];
        for (text, field) in cases {
            let err = IngestConfig::parse(text).unwrap().validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { field: f, .. } if f == field),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let env: HashMap<String, String> =
            [("SYNCTEL_INGEST_LISTEN".to_owned(), "nope".to_owned())].into();
        let err = IngestConfig::load(None, &env).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Env {
                var: "SYNCTEL_INGEST_LISTEN",
                ..
            }
        ));
    }
}
