//! The query API configuration: one TOML file plus environment overrides, validated before
//! anything starts. Every field has a default, so an empty file is a valid config.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use service_kit::config::Env;
use store::ClickHouseConfig;

/// Everything `query-api` needs to run. Its `Debug` (what `query-api check` prints) shows
/// no secret: the ClickHouse password and secret-looking Kafka properties are redacted.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// The HTTP listener.
    pub http: HttpConfig,
    /// ClickHouse side.
    pub clickhouse: ClickHouseConfig,
    /// Kafka side (admin commands).
    pub kafka: KafkaConfig,
    /// Limits on requests, queries and exports.
    pub limits: LimitsConfig,
    /// The web console.
    pub console: ConsoleConfig,
    /// Token checks (the token cache).
    pub auth: AuthConfig,
}

/// Token checks: the process's cache of token lookups ([`crate::auth::TokenCache`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a token lookup (a principal, or "unknown or revoked") is reused, ms.
    /// Default 5000; 0 turns the cache off (every request looks its token up); at most
    /// 300000. It is also how long a revocation made elsewhere (`query-api token revoke`,
    /// another instance) may take to reach this process; a revocation through this
    /// process's [`crate::AppState::revoke_token`] applies at once.
    pub token_cache_ttl_ms: u64,
    /// Most lookups held; beyond it the least useful are evicted. Default 10000 (a few MB
    /// at most). At least 1.
    pub token_cache_max_entries: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_cache_ttl_ms: 5_000,
            token_cache_max_entries: 10_000,
        }
    }
}

impl AuthConfig {
    /// `token_cache_ttl_ms` as a duration (zero: no cache).
    pub fn token_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.token_cache_ttl_ms)
    }
}

/// Longest `auth.token_cache_ttl_ms`: a revocation elsewhere must not take longer to apply.
pub const MAX_TOKEN_CACHE_TTL_MS: u64 = 300_000;

/// The web console: static files built by `deploy/console.sh build`, served at `/`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The built console (`index.html` and `assets/`). Default `console/dist` (relative to
    /// the working directory). When it has no `index.html`, `/` explains how to build it
    /// and the API works as before.
    pub dir: PathBuf,
    /// Mark the sign-in cookie `Secure` (only sent over HTTPS). Default false: the
    /// default listener is plain HTTP on loopback; set it when a TLS proxy fronts the API.
    pub secure_cookie: bool,
    /// How long a console sign-in lasts, seconds. Default 43200 (12 h).
    pub session_max_age_secs: u64,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("console/dist"),
            secure_cookie: false,
            session_max_age_secs: 12 * 3600,
        }
    }
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address. Default `127.0.0.1:8080`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Largest request body, bytes. Default 65536.
    pub max_body_bytes: usize,
    /// On shutdown, how long in-flight requests may still run, ms. Default 10000.
    pub shutdown_timeout_ms: u64,
    /// How long a request's head (request line and headers) may take to arrive, counted
    /// from when the server waits for it: on a new connection, and on a kept-alive one
    /// after its previous response. A connection that sends nothing, half a head, or stays
    /// idle between requests longer is closed. Default 10000 ms.
    pub header_read_timeout_ms: u64,
    /// Longest a connection may make no progress in the middle of a request: a pause in the
    /// request body, or a response write the client does not read. The request is dropped
    /// and the connection closed. Default 30000 ms.
    pub idle_timeout_ms: u64,
    /// Connections open at once; one more is answered 503 `too_many_connections` (with
    /// `Retry-After`) and closed. Default 1024.
    pub max_connections: usize,
    /// Longest request target (path and query string), bytes; longer: 414 `uri_too_long`.
    /// Default 16384.
    pub max_uri_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 << 10,
            shutdown_timeout_ms: 10_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            max_connections: 1024,
            max_uri_bytes: 16 << 10,
        }
    }
}

impl HttpConfig {
    /// `header_read_timeout_ms` as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// `idle_timeout_ms` as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }
}

/// Kafka producer settings for admin commands. `Debug` redacts the values of `extra`
/// properties that hold secrets ([`is_secret_property`]).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers. Default `127.0.0.1:9092`.
    pub brokers: String,
    /// Where admin commands go. Default `synctel.commands`.
    pub commands_topic: String,
    /// Extra librdkafka properties, e.g. `security.protocol`.
    pub extra: HashMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".to_owned(),
            commands_topic: "synctel.commands".to_owned(),
            extra: HashMap::new(),
        }
    }
}

