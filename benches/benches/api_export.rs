//! The 1-million-row CSV export of the query API against the real ClickHouse: a fresh
//! database with N sessions (default 1,000,000, one `session_ended` row each, written
//! straight with the clickhouse crate as ingest writes them) in one profile, one aggregator
//! cycle (a profile's sessions are read from its `session_state`), the API started
//! in-process on a free port with an admin token, and the profile's sessions downloaded as
//! CSV over HTTP (`/api/v1/profiles/{p}/sessions?format=csv&from=0`).
//!
//! Printed, in the same run:
//! - rows/s through the API beside rows/s of ClickHouse's own `FORMAT CSVWithNames` of the
//!   same query (the API's list SQL, same binds) read over HTTP by the clickhouse crate
//!   (target: API >= 0.5x ClickHouse);
//! - the process RSS growth during the API export: `VmRSS` of `/proc/self/status` before,
//!   and the peak sampled every 50 ms during it (target: <= 64 MiB).
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench api_export`
//! (`SYNCTEL_BENCH_ROWS` sizes it, `SYNCTEL_BENCH_KEEP=1` keeps the database).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

#[path = "common/api.rs"]
mod api;
#[path = "common/fleet.rs"]
mod fleet;
#[path = "common/http.rs"]
mod http;
#[path = "common/proc.rs"]
mod proc;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use query_api::query::{list, specs};
use store::rows::{ProfileStateRow, SessionEventRow};
use store::ClickHouseConfig;
use testkit::TestDatabase;
use tokio_util::sync::CancellationToken;

/// The binds of the query files as the routes build them (`query_api::query::params`), in
/// the argument order this bench used before the structs.
mod binds {
    use query_api::query::params::{
        Bound, PageKey, ProfileSessions, ProfileSessionsPage, Scope, Sessions,
    };

    fn scope(tenant: &str, all: u8, profiles: Vec<String>) -> Scope {
        Scope {
            tenant_id: tenant.to_owned(),
            all_profiles: all,
            profiles,
        }
    }

    pub fn profile_session_binds(
        tenant: &str,
        profile_id: &str,
        from_ms: i64,
        to_ms: i64,
        all: u8,
        profiles: Vec<String>,
    ) -> Vec<Bound> {
        let scope = scope(tenant, all, profiles);
        ProfileSessions {
            scope: &scope,
            profile_id,
            from_ms,
            to_ms,
        }
        .binds()
    }

    #[allow(dead_code)]
    pub fn session_binds(
        tenant: &str,
        all: u8,
        profiles: Vec<String>,
        user_id: &str,
        session_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Vec<Bound> {
        let scope = scope(tenant, all, profiles);
        Sessions {
            scope: &scope,
            user_id,
            session_id,
            from_ms,
            to_ms,
        }
        .binds()
    }

    #[allow(dead_code)]
    pub fn profile_page_binds(
        tenant: &str,
        profile_id: &str,
        keys: &[PageKey],
        all: u8,
        profiles: Vec<String>,
    ) -> Vec<Bound> {
        let scope = scope(tenant, all, profiles);
        ProfileSessionsPage {
            scope: &scope,
            profile_id,
            keys,
        }
        .binds()
    }
}

const TENANT: &str = "bench";
const PROFILE: &str = "bench-p1";

fn session_row(i: u64, now: i64) -> SessionEventRow {
    let error = i.is_multiple_of(7);
    let start = now - 86_400_000 + i64::try_from(i % 80_000_000).unwrap();
    let duration = 1_000 + i64::try_from(i % 60_000).unwrap();
    SessionEventRow {
        tenant_id: TENANT.to_owned(),
        profile_id: PROFILE.to_owned(),
        user_id: format!("user-{:05}", i % 10_000),
        session_id: format!("session-{i:08}"),
        event_kind: "session_ended",
        event_id: format!("e-{i}"),
        occurred_at_ms: start + duration,
        engine_id: "engine-1".to_owned(),
        engine_version: "4.2.1".to_owned(),
        trigger: "",
        started_at_ms: start,
        ended_at_ms: start + duration,
        status: if error { "Error" } else { "Success" },
        scope_items: 1_200,
        changes: 12,
        total_changes: 30,
        failures: i64::from(error),
        issues: i64::from(error),
        conflicts: 0,
        objects_type: vec!["Email", "Contact"],
        objects_synchronized: vec![10, 2],
        objects_mail_to_crm_created: vec![3, 1],
        objects_mail_to_crm_updated: vec![2, 0],
        objects_mail_to_crm_deleted: vec![0, 0],
        objects_crm_to_mail_created: vec![1, 0],
        objects_crm_to_mail_updated: vec![0, 1],
        objects_crm_to_mail_deleted: vec![0, 0],
        error_category: if error { "Throttling" } else { "" },
        error_source: if error { "Crm" } else { "" },
        message: if error {
            "Request limit exceeded, retry later".to_owned()
        } else {
            "Synchronization completed".to_owned()
        },
        exception: String::new(),
        ingested_at: u32::try_from(now / 1_000).unwrap(),
    }
}

async fn fill(client: &clickhouse::Client, rows: u64, now: i64) {
    let mut profile = client
        .insert::<ProfileStateRow>("profile_state_events")
        .await
        .unwrap();
    profile
        .write(&ProfileStateRow {
            tenant_id: TENANT.to_owned(),
            profile_id: PROFILE.to_owned(),
            event_id: "p-created".to_owned(),
            occurred_at_ms: now - 2 * 86_400_000,
            engine_id: "engine-1".to_owned(),
            engine_version: "4.2.1".to_owned(),
            change: "Created",
            name: "Bench profile".to_owned(),
            sync_enabled: 1,
            ingested_at: u32::try_from(now / 1_000).unwrap(),
        })
        .await
        .unwrap();
    profile.end().await.unwrap();
    let mut i = 0;
    while i < rows {
        let end = (i + 200_000).min(rows);
        let mut insert = client
            .insert::<SessionEventRow>("session_events")
            .await
            .unwrap();
        for n in i..end {
            insert.write(&session_row(n, now)).await.unwrap();
        }
        insert.end().await.unwrap();
        i = end;
    }
}

/// GET over HTTP/1.0, counting body lines and bytes without keeping them: (status line,
/// lines, bytes, time to first byte).
async fn download(
    addr: std::net::SocketAddr,
    path: &str,
    token: &str,
) -> (String, u64, u64, Duration) {
    let (mut lines, mut bytes) = (0u64, 0u64);
    let (status, first_byte) = http::get_streamed(addr, path, token, |chunk| {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    })
    .await;
    (status, lines, bytes, first_byte)
}

#[tokio::main]
async fn main() {
    let rows = fleet::env_u64("SYNCTEL_BENCH_ROWS", 1_000_000);
    let db = TestDatabase::new("bench_api_export");
    let ch = ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    };
    store::migrate::migrate(&ch).await.unwrap();
    let client = db.client();
    let now = chrono_now_ms();
    let t = Instant::now();
    fill(&client, rows, now).await;
    println!(
        "filled {} with {rows} sessions in {:.1} s",
        db.name,
        t.elapsed().as_secs_f64()
    );
    // A profile's sessions are read from the aggregator's session_state: one cycle fills it.
    let (report, cycle_s) = api::one_cycle(&ch).await;
    println!(
        "one aggregator cycle: ~{} sessions into session_state ({} statements) in {cycle_s:.1} s",
        report.sessions, report.session_shards
    );
    let api = api::Api::start(&ch, TENANT, CancellationToken::new(), |c| {
        c.limits.export_max_rows = rows.max(1) * 2;
        c.limits.query_timeout_ms = 600_000;
    })
    .await;
    let (addr, token) = (api.addr, api.token.clone());

    // Baseline: ClickHouse's own CSV of the same query (the API's SQL and binds).
    let params = vec![("from".to_owned(), "0".to_owned())];
    let ctx = list::ParseContext {
        default_page_size: 100,
        max_page_size: 1000,
        now_ms: now + 60_000,
        window_days: 3,
    };
    let req = list::parse(&specs::PROFILE_SESSIONS, &params, ctx).unwrap();
    let sql = list::wrap(&specs::PROFILE_SESSIONS, &req, &[], false);
    let binds =
        binds::profile_session_binds(TENANT, PROFILE, 0, now + 60_000, 1, vec![String::new()]);
    let baseline = |client: clickhouse::Client| {
        let sql = sql.clone();
        let binds = binds.clone();
        async move {
            let t = Instant::now();
            let mut cursor = query_api::query::run::bind_all(client.query(&sql), &binds)
                .fetch_bytes("CSVWithNames")
                .unwrap();
            let (mut lines, mut bytes) = (0u64, 0u64);
            while let Some(chunk) = cursor.next().await.unwrap() {
                bytes += chunk.len() as u64;
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            }
            (t.elapsed(), lines, bytes)
        }
    };
    // Warm both paths once (page cache, ClickHouse's marks), then measure.
    let _ = baseline(client.clone()).await;
    let (ch_time, ch_lines, ch_bytes) = baseline(client.clone()).await;

    // The API export, with RSS sampled every 50 ms.
    let path = format!("/api/v1/profiles/{PROFILE}/sessions?format=csv&from=0");
    let rss_before = proc::rss_bytes(std::process::id());
    let peak = Arc::new(AtomicU64::new(rss_before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(proc::rss_bytes(std::process::id()), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let t = Instant::now();
    let (status, api_lines, api_bytes, api_first) = download(addr, &path, &token).await;
    let api_time = t.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let rss_peak = peak.load(Ordering::Relaxed);
    assert!(status.contains(" 200"), "{status}");
    assert_eq!(api_lines, rows + 1, "API CSV lines (header + rows)");
    assert_eq!(ch_lines, rows + 1, "ClickHouse CSV lines (header + rows)");

    let rate = |lines: u64, d: Duration| (lines - 1) as f64 / d.as_secs_f64();
    let (api_rate, ch_rate) = (rate(api_lines, api_time), rate(ch_lines, ch_time));
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let growth = rss_peak.saturating_sub(rss_before);
    println!("rows: {rows} sessions, 17 columns (the default columns of the sessions list)");
    println!(
        "API CSV        {:>8.2} s  {:>10.0} rows/s  {:>7.1} MiB",
        api_time.as_secs_f64(),
        api_rate,
        mib(api_bytes)
    );
    println!(
        "ClickHouse CSV {:>8.2} s  {:>10.0} rows/s  {:>7.1} MiB  (baseline, same query)",
        ch_time.as_secs_f64(),
        ch_rate,
        mib(ch_bytes)
    );
    println!(
        "API time to the first byte (the row count for the cap, then the first rows): {:.2} s",
        api_first.as_secs_f64()
    );
    println!(
        "ratio API / ClickHouse: {:.2}x (target >= 0.5x) {}",
        api_rate / ch_rate,
        if api_rate / ch_rate >= 0.5 {
            "OK"
        } else {
            "MISSED"
        }
    );
    println!(
        "RSS before {:.1} MiB, peak during the export {:.1} MiB, growth {:.1} MiB (target <= 64 MiB) {}",
        mib(rss_before),
        mib(rss_peak),
        mib(growth),
        if growth <= 64 << 20 { "OK" } else { "MISSED" }
    );

    api.stop().await;
    if std::env::var("SYNCTEL_BENCH_KEEP").is_ok() {
        println!("kept database {}", db.name);
    } else {
        db.drop_database().await.unwrap();
    }
}

fn chrono_now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}
