//! The aggregator configuration: one TOML file plus environment overrides, validated before
//! anything starts. Every field has a default, so an empty file is a valid config.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use service_kit::config::Env;
use store::ClickHouseConfig;

use crate::rules::Limits;

/// Everything `aggregator` needs to run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregatorConfig {
    /// Where the tables are.
    pub clickhouse: ClickHouseConfig,
    /// How often and how much it recomputes.
    pub cycle: CycleConfig,
    /// The time limits of the status rules.
    pub rules: RulesConfig,
    /// The metrics and health endpoint.
    pub http: HttpConfig,
    /// Who runs the cycles when several instances run (off: this one always does).
    pub lease: LeaseConfig,
}

/// The lease: several aggregator instances join one Kafka consumer group over a topic of
/// one partition; the member assigned that partition runs the cycles, the others stand by
/// (see `lease.rs`). Kafka's group membership decides; nothing of ours coordinates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaseConfig {
    /// Take part in the lease. Default false: this instance runs every cycle, as when it is
    /// the only one.
    pub enabled: bool,
    /// Kafka bootstrap servers. Default `127.0.0.1:9092`.
    pub brokers: String,
    /// The lease topic (one partition; created if missing). Default
    /// `synctel.aggregator-lease`.
    pub topic: String,
    /// Replication factor when the topic is created here. Default 1; 3 on a production
    /// Kafka cluster (or create the topic beforehand).
    pub replication_factor: i32,
    /// The consumer group of the aggregator instances. Default `synctel-aggregator`.
    pub group: String,
    /// Kafka session timeout: a holder that stops heartbeating loses the lease after this
    /// long on a broker that expires members, ms. Default 10000.
    pub session_timeout_ms: u64,
    /// How often the holder writes a heartbeat record to the lease partition, ms. Default
    /// 2000.
    pub heartbeat_ms: u64,
    /// A standby that sees no heartbeat for this long leaves the group and joins again, so
    /// the group forms anew around the live members (needed on brokers that keep a dead
    /// member's partitions, as tansu does), ms. Default 20000.
    pub takeover_after_ms: u64,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            brokers: "127.0.0.1:9092".to_owned(),
            topic: "synctel.aggregator-lease".to_owned(),
            replication_factor: 1,
            group: "synctel-aggregator".to_owned(),
            session_timeout_ms: 10_000,
            heartbeat_ms: 2_000,
            takeover_after_ms: 20_000,
        }
    }
}

/// The longest `cycle.session_lookback_days` (100 years; 0 turns it off).
pub const MAX_SESSION_LOOKBACK_DAYS: u32 = 36_500;

/// The recompute loop.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CycleConfig {
    /// Time between the starts of two cycles, ms. Default 5000.
    pub interval_ms: u64,
    /// Rows ingested in the last `settle_secs` seconds are left to the next cycle (an insert
    /// still in flight may carry an earlier `ingested_at`). Default 2.
    pub settle_secs: u32,
    /// Each cycle looks this far back before the watermark again, s; re-reading is harmless
    /// (recomputation is idempotent). Default 10.
    pub overlap_secs: u32,
    /// Users per recompute statement; more touched users are split into ranges of users.
    /// Default 20000.
    pub max_users_per_statement: u64,
    /// Sessions per statement when recomputing `session_state` (the first cycle recomputes
    /// every stored session); more are split into ranges of users. Default 1000000.
    pub max_sessions_per_statement: u64,
    /// A touched session's events are read from this many days before the earliest time
    /// the cycle's new session events carry (their `occurred_at` and the starts they
    /// report), so that the parts and months of `session_events` that cannot hold them are
    /// not read (docs/status-rules.md, "How far back a session's events are read"). An event of a session that occurred
    /// longer before than that (a session queued more than this long before it started)
    /// is not read again when the session is recomputed. 0: every event, however old.
    /// Default 7.
    pub session_lookback_days: u32,
    /// How often the users-per-status snapshot of the trend series is taken, ms. Default 60000.
    pub snapshot_interval_ms: u64,
    /// Advance a touched user from their stored row and the sessions touched since
    /// (`sql/advance_users.sql`) when the row allows it, instead of reading all their
    /// sessions again. Off: every touched user is recomputed from all their events, as in
    /// a first cycle or the first after the watermark was reset. The two give the same
    /// rows. Default true.
    pub advance_users: bool,
}

