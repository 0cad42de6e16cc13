//! The pipeline on the local ClickHouse cluster (`deploy/stack.sh cluster start`: ZooKeeper
//! and 2 shards x 2 replicas), with faults, beside a single-server run of the same traffic.
//!
//! Simulator traffic (duplicates, reordering, malformed messages) is published once; one
//! consumer group of one ingest instance writes it to a database on the single server, a
//! second group of two ingest instances to a database on the cluster (inserts through the
//! `Distributed` tables, quorum of 2). One aggregator runs on the single server, two share
//! the lease on the cluster. While the traffic arrives: a replica is killed and started
//! again, an ingest instance is killed (its partitions go to the other), the aggregator
//! holding the lease is killed (the other takes over), ZooKeeper is stopped for 20 s.
//! Afterwards every user's state matches the manifest on both, the derived and raw tables
//! are equal on both, the query API answers the same on both, and the replicas of every
//! table are equal after `SYSTEM SYNC REPLICA`. Before all that, a migration run while a
//! node is down fails, and converges when run again with the node back.
//!
//! Services run as processes of the workspace's binaries (built first), so a kill is a
//! real SIGKILL. The ingest instances use dynamic group membership: tansu keeps a dead
//! static member's partitions until that member comes back, whatever the others do; with
//! dynamic membership the survivor's group watch rejoins and the group drops the dead
//! member. The test owns the cluster while it runs (it stops nodes and ZooKeeper):
//! it is the only test using it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::{manifest_mismatches, StateRow};
use serde_json::Value;
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{Manifest, Record, SimConfig};
use store::cluster::ClusterConfig;
use store::ClickHouseConfig;
use testkit::{kafka_brokers, unique_name, TestDatabase, TestTopics};

const CLUSTER: &str = "synctel";
const NEVER_SECS: &str = "3153600000";
/// The node killed and started again (shard 2's second replica); no service talks to it.
const VICTIM: usize = 4;
const CONVERGE_WITHIN: Duration = Duration::from_secs(300);

fn node_urls() -> Vec<String> {
    testkit::cluster_node_urls()
}

fn stack(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/stack.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg("cluster")
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "deploy/stack.sh cluster {args:?}: {status}"
    );
}

/// A service process, killed when dropped.
struct Service {
    name: String,
    child: Child,
    port: u16,
}

impl Service {
    fn spawn(bins: &Path, bin: &str, name: &str, env: &[(&str, String)], args: &[&str]) -> Self {
        let port = testkit::free_port().unwrap();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bins.join(bin));
        cmd.args(args)
            .env("RUST_LOG", "warn")
            .env("SYNCTEL_INGEST_LISTEN", &listen)
            .env("SYNCTEL_AGGREGATOR_LISTEN", &listen)
            .env("SYNCTEL_API_LISTEN", &listen)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{name}: {e}"));
        Self {
            name: name.to_owned(),
            child,
            port,
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("killed {}", self.name);
    }

    async fn get(&self, path: &str, token: &str) -> Option<String> {
        http_get(self.port, path, token).await.ok()
    }

    async fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.get("/health", "").await.is_none() {
            assert!(Instant::now() < deadline, "{} did not come up", self.name);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET over HTTP/1.0 (the body ends with the connection); the body, or an error for a
/// refused connection or a status other than 200.
async fn http_get(port: u16, path: &str, token: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n{auth}\r\n").as_bytes())
        .await?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("{path}: {head}")));
    }
    Ok(body.to_owned())
}

/// One database: where it is and how to reach it.
struct Target {
    ch: ClickHouseConfig,
    /// Drops the database and its secrets database (`ON CLUSTER` on the cluster) when the
    /// test ends or panics; `None` for the handles of [`Target::at`].
    _db: Option<TestDatabase>,
}

