//! Connection settings for ClickHouse.

use serde::Deserialize;

use crate::cluster::ClusterConfig;
use crate::error::{Result, StoreError};

/// Where ClickHouse is. Defaults: `http://127.0.0.1:8123`, user `default`, no password,
/// database `synctel`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
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
    /// The cluster the tables are spread over; none: one server (see `store::cluster`).
    pub cluster: Option<ClusterConfig>,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".to_owned(),
            user: "default".to_owned(),
            password: String::new(),
            database: "synctel".to_owned(),
            cluster: None,
        }
    }
}

/// The password is never printed.
impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field(
                "password",
                &if self.password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("database", &self.database)
            .field("cluster", &self.cluster)
            .finish()
    }
}

impl ClickHouseConfig {
    /// Overrides from the environment (the names `deploy/stack.sh env` prints):
    /// `SYNCTEL_CLICKHOUSE_URL`, `_USER`, `_PASSWORD`, `_DATABASE`, and `_CLUSTER` (the
    /// cluster's name: cluster mode) with `_CLUSTER_NODES` (its node-per-shard cluster) and
    /// `_INSERT_QUORUM`; empty values are ignored.
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
        if let Some(name) = get("SYNCTEL_CLICKHOUSE_CLUSTER") {
            let cluster = self
                .cluster
                .get_or_insert_with(|| ClusterConfig::new(&name));
            cluster.name = name;
            if let Some(nodes) = get("SYNCTEL_CLICKHOUSE_CLUSTER_NODES") {
                cluster.nodes_cluster = nodes;
            }
            if let Some(quorum) = get("SYNCTEL_CLICKHOUSE_INSERT_QUORUM") {
                // A value that is not a number is refused by `validate` as a quorum of
                // u64::MAX would be: keep it visible.
                cluster.insert_quorum = quorum.trim().parse().unwrap_or(u64::MAX);
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
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
        }
        Ok(())
    }

    /// The database of secrets (the API tokens), `<database>_secrets`: apart from the
    /// database analysts read (migration 0013).
    pub fn secrets_database(&self) -> String {
        secrets_database(&self.database)
    }

    /// A client for the configured database. Row validation is off: ClickHouse 18.16 has
    /// no RowBinaryWithNamesAndTypes. On a cluster: inserts into `Distributed` tables
    /// return once every shard has its rows (`insert_distributed_sync`: an asynchronous
    /// insert spools blocks on the node that received them and loses them with its disk),
    /// and a subquery or join over a `Distributed` table inside a distributed query reads
    /// the shard's local table (`distributed_product_mode = 'local'`): every user-keyed
    /// table is sharded by the same key, so a user's rows meet on their shard.
    pub fn client(&self) -> clickhouse::Client {
        let client = self.server_client().with_database(&self.database);
        match &self.cluster {
            None => client,
            Some(cluster) => {
                let client = client
                    .with_setting("insert_distributed_sync", "1")
                    .with_setting("distributed_product_mode", "local");
                if cluster.insert_quorum > 1 {
                    client
                        .with_setting("insert_quorum", cluster.insert_quorum.to_string())
                        .with_setting("insert_quorum_timeout", "60000")
                } else {
                    client
                }
            }
        }
    }

    /// Whether the tables are on a cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = ClickHouseConfig {
            password: "hunter2".to_owned(),
            ..ClickHouseConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn the_environment_turns_cluster_mode_on() {
        let mut config = ClickHouseConfig::default();
        let env = [
            ("SYNCTEL_CLICKHOUSE_CLUSTER", "synctel"),
            ("SYNCTEL_CLICKHOUSE_CLUSTER_NODES", "all_nodes"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        config.apply_env(&env);
        let cluster = config.cluster.as_ref().expect("cluster mode");
        assert_eq!(
            (cluster.name.as_str(), cluster.nodes().as_str()),
            ("synctel", "all_nodes")
        );
        assert!(config.validate().is_ok());
        let mut single = ClickHouseConfig::default();
        single.apply_env(&std::collections::HashMap::new());
        assert!(single.cluster.is_none());
    }
}
