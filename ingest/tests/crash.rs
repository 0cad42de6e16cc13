//! The `ingest` binary killed with SIGKILL mid-stream, twice, and restarted: nothing lost,
//! nothing doubled (as seen through the views).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::Harness;
use simulator::publish::Pace;
use simulator::{simulate, SimConfig};

async fn stored_sessions(h: &Harness) -> u64 {
    h.count("SELECT count() FROM session_events").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_and_doubles_nothing() {
    let h = Harness::new("crash").await;
    h.migrate().await;
    let cfg = SimConfig {
        seed: 5,
        tenants: 2,
        profiles_per_tenant: 3,
        users_per_profile: 20,
        span_ms: 8 * 3_600_000,
        duplicate_rate: 0.01,
        reorder_rate: 0.01,
        ..SimConfig::default()
    };
    let (records, manifest) = simulate(&cfg);
    let total_session_events: u64 = manifest
        .events
        .values()
        .flat_map(|k| k.iter())
        .filter(|(kind, _)| kind.starts_with("session_") && *kind != "session_log")
        .map(|(_, n)| n)
        .sum();
    // Publish at a pace that keeps ingest busy for several seconds.
    let publishing = {
        let records = records.clone();
        let pace = Pace::Rate(20_000.0);
        let events = h.topics.name("events").to_owned();
        let logs = h.topics.name("logs").to_owned();
        tokio::task::spawn_blocking(move || {
            let cfg = simulator::publish::PublishConfig {
                brokers: testkit::kafka_brokers(),
                events_topic: events,
                logs_topic: logs,
                pace,
                progress_every: Duration::from_secs(3600),
                max_batch_messages: 1,
            };
            simulator::publish::publish(
                records.into_iter(),
                &cfg,
                &std::sync::atomic::AtomicBool::new(false),
                |_| {},
            )
        })
    };
    let mut kills = 0;
    for fraction in [0.2, 0.5] {
        let mut child = h.spawn_ingest(None);
        let target = (total_session_events as f64 * fraction) as u64;
        // The machine may be busy (tests run in parallel): fail only when nothing moves.
        let (mut last, mut moved) = (0, Instant::now());
        loop {
            let stored = stored_sessions(&h).await;
            if stored >= target {
                break;
            }
            if stored > last {
                (last, moved) = (stored, Instant::now());
            }
            assert!(
                moved.elapsed() < Duration::from_secs(90),
                "ingest stored nothing for 90 s ({stored} of {target} session events)"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        child.start_kill().expect("SIGKILL");
        child.wait().await.unwrap();
        kills += 1;
    }
    assert_eq!(kills, 2);
    publishing.await.unwrap().expect("publish");
    let mut child = h.spawn_ingest(None);
    h.assert_matches_manifest(&manifest, &records, Duration::from_secs(180))
        .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    h.cleanup().await;
}
