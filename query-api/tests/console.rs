//! The web console end to end, in headless Chromium, against the whole pipeline on the real
//! servers: the simulator publishes a fleet to Kafka, `ingest` stores it in ClickHouse, the
//! `aggregator` derives the statuses, and `query-api` serves the API and the console. Once
//! the API's cards equal the simulator's manifest, `console/e2e/` (node:test +
//! playwright-core driving Debian's `/usr/bin/chromium`) signs in, checks the cards, filters
//! users, opens a user, exports CSV, downloads a log ZIP, runs an action and finds it in the
//! audit trail, with a screenshot of every page (in `target/console-e2e/`).
//!
//! Needs the console built and Chromium installed: `deploy/console.sh setup` (which
//! `deploy/test.sh` runs first).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use query_api::auth::{self, Role};
use query_api::{ApiConfig, AppState};
use serde_json::{json, Value};
use simulator::manifest::Manifest;
use simulator::publish::{publish, Pace, PublishConfig};
use simulator::SimConfig;
use store::ClickHouseConfig;
use testkit::{kafka_brokers, unique_name, TestDatabase, TestTopics};
use tokio_util::sync::CancellationToken;

/// A limit that never triggers: the manifest's reference model has no stall limit.
const NEVER_SECS: u64 = 100 * 365 * 86_400;
const TENANT: &str = "t0001";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Users per sync state of `tenant` as the manifest expects them (deleted users and users
/// of deleted profiles are not counted), every card present.
fn expected_cards(manifest: &Manifest, tenant: &str) -> BTreeMap<String, u64> {
    let mut cards: BTreeMap<String, u64> = schemas::SyncState::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), 0))
        .collect();
    for u in manifest.users.values().filter(|u| u.tenant_id == tenant) {
        let profile = manifest
            .profiles
            .get(&format!("{}/{}", u.tenant_id, u.profile_id));
        if u.deleted || profile.is_some_and(|p| p.deleted) {
            continue;
        }
        *cards.entry(u.sync_state.clone()).or_insert(0) += 1;
    }
    cards
}