impl Default for CycleConfig {
    fn default() -> Self {
        Self {
            interval_ms: 5_000,
            settle_secs: 2,
            overlap_secs: 10,
            max_users_per_statement: 20_000,
            max_sessions_per_statement: 1_000_000,
            session_lookback_days: 7,
            snapshot_interval_ms: 60_000,
            advance_users: true,
        }
    }
}

impl CycleConfig {
    /// `interval_ms` as a duration.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

/// Time limits of the rules (see `docs/status-rules.md`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// A session running longer than this is Stalled, s. Default 3600.
    pub stall_after_secs: u64,
    /// An enabled user with no session for this long is flagged, s. Default 86400.
    pub no_session_after_secs: u64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            stall_after_secs: 3_600,
            no_session_after_secs: 86_400,
        }
    }
}

impl RulesConfig {
    /// As the pure rules take them.
    pub fn limits(&self) -> Limits {
        let ms = |s: u64| i64::try_from(s.saturating_mul(1_000)).unwrap_or(i64::MAX);
        Limits {
            stall_after_ms: ms(self.stall_after_secs),
            no_session_after_ms: ms(self.no_session_after_secs),
        }
    }
}

/// The `/metrics` and `/health` endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address. Default `127.0.0.1:9465`.
    pub listen: SocketAddr,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9465)),
        }
    }
}

pub use service_kit::config::ConfigError;

