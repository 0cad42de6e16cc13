//! The pipeline on the local ClickHouse cluster (issue 12) beside the single server, in one
//! run: ingest throughput and the query API's latency through the `Distributed` tables.
//!
//! The simulator's traffic (default 600 users x 24 h ending now, ~400k messages, no faults)
//! is published once to a 6+6-partition topic pair (record batches of 10k). Then, each with
//! a database of its own (migrated with `store::migrate::migrate`, with a
//! `store::cluster::ClusterConfig` for the cluster) and a consumer group of its own over the
//! same topics, the `ingest` binary drains it:
//! - one instance against the single server (`deploy/stack.sh start`): the baseline;
//! - one instance against the cluster (`deploy/stack.sh cluster start`: 2 shards x 2
//!   replicas, ZooKeeper), inserting through the `Distributed` tables on node 1 (8131),
//!   with `insert_quorum` 2;
//! - two instances (one group, `SYNCTEL_INGEST_INSTANCE_ID` a and b, on nodes 1 and 3:
//!   8131, 8133), quorum 2;
//! - the same two without a quorum (0), unless `SYNCTEL_BENCH_QUORUM0=0`.
//!
//! Done = the stored rows (`count()` of the five raw tables, through `Distributed` on the
//! cluster) reach what the published messages make (every message decodes; the traffic has
//! no duplicates); printed: wall time from the instances' start (process start and group
//! join included) and messages per second, beside the single-server run.
//!
//! Then `aggregator once` (the binary, with the same env) on the single-server database and
//! on the cluster database of the two-instance quorum-2 run, a `query-api` process on each,
//! and `SYNCTEL_BENCH_REQUESTS` (200) requests of (a) the monitor cards and (b) a profile's
//! session list over the default window (3 days, first page), alternated request by request
//! between the two APIs: p50/p99 of each, the cluster beside the single server.
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench cluster`
//! (`SYNCTEL_BENCH_USERS` (600), `SYNCTEL_BENCH_HOURS` (24) size the traffic;
//! `SYNCTEL_CLICKHOUSE_NODE_URLS` the cluster's nodes, default `http://127.0.0.1:8131..8134`;
//! `SYNCTEL_{INGEST,AGGREGATOR,QUERY_API}_BIN` name the binaries, else they are built).
//! Everything runs on this machine, so the cluster shares its cores with the single server:
//! the figures show the cluster's overhead, not scale-out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

#[path = "common/http.rs"]
mod http;
#[path = "common/proc.rs"]
mod proc;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{Record, SimConfig};
use store::cluster::ClusterConfig;
use store::rows::Row;
use store::ClickHouseConfig;
use testkit::{kafka_brokers, unique_name, TestTopics};

const CLUSTER: &str = "synctel";
const RAW_TABLES: [&str; 5] = [
    "session_events",
    "issue_events",
    "log_lines",
    "user_state_events",
    "profile_state_events",
];
/// Removed from the children's environment (`deploy/stack.sh env` or a shell may set them).
const CLUSTER_ENV: [&str; 7] = [
    "SYNCTEL_CLICKHOUSE_CLUSTER",
    "SYNCTEL_CLICKHOUSE_CLUSTER_NODES",
    "SYNCTEL_CLICKHOUSE_INSERT_QUORUM",
    "SYNCTEL_INGEST_CONFIG",
    "SYNCTEL_AGGREGATOR_CONFIG",
    "SYNCTEL_AGGREGATOR_LEASE",
    "SYNCTEL_API_CONFIG",
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn node_urls() -> Vec<String> {
    testkit::cluster_node_urls()
}

/// The databases made by this run, dropped (with their `_secrets` databases, `ON CLUSTER`
/// on the cluster) when this is dropped, also after a panic.
#[derive(Default)]
struct Databases(Vec<ClickHouseConfig>);

impl Databases {
    async fn create(&mut self, ch: ClickHouseConfig) -> ClickHouseConfig {
        self.0.push(ch.clone());
        // A migration cut short (ZooKeeper or a node away for a while: other tests share
        // the cluster) converges when run again.
        let mut tries = 0;
        while let Err(e) = store::migrate::migrate(&ch).await {
            tries += 1;
            assert!(tries < 6, "migrating {}: {e}", ch.database);
            eprintln!("  migrating {} failed ({e}); again in 15 s", ch.database);
            tokio::time::sleep(Duration::from_secs(15)).await;
        }
        ch
    }

    async fn drop_one(ch: &ClickHouseConfig) {
        let on_cluster = ch
            .cluster
            .as_ref()
            .map(|c| format!(" ON CLUSTER {}", c.nodes()))
            .unwrap_or_default();
        for db in [ch.database.clone(), store::secrets_database(&ch.database)] {
            if let Err(e) = ch
                .server_client()
                .query(&format!("DROP DATABASE IF EXISTS {db}{on_cluster}"))
                .execute()
                .await
            {
                eprintln!("dropping {db}: {e}");
            }
        }
    }

    async fn drop_db(&mut self, database: &str) {
        if let Some(i) = self.0.iter().position(|c| c.database == database) {
            let ch = self.0.remove(i);
            Self::drop_one(&ch).await;
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let all = std::mem::take(&mut self.0);
        if all.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                for ch in &all {
                    Self::drop_one(ch).await;
                }
            });
        })
        .join();
    }
}