async fn api_cards(base: &str, token: &str) -> Option<BTreeMap<String, u64>> {
    let out = tokio::process::Command::new("curl")
        .args(["-fsS", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{base}/api/v1/monitor/cards"))
        .output()
        .await
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        v["cards"]
            .as_array()?
            .iter()
            .map(|c| {
                (
                    c["sync_state"].as_str().unwrap_or("").to_owned(),
                    c["users"].as_u64().unwrap_or(0),
                )
            })
            .collect(),
    )
}

fn prerequisites(console: &Path) {
    let missing: Vec<String> = [
        console.join("dist/index.html"),
        console.join("node_modules/playwright-core"),
        PathBuf::from("/usr/bin/chromium"),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    assert!(
        missing.is_empty(),
        "the console e2e test needs {missing:?}: run deploy/console.sh setup (deploy/test.sh does)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_headless_chromium_against_the_pipeline() {
    let console = repo().join("console");
    prerequisites(&console);
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();

    let topics = TestTopics::create(
        "console",
        &[
            ("events", 3),
            ("logs", 2),
            ("deadletter", 1),
            ("commands", 1),
        ],
    )
    .await
    .unwrap();
    let db = TestDatabase::new("console");
    let ch = ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    };
    store::migrate::migrate(&ch).await.unwrap();
    let shutdown = CancellationToken::new();

    // ingest and the aggregator, as the services run them.
    let mut ingest_cfg = ingest::IngestConfig::default();
    ingest_cfg.kafka.brokers = kafka_brokers();
    ingest_cfg.kafka.group_id = unique_name("console-ingest");
    ingest_cfg.kafka.topics = vec![
        topics.name("events").to_owned(),
        topics.name("logs").to_owned(),
    ];
    ingest_cfg.kafka.dead_letter_topic = topics.name("deadletter").to_owned();
    ingest_cfg.clickhouse = ch.clone();
    ingest_cfg.batch.max_age_ms = 200;
    ingest_cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    let ingest = ingest::start(ingest_cfg, shutdown.clone()).await.unwrap();
    let mut agg_cfg = aggregator::AggregatorConfig {
        clickhouse: ch.clone(),
        ..Default::default()
    };
    agg_cfg.cycle.interval_ms = 300;
    agg_cfg.cycle.settle_secs = 1;
    agg_cfg.cycle.snapshot_interval_ms = 1;
    agg_cfg.rules.stall_after_secs = NEVER_SECS;
    agg_cfg.http.listen = "127.0.0.1:0".parse().unwrap();
    let aggregator = aggregator::start(agg_cfg, shutdown.clone()).await.unwrap();

    // The API with the console, on a free port.
    let mut api_cfg = ApiConfig {
        clickhouse: ch.clone(),
        ..Default::default()
    };
    api_cfg.kafka.brokers = kafka_brokers();
    api_cfg.kafka.commands_topic = topics.name("commands").to_owned();
    api_cfg.console.dir = console.join("dist");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let api = tokio::spawn(query_api::serve(
        listener,
        AppState::new(api_cfg),
        shutdown.clone(),
    ));

    // Six hours of a small fleet ending now, with duplicates, reordering and bad messages; a
    // session every 100 s, so a profile's default window holds over 1,000 sessions (the log
    // export of the window must carry them all).
    let span_ms = 6 * 3_600_000;
    let sim = SimConfig {
        seed: 61,
        tenants: 2,
        profiles_per_tenant: 3,
        users_per_profile: 12,
        start_ms: chrono::Utc::now().timestamp_millis() - span_ms,
        span_ms,
        session_interval_ms: 100_000,
        duplicate_rate: 0.02,
        reorder_rate: 0.02,
        malformed_rate: 0.005,
        ..SimConfig::default()
    };
    let (records, manifest, fleet) = simulator::simulate_fleet(&sim);
    let publish_cfg = PublishConfig {
        brokers: kafka_brokers(),
        events_topic: topics.name("events").to_owned(),
        logs_topic: topics.name("logs").to_owned(),
        pace: Pace::Unlimited,
        progress_every: Duration::from_secs(3600),
        max_batch_messages: 1,
    };
    let sent = tokio::task::spawn_blocking(move || {
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
    assert_eq!(sent.delivered, sent.sent);

    let client = db.client();
    let admin = auth::create_token(&client, TENANT, Role::Admin, None, "console e2e")
        .await
        .unwrap()
        .1;
    let viewer = auth::create_token(&client, TENANT, Role::Viewer, None, "console e2e")
        .await
        .unwrap()
        .1;

    // The fleet's engines obey the admins' commands (as fleet-sim does in live mode), so an
    // action in the browser shows pending, then the engine's new state.
    let engines_stop = std::sync::Arc::new(AtomicBool::new(false));
    let engines = {
        let cfg = simulator::engine::EngineConfig {
            brokers: kafka_brokers(),
            commands_topic: topics.name("commands").to_owned(),
            events_topic: topics.name("events").to_owned(),
        };
        let engine =
            simulator::engine::Engine::new(std::sync::Arc::new(std::sync::Mutex::new(fleet)));
        let stop = engines_stop.clone();
        std::thread::spawn(move || simulator::engine::run(&cfg, engine, None, &stop))
    };

    // Converged: the API's cards are the manifest's.
    let cards = expected_cards(&manifest, TENANT);
    let deadline = Instant::now() + Duration::from_secs(360);
    loop {
        let got = api_cards(&base, &admin).await;
        if got.as_ref() == Some(&cards) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cards never matched: {got:?} vs {cards:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let out_dir = repo().join("target/console-e2e");
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let users: Vec<Value> = manifest
        .users
        .values()
        .filter(|u| u.tenant_id == TENANT && !u.deleted)
        .filter(|u| {
            manifest
                .profiles
                .get(&format!("{}/{}", u.tenant_id, u.profile_id))
                .is_none_or(|p| !p.deleted)
        })
        .map(|u| {
            json!({
                "user_id": u.user_id,
                "display_name": u.display_name,
                "profile_id": u.profile_id,
                "effective_status": u.effective_status,
                "sync_state": u.sync_state,
                "sessions_started": u.sessions_started,
                "sessions_ended": u.sessions_ended,
                "issues": u.issues,
                "profile_name": manifest
                    .profiles
                    .get(&format!("{}/{}", u.tenant_id, u.profile_id))
                    .map(|p| p.name.clone()),
            })
        })
        .collect();
    // Sessions started per profile of the tenant (the profile page's default window).
    let mut profile_sessions: BTreeMap<String, u64> = BTreeMap::new();
    for u in manifest.users.values().filter(|u| u.tenant_id == TENANT) {
        *profile_sessions.entry(u.profile_id.clone()).or_insert(0) += u.sessions_started;
    }
    let context = json!({
        "profile_sessions": profile_sessions,
        "base_url": base,
        "admin_token": admin,
        "viewer_token": viewer,
        "tenant": TENANT,
        "cards": cards,
        "users": users,
        "out_dir": out_dir,
    });
    let context_path = out_dir.join("context.json");
    std::fs::write(&context_path, serde_json::to_vec_pretty(&context).unwrap()).unwrap();

    let run = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .arg("e2e/")
        .current_dir(&console)
        .env("SYNCTEL_E2E_CONTEXT", &context_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let run = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the browser tests took over 10 minutes")
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{report}");

    // The action the browser ran reached the commands topic's audit trail in ClickHouse.
    let audited: u64 = client
        .query(
            "SELECT count() FROM admin_actions FINAL WHERE tenant_id = ? AND result = 'published'",
        )
        .bind(TENANT)
        .fetch_one()
        .await
        .unwrap();

    engines_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    engines.join().unwrap().unwrap();
    shutdown.cancel();
    let _ = api.await;
    aggregator.join().await;
    ingest.join().await.unwrap();
    drop(client);
    db.drop_database().await.unwrap();
    topics.delete().await.unwrap();

    assert!(
        run.status.success(),
        "the browser tests failed (their report is above)"
    );
    assert!(audited >= 1, "no published admin action in the audit table");
}
