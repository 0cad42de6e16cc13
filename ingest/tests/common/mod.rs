//! Shared harness for ingest's integration tests: per-test topics and database on the real
//! broker and ClickHouse, publishing simulator traffic, and exact checks against the
//! simulator's manifest.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use ingest::IngestConfig;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::{Manifest, Record};
use store::ClickHouseConfig;
use testkit::{kafka_brokers, unique_name, TestDatabase, TestTopics};

/// Topics and database of one test.
pub struct Harness {
    pub topics: TestTopics,
    pub db: TestDatabase,
    pub clickhouse_url: String,
    pub group: String,
}

impl Harness {
    pub async fn new(test: &str) -> Self {
        Self::with_clickhouse(test, testkit::clickhouse_url()).await
    }

    pub async fn with_clickhouse(test: &str, clickhouse_url: String) -> Self {
        // Logs show up in the output of a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info,rdkafka=warn".to_owned()),
            )
            .with_test_writer()
            .try_init();
        let topics = TestTopics::create(test, &[("events", 4), ("logs", 2), ("deadletter", 1)])
            .await
            .expect("topics");
        let mut db = TestDatabase::new(test);
        db.url = clickhouse_url.clone();
        Self {
            topics,
            db,
            clickhouse_url,
            group: unique_name(&format!("{test}-ingest")),
        }
    }

    pub fn clickhouse(&self) -> ClickHouseConfig {
        ClickHouseConfig {
            url: self.clickhouse_url.clone(),
            database: self.db.name.clone(),
            ..ClickHouseConfig::default()
        }
    }

    /// An ingest config for this test: its topics, database and group; small batches.
    pub fn config(&self) -> IngestConfig {
        let mut config = IngestConfig::default();
        config.kafka.brokers = kafka_brokers();
        config.kafka.group_id = self.group.clone();
        config.kafka.topics = vec![
            self.topics.name("events").to_owned(),
            self.topics.name("logs").to_owned(),
        ];
        config.kafka.dead_letter_topic = self.topics.name("deadletter").to_owned();
        config.kafka.session_timeout_ms = 10_000;
        config.clickhouse = self.clickhouse();
        config.batch.max_age_ms = 200;
        config.batch.max_messages = 5_000;
        config.retry.max_backoff_ms = 2_000;
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        config
    }

    /// The same config as environment variables, for the `ingest` binary.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SYNCTEL_KAFKA_BROKERS", kafka_brokers()),
            ("SYNCTEL_INGEST_GROUP_ID", self.group.clone()),
            (
                "SYNCTEL_INGEST_TOPICS",
                format!(
                    "{},{}",
                    self.topics.name("events"),
                    self.topics.name("logs")
                ),
            ),
            (
                "SYNCTEL_DEADLETTER_TOPIC",
                self.topics.name("deadletter").to_owned(),
            ),
            ("SYNCTEL_CLICKHOUSE_URL", self.clickhouse_url.clone()),
            ("SYNCTEL_CLICKHOUSE_DATABASE", self.db.name.clone()),
            ("SYNCTEL_INGEST_LISTEN", "127.0.0.1:0".to_owned()),
        ]
    }

    /// The `ingest` binary (`ingest run`) on this test's topics and database, optionally
    /// with a static group membership id; logs to the test's stderr.
    pub fn spawn_ingest(&self, instance_id: Option<&str>) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingest"));
        cmd.arg("run")
            .env("RUST_LOG", "warn,ingest=info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        if let Some(id) = instance_id {
            cmd.env("SYNCTEL_INGEST_INSTANCE_ID", id);
        }
        cmd.spawn().expect("spawn ingest")
    }

    pub async fn migrate(&self) {
        store::migrate::migrate(&self.clickhouse())
            .await
            .expect("migrate");
    }

    /// Publishes `records` to this test's topics (blocking thread), paced, one message
    /// per producer request.
    pub async fn publish(&self, records: Vec<Record>, pace: Pace) {
        self.publish_batched(records, pace, 1).await;
    }

    /// Publishes `records` with up to `max_batch_messages` messages per producer record
    /// batch (as producers with `linger.ms` do).
    pub async fn publish_batched(&self, records: Vec<Record>, pace: Pace, max_batch_messages: u32) {
        let cfg = PublishConfig {
            brokers: kafka_brokers(),
            events_topic: self.topics.name("events").to_owned(),
            logs_topic: self.topics.name("logs").to_owned(),
            pace,
            progress_every: Duration::from_secs(3600),
            max_batch_messages,
        };
        let sent = tokio::task::spawn_blocking(move || {
            publish(records.into_iter(), &cfg, &AtomicBool::new(false), |_| {})
        })
        .await
        .unwrap()
        .expect("publish");
        assert_eq!(sent.delivered, sent.sent);
    }

    pub async fn count(&self, sql: &str) -> u64 {
        self.db
            .client()
            .query(sql)
            .fetch_one::<u64>()
            .await
            .expect(sql)
    }

    /// Distinct valid events per tenant and kind, as stored.
    pub async fn stored_events(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let rows: Vec<(String, String, u64)> = self
            .db
            .client()
            .query(STORED_EVENTS)
            .fetch_all()
            .await
            .expect("stored events");
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (tenant, kind, n) in rows {
            out.entry(tenant).or_default().insert(kind, n);
        }
        out
    }

    /// Waits until everything of `manifest` is stored (or `timeout`), then checks it
    /// exactly, through the views.
    pub async fn assert_matches_manifest(
        &self,
        manifest: &Manifest,
        records: &[Record],
        timeout: Duration,
    ) {
        self.assert_matches_manifest_plus(manifest, records, timeout, 0)
            .await;
    }

    /// As [`Self::assert_matches_manifest`], with `extra_dead` bad messages published
    /// besides the manifest's.
    pub async fn assert_matches_manifest_plus(
        &self,
        manifest: &Manifest,
        records: &[Record],
        timeout: Duration,
        extra_dead: u64,
    ) {
        let malformed: u64 = manifest.messages.malformed.values().sum::<u64>() + extra_dead;
        // `timeout` counts from the last progress: a busy machine (tests run in parallel) is
        // slow, not wrong; only a stall with rows missing fails.
        let mut moved = Instant::now();
        let mut last = (BTreeMap::new(), 0);
        loop {
            let stored = self.stored_events().await;
            let dead = self.count("SELECT count() FROM dead_letters FINAL").await;
            if stored == manifest.events && dead == malformed {
                break;
            }
            if (stored.clone(), dead) != last {
                last = (stored.clone(), dead);
                moved = Instant::now();
            }
            assert!(
                moved.elapsed() < timeout,
                "nothing new stored for {timeout:?}: dead letters {dead} of {malformed}; stored {stored:?}, expected {:?}",
                manifest.events
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Through the views: no duplicate is visible, whatever was redelivered.
        let rows: Vec<(String, String, u64)> = self
            .db
            .client()
            .query("SELECT tenant_id, status, count() FROM sessions WHERE status != '' GROUP BY tenant_id, status")
            .fetch_all()
            .await
            .unwrap();
        assert_eq!(
            nest(rows),
            manifest.sessions,
            "ended sessions per tenant and status"
        );
        let rows: Vec<(String, String, u64)> = self
            .db
            .client()
            .query("SELECT tenant_id, toString(error_code), count() FROM issues GROUP BY tenant_id, error_code")
            .fetch_all()
            .await
            .unwrap();
        assert_eq!(nest(rows), manifest.issues, "issues per tenant and code");
        let kind_total = |kind: &str| -> u64 {
            manifest
                .events
                .values()
                .map(|k| k.get(kind).copied().unwrap_or(0))
                .sum()
        };
        // Every session is queued first, so the sessions view has one row per queued event.
        assert_eq!(
            self.count("SELECT count() FROM sessions").await,
            kind_total("session_queued")
        );
        assert_eq!(
            self.count("SELECT count() FROM user_state_history").await,
            kind_total("user_state")
        );
        assert_eq!(
            self.count("SELECT count() FROM profile_state_history")
                .await,
            kind_total("profile_state")
        );
        let mut lines = 0u64;
        let mut seen = std::collections::HashSet::new();
        for r in records {
            if let Ok(schemas::Event::SessionLog(l)) = schemas::decode_valid(&r.payload) {
                if seen.insert(l.header.event_id.clone()) {
                    lines += l.lines.len() as u64;
                }
            }
        }
        assert_eq!(
            self.count("SELECT count() FROM session_logs").await,
            lines,
            "log lines"
        );
        assert_eq!(
            self.count("SELECT count() FROM dead_letters FINAL").await,
            malformed
        );
    }

    /// Reads `n` messages of the dead-letter topic: (headers, key, payload).
    pub async fn dead_letter_messages(
        &self,
        n: usize,
    ) -> Vec<(HashMap<String, String>, Vec<u8>, Vec<u8>)> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", kafka_brokers())
            .set("group.id", unique_name("dlq-reader"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        consumer
            .subscribe(&[self.topics.name("deadletter")])
            .unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while out.len() < n && Instant::now() < deadline {
            let Ok(Ok(m)) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
            else {
                continue;
            };
            let mut headers = HashMap::new();
            if let Some(h) = m.headers() {
                for header in h.iter() {
                    let value = header
                        .value
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .unwrap_or_default();
                    headers.insert(header.key.to_owned(), value);
                }
            }
            out.push((
                headers,
                m.key().unwrap_or_default().to_vec(),
                m.payload().unwrap_or_default().to_vec(),
            ));
        }
        out
    }

    pub async fn cleanup(self) {
        self.db.drop_database().await.unwrap();
        self.topics.delete().await.unwrap();
    }
}

fn nest(rows: Vec<(String, String, u64)>) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (a, b, n) in rows {
        out.entry(a).or_default().insert(b, n);
    }
    out
}

const STORED_EVENTS: &str = "
SELECT tenant_id, event_kind, uniqExact(event_id) FROM session_events GROUP BY tenant_id, event_kind
UNION ALL SELECT tenant_id, 'sync_issue', uniqExact(event_id) FROM issue_events GROUP BY tenant_id
UNION ALL SELECT tenant_id, 'session_log', uniqExact(event_id) FROM log_lines GROUP BY tenant_id
UNION ALL SELECT tenant_id, 'user_state', uniqExact(event_id) FROM user_state_events GROUP BY tenant_id
UNION ALL SELECT tenant_id, 'profile_state', uniqExact(event_id) FROM profile_state_events GROUP BY tenant_id";

/// Reads one metric value (summing its label sets) from a Prometheus text page.
pub async fn metric(addr: std::net::SocketAddr, name: &str, label_filter: &str) -> f64 {
    let body = http_get(addr, "/metrics").await;
    body.lines()
        .filter(|l| l.starts_with(name) && l.contains(label_filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A tiny HTTP/1.0 GET on loopback.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}