/// The services' env for a database (the cluster's keys only on the cluster).
fn ch_env(ch: &ClickHouseConfig) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("SYNCTEL_CLICKHOUSE_URL", ch.url.clone()),
        ("SYNCTEL_CLICKHOUSE_DATABASE", ch.database.clone()),
        ("SYNCTEL_KAFKA_BROKERS", kafka_brokers()),
    ];
    if let Some(c) = &ch.cluster {
        env.push(("SYNCTEL_CLICKHOUSE_CLUSTER", c.name.clone()));
        env.push(("SYNCTEL_CLICKHOUSE_CLUSTER_NODES", c.nodes()));
        env.push((
            "SYNCTEL_CLICKHOUSE_INSERT_QUORUM",
            c.insert_quorum.to_string(),
        ));
    }
    env
}

/// A service binary as a child process, killed when dropped.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    fn spawn(bin: &Path, args: &[&str], env: &[(&str, String)], log: &Path) -> Self {
        let port = testkit::free_port().unwrap();
        let listen = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(log).unwrap();
        let mut cmd = Command::new(bin);
        for k in CLUSTER_ENV {
            cmd.env_remove(k);
        }
        cmd.args(args)
            .env("RUST_LOG", "warn")
            .env("SYNCTEL_INGEST_LISTEN", &listen)
            .env("SYNCTEL_API_LISTEN", &listen)
            .env("SYNCTEL_AGGREGATOR_LISTEN", &listen)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().unwrap(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn check_alive(&mut self, what: &str) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{what} exited early: {status}");
        }
    }

    async fn wait_up(&mut self, what: &str) {
        let t = Instant::now();
        loop {
            self.check_alive(what);
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(120), "{what} not up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn stop(mut self) {
        proc::terminate(self.child.id());
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Rows of the five raw tables (through `Distributed` on the cluster).
async fn stored_rows(client: &clickhouse::Client) -> u64 {
    let mut total = 0;
    for t in RAW_TABLES {
        total += client
            .query(&format!("SELECT count() FROM {t}"))
            .fetch_one::<u64>()
            .await
            .unwrap_or(0);
    }
    total
}

struct IngestRun {
    label: String,
    secs: f64,
    /// Seconds until the first row was stored (process start, group join, first fetch).
    first_secs: f64,
    rows: u64,
    cpu_per_msg_us: f64,
    complete: bool,
}

#[allow(clippy::too_many_arguments)]
async fn ingest_run(
    label: &str,
    bin: &Path,
    topics: &TestTopics,
    urls: &[&ClickHouseConfig],
    expected_rows: u64,
    messages: u64,
    logs: &Path,
    ticks: f64,
) -> IngestRun {
    eprintln!("ingest: {label}");
    let group = unique_name("bench-cluster-group");
    let client = urls[0].client();
    let t = Instant::now();
    let mut instances: Vec<Service> = urls
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut env = ch_env(ch);
            env.extend([
                ("SYNCTEL_INGEST_GROUP_ID", group.clone()),
                (
                    "SYNCTEL_INGEST_TOPICS",
                    format!("{},{}", topics.name("events"), topics.name("logs")),
                ),
                (
                    "SYNCTEL_DEADLETTER_TOPIC",
                    topics.name("deadletter").to_owned(),
                ),
                (
                    "SYNCTEL_INGEST_INSTANCE_ID",
                    format!("{}", (b'a' + i as u8) as char),
                ),
            ]);
            let log = logs.join(format!("{}-{i}.log", group));
            Service::spawn(bin, &["run"], &env, &log)
        })
        .collect();
    let (mut last, mut last_change) = (0u64, Instant::now());
    let mut complete = true;
    let mut first_secs = None;
    loop {
        for s in &mut instances {
            s.check_alive(label);
        }
        let rows = stored_rows(&client).await;
        if rows > 0 && first_secs.is_none() {
            first_secs = Some(t.elapsed().as_secs_f64());
        }
        if rows >= expected_rows {
            break;
        }
        if rows > last {
            (last, last_change) = (rows, Instant::now());
        }
        if last_change.elapsed() > Duration::from_secs(90) {
            eprintln!(
                "  stalled at {rows} of {expected_rows} rows for 90 s (logs in {})",
                logs.display()
            );
            complete = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu: f64 = instances
        .iter()
        .map(|s| proc::cpu_seconds(s.child.id(), ticks))
        .sum();
    for s in instances {
        s.stop();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rows = stored_rows(&client).await;
    eprintln!("  {secs:.1} s, {rows} rows of {expected_rows}");
    IngestRun {
        label: label.to_owned(),
        secs,
        first_secs: first_secs.unwrap_or(secs),
        rows,
        cpu_per_msg_us: cpu * 1e6 / messages as f64,
        complete,
    }
}

/// `aggregator once` with the database's env; its seconds.
fn aggregate_once(bin: &Path, ch: &ClickHouseConfig, log: &Path) -> f64 {
    let log = std::fs::File::create(log).unwrap();
    let mut cmd = Command::new(bin);
    for k in CLUSTER_ENV {
        cmd.env_remove(k);
    }
    cmd.arg("once")
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (k, v) in ch_env(ch) {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let status = cmd.status().unwrap();
    assert!(status.success(), "aggregator once: {status}");
    t.elapsed().as_secs_f64()
}

fn create_token(bin: &Path, ch: &ClickHouseConfig, tenant: &str) -> String {
    let mut cmd = Command::new(bin);
    for k in CLUSTER_ENV {
        cmd.env_remove(k);
    }
    cmd.args([
        "token", "create", "--tenant", tenant, "--role", "admin", "--label", "bench",
    ]);
    for (k, v) in ch_env(ch) {
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn p50_p99(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.99))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let users = env_u64("SYNCTEL_BENCH_USERS", 600);
    let hours = env_u64("SYNCTEL_BENCH_HOURS", 24);
    let requests = usize::try_from(env_u64("SYNCTEL_BENCH_REQUESTS", 200)).unwrap();
    let quorum0 = env_u64("SYNCTEL_BENCH_QUORUM0", 1) != 0;
    let nodes = node_urls();
    let ingest_bin = proc::service_binary("ingest");
    let aggregator_bin = proc::service_binary("aggregator");
    let api_bin = proc::service_binary("query-api");
    let ticks = proc::clock_ticks();
    let logs: PathBuf = std::env::temp_dir().join(unique_name("bench-cluster-logs"));
    std::fs::create_dir_all(&logs).unwrap();

    let span_ms = i64::try_from(hours).unwrap() * 3_600_000;
    let cfg = SimConfig {
        seed: 12,
        tenants: 4,
        profiles_per_tenant: 4,
        users_per_profile: u32::try_from(users.div_ceil(16)).unwrap(),
        start_ms: aggregator::cycle::now_ms() - span_ms - 600_000,
        span_ms,
        ..SimConfig::default()
    };
    let (records, manifest): (Vec<Record>, _) = simulator::simulate(&cfg);
    let messages = records.len() as u64;
    let expected_rows: u64 = records
        .iter()
        .map(
            |r| match Row::from_event(&schemas::wire::decode(&r.payload).unwrap()) {
                Row::LogLines(l) => l.len() as u64,
                _ => 1,
            },
        )
        .sum();
    eprintln!(
        "{messages} messages ({} users, {hours} h), {expected_rows} rows",
        cfg.total_users()
    );

    let topics = TestTopics::create(
        "bench-cluster",
        &[("events", 6), ("logs", 6), ("deadletter", 1)],
    )
    .await
    .unwrap();
    let publish_cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: topics.name("events").to_owned(),
        logs_topic: topics.name("logs").to_owned(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(10),
        max_batch_messages: 10_000,
    };
    let published = tokio::task::spawn_blocking(move || {
        publish(
            records.into_iter(),
            &publish_cfg,
            &AtomicBool::new(false),
            |_| {},
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(published.delivered, messages);

    let mut dbs = Databases::default();
    let name = unique_name("cluster");
    let single_cfg = |suffix: &str| ClickHouseConfig {
        url: testkit::clickhouse_url(),
        database: format!("bench_{name}_{suffix}"),
        ..ClickHouseConfig::default()
    };
    let cluster_cfg = |suffix: &str, url: &str, quorum: u64| {
        let mut c = ClusterConfig::new(CLUSTER);
        c.insert_quorum = quorum;
        ClickHouseConfig {
            url: url.to_owned(),
            database: format!("bench_{name}_{suffix}"),
            cluster: Some(c),
            ..ClickHouseConfig::default()
        }
    };
    let at = |ch: &ClickHouseConfig, url: &str| {
        let mut ch = ch.clone();
        ch.url = url.to_owned();
        ch
    };

    let mut runs: Vec<IngestRun> = Vec::new();
    // Baseline: one instance, one server.
    let single = dbs.create(single_cfg("single")).await;
    runs.push(
        ingest_run(
            "1 instance, single server (baseline)",
            &ingest_bin,
            &topics,
            &[&single],
            expected_rows,
            messages,
            &logs,
            ticks,
        )
        .await,
    );
    let mut api_cluster: Option<ClickHouseConfig> = None;
    let quorums: &[u64] = if quorum0 { &[2, 0] } else { &[2] };
    for &q in quorums {
        let one = dbs
            .create(cluster_cfg(&format!("c1q{q}"), &nodes[0], q))
            .await;
        runs.push(
            ingest_run(
                &format!("1 instance, cluster, insert_quorum {q}"),
                &ingest_bin,
                &topics,
                &[&one],
                expected_rows,
                messages,
                &logs,
                ticks,
            )
            .await,
        );
        dbs.drop_db(&one.database).await;
        let two = dbs
            .create(cluster_cfg(&format!("c2q{q}"), &nodes[0], q))
            .await;
        let two_b = at(&two, &nodes[2]);
        runs.push(
            ingest_run(
                &format!("2 instances, cluster, insert_quorum {q}"),
                &ingest_bin,
                &topics,
                &[&two, &two_b],
                expected_rows,
                messages,
                &logs,
                ticks,
            )
            .await,
        );
        if api_cluster.is_none() {
            api_cluster = Some(two);
        } else {
            dbs.drop_db(&two.database).await;
        }
    }
    let cluster = api_cluster.unwrap();

    println!(
        "ingest, {messages} messages ({} users x {hours} h of simulator traffic, {expected_rows} rows), \
         published once; each run its own database and consumer group; wall time from the instances' start \
         until count() of the 5 raw tables reached {expected_rows}",
        cfg.total_users()
    );
    println!(
        "{:<44} {:>9} {:>12} {:>10} {:>13} {:>14} {:>10} {:>12} {:>12}",
        "run",
        "wall s",
        "msg/s",
        "x baseline",
        "first row s",
        "after it msg/s",
        "x baseline",
        "CPU us/msg",
        "rows"
    );
    let drain = |r: &IngestRun| messages as f64 / (r.secs - r.first_secs).max(1e-3);
    let base = runs[0].secs;
    for r in &runs {
        println!(
            "{:<44} {:>9.1} {:>12.0} {:>9.2}x {:>13.1} {:>14.0} {:>9.2}x {:>12.2} {:>12}{}",
            r.label,
            r.secs,
            messages as f64 / r.secs,
            base / r.secs,
            r.first_secs,
            drain(r),
            drain(r) / drain(&runs[0]),
            r.cpu_per_msg_us,
            r.rows,
            if r.complete { "" } else { "  INCOMPLETE" }
        );
    }
    println!(
        "(x baseline: throughput relative to one instance on the single server; first row: seconds from the start \
         until count() > 0 (process start, group join, first fetch and insert); after it: messages / (wall - first row); \
         CPU: the ingest processes', summed, per message)"
    );

    // The API on both databases after one aggregator cycle each.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let agg_single = aggregate_once(&aggregator_bin, &single, &logs.join("agg-single.log"));
    let agg_cluster = aggregate_once(&aggregator_bin, &cluster, &logs.join("agg-cluster.log"));
    let profile = manifest
        .profiles
        .values()
        .find(|p| !p.deleted && p.sync_enabled)
        .unwrap();
    let (tenant, profile_id) = (profile.tenant_id.clone(), profile.profile_id.clone());
    let mut apis = Vec::new();
    for (label, ch) in [("single", &single), ("cluster", &cluster)] {
        let mut api = Service::spawn(
            &api_bin,
            &["run"],
            &ch_env(ch),
            &logs.join(format!("api-{label}.log")),
        );
        api.wait_up(label).await;
        let token = create_token(&api_bin, ch, &tenant);
        apis.push((api, token));
    }
    let cases = [
        ("(a) monitor cards", "/api/v1/monitor/cards".to_owned()),
        (
            "(b) a profile's sessions, 3 days, page 1",
            format!("/api/v1/profiles/{profile_id}/sessions"),
        ),
    ];
    println!(
        "API: one aggregator cycle (`aggregator once`): single server {agg_single:.1} s, cluster {agg_cluster:.1} s; \
         a query-api process on each; {requests} requests per query, alternated (tenant {tenant}, profile {profile_id})"
    );
    println!(
        "{:<44} {:>6} {:>11} {:>11} {:>13} {:>13} {:>9} {:>9}",
        "query", "rows", "single p50", "single p99", "cluster p50", "cluster p99", "p50 x", "p99 x"
    );
    for (name, path) in &cases {
        let mut ms = [Vec::new(), Vec::new()];
        let mut rows = [0usize; 2];
        for (i, (api, token)) in apis.iter().enumerate() {
            let (status, body) = http::get(api.addr, path, token).await;
            assert!(status.contains(" 200"), "{path}: {status}");
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            rows[i] = v
                .get("rows")
                .or_else(|| v.get("cards"))
                .and_then(serde_json::Value::as_array)
                .map_or(0, Vec::len);
        }
        for _ in 0..requests {
            for (i, (api, token)) in apis.iter().enumerate() {
                let t = Instant::now();
                let (status, _) = http::get(api.addr, path, token).await;
                ms[i].push(t.elapsed().as_secs_f64() * 1e3);
                assert!(status.contains(" 200"), "{path}: {status}");
            }
        }
        let (s50, s99) = p50_p99(ms[0].clone());
        let (c50, c99) = p50_p99(ms[1].clone());
        println!(
            "{:<44} {:>6} {:>8.1} ms {:>8.1} ms {:>10.1} ms {:>10.1} ms {:>8.2}x {:>8.2}x",
            name,
            format!("{}/{}", rows[0], rows[1]),
            s50,
            s99,
            c50,
            c99,
            c50 / s50,
            c99 / s99
        );
    }
    println!("(rows: single / cluster; p50 x, p99 x: cluster / single server)");
    for (api, _) in apis {
        api.stop();
    }

    drop(dbs);
    topics.delete().await.unwrap();
    let _ = std::fs::remove_dir_all(&logs);
}
