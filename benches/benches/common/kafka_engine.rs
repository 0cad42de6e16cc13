//! ClickHouse's own Kafka table engine as a peer of ingest (issue 17), on a ClickHouse 18.16
//! server of its own (free ports, its own data directory, started by `deploy/stack.sh
//! start-clickhouse`) whose `config.d/kafka.xml` makes its librdkafka (2.0.2) talk to tansu:
//! `api.version.request=false` and `broker.version.fallback=0.9.0`. With the default
//! settings the engine consumes nothing: tansu's ApiVersion v3 response does not parse
//! ("Read underflow at 267/272"); with a fallback of 0.10.0 or later librdkafka still asks
//! for ApiVersion; with 0.9.0 it does not, but its ListOffsets v0 request (what
//! `auto.offset.reset` needs when the group has no committed offset) fails to parse too
//! (tansu answers without the v0 offsets array). So the engine's group gets offset 0 of
//! every partition committed first (rdkafka, here), and then the engine consumes. The
//! `<kafka>` section is read when the server starts: a running server must be restarted.
//!
//! The engine is fed the session events of the bench's traffic (the bulk of the events
//! topic) as JSONEachRow rows of `session_events` (18.16 reads no Avro), one message per row,
//! from a 6-partition topic; a materialized view writes them into a table with the columns,
//! engine and key of `session_events`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use simulator::Record;
use store::rows::Row;
use testkit::{kafka_brokers, unique_name, TestTopics};

use super::proc;

/// Partitions of the engine's topic (as `synctel.events`).
const PARTITIONS: i32 = 6;

/// The columns of a `session_events` row as JSON (without `occurred_at` and `ingested_at`,
/// which the materialized view computes).
const COLUMNS: &str = "tenant_id String, profile_id String, user_id String, session_id String, \
    event_kind String, event_id String, occurred_at_ms Int64, engine_id String, \
    engine_version String, trigger String, started_at_ms Int64, ended_at_ms Int64, \
    status String, scope_items Int64, changes Int64, total_changes Int64, failures Int64, \
    issues Int64, conflicts Int64, objects_type Array(String), \
    objects_synchronized Array(Int64), objects_mail_to_crm_created Array(Int64), \
    objects_mail_to_crm_updated Array(Int64), objects_mail_to_crm_deleted Array(Int64), \
    objects_crm_to_mail_created Array(Int64), objects_crm_to_mail_updated Array(Int64), \
    objects_crm_to_mail_deleted Array(Int64), error_category String, error_source String, \
    message String, exception String";

/// The session events of `records` as JSONEachRow lines (each ending in a newline).
pub fn json_rows(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| schemas::wire::decode(&r.payload).ok())
        .filter_map(|e| match Row::from_event_at(&e, 0) {
            Row::Session(row) => {
                let mut v = serde_json::to_value(&row).unwrap();
                v.as_object_mut().unwrap().remove("ingested_at");
                Some(format!("{v}\n"))
            }
            _ => None,
        })
        .collect()
}

/// A ClickHouse 18.16 server of this bench, with the `<kafka>` section above.
pub struct Server {
    var: PathBuf,
    http_port: u16,
    tcp_port: u16,
}

impl Server {
    /// Starts a fresh one on free ports.
    pub fn start() -> Self {
        let var = std::env::temp_dir().join(unique_name("synctel-kafka-engine"));
        let etc = var.join("clickhouse/etc/config.d");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("kafka.xml"),
            "<yandex><kafka>\n  <api_version_request>false</api_version_request>\n  \
             <broker_version_fallback>0.9.0</broker_version_fallback>\n</kafka></yandex>\n",
        )
        .unwrap();
        let server = Self {
            var,
            http_port: testkit::free_port().unwrap(),
            tcp_port: testkit::free_port().unwrap(),
        };
        server.stack("start-clickhouse");
        server
    }

    fn stack(&self, verb: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/stack.sh");
        let status = Command::new("bash")
            .arg(script)
            .arg(verb)
            .env("SYNCTEL_VAR", &self.var)
            .env("SYNCTEL_TOPOLOGY", "single")
            .env("SYNCTEL_CLICKHOUSE_HTTP_PORT", self.http_port.to_string())
            .env("SYNCTEL_CLICKHOUSE_TCP_PORT", self.tcp_port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "deploy/stack.sh {verb}: {status}");
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(self.var.join("run/clickhouse.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Its HTTP URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Runs `sql`, returns the answer's text.
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("curl")
            .args(["-sS", "-m", "120", "--data-binary", sql, &self.url()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success() && !text.contains("DB::Exception"),
            "{sql}: {text}"
        );
        text
    }

    fn number(&self, sql: &str) -> u64 {
        self.query(sql).parse().unwrap_or(0)
    }

    /// SIGKILL (a crash), then a start on the same data.
    pub fn crash_and_restart(&self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid().to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(500));
        self.stack("start-clickhouse");
    }

    /// Stops it and deletes its data.
    pub fn destroy(self) {
        self.stack("stop-clickhouse");
        let _ = std::fs::remove_dir_all(&self.var);
    }
}

/// Publishes `rows` to `topic` (one message per row, keyed by nothing: round-robin).
pub async fn publish(topic: &str, rows: &[String]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .create()
        .unwrap();
    for (c, chunk) in rows.chunks(10_000).enumerate() {
        // `send_result` enqueues at once (`send` would only when awaited, one at a time).
        let sends: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let partition = i32::try_from((c * 10_000 + i) % PARTITIONS as usize).unwrap();
                producer
                    .send_result(
                        FutureRecord::<(), str>::to(topic)
                            .payload(row.as_str())
                            .partition(partition),
                    )
                    .map_err(|(e, _)| e)
                    .unwrap()
            })
            .collect();
        for s in sends {
            s.await.unwrap().map_err(|(e, _)| e).unwrap();
        }
    }
}

