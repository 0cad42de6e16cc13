//! Several aggregator processes on one database, against the real broker: exactly one
//! runs the cycles (it holds the lease, a Kafka consumer group over a one-partition
//! topic), the others stand by; when the holder is SIGKILLed a standby takes over (on
//! tansu, which keeps a dead member's partition, through the heartbeat watch); a holder
//! stopped with SIGTERM hands the lease over at once; an instance joining may take the
//! lease (an eager rebalance) but never leaves two holders; the cycles go on from the same
//! watermark throughout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Db;

/// One aggregator process and where its metrics are.
struct Instance {
    child: Child,
    port: u16,
}

fn config_file(topic: &str, group: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{topic}.toml"));
    let text = format!(
        "[lease]\nenabled = true\nbrokers = \"{}\"\ntopic = \"{topic}\"\ngroup = \"{group}\"\n\
         session_timeout_ms = 6000\nheartbeat_ms = 500\ntakeover_after_ms = 5000\n",
        testkit::kafka_brokers()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(db: &Db, config: &PathBuf) -> Instance {
    let port = testkit::free_port().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_aggregator"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("SYNCTEL_CLICKHOUSE_URL", &db.db.url)
        .env("SYNCTEL_CLICKHOUSE_DATABASE", &db.db.name)
        .env("SYNCTEL_AGGREGATOR_LISTEN", format!("127.0.0.1:{port}"))
        .env("SYNCTEL_AGGREGATOR_INTERVAL_MS", "200")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aggregator binary");
    Instance { child, port }
}

/// `aggregator_lease_held` of an instance; `None` while its endpoint is not up.
async fn held(port: u16) -> Option<bool> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let body = common::http_get(addr, "/metrics").await.ok()?;
    body.lines()
        .find(|l| l.starts_with("aggregator_lease_held "))
        .map(|l| l.ends_with(" 1"))
}

/// Waits until exactly one of `instances` holds the lease, and stays so for a few samples;
/// returns its index.
async fn one_holder(instances: &[&Instance], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut steady = 0;
    let mut last = None;
    loop {
        let mut states = Vec::new();
        for i in instances {
            states.push(held(i.port).await);
        }
        let holders: Vec<usize> = (0..states.len())
            .filter(|&i| states[i] == Some(true))
            .collect();
        let all_up = states.iter().all(Option::is_some);
        if all_up && holders.len() == 1 && last == Some(holders[0]) {
            steady += 1;
            if steady >= 5 {
                return holders[0];
            }
        } else {
            steady = 0;
        }
        last = holders.first().copied().filter(|_| holders.len() == 1);
        assert!(
            Instant::now() < deadline,
            "no single lease holder within {within:?}: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The version of the aggregator's progress row: it changes with every finished cycle.
async fn progress_version(db: &Db) -> u64 {
    db.client()
        .query("SELECT max(version) FROM aggregator_progress WHERE name = 'main'")
        .fetch_one::<u64>()
        .await
        .unwrap()
}

async fn cycles_go_on(db: &Db, within: Duration) {
    let before = progress_version(db).await;
    let deadline = Instant::now() + within;
    while progress_version(db).await == before {
        assert!(
            Instant::now() < deadline,
            "no cycle finished within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_holds_the_lease_and_a_standby_takes_over() {
    let db = Db::new("agg_lease").await;
    let name = testkit::unique_name("agg_lease");
    let topic = format!("{name}.lease");
    let config = config_file(&topic, &name);
    let a = spawn(&db, &config);
    let b = spawn(&db, &config);
    let bound = Duration::from_secs(90);

    let first = one_holder(&[&a, &b], bound).await;
    cycles_go_on(&db, bound).await;

    // The holder dies without leaving the group: the standby takes over.
    let (mut dead, standby) = if first == 0 { (a, b) } else { (b, a) };
    dead.child.kill().unwrap();
    dead.child.wait().unwrap();
    let started = Instant::now();
    assert_eq!(one_holder(&[&standby], bound).await, 0);
    let takeover = started.elapsed();
    cycles_go_on(&db, bound).await;

    // The killed one comes back: its join rebalances the group (eager assignors: the lease
    // may move to it), and again exactly one holds the lease.
    let back = spawn(&db, &config);
    let holder = one_holder(&[&standby, &back], bound).await;
    let (mut leaving, mut staying) = if holder == 0 {
        (standby, back)
    } else {
        (back, standby)
    };

    // The holder is stopped (SIGTERM): it leaves the group and the other takes over.
    let pid = leaving.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    leaving.child.wait().unwrap();
    assert_eq!(one_holder(&[&staying], bound).await, 0);
    cycles_go_on(&db, bound).await;
    eprintln!("takeover after SIGKILL of the holder: {takeover:?}");

    staying.child.kill().unwrap();
    staying.child.wait().unwrap();
    let _ = std::fs::remove_file(&config);
    let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::config::ClientConfig::new()
            .set("bootstrap.servers", testkit::kafka_brokers())
            .create()
            .unwrap();
    let _ = admin
        .delete_topics(&[&topic], &rdkafka::admin::AdminOptions::new())
        .await;
    db.drop().await;
}
