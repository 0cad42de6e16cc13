//! End-to-end ingest throughput against the real broker and ClickHouse.
//!
//! The simulator fills a topic with N messages first, then, in the same run:
//! - K: raw consume rate (a plain rdkafka loop touching each payload),
//! - C: raw insert rate of the same rows, pre-built, with the clickhouse crate,
//! - I: our ingest draining the topic into a fresh database,
//!
//! and prints I beside the serial ideal 1/(1/K + 1/C).
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench ingest_e2e`
//! (`SYNCTEL_BENCH_USERS`, `SYNCTEL_BENCH_HOURS` size the traffic; default 1,000 users x
//! 24 h, about 1.2 M messages).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{Generator, Record, SimConfig};
use store::rows::Row;
use testkit::{kafka_brokers, unique_name, TestDatabase, TestTopics};
use tokio_util::sync::CancellationToken;

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let users = env_u32("SYNCTEL_BENCH_USERS", 1_000);
    let hours = env_u32("SYNCTEL_BENCH_HOURS", 24);
    let cfg = SimConfig {
        seed: 1,
        tenants: 10,
        profiles_per_tenant: 4,
        users_per_profile: users.div_ceil(40),
        span_ms: i64::from(hours) * 3_600_000,
        ..SimConfig::default()
    };
    eprintln!("generating traffic: {} users, {hours} h", cfg.total_users());
    let t = Instant::now();
    let records: Vec<Record> = {
        let generator = Generator::new(cfg.clone());
        let end = generator.end_ms();
        simulator::FaultInjector::new(generator, &cfg, end).collect()
    };
    let n = records.len() as f64;
    let bytes: usize = records.iter().map(|r| r.payload.len()).sum();
    let gen_rate = n / t.elapsed().as_secs_f64();
    eprintln!(
        "{} messages, {:.0} bytes each on average",
        records.len(),
        bytes as f64 / n
    );

    let topics = TestTopics::create("bench", &[("events", 6), ("logs", 6), ("deadletter", 1)])
        .await
        .unwrap();
    let (events, logs) = (
        topics.name("events").to_owned(),
        topics.name("logs").to_owned(),
    );

    // P: publishing (the simulator's own rate).
    let publish_cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: events.clone(),
        logs_topic: logs.clone(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(5),
        max_batch_messages: 10_000,
    };
    let published = {
        let records = records.clone();
        tokio::task::spawn_blocking(move || {
            publish(
                records.into_iter(),
                &publish_cfg,
                &AtomicBool::new(false),
                |p| {
                    eprintln!("  published {}", p.sent);
                },
            )
        })
        .await
        .unwrap()
        .unwrap()
    };
    let publish_rate = published.sent as f64 / published.elapsed_secs;

    // K: raw consume.
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", unique_name("bench-raw"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&events, &logs]).unwrap();
    let t = Instant::now();
    let mut seen = 0usize;
    let mut touched = 0u64;
    while seen < records.len() {
        let m = consumer.recv().await.unwrap();
        touched = touched.wrapping_add(m.payload().map_or(0, |p| p.len() as u64));
        seen += 1;
    }
    let k = n / t.elapsed().as_secs_f64();
    drop(consumer);
    assert!(touched > 0);

    // C: raw insert of the same rows, pre-built.
    let raw_db = TestDatabase::new("bench_raw");
    let raw_cfg = store::ClickHouseConfig {
        url: raw_db.url.clone(),
        database: raw_db.name.clone(),
        ..store::ClickHouseConfig::default()
    };
    store::migrate::migrate(&raw_cfg).await.unwrap();
    let rows: Vec<Row> = records
        .iter()
        .map(|r| Row::from_event(&schemas::wire::decode(&r.payload).unwrap()))
        .collect();
    let client = raw_cfg.client();
    let t = Instant::now();
    insert_all(&client, &rows).await;
    let c = n / t.elapsed().as_secs_f64();
    raw_db.drop_database().await.unwrap();

    // I: our ingest draining the topic.
    let db = TestDatabase::new("bench_ingest");
    let mut config = ingest::IngestConfig::default();
    config.kafka.brokers = kafka_brokers();
    config.kafka.group_id = unique_name("bench-ingest");
    config.kafka.topics = vec![events.clone(), logs.clone()];
    config.kafka.dead_letter_topic = topics.name("deadletter").to_owned();
    config.clickhouse.url = db.url.clone();
    config.clickhouse.database = db.name.clone();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    store::migrate::migrate(&config.clickhouse).await.unwrap();
    let shutdown = CancellationToken::new();
    let cpu_before = cpu_seconds();
    let t = Instant::now();
    let running = ingest::start(config, shutdown.clone()).await.unwrap();
    let metrics_addr = running.http_addr;
    loop {
        let consumed = consumed(metrics_addr).await;
        if consumed >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let i = n / elapsed;
    shutdown.cancel();
    running.join().await.unwrap();
    db.drop_database().await.unwrap();
    topics.delete().await.unwrap();

    let ideal = 1.0 / (1.0 / k + 1.0 / c);
    println!(
        "ingest end to end, {} messages ({} users, {hours} h of traffic)",
        records.len(),
        cfg.total_users()
    );
    println!("  simulator generate   {gen_rate:>12.0} msg/s");
    println!("  simulator publish P  {publish_rate:>12.0} msg/s");
    println!("  raw consume K        {k:>12.0} msg/s");
    println!("  raw insert C         {c:>12.0} msg/s   (same rows, pre-built, clickhouse crate)");
    println!("  serial ideal         {ideal:>12.0} msg/s   1/(1/K + 1/C)");
    println!(
        "  ingest I             {i:>12.0} msg/s   I/ideal = {:.2}  (target >= 0.7)",
        i / ideal
    );
    println!("  process CPU during I {:>12.2} us/msg  (bench process: ingest + the bench's own polling; target <= 5)", cpu * 1e6 / n);
}

async fn insert_all(client: &clickhouse::Client, rows: &[Row]) {
    use store::rows::*;
    let mut sessions: Vec<&SessionEventRow> = Vec::new();
    let mut issues: Vec<&IssueEventRow> = Vec::new();
    let mut lines: Vec<&LogLineRow> = Vec::new();
    let mut users: Vec<&UserStateRow> = Vec::new();
    let mut profiles: Vec<&ProfileStateRow> = Vec::new();
    for row in rows {
        match row {
            Row::Session(r) => sessions.push(r),
            Row::Issue(r) => issues.push(r),
            Row::LogLines(l) => lines.extend(l.iter()),
            Row::UserState(r) => users.push(r),
            Row::ProfileState(r) => profiles.push(r),
        }
    }
    // Batches of 50k rows per table, like ingest's default.
    insert_rows(client, "session_events", &sessions).await;
    insert_rows(client, "issue_events", &issues).await;
    insert_rows(client, "log_lines", &lines).await;
    insert_rows(client, "user_state_events", &users).await;
    insert_rows(client, "profile_state_events", &profiles).await;
}

async fn insert_rows<T: clickhouse::RowOwned + clickhouse::RowWrite>(
    client: &clickhouse::Client,
    table: &str,
    rows: &[&T],
) {
    for chunk in rows.chunks(50_000) {
        let mut insert = client.insert::<T>(table).await.unwrap();
        for row in chunk {
            insert.write(row).await.unwrap();
        }
        insert.end().await.unwrap();
    }
}

async fn consumed(addr: std::net::SocketAddr) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body.lines()
        .filter(|l| l.starts_with("ingest_messages_consumed_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the ")" field: state is 0, utime is 11, stime is 12.
    (ticks(11) + ticks(12)) / 100.0
}
