//! Connection settings for ClickHouse.

use serde::Deserialize;

use crate::error::{Result, StoreError};

/// Where ClickHouse is. Defaults: `http://127.0.0.1:8123`, user `default`, no password,
/// database `synctel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP endpoint.
    pub url: String,
    /// User name.
    pub user: String,
    /// Password (empty for none).
    pub password: String,
    /// Database holding the pipeline's tables.
    pub database: String,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".to_owned(),
            user: "default".to_owned(),
            password: String::new(),
            database: "synctel".to_owned(),
        }
    }
}

impl ClickHouseConfig {
    /// Overrides from the environment (the names `deploy/stack.sh env` prints):
    /// `SYNCTEL_CLICKHOUSE_URL`, `_USER`, `_PASSWORD`, `_DATABASE`; empty values are
    /// ignored.
    pub fn apply_env(&mut self, env: &std::collections::HashMap<String, String>) {
        let get = |var: &str| env.get(var).filter(|v| !v.is_empty()).cloned();
        for (var, target) in [
            ("SYNCTEL_CLICKHOUSE_URL", &mut self.url),
            ("SYNCTEL_CLICKHOUSE_USER", &mut self.user),
            ("SYNCTEL_CLICKHOUSE_PASSWORD", &mut self.password),
            ("SYNCTEL_CLICKHOUSE_DATABASE", &mut self.database),
        ] {
            if let Some(v) = get(var) {
                *target = v;
            }
        }
    }

    /// Checks the values without connecting.
    pub fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(StoreError::Config(format!(
                "url must start with http:// or https://, got {:?}",
                self.url
            )));
        }
        let valid_name = !self.database.is_empty()
            && self
                .database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            return Err(StoreError::Config(format!(
                "database must be a non-empty name of letters, digits and _, got {:?}",
                self.database
            )));
        }
        Ok(())
    }

    /// The database of secrets (the API tokens), `<database>_secrets`: apart from the
    /// database analysts read (migration 0013).
    pub fn secrets_database(&self) -> String {
        secrets_database(&self.database)
    }

    /// A client for the configured database. Row validation is off: ClickHouse 18.16 has
    /// no RowBinaryWithNamesAndTypes.
    pub fn client(&self) -> clickhouse::Client {
        self.server_client().with_database(&self.database)
    }

    /// A client with no database selected (to create it).
    pub fn server_client(&self) -> clickhouse::Client {
        let mut client = clickhouse::Client::default()
            .with_url(&self.url)
            .with_user(&self.user)
            .with_validation(false);
        if !self.password.is_empty() {
            client = client.with_password(&self.password);
        }
        client
    }
}

/// The secrets database of `database`: `<database>_secrets`.
pub fn secrets_database(database: &str) -> String {
    format!("{database}_secrets")
}
