//! Helpers for integration tests against the real servers started by `deploy/stack.sh`.
//!
//! Addresses come from the environment (`eval "$(deploy/stack.sh env)"` sets them) with
//! loopback defaults, and every test gets its own uniquely named topics so tests can run in
//! parallel and leave nothing behind.

use std::time::Duration;

mod gate;
pub use gate::TcpGate;

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

/// The local cluster's nodes, HTTP (`SYNCTEL_CLICKHOUSE_NODE_URLS`, as `deploy/stack.sh
/// cluster env` prints them; default the local cluster's ports 8131..8134).
pub fn cluster_node_urls() -> Vec<String> {
    std::env::var("SYNCTEL_CLICKHOUSE_NODE_URLS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| {
            (1..=4)
                .map(|n| format!("http://127.0.0.1:813{n}"))
                .collect()
        })
}

/// A ClickHouse database of one test: `test_<name>_<random>`, dropped by
/// [`TestDatabase::drop_database`], or when the value is dropped without it (a test that
/// panicked), so failed tests leave nothing behind either.
pub struct TestDatabase {
    /// The database name.
    pub name: String,
    /// ClickHouse HTTP URL.
    pub url: String,
    /// ` ON CLUSTER <nodes>` for a database on a cluster, else empty.
    on_cluster: String,
    dropped: bool,
}

impl TestDatabase {
    /// Picks a fresh name (the migrator or the test creates the database).
    pub fn new(test: &str) -> Self {
        Self {
            name: unique_name(&format!("test_{test}")),
            url: clickhouse_url(),
            on_cluster: String::new(),
            dropped: false,
        }
    }

    /// A fresh name for a database on a cluster, reached at `url` and dropped on every node
    /// (`ON CLUSTER nodes_cluster`, the cluster naming every node as a shard).
    pub fn on_cluster(test: &str, url: &str, nodes_cluster: &str) -> Self {
        Self {
            name: unique_name(&format!("test_{test}")),
            url: url.to_owned(),
            on_cluster: format!(" ON CLUSTER {nodes_cluster}"),
            dropped: false,
        }
    }

    /// An existing database by name (a bench's kept data, `SYNCTEL_BENCH_DATABASE`),
    /// dropped at the end like a fresh one unless [`TestDatabase::keep`] is called.
    pub fn existing(name: &str) -> Self {
        Self {
            name: name.to_string(),
            url: clickhouse_url(),
            on_cluster: String::new(),
            dropped: false,
        }
    }

    /// A client with this database selected (validation off, as ClickHouse 18.16 needs).
    pub fn client(&self) -> clickhouse::Client {
        clickhouse::Client::default()
            .with_url(&self.url)
            .with_database(&self.name)
            .with_validation(false)
    }

    /// Drops the database and its secrets database (`<name>_secrets`).
    pub async fn drop_database(mut self) -> Result<()> {
        for name in [self.name.clone(), secrets_database(&self.name)] {
            clickhouse::Client::default()
                .with_url(&self.url)
                .with_validation(false)
                .query(&format!(
                    "DROP DATABASE IF EXISTS {name}{}",
                    self.on_cluster
                ))
                .execute()
                .await
                .context("dropping the test database")?;
        }
        self.dropped = true;
        Ok(())
    }

    /// Leaves the database in place (a bench that keeps its loaded data for the next run).
    pub fn keep(mut self) -> String {
        self.dropped = true;
        std::mem::take(&mut self.name)
    }
}

/// The secrets database the migrator makes beside `database` (as
/// `store::secrets_database`; testkit does not depend on store).
fn secrets_database(database: &str) -> String {
    format!("{database}_secrets")
}

impl Drop for TestDatabase {
    /// A test that panicked never reached [`TestDatabase::drop_database`]: drop the database
    /// with a blocking request (curl, 10 s at most; any failure is only reported).
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        for name in [self.name.clone(), secrets_database(&self.name)] {
            let sql = format!("DROP DATABASE IF EXISTS {name}{}", self.on_cluster);
            let done = std::process::Command::new("curl")
                .args(["-sS", "-m", "10", "--data-binary", &sql, &self.url])
                .stdout(std::process::Stdio::null())
                .status();
            if !matches!(done, Ok(s) if s.success()) {
                eprintln!("testkit: could not drop {name} ({done:?})");
            }
        }
    }
}

/// A ClickHouse server of one test (own ports and data directory), for tests that stop
/// and start the server; started with the project's own `deploy/stack.sh`.
pub struct PrivateClickHouse {
    var: std::path::PathBuf,
    http_port: u16,
    tcp_port: u16,
}

impl PrivateClickHouse {
    /// Starts a fresh server on free loopback ports.
    pub fn start(test: &str) -> Result<Self> {
        let var = std::env::temp_dir().join(unique_name(&format!("synctel-{test}")));
        let server = Self {
            var,
            http_port: free_port()?,
            tcp_port: free_port()?,
        };
        server.stack("start-clickhouse")?;
        Ok(server)
    }

    /// Its HTTP URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Stops the server (SIGTERM, then SIGKILL).
    pub fn stop(&self) -> Result<()> {
        self.stack("stop-clickhouse")
    }

    /// Starts it again, same data.
    pub fn restart(&self) -> Result<()> {
        self.stack("start-clickhouse")
    }

    /// Stops it and deletes its data.
    pub fn destroy(self) -> Result<()> {
        self.stop()?;
        std::fs::remove_dir_all(&self.var).context("removing the server's data")
    }

    fn stack(&self, command: &str) -> Result<()> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/stack.sh");
        let status = std::process::Command::new("bash")
            .arg(script)
            .arg(command)
            .env("SYNCTEL_VAR", &self.var)
            .env("SYNCTEL_CLICKHOUSE_HTTP_PORT", self.http_port.to_string())
            .env("SYNCTEL_CLICKHOUSE_TCP_PORT", self.tcp_port.to_string())
            .status()
            .context("running deploy/stack.sh")?;
        if !status.success() {
            bail!("deploy/stack.sh {command} failed: {status}");
        }
        Ok(())
    }
}

/// A loopback port free right now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding port 0")?;
    Ok(listener.local_addr().context("local address")?.port())
}

/// The directory of this workspace's binaries (`target/debug`), after building `packages`'
/// binaries with the cargo that runs the tests (up to date in a second when nothing
/// changed): for tests that run several services as processes, to kill one.
pub fn workspace_bins(packages: &[&str]) -> Result<std::path::PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--bins"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build of {packages:?} failed: {status}");
    }
    // The test binary is target/debug/deps/<name>-<hash>.
    let exe = std::env::current_exe().context("the test binary's path")?;
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .context("the target directory")?;
    Ok(dir.to_path_buf())
}