/// Commits offset 0 of every partition of `topic` for `group` (see the module header).
pub fn commit_zero(topic: &str, group: &str) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Offset(0))
            .unwrap();
    }
    consumer.commit(&tpl, CommitMode::Sync).unwrap();
}

/// What the engine did.
pub struct EngineRun {
    /// Rows it stored (count()).
    pub stored: u64,
    /// Distinct event ids among them.
    pub distinct: u64,
    /// Seconds from the materialized view's creation to the last row.
    pub secs: f64,
    /// The server's CPU seconds meanwhile, minus its idle CPU over the same time.
    pub extra_cpu_s: f64,
    /// The server's peak RSS (VmHWM) and its RSS before, bytes.
    pub hwm: u64,
    /// RSS before the phase.
    pub rss_before: u64,
}

/// Creates `db` with a Kafka table over `topic` (group `group`), a table like
/// `session_events` (`engine`: its engine clause) and the view between them; waits until
/// `n` distinct rows are stored or nothing moved for `idle`; `crash_at` (a row count)
/// kills and restarts the server once on the way.
#[allow(clippy::too_many_arguments)]
pub fn drain(
    server: &Server,
    db: &str,
    topic: &str,
    group: &str,
    engine: &str,
    n: u64,
    crash_at: Option<u64>,
    idle: Duration,
) -> EngineRun {
    let ticks = proc::clock_ticks();
    // The server's idle CPU rate, to subtract.
    let c0 = proc::cpu_seconds(server.pid(), ticks);
    std::thread::sleep(Duration::from_secs(3));
    let idle_rate = (proc::cpu_seconds(server.pid(), ticks) - c0) / 3.0;
    let rss_before = proc::rss_bytes(server.pid());
    server.query(&format!("CREATE DATABASE {db}"));
    server.query(&format!(
        "CREATE TABLE {db}.dst ({COLUMNS}, \
         occurred_at DateTime, ingested_at DateTime) ENGINE = {engine} \
         PARTITION BY toYYYYMM(occurred_at) \
         ORDER BY (tenant_id, user_id, session_id, event_kind, event_id)"
    ));
    server.query(&format!(
        "CREATE TABLE {db}.src ({COLUMNS}) ENGINE = Kafka SETTINGS \
         kafka_broker_list = '{}', kafka_topic_list = '{topic}', \
         kafka_group_name = '{group}', kafka_format = 'JSONEachRow', \
         kafka_row_delimiter = '\\n', kafka_num_consumers = 1",
        kafka_brokers()
    ));
    let mut cpu_start = proc::cpu_seconds(server.pid(), ticks);
    let mut cpu_before_crash = 0.0;
    let t = Instant::now();
    server.query(&format!(
        "CREATE MATERIALIZED VIEW {db}.mv TO {db}.dst AS SELECT *, \
         toDateTime(intDiv(occurred_at_ms, 1000)) AS occurred_at, now() AS ingested_at \
         FROM {db}.src"
    ));
    let (mut last, mut last_change) = (0u64, Instant::now());
    let mut crashed = crash_at.is_none();
    let mut done_at = t.elapsed();
    loop {
        let stored = server.number(&format!("SELECT count() FROM {db}.dst"));
        if stored > last {
            (last, last_change) = (stored, Instant::now());
            done_at = t.elapsed();
        }
        if !crashed && stored >= crash_at.unwrap_or(0) {
            cpu_before_crash = proc::cpu_seconds(server.pid(), ticks) - cpu_start;
            server.crash_and_restart();
            cpu_start = proc::cpu_seconds(server.pid(), ticks);
            crashed = true;
            last_change = Instant::now();
        }
        if crashed {
            let distinct = server.number(&format!(
                "SELECT uniqExact(event_id, session_id, event_kind) FROM {db}.dst"
            ));
            if distinct >= n || last_change.elapsed() > idle {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let secs = done_at.as_secs_f64();
    let cpu = cpu_before_crash + proc::cpu_seconds(server.pid(), ticks) - cpu_start;
    let hwm = proc::hwm_bytes(server.pid());
    let stored = server.number(&format!("SELECT count() FROM {db}.dst"));
    let distinct = server.number(&format!(
        "SELECT uniqExact(event_id, session_id, event_kind) FROM {db}.dst"
    ));
    // Stop consuming before the next phase.
    server.query(&format!("DROP TABLE {db}.mv"));
    server.query(&format!("DROP TABLE {db}.src"));
    EngineRun {
        stored,
        distinct,
        secs,
        extra_cpu_s: cpu - idle_rate * t.elapsed().as_secs_f64(),
        hwm,
        rss_before,
    }
}

/// The engine's insert path alone: the same rows sent as `INSERT ... FORMAT JSONEachRow`
/// over HTTP in blocks of `block` rows (as ingest's batches). Returns (seconds, the
/// server's CPU seconds).
pub fn insert_from_pipe(server: &Server, db: &str, rows: &[String], block: usize) -> (f64, f64) {
    let ticks = proc::clock_ticks();
    server.query(&format!("CREATE DATABASE {db}"));
    server.query(&format!(
        "CREATE TABLE {db}.dst ({COLUMNS}, \
         occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)), \
         ingested_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() \
         PARTITION BY toYYYYMM(occurred_at) \
         ORDER BY (tenant_id, user_id, session_id, event_kind, event_id)"
    ));
    let file = std::env::temp_dir().join(unique_name("kafka-engine-rows"));
    let url = format!(
        "{}/?query={}",
        server.url(),
        format!("INSERT INTO {db}.dst FORMAT JSONEachRow").replace(' ', "%20")
    );
    let cpu0 = proc::cpu_seconds(server.pid(), ticks);
    let mut secs = 0.0;
    for chunk in rows.chunks(block) {
        std::fs::write(&file, chunk.concat()).unwrap();
        let t = Instant::now();
        let out = Command::new("curl")
            .args(["-sS", "-m", "120", "--data-binary"])
            .arg(format!("@{}", file.display()))
            .arg(&url)
            .output()
            .unwrap();
        secs += t.elapsed().as_secs_f64();
        assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    }
    let cpu = proc::cpu_seconds(server.pid(), ticks) - cpu0;
    let _ = std::fs::remove_file(&file);
    (secs, cpu)
}

/// The whole peer comparison for `records`: prints the engine's drain, its drain with a
/// crash halfway, and its insert path fed from a pipe.
pub async fn compare(records: &[Record]) {
    let rows = json_rows(records);
    let n = rows.len() as u64;
    eprintln!("kafka engine: {n} session-event rows as JSONEachRow");
    let topics = TestTopics::create("bench-kengine", &[("json", PARTITIONS)])
        .await
        .unwrap();
    let topic = topics.name("json").to_owned();
    publish(&topic, &rows).await;
    let server = Server::start();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);

    let group = unique_name("kengine");
    commit_zero(&topic, &group);
    let run = drain(
        &server,
        "kengine_drain",
        &topic,
        &group,
        "ReplacingMergeTree()",
        n,
        None,
        Duration::from_secs(30),
    );
    println!(
        "  kafka engine E       {:>12.0} rows/s  ({} of {n} rows in {:.1} s; server CPU above idle {:.2} us/row; server RSS {:.0} MiB before, peak {:.0} MiB)",
        run.distinct as f64 / run.secs,
        run.distinct,
        run.secs,
        run.extra_cpu_s * 1e6 / run.distinct.max(1) as f64,
        mib(run.rss_before),
        mib(run.hwm),
    );

    let group = unique_name("kengine-crash");
    commit_zero(&topic, &group);
    let crash = drain(
        &server,
        "kengine_crash",
        &topic,
        &group,
        "MergeTree()",
        n,
        Some(n / 2),
        Duration::from_secs(60),
    );
    println!(
        "  kafka engine, SIGKILL at half: {} rows stored, {} distinct: lost {}, doubled {} (a plain MergeTree, so every delivery counts)",
        crash.stored,
        crash.distinct,
        n.saturating_sub(crash.distinct),
        crash.stored - crash.distinct,
    );

    let (secs, cpu) = insert_from_pipe(&server, "kengine_pipe", &rows, 50_000);
    println!(
        "  engine's insert path {:>12.0} rows/s  (INSERT FORMAT JSONEachRow over HTTP, blocks of 50k; server CPU {:.2} us/row)",
        n as f64 / secs,
        cpu * 1e6 / n as f64,
    );
    server.destroy();
    topics.delete().await.unwrap();
}