impl Target {
    fn client(&self) -> clickhouse::Client {
        self.ch.client()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("SYNCTEL_CLICKHOUSE_URL", self.ch.url.clone()),
            ("SYNCTEL_CLICKHOUSE_DATABASE", self.ch.database.clone()),
            ("SYNCTEL_KAFKA_BROKERS", kafka_brokers()),
        ];
        if let Some(c) = &self.ch.cluster {
            env.push(("SYNCTEL_CLICKHOUSE_CLUSTER", c.name.clone()));
            env.push(("SYNCTEL_CLICKHOUSE_CLUSTER_NODES", c.nodes()));
            env.push(("SYNCTEL_CLICKHOUSE_INSERT_QUORUM", "2".to_owned()));
        }
        env
    }

    fn at(&self, url: &str) -> Self {
        let mut ch = self.ch.clone();
        ch.url = url.to_owned();
        Self { ch, _db: None }
    }

    async fn users(&self) -> BTreeMap<String, StateRow> {
        let rows: Vec<StateRow> = self
            .client()
            .query(&format!(
                "SELECT {} FROM user_state FINAL",
                common::STATE_COLUMNS
            ))
            .fetch_all()
            .await
            .unwrap_or_default();
        rows.into_iter()
            .map(|r| (format!("{}/{}", r.tenant_id, r.user_id), r))
            .collect()
    }

    async fn watermark(&self) -> u32 {
        self.client()
            .query("SELECT toUInt32(max(watermark)) FROM aggregator_progress WHERE name = 'main'")
            .fetch_one::<u32>()
            .await
            .unwrap_or(0)
    }

    /// Rows of a query as sorted JSON lines.
    async fn lines(&self, sql: &str) -> Vec<String> {
        lines(&self.client(), sql).await
    }
}

