//! The retention configuration: one TOML file plus environment overrides, validated before
//! anything runs. Every field has a default, so an empty file is a valid config.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
pub use service_kit::config::ConfigError;
use service_kit::config::Env;
use store::{ClickHouseConfig, ClusterConfig};

use crate::tables::Kind;

/// Smallest period other than 0 (keep forever), days: at least one whole month is kept.
pub const MIN_KEEP_DAYS: u32 = 31;
/// Largest period, days (100 years).
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// Everything `retention` needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// The database whose tables are trimmed.
    pub clickhouse: ClickHouseConfig,
    /// How long each kind of data is kept.
    pub keep_days: KeepDays,
    /// The cluster's name, when the services' `[clickhouse.cluster]` section is not given
    /// (its defaults then apply). With either, the user-keyed tables are trimmed in their
    /// local replicated tables on every shard (`ALTER TABLE <t>_local ON CLUSTER <name>
    /// DROP PARTITION`), the others (replicated on every node) on one replica.
    /// Default empty: one server.
    pub cluster: String,
}

/// How long each kind of data is kept, in days; 0 keeps it forever. A monthly partition is
/// dropped once its whole month is older than the period (see [`crate::plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepDays {
    /// `log_lines`. Default 90.
    pub logs: u32,
    /// `session_events` and the aggregator's `session_state` and `session_counts`.
    /// Default 400.
    pub sessions: u32,
    /// `issue_events` and the aggregator's `issue_counts`. Default 400.
    pub issues: u32,
    /// The aggregator's users-per-status snapshots, `user_status_counts`. Default 400.
    pub status_series: u32,
    /// `dead_letters`. Default 90.
    pub dead_letters: u32,
    /// The audit trail of admin actions, `admin_actions`. Default 1825 (5 years).
    pub audit: u32,
    /// `ingest_touches`, the aggregator's index of what was stored when, and
    /// `session_state_by_cycle`, its session rows of each cycle: it only needs the
    /// rows its next cycle reads, so keep it longer than the aggregator could ever be
    /// stopped (a cycle after a longer stop misses the dropped months' events until a full
    /// recompute). Default 62.
    pub touches: u32,
}

impl Default for KeepDays {
    fn default() -> Self {
        Self {
            logs: 90,
            sessions: 400,
            issues: 400,
            status_series: 400,
            dead_letters: 90,
            audit: 1_825,
            touches: 62,
        }
    }
}

impl KeepDays {
    /// The period of `kind`, days (0: forever).
    pub fn of(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Logs => self.logs,
            Kind::Sessions => self.sessions,
            Kind::Issues => self.issues,
            Kind::StatusSeries => self.status_series,
            Kind::DeadLetters => self.dead_letters,
            Kind::Audit => self.audit,
            Kind::Touches => self.touches,
        }
    }
}

