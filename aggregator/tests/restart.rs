//! Restart-safe: the aggregator binary is SIGKILLed at random points (mid-cycle included)
//! while events keep arriving, and restarted; it converges to exactly the manifest's state
//! for every user, because the watermark and every row live in ClickHouse and each cycle
//! is idempotent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{events_of, manifest_mismatches, Db};
use rand::{Rng, SeedableRng};
use simulator::SimConfig;

fn spawn(db: &Db) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aggregator"))
        .arg("run")
        .env("SYNCTEL_CLICKHOUSE_URL", &db.db.url)
        .env("SYNCTEL_CLICKHOUSE_DATABASE", &db.db.name)
        .env("SYNCTEL_AGGREGATOR_LISTEN", "127.0.0.1:0")
        .env("SYNCTEL_AGGREGATOR_INTERVAL_MS", "150")
        .env("SYNCTEL_STALL_AFTER_SECS", "3153600000")
        .env("SYNCTEL_NO_SESSION_AFTER_SECS", "3153600000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aggregator binary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_it_converges_to_the_manifest() {
    let db = Db::new("agg_restart").await;
    let cfg = SimConfig {
        seed: 23,
        tenants: 2,
        profiles_per_tenant: 2,
        users_per_profile: 20,
        span_ms: 3 * 3_600_000,
        state_change_rate: 0.05,
        abandoned_session_rate: 0.03,
        duplicate_rate: 0.1,
        reorder_rate: 0.1,
        ..SimConfig::default()
    };
    let (records, manifest) = simulator::simulate(&cfg);
    let events = events_of(&records);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let chunks = 8;
    let per = events.len().div_ceil(chunks);
    let mut kills = 0;
    for chunk in events.chunks(per) {
        let mut child = spawn(&db);
        db.insert(chunk).await;
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..1_500))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert_eq!(kills, chunks);
    let stored_at = db.server_now().await;
    let mut child = spawn(&db);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let bad = manifest_mismatches(&manifest, &db.users().await);
        if bad.is_empty() && db.watermark().await > stored_at {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} mismatches, e.g. {:#?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Series are exact after the crashes too.
    let total: u64 = db
        .client()
        .query("SELECT sum(sessions) FROM session_counts FINAL WHERE granularity = 'day'")
        .fetch_one()
        .await
        .unwrap();
    let want: u64 = manifest.sessions.values().flat_map(|m| m.values()).sum();
    assert_eq!(total, want);
    // And session_state holds every started session, merged as the view merges it.
    let (state, view) = db.session_state_and_view().await;
    assert_eq!(state, view, "session_state after the crashes");
    db.drop().await;
}