/// What `Debug` shows in place of a secret.
pub const REDACTED: &str = "<redacted>";

/// Whether a librdkafka property holds a secret (`sasl.password`, `ssl.key.password`,
/// `sasl.oauthbearer.client.secret`, `ssl.key.pem`, ...).
pub fn is_secret_property(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "key", "token", "jaas", "credential"]
        .iter()
        .any(|w| name.contains(w))
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut clickhouse = self.clickhouse.clone();
        if !clickhouse.password.is_empty() {
            clickhouse.password = REDACTED.to_owned();
        }
        f.debug_struct("ApiConfig")
            .field("http", &self.http)
            .field("clickhouse", &clickhouse)
            .field("kafka", &self.kafka)
            .field("limits", &self.limits)
            .field("console", &self.console)
            .field("auth", &self.auth)
            .finish()
    }
}

impl std::fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra: std::collections::BTreeMap<&str, &str> = self
            .extra
            .iter()
            .map(|(k, v)| {
                let v = if is_secret_property(k) {
                    REDACTED
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("commands_topic", &self.commands_topic)
            .field("extra", &extra)
            .finish()
    }
}

/// Limits on requests, queries and exports.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Longest a ClickHouse query may run, ms (sent as `max_execution_time` too). Default 30000.
    pub query_timeout_ms: u64,
    /// Rows per page when the request does not say. Default 100.
    pub default_page_size: u64,
    /// Largest page a request may ask for. Default 1000.
    pub max_page_size: u64,
    /// Most rows one CSV export may hold; a larger export is refused with 422. Default 1000000.
    pub export_max_rows: u64,
    /// CSV exports running at once per tenant; more are refused with 429. Default 2.
    pub exports_per_tenant: usize,
    /// Default time window of the session and issue lists, days back from now. Default 3.
    pub default_window_days: u32,
    /// Most sessions one log export may hold (a bound on the session list it keeps, about
    /// 200 bytes each); more: 422. Default 100000. What bounds an export's size is
    /// `log_max_bytes`.
    pub log_max_sessions: u64,
    /// Most log lines one log export may hold; more: 422. Default 1000000.
    pub log_max_lines: u64,
    /// Most bytes of log text one log export may hold (before compression); more: 422.
    /// Default 268435456 (256 MiB).
    pub log_max_bytes: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            query_timeout_ms: 30_000,
            default_page_size: 100,
            max_page_size: 1_000,
            export_max_rows: 1_000_000,
            exports_per_tenant: 2,
            default_window_days: 3,
            log_max_sessions: 100_000,
            log_max_lines: 1_000_000,
            log_max_bytes: 256 << 20,
        }
    }
}

impl LimitsConfig {
    /// `query_timeout_ms` as a duration.
    pub fn query_timeout(&self) -> Duration {
        Duration::from_millis(self.query_timeout_ms)
    }
}

pub use service_kit::config::ConfigError;

impl ApiConfig {
    /// Reads `path` (if any), applies overrides from `env`, validates.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config: ApiConfig = service_kit::config::read_toml(path)?;
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (unknown keys are an error).
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Environment overrides (the names `deploy/stack.sh env` prints; see docs/api.md):
    /// `SYNCTEL_KAFKA_BROKERS`, `SYNCTEL_COMMANDS_TOPIC`,
    /// `SYNCTEL_CLICKHOUSE_{URL,USER,PASSWORD,DATABASE}`, `SYNCTEL_API_LISTEN`,
    /// `SYNCTEL_CONSOLE_DIR`.
    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        let vars = Env(env);
        vars.string("SYNCTEL_KAFKA_BROKERS", &mut self.kafka.brokers);
        vars.string("SYNCTEL_COMMANDS_TOPIC", &mut self.kafka.commands_topic);
        self.clickhouse.apply_env(env);
        vars.parse("SYNCTEL_CONSOLE_DIR", &mut self.console.dir)?;
        vars.parse("SYNCTEL_API_LISTEN", &mut self.http.listen)
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
        if self.kafka.commands_topic.trim().is_empty() {
            return invalid("kafka.commands_topic", "must not be empty");
        }
        if let Err(e) = self.clickhouse.validate() {
            return invalid("clickhouse", &e.to_string());
        }
        if self.http.max_body_bytes == 0 {
            return invalid("http.max_body_bytes", "must be at least 1");
        }
        let h = &self.http;
        if h.header_read_timeout_ms < 100 || h.idle_timeout_ms < 100 {
            return invalid(
                "http.header_read_timeout_ms",
                "header_read_timeout_ms and idle_timeout_ms must be at least 100",
            );
        }
        if h.max_connections == 0 {
            return invalid("http.max_connections", "must be at least 1");
        }
        if h.max_uri_bytes < 1024 {
            return invalid("http.max_uri_bytes", "must be at least 1024");
        }
        let l = &self.limits;