impl RetentionConfig {
    /// Reads `path` (if any), applies overrides from `env`, validates.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config: RetentionConfig = service_kit::config::read_toml(path)?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (unknown keys are an error).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Environment overrides: `SYNCTEL_CLICKHOUSE_{URL,USER,PASSWORD,DATABASE}`,
    /// `SYNCTEL_RETENTION_CLUSTER`, and `SYNCTEL_RETENTION_<KIND>_DAYS` for `LOGS`,
    /// `SESSIONS`, `ISSUES`, `STATUS_SERIES`, `DEAD_LETTERS`, `AUDIT`, `TOUCHES`.
    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let vars = Env(env);
        self.clickhouse.apply_env(env);
        vars.string("SYNCTEL_RETENTION_CLUSTER", &mut self.cluster);
        let k = &mut self.keep_days;
        vars.parse("SYNCTEL_RETENTION_LOGS_DAYS", &mut k.logs)?;
        vars.parse("SYNCTEL_RETENTION_SESSIONS_DAYS", &mut k.sessions)?;
        vars.parse("SYNCTEL_RETENTION_ISSUES_DAYS", &mut k.issues)?;
        vars.parse("SYNCTEL_RETENTION_STATUS_SERIES_DAYS", &mut k.status_series)?;
        vars.parse("SYNCTEL_RETENTION_DEAD_LETTERS_DAYS", &mut k.dead_letters)?;
        vars.parse("SYNCTEL_RETENTION_AUDIT_DAYS", &mut k.audit)?;
        vars.parse("SYNCTEL_RETENTION_TOUCHES_DAYS", &mut k.touches)
    }

    /// The cluster the tables live on: `[clickhouse.cluster]`, else the one named by
    /// `cluster`; `None` on one server.
    pub fn cluster_config(&self) -> Option<ClusterConfig> {
        match (&self.clickhouse.cluster, self.cluster.is_empty()) {
            (Some(c), _) => Some(c.clone()),
            (None, false) => Some(ClusterConfig::new(&self.cluster)),
            (None, true) => None,
        }
    }

    /// Checks every value; the first problem is returned, naming its field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.clickhouse
            .validate()
            .map_err(|e| ConfigError::invalid("clickhouse", e.to_string()))?;
        for kind in Kind::ALL {
            let days = self.keep_days.of(kind);
            if days != 0 && !(MIN_KEEP_DAYS..=MAX_KEEP_DAYS).contains(&days) {
                return Err(ConfigError::invalid(
                    kind.field(),
                    format!(
                        "must be 0 (keep forever) or {MIN_KEEP_DAYS}..={MAX_KEEP_DAYS} days, got {days}"
                    ),
                ));
            }
        }
        let valid_cluster = self
            .cluster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_cluster {
            return Err(ConfigError::invalid(
                "cluster",
                format!(
                    "must be empty or letters, digits, _ and -, got {:?}",
                    self.cluster
                ),
            ));
        }
        if let Some(c) = &self.clickhouse.cluster {
            if !self.cluster.is_empty() && self.cluster != c.name {
                return Err(ConfigError::invalid(
                    "cluster",
                    format!(
                        "names {:?} but clickhouse.cluster names {:?}: give one",
                        self.cluster, c.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn empty_file_is_the_defaults() {
        let c = RetentionConfig::parse("").unwrap();
        assert_eq!(c, RetentionConfig::default());
        c.validate().unwrap();
        assert_eq!(c.keep_days.logs, 90);
        assert_eq!(c.keep_days.audit, 1_825);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = RetentionConfig::parse("[keep_days]\nlog = 30\n").unwrap_err();
        assert!(err.to_string().contains("log"), "{err}");
        assert!(RetentionConfig::parse("keep = 1\n").is_err());
    }

    #[test]
    fn periods_are_bounded_and_name_their_field() {
        let mut c = RetentionConfig::parse("[keep_days]\nlogs = 30\n").unwrap();
        let err = c.validate().unwrap_err();
        assert!(err.to_string().starts_with("keep_days.logs:"), "{err}");
        c.keep_days.logs = 0;
        c.validate().unwrap();
        c.keep_days.audit = MAX_KEEP_DAYS + 1;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("keep_days.audit:"));
    }

    #[test]
    fn the_cluster_comes_from_the_services_section_or_its_name() {
        let none = RetentionConfig::load(None, &env(&[])).unwrap();
        assert_eq!(none.cluster_config(), None);
        let named = RetentionConfig::load(None, &env(&[("SYNCTEL_RETENTION_CLUSTER", "main")]))
            .unwrap()
            .cluster_config()
            .unwrap();
        assert_eq!(
            (named.name.as_str(), named.nodes().as_str()),
            ("main", "main_nodes")
        );
        let services = RetentionConfig::load(
            None,
            &env(&[
                ("SYNCTEL_CLICKHOUSE_CLUSTER", "synctel"),
                ("SYNCTEL_CLICKHOUSE_CLUSTER_NODES", "every_node"),
            ]),
        )
        .unwrap()
        .cluster_config()
        .unwrap();
        assert_eq!(services.nodes(), "every_node");
        let err = RetentionConfig::load(
            None,
            &env(&[
                ("SYNCTEL_CLICKHOUSE_CLUSTER", "synctel"),
                ("SYNCTEL_RETENTION_CLUSTER", "other"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("cluster:"), "{err}");
    }

    #[test]
    fn env_overrides_the_file() {
        let c = RetentionConfig::load(
            None,
            &env(&[
                ("SYNCTEL_RETENTION_SESSIONS_DAYS", "500"),
                ("SYNCTEL_RETENTION_CLUSTER", "main"),
                ("SYNCTEL_CLICKHOUSE_DATABASE", "other"),
            ]),
        )
        .unwrap();
        assert_eq!(c.keep_days.sessions, 500);
        assert_eq!(c.cluster, "main");
        assert_eq!(c.clickhouse.database, "other");
        let err =
            RetentionConfig::load(None, &env(&[("SYNCTEL_RETENTION_LOGS_DAYS", "x")])).unwrap_err();
        assert!(
            err.to_string().contains("SYNCTEL_RETENTION_LOGS_DAYS"),
            "{err}"
        );
        let err =
            RetentionConfig::load(None, &env(&[("SYNCTEL_RETENTION_CLUSTER", "a b")])).unwrap_err();
        assert!(err.to_string().starts_with("cluster:"), "{err}");
    }
}