async fn lines(client: &clickhouse::Client, sql: &str) -> Vec<String> {
    let bytes = client
        .query(sql)
        .fetch_bytes("JSONEachRow")
        .unwrap()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    // Lossy: dead letters keep the bytes of messages that were not UTF-8.
    let mut out: Vec<String> = String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

fn sim() -> (Vec<Record>, Manifest) {
    simulator::simulate(&SimConfig {
        seed: 41,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 12,
        span_ms: 4 * 3_600_000,
        state_change_rate: 0.05,
        abandoned_session_rate: 0.03,
        duplicate_rate: 0.05,
        reorder_rate: 0.05,
        malformed_rate: 0.01,
        ..SimConfig::default()
    })
}

async fn publish_chunk(topics: &TestTopics, records: Vec<Record>) {
    let cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: topics.name("events").to_owned(),
        logs_topic: topics.name("logs").to_owned(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(3600),
        // One message per record batch, as every test against tansu publishes.
        max_batch_messages: 1,
    };
    let sent = tokio::task::spawn_blocking(move || {
        publish(records.into_iter(), &cfg, &AtomicBool::new(false), |_| {}).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(sent.delivered, sent.sent);
}

/// The aggregator process holding the lease now, if one does.
async fn lease_holder(aggregators: &[Service]) -> Option<usize> {
    for (i, a) in aggregators.iter().enumerate() {
        if let Some(metrics) = a.get("/metrics", "").await {
            if metrics.lines().any(|l| l == "aggregator_lease_held 1") {
                return Some(i);
            }
        }
    }
    None
}

/// Migrating while a node is down fails (the DDL cannot reach it); run again with the node
/// back, it converges and the drift check passes on every node.
async fn migrate_with_a_node_down(cluster: &Target) {
    let mut ch = cluster.ch.clone();
    if let Some(c) = ch.cluster.as_mut() {
        c.ddl_timeout_secs = 5;
    }
    stack(&["stop-node", &VICTIM.to_string()]);
    let first = store::migrate::migrate(&ch).await;
    stack(&["start-node", &VICTIM.to_string()]);
    assert!(first.is_err(), "a migration with a node down must fail");
    eprintln!("migration with node {VICTIM} down: {}", first.unwrap_err());
    store::migrate::migrate(&cluster.ch).await.unwrap();
    for url in node_urls() {
        store::migrate::verify(&cluster.at(&url).ch).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_with_faults_answers_as_one_server_does() {
    let nodes = node_urls();
    let bins = testkit::workspace_bins(&["ingest", "aggregator", "query-api"]).unwrap();
    let name = unique_name("cluster");
    let mut cluster_cfg = ClusterConfig::new(CLUSTER);
    cluster_cfg.insert_quorum = 2;
    let cluster_db = TestDatabase::on_cluster("cluster", &nodes[0], &cluster_cfg.nodes());
    let cluster = Target {
        ch: ClickHouseConfig {
            url: nodes[0].clone(),
            database: cluster_db.name.clone(),
            cluster: Some(cluster_cfg),
            ..ClickHouseConfig::default()
        },
        _db: Some(cluster_db),
    };
    let single_db = TestDatabase::new("cluster_single");
    let single = Target {
        ch: ClickHouseConfig {
            url: testkit::clickhouse_url(),
            database: single_db.name.clone(),
            ..ClickHouseConfig::default()
        },
        _db: Some(single_db),
    };
    migrate_with_a_node_down(&cluster).await;
    store::migrate::migrate(&single.ch).await.unwrap();
    let topics = TestTopics::create(&name, &[("events", 6), ("logs", 6), ("deadletter", 2)])
        .await
        .unwrap();
    let (records, manifest) = sim();

    // The services.
    let ingest_env = |t: &Target, group: &str| {
        let mut env = t.env();
        env.push((
            "SYNCTEL_INGEST_TOPICS",
            format!("{},{}", topics.name("events"), topics.name("logs")),
        ));
        env.push((
            "SYNCTEL_DEADLETTER_TOPIC",
            topics.name("deadletter").to_owned(),
        ));
        env.push(("SYNCTEL_INGEST_GROUP_ID", format!("{name}-{group}")));
        env
    };
    let lease_config = std::env::temp_dir().join(format!("{name}-lease.toml"));
    std::fs::write(
        &lease_config,
        format!(
            "[lease]\nenabled = true\nbrokers = \"{}\"\ntopic = \"{name}.lease\"\ngroup = \"{name}-agg\"\n\
             session_timeout_ms = 6000\nheartbeat_ms = 500\ntakeover_after_ms = 5000\n",
            kafka_brokers()
        ),
    )
    .unwrap();
    let aggregator_env = |t: &Target| {
        let mut env = t.env();
        env.push(("SYNCTEL_AGGREGATOR_INTERVAL_MS", "300".to_owned()));
        env.push(("SYNCTEL_STALL_AFTER_SECS", NEVER_SECS.to_owned()));
        env.push(("SYNCTEL_NO_SESSION_AFTER_SECS", NEVER_SECS.to_owned()));
        env
    };
    let config_arg = lease_config.to_str().unwrap().to_owned();
    let single_services = [
        Service::spawn(
            &bins,
            "ingest",
            "single ingest",
            &ingest_env(&single, "single"),
            &["run"],
        ),
        Service::spawn(
            &bins,
            "aggregator",
            "single aggregator",
            &aggregator_env(&single),
            &["run"],
        ),
    ];
    let (n1, n2, n3) = (
        cluster.at(&nodes[0]),
        cluster.at(&nodes[1]),
        cluster.at(&nodes[2]),
    );
    let mut ingests = vec![
        (Service::spawn(
            &bins,
            "ingest",
            "ingest A",
            &ingest_env(&n1, "cluster"),
            &["run"],
        )),
        (Service::spawn(
            &bins,
            "ingest",
            "ingest B",
            &ingest_env(&n3, "cluster"),
            &["run"],
        )),
    ];
    let mut aggregators = vec![
        Service::spawn(
            &bins,
            "aggregator",
            "aggregator A",
            &aggregator_env(&n2),
            &["--config", &config_arg, "run"],
        ),
        Service::spawn(
            &bins,
            "aggregator",
            "aggregator B",
            &aggregator_env(&n3),
            &["--config", &config_arg, "run"],
        ),
    ];
    for s in single_services.iter().chain(&ingests).chain(&aggregators) {
        s.wait_up().await;
    }

    // The traffic, in six parts, with a fault before each of the middle four.
    let per = records.len().div_ceil(6);
    let mut chunks: Vec<Vec<Record>> = records.chunks(per).map(<[Record]>::to_vec).collect();
    chunks.reverse();
    let mut next = || chunks.pop().unwrap_or_default();
    publish_chunk(&topics, next()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    stack(&["kill-node", &VICTIM.to_string()]);
    publish_chunk(&topics, next()).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    stack(&["start-node", &VICTIM.to_string()]);

    ingests[1].kill();
    publish_chunk(&topics, next()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let holder = wait_for(Duration::from_secs(60), || lease_holder(&aggregators)).await;
    aggregators[holder].kill();
    publish_chunk(&topics, next()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    stack(&["stop-zookeeper"]);
    publish_chunk(&topics, next()).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    stack(&["start-zookeeper"]);
    publish_chunk(&topics, next()).await;

    // Both converge to the manifest.
    let stored_at = u32::try_from(chrono_now_s()).unwrap();
    for (label, target) in [("single", &single), ("cluster", &cluster)] {
        let deadline = Instant::now() + CONVERGE_WITHIN;
        loop {
            let bad = manifest_mismatches(&manifest, &target.users().await);
            if bad.is_empty() && target.watermark().await > stored_at + 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{label}: {} mismatches with the manifest, e.g. {:#?}",
                bad.len(),
                &bad[..bad.len().min(3)]
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let survivor = &aggregators[1 - holder];
    assert!(
        lease_holder(std::slice::from_ref(survivor)).await.is_some(),
        "the surviving aggregator holds the lease"
    );

    // Everything is stored and derived: stop writing, so that what is compared holds still.
    drop(ingests);
    drop(aggregators);
    drop(single_services);

    // Raw and derived tables equal on both.
    for sql in [
        "SELECT tenant_id, user_id, event_id, session_id, event_kind FROM session_events FINAL",
        "SELECT tenant_id, user_id, event_id FROM issue_events FINAL",
        "SELECT tenant_id, user_id, event_id FROM user_state_events FINAL",
        "SELECT tenant_id, session_id, count() AS n FROM log_lines FINAL GROUP BY tenant_id, session_id",
        &format!(
            "SELECT {} FROM session_state FINAL WHERE deleted = 0",
            common::SESSION_COLUMNS
        ),
        "SELECT tenant_id, profile_id, granularity, bucket, status, sessions FROM session_counts FINAL",
    ] {
        let (a, b) = (single.lines(sql).await, cluster.lines(sql).await);
        assert!(!a.is_empty(), "{sql}: no rows");
        assert_eq!(a.len(), b.len(), "{sql}: {} rows on one server, {} on the cluster", a.len(), b.len());
        let only_single: Vec<&String> = a.iter().filter(|l| !b.contains(l)).take(3).collect();
        let only_cluster: Vec<&String> = b.iter().filter(|l| !a.contains(l)).take(3).collect();
        assert!(
            a == b,
            "{sql}: rows differ; on one server only: {only_single:?}; on the cluster only: {only_cluster:?}"
        );
    }

    // The query API answers the same.
    compare_api(&bins, &single, &n1, &manifest).await;

    // Every replica holds the same rows.
    replicas_equal(&cluster, &nodes).await;

    topics.delete().await.unwrap();
    let _ = std::fs::remove_file(&lease_config);
}

fn chrono_now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn wait_for<T, F, Fut>(within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "not within {within:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A query API on each database; the cards, the users, a profile's sessions and the
/// summary of every tenant are the same JSON on both (but the instant they were read).
async fn compare_api(bins: &Path, single: &Target, cluster: &Target, manifest: &Manifest) {
    let tenants: Vec<String> = manifest.events.keys().cloned().collect();
    let mut apis = Vec::new();
    for (label, t) in [("single", single), ("cluster", cluster)] {
        let api = Service::spawn(
            bins,
            "query-api",
            &format!("{label} query-api"),
            &t.env(),
            &["run"],
        );
        api.wait_up().await;
        let mut tokens = BTreeMap::new();
        for tenant in &tenants {
            tokens.insert(tenant.clone(), create_token(bins, t, tenant));
        }
        apis.push((api, tokens));
    }
    for tenant in &tenants {
        let profile = manifest
            .profiles
            .values()
            .find(|p| &p.tenant_id == tenant)
            .map(|p| p.profile_id.clone())
            .unwrap();
        let from = manifest.start_ms - 86_400_000;
        let to = manifest.end_ms + 86_400_000;
        for path in [
            "/api/v1/monitor/cards".to_owned(),
            "/api/v1/users?limit=1000".to_owned(),
            format!("/api/v1/profiles/{profile}/sessions?from={from}&to={to}&limit=1000"),
            "/api/v1/summary".to_owned(),
        ] {
            let mut answers = Vec::new();
            for (api, tokens) in &apis {
                let body = api.get(&path, &tokens[tenant]).await;
                let body = body.unwrap_or_else(|| panic!("{tenant} {path}: no 200 answer"));
                let mut v: Value = serde_json::from_str(&body).unwrap();
                strip_instants(&mut v);
                answers.push(v);
            }
            assert_eq!(
                answers[0], answers[1],
                "{tenant} {path}: the answers differ"
            );
        }
    }
}

fn create_token(bins: &Path, t: &Target, tenant: &str) -> String {
    let mut cmd = Command::new(bins.join("query-api"));
    cmd.args([
        "token",
        "create",
        "--tenant",
        tenant,
        "--role",
        "admin",
        "--label",
        "cluster-test",
    ]);
    for (k, v) in t.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Removes the members that say when an answer was made.
fn strip_instants(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| {
                !matches!(
                    k.as_str(),
                    "as_of_ms" | "generated_at_ms" | "now_ms" | "computed_at_ms"
                )
            });
            map.values_mut().for_each(strip_instants);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_instants),
        _ => {}
    }
}

/// After `SYSTEM SYNC REPLICA` on every node, the replicas of each shard hold the same
/// rows of each sharded local table, and every node the same rows of each replicated
/// whole table (with `FINAL` where merges replace rows).
async fn replicas_equal(cluster: &Target, nodes: &[String]) {
    let db = &cluster.ch.database;
    let mut contents: BTreeMap<String, Vec<(usize, Vec<String>)>> = BTreeMap::new();
    for (i, url) in nodes.iter().enumerate() {
        let client = cluster.at(url).ch.server_client();
        let tables: Vec<(String, String)> = client
            .query("SELECT name, engine FROM system.tables WHERE database = ? AND engine LIKE 'Replicated%'")
            .bind(db)
            .fetch_all()
            .await
            .unwrap();
        assert!(!tables.is_empty(), "{url}: no replicated table");
        for (table, engine) in tables {
            client
                .query(&format!("SYSTEM SYNC REPLICA {db}.{table}"))
                .execute()
                .await
                .unwrap();
            let final_ = if engine == "ReplicatedMergeTree" {
                ""
            } else {
                " FINAL"
            };
            let rows = lines(&client, &format!("SELECT * FROM {db}.{table}{final_}")).await;
            contents.entry(table).or_default().push((i, rows));
        }
    }
    for (table, per_node) in contents {
        assert_eq!(per_node.len(), nodes.len(), "{table}: not on every node");
        let sharded = table.ends_with(store::cluster::LOCAL_SUFFIX);
        // Nodes 1-2 are shard 1, nodes 3-4 shard 2 (deploy/clickhouse/cluster).
        let groups: Vec<Vec<usize>> = if sharded {
            vec![vec![0, 1], vec![2, 3]]
        } else {
            vec![(0..nodes.len()).collect()]
        };
        for group in groups {
            let first = &per_node[group[0]].1;
            for &n in &group[1..] {
                assert!(
                    &per_node[n].1 == first,
                    "{table}: node {} has {} rows, node {} {}",
                    group[0] + 1,
                    first.len(),
                    n + 1,
                    per_node[n].1.len()
                );
            }
        }
    }
}
