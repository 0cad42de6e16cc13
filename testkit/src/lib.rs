//! Helpers for integration tests against the real servers started by `deploy/stack.sh`.
//!
//! Addresses come from the environment (`eval "$(deploy/stack.sh env)"` sets them) with
//! loopback defaults, and every test gets its own uniquely named topics so tests can run in
//! parallel and leave nothing behind.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

/// Kafka bootstrap servers: `SYNCTEL_KAFKA_BROKERS`, default `127.0.0.1:9092`.
pub fn kafka_brokers() -> String {
    std::env::var("SYNCTEL_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// ClickHouse HTTP URL: `SYNCTEL_CLICKHOUSE_URL`, default `http://127.0.0.1:8123`.
pub fn clickhouse_url() -> String {
    std::env::var("SYNCTEL_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".to_owned())
}

/// A name unique to one test run: `<prefix>_<8 hex chars>`, safe as a topic or database name.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..8])
}

/// Topics created for one test; deleted by [`TestTopics::delete`] (or, best effort, on drop).
pub struct TestTopics {
    admin: Option<AdminClient<DefaultClientContext>>,
    names: Vec<String>,
    deleted: bool,
}

impl TestTopics {
    /// Creates one topic per `(suffix, partitions)`, named `<test>_<random>.<suffix>`.
    pub async fn create(test: &str, topics: &[(&str, i32)]) -> Result<Self> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", kafka_brokers())
            .create()
            .context("creating the Kafka admin client")?;
        let base = unique_name(test);
        let names: Vec<String> = topics
            .iter()
            .map(|(suffix, _)| format!("{base}.{suffix}"))
            .collect();
        let new_topics: Vec<NewTopic<'_>> = names
            .iter()
            .zip(topics)
            .map(|(name, (_, partitions))| {
                NewTopic::new(name, *partitions, TopicReplication::Fixed(1))
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&new_topics, &opts)
            .await
            .context("creating test topics")?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => bail!("creating topic {name}: {code}"),
            }
        }
        Ok(Self {
            admin: Some(admin),
            names,
            deleted: false,
        })
    }

    /// The full name of the topic created for `suffix`.
    pub fn name(&self, suffix: &str) -> &str {
        self.names
            .iter()
            .find(|n| n.ends_with(&format!(".{suffix}")))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Deletes the topics.
    pub async fn delete(mut self) -> Result<()> {
        self.deleted = true;
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        if let Some(admin) = &self.admin {
            admin
                .delete_topics(&names, &AdminOptions::new())
                .await
                .context("deleting test topics")?;
        }
        Ok(())
    }
}

impl Drop for TestTopics {
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        // A test that failed before `delete`: delete on a thread of our own (drop may run
        // inside an async runtime) and wait for the answer, bounded.
        let names = std::mem::take(&mut self.names);
        let Some(admin) = self.admin.take() else {
            return;
        };
        let deleting = std::thread::spawn(move || {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
            {
                rt.block_on(async {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        admin.delete_topics(&names, &opts),
                    )
                    .await;
                });
            }
        });
        let _ = deleting.join();
    }
}

/// A ClickHouse database of one test: `test_<name>_<random>`, dropped by
/// [`TestDatabase::drop_database`].
pub struct TestDatabase {
    /// The database name.
    pub name: String,
    /// ClickHouse HTTP URL.
    pub url: String,
}

impl TestDatabase {
    /// Picks a fresh name (the migrator or the test creates the database).
    pub fn new(test: &str) -> Self {
        Self {
            name: unique_name(&format!("test_{test}")),
            url: clickhouse_url(),
        }
    }

    /// A client with this database selected (validation off, as ClickHouse 18.16 needs).
    pub fn client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(&self.url)
            .with_database(&self.name)
            .with_validation(false)
    }

    /// Drops the database.
    pub async fn drop_database(self) -> Result<()> {
        clickhouse::Client::default()
            .with_url(&self.url)
            .with_validation(false)
            .query(&format!("DROP DATABASE IF EXISTS {}", self.name))
            .execute()
            .await
            .context("dropping the test database")
    }
}