        if l.query_timeout_ms < 100 {
            return invalid("limits.query_timeout_ms", "must be at least 100");
        }
        if l.max_page_size == 0 || l.default_page_size == 0 {
            return invalid("limits.max_page_size", "page sizes must be at least 1");
        }
        if l.default_page_size > l.max_page_size {
            return invalid(
                "limits.default_page_size",
                "must not exceed limits.max_page_size",
            );
        }
        if l.export_max_rows == 0 {
            return invalid("limits.export_max_rows", "must be at least 1");
        }
        if l.exports_per_tenant == 0 {
            return invalid("limits.exports_per_tenant", "must be at least 1");
        }
        if l.log_max_sessions == 0 || l.log_max_lines == 0 || l.log_max_bytes == 0 {
            return invalid("limits.log_max_sessions", "log caps must be at least 1");
        }
        if l.default_window_days == 0 {
            return invalid("limits.default_window_days", "must be at least 1");
        }
        if self.console.session_max_age_secs < 60 {
            return invalid("console.session_max_age_secs", "must be at least 60");
        }
        if self.auth.token_cache_ttl_ms > MAX_TOKEN_CACHE_TTL_MS {
            return invalid(
                "auth.token_cache_ttl_ms",
                "must be at most 300000 (a revocation elsewhere takes up to this long to apply)",
            );
        }
        if self.auth.token_cache_max_entries == 0 {
            return invalid("auth.token_cache_max_entries", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let mut c = ApiConfig::default();
        c.clickhouse.password = "hunter2".to_owned();
        c.kafka
            .extra
            .insert("sasl.password".to_owned(), "s3cret".to_owned());
        c.kafka
            .extra
            .insert("security.protocol".to_owned(), "SASL_SSL".to_owned());
        let text = format!("{c:?}{c:#?}");
        assert!(
            !text.contains("hunter2") && !text.contains("s3cret"),
            "{text}"
        );
        assert!(
            text.contains(REDACTED) && text.contains("SASL_SSL"),
            "{text}"
        );
    }

    #[test]
    fn empty_file_is_the_default_and_valid() {
        let c = ApiConfig::parse("").unwrap();
        assert_eq!(c, ApiConfig::default());
        c.validate().unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(ApiConfig::parse("[limits]\nexport_rows = 5\n").is_err());
    }

    #[test]
    fn env_overrides_the_file_and_bad_values_name_the_variable() {
        let env: HashMap<String, String> = [
            ("SYNCTEL_API_LISTEN", "127.0.0.1:0"),
            ("SYNCTEL_CLICKHOUSE_DATABASE", "other"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let c = ApiConfig::load(None, &env).unwrap();
        assert_eq!(c.http.listen.port(), 0);
        assert_eq!(c.clickhouse.database, "other");
        let bad: HashMap<String, String> =
            [("SYNCTEL_API_LISTEN".to_owned(), "nope".to_owned())].into();
        let e = ApiConfig::load(None, &bad).unwrap_err();
        assert!(e.to_string().contains("SYNCTEL_API_LISTEN"));
    }

    #[test]
    fn limits_are_checked() {
        let mut c = ApiConfig::default();
        c.limits.default_page_size = 5_000;
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("limits.default_page_size"));
        let mut c = ApiConfig::default();
        c.http.max_connections = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("http.max_connections"));
        let mut c = ApiConfig::default();
        c.http.header_read_timeout_ms = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_token_cache_settings_are_checked() {
        let c = ApiConfig::parse("[auth]\ntoken_cache_ttl_ms = 0\n").unwrap();
        assert_eq!(c.auth.token_cache_ttl(), Duration::ZERO);
        c.validate().unwrap();
        assert_eq!(ApiConfig::default().auth.token_cache_ttl_ms, 5_000);
        let c = ApiConfig::parse("[auth]\ntoken_cache_ttl_ms = 300001\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("auth.token_cache_ttl_ms"), "{e}");
        let c = ApiConfig::parse("[auth]\ntoken_cache_max_entries = 0\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("auth.token_cache_max_entries"), "{e}");
        assert!(ApiConfig::parse("[auth]\nttl_ms = 5\n").is_err());
    }
}
