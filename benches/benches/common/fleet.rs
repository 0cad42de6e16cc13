//! Shared by the benches that need a large fleet in ClickHouse fast: the simulator's history
//! written straight into the raw tables with the clickhouse crate (no Kafka, no ingest;
//! `session_queued` events and logs left out), plus small timing helpers.

#![allow(dead_code, clippy::unwrap_used)]

use schemas::Event;
use simulator::{Generator, SimConfig};
use store::rows::{IssueEventRow, ProfileStateRow, Row, SessionEventRow, UserStateRow};
use store::ClickHouseConfig;
use testkit::TestDatabase;

/// An integer from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One tenant, 10 profiles, `users` users with about `per_user` sessions each, the
/// history ending now. Returns the config and its span in ms.
pub fn history(seed: u64, users: u64, per_user: u64) -> (SimConfig, i64) {
    history_every(seed, users, per_user, 300_000)
}

/// [`history`] with a session every `interval_ms` (jittered) per user.
pub fn history_every(seed: u64, users: u64, per_user: u64, interval_ms: i64) -> (SimConfig, i64) {
    let profiles = 10u32;
    // Mean gap between two sessions of a user: the interval (jittered +-50%) plus the
    // session (~1 min on average).
    let span_ms = (per_user as i64) * (interval_ms + 62_000);
    let cfg = SimConfig {
        seed,
        tenants: 1,
        profiles_per_tenant: profiles,
        users_per_profile: u32::try_from(users.div_ceil(u64::from(profiles))).unwrap(),
        start_ms: aggregator::cycle::now_ms() - span_ms,
        span_ms,
        session_interval_ms: interval_ms,
        state_change_rate: 0.002,
        logs: false,
        ..SimConfig::default()
    };
    (cfg, span_ms)
}

/// A fresh, migrated database.
pub async fn fresh_database(name: &str) -> (TestDatabase, ClickHouseConfig) {
    open_database(TestDatabase::new(name)).await
}

/// The database named by `SYNCTEL_BENCH_DATABASE` (kept by an earlier run with
/// `SYNCTEL_BENCH_KEEP=1`, migrated again), or a fresh one.
pub async fn kept_or_fresh_database(name: &str) -> (TestDatabase, ClickHouseConfig) {
    match std::env::var("SYNCTEL_BENCH_DATABASE") {
        Ok(kept) => open_database(TestDatabase::existing(&kept)).await,
        Err(_) => fresh_database(name).await,
    }
}

async fn open_database(db: TestDatabase) -> (TestDatabase, ClickHouseConfig) {
    let ch = ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    };
    store::migrate::migrate(&ch).await.unwrap();
    (db, ch)
}

#[derive(Default)]
struct Batch {
    sessions: Vec<SessionEventRow>,
    users: Vec<UserStateRow>,
    issues: Vec<IssueEventRow>,
    profiles: Vec<ProfileStateRow>,
}

/// What [`fill`] wrote.
pub struct Filled {
    /// Rows in `session_events`.
    pub session_rows: u64,
    /// Rows in `issue_events`.
    pub issue_rows: u64,
    /// `session_ended` events generated.
    pub ended: u64,
}

/// Generates `cfg`'s history on a thread and writes it in batches of 500k session rows.
pub async fn fill(client: &clickhouse::Client, cfg: SimConfig) -> Filled {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
    let producer = std::thread::spawn(move || {
        let mut batch = Batch::default();
        let mut ended = 0u64;
        for event in Generator::new(cfg) {
            if matches!(event, Event::SessionEnded(_)) {
                ended += 1;
            }
            match Row::from_event_at(&event, store::rows::now_s()) {
                Row::Session(r) if r.event_kind != "session_queued" => batch.sessions.push(r),
                Row::UserState(r) => batch.users.push(r),
                Row::Issue(r) => batch.issues.push(r),
                Row::ProfileState(r) => batch.profiles.push(r),
                _ => {}
            }
            if batch.sessions.len() >= 500_000 {
                tx.blocking_send(std::mem::take(&mut batch)).unwrap();
            }
        }
        tx.blocking_send(batch).unwrap();
        ended
    });
    let mut filled = Filled {
        session_rows: 0,
        issue_rows: 0,
        ended: 0,
    };
    while let Some(b) = rx.recv().await {
        filled.session_rows += b.sessions.len() as u64;
        filled.issue_rows += b.issues.len() as u64;
        write(client, "session_events", &b.sessions).await;
        write(client, "user_state_events", &b.users).await;
        write(client, "issue_events", &b.issues).await;
        write(client, "profile_state_events", &b.profiles).await;
    }
    filled.ended = producer.join().unwrap();
    filled
}

pub async fn write<T>(client: &clickhouse::Client, table: &str, rows: &[T])
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return;
    }
    let mut insert = client.insert::<T>(table).await.unwrap();
    for r in rows {
        insert.write(r).await.unwrap();
    }
    insert.end().await.unwrap();
}

/// p50 and p95 of durations in ms.
pub fn stats(mut ms: Vec<f64>) -> (f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.95))
}