impl AggregatorConfig {
    /// Reads `path` (if any), applies overrides from `env`, validates.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config: AggregatorConfig = service_kit::config::read_toml(path)?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML text (no overrides, no validation).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Environment overrides: `SYNCTEL_CLICKHOUSE_{URL,USER,PASSWORD,DATABASE}`,
    /// `SYNCTEL_AGGREGATOR_LISTEN`, `SYNCTEL_AGGREGATOR_INTERVAL_MS`,
    /// `SYNCTEL_STALL_AFTER_SECS`, `SYNCTEL_NO_SESSION_AFTER_SECS`, `SYNCTEL_AGGREGATOR_LEASE`
    /// (`1`/`true` enables the lease), `SYNCTEL_KAFKA_BROKERS` (the lease's brokers),
    /// `SYNCTEL_AGGREGATOR_LEASE_TOPIC`, `SYNCTEL_AGGREGATOR_LEASE_GROUP`.
    pub fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let vars = Env(env);
        self.clickhouse.apply_env(env);
        vars.parse("SYNCTEL_AGGREGATOR_LISTEN", &mut self.http.listen)?;
        vars.parse(
            "SYNCTEL_AGGREGATOR_INTERVAL_MS",
            &mut self.cycle.interval_ms,
        )?;
        vars.parse("SYNCTEL_STALL_AFTER_SECS", &mut self.rules.stall_after_secs)?;
        vars.parse(
            "SYNCTEL_NO_SESSION_AFTER_SECS",
            &mut self.rules.no_session_after_secs,
        )?;
        if let Some(v) = env.get("SYNCTEL_AGGREGATOR_LEASE") {
            self.lease.enabled = match v.trim() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" | "" => false,
                other => {
                    return Err(ConfigError::Invalid {
                        field: "SYNCTEL_AGGREGATOR_LEASE",
                        message: format!("expected 1/true or 0/false, got {other:?}"),
                    })
                }
            };
        }
        vars.string("SYNCTEL_KAFKA_BROKERS", &mut self.lease.brokers);
        vars.string("SYNCTEL_AGGREGATOR_LEASE_TOPIC", &mut self.lease.topic);
        vars.string("SYNCTEL_AGGREGATOR_LEASE_GROUP", &mut self.lease.group);
        Ok(())
    }

    /// Checks every value; the first problem is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.clickhouse
            .validate()
            .map_err(|e| ConfigError::Invalid {
                field: "clickhouse",
                message: e.to_string(),
            })?;
        let positive = [
            ("cycle.interval_ms", self.cycle.interval_ms),
            (
                "cycle.max_users_per_statement",
                self.cycle.max_users_per_statement,
            ),
            (
                "cycle.max_sessions_per_statement",
                self.cycle.max_sessions_per_statement,
            ),
            (
                "cycle.snapshot_interval_ms",
                self.cycle.snapshot_interval_ms,
            ),
            ("rules.stall_after_secs", self.rules.stall_after_secs),
            (
                "rules.no_session_after_secs",
                self.rules.no_session_after_secs,
            ),
            ("lease.session_timeout_ms", self.lease.session_timeout_ms),
            ("lease.heartbeat_ms", self.lease.heartbeat_ms),
            ("lease.takeover_after_ms", self.lease.takeover_after_ms),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    message: "must be at least 1".to_owned(),
                });
            }
        }
        if self.cycle.session_lookback_days > MAX_SESSION_LOOKBACK_DAYS {
            return Err(ConfigError::Invalid {
                field: "cycle.session_lookback_days",
                message: format!(
                    "must be at most {MAX_SESSION_LOOKBACK_DAYS} (0 turns the lookback off)"
                ),
            });
        }
        if self.lease.enabled {
            let text = [
                ("lease.brokers", &self.lease.brokers),
                ("lease.topic", &self.lease.topic),
                ("lease.group", &self.lease.group),
            ];
            for (field, value) in text {
                if value.trim().is_empty() {
                    return Err(ConfigError::Invalid {
                        field,
                        message: "must not be empty".to_owned(),
                    });
                }
            }
            if self.lease.replication_factor < 1 {
                return Err(ConfigError::Invalid {
                    field: "lease.replication_factor",
                    message: "must be at least 1".to_owned(),
                });
            }
            if self.lease.takeover_after_ms < 2 * self.lease.heartbeat_ms {
                return Err(ConfigError::Invalid {
                    field: "lease.takeover_after_ms",
                    message: "must be at least twice lease.heartbeat_ms".to_owned(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_and_valid() {
        let config = AggregatorConfig::parse("").unwrap();
        assert_eq!(config, AggregatorConfig::default());
        config.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(AggregatorConfig::parse("[cycle]\nintervall_ms = 5").is_err());
    }

    #[test]
    fn env_overrides_the_file() {
        let mut config = AggregatorConfig::parse("[rules]\nstall_after_secs = 10").unwrap();
        let env: HashMap<String, String> = [
            ("SYNCTEL_CLICKHOUSE_DATABASE", "other"),
            ("SYNCTEL_STALL_AFTER_SECS", "20"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        config.apply_env(&env).unwrap();
        assert_eq!(config.clickhouse.database, "other");
        assert_eq!(config.rules.limits().stall_after_ms, 20_000);
    }

    #[test]
    fn invalid_values_name_their_field() {
        let mut config = AggregatorConfig::default();
        config.cycle.max_users_per_statement = 0;
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("cycle.max_users_per_statement"));
        let env: HashMap<String, String> =
            [("SYNCTEL_AGGREGATOR_LISTEN".to_owned(), "nope".to_owned())].into();
        let err = AggregatorConfig::load(None, &env).unwrap_err();
        assert!(err.to_string().contains("SYNCTEL_AGGREGATOR_LISTEN"));
    }

    #[test]
    fn the_session_lookback_is_a_week_zero_turns_it_off_and_a_century_is_the_most() {
        assert_eq!(AggregatorConfig::default().cycle.session_lookback_days, 7);
        let mut config = AggregatorConfig::parse("[cycle]\nsession_lookback_days = 0").unwrap();
        config.validate().unwrap();
        config.cycle.session_lookback_days = MAX_SESSION_LOOKBACK_DAYS;
        config.validate().unwrap();
        config.cycle.session_lookback_days = MAX_SESSION_LOOKBACK_DAYS + 1;
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("cycle.session_lookback_days"));
    }

    #[test]
    fn the_lease_is_off_by_default_and_checked_when_on() {
        assert!(!AggregatorConfig::default().lease.enabled);
        let env: HashMap<String, String> =
            [("SYNCTEL_AGGREGATOR_LEASE".to_owned(), "1".to_owned())].into();
        let config = AggregatorConfig::load(None, &env).unwrap();
        assert!(config.lease.enabled);
        let mut config = AggregatorConfig::parse(
            "[lease]\nenabled = true\nheartbeat_ms = 5000\ntakeover_after_ms = 6000",
        )
        .unwrap();
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("lease.takeover_after_ms"));
        config.lease.takeover_after_ms = 10_000;
        config.validate().unwrap();
        let env: HashMap<String, String> =
            [("SYNCTEL_AGGREGATOR_LEASE".to_owned(), "maybe".to_owned())].into();
        assert!(AggregatorConfig::load(None, &env).is_err());
    }
}
