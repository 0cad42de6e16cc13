//! The aggregator's cost as history grows (issue 17): one tenant of N users (default
//! 100,000) whose history is loaded in steps up to each size of
//! `SYNCTEL_BENCH_RAW_ROWS_M` (millions of raw rows, session plus issue events; default
//! "10,50,100"), written straight into the raw tables as ingest writes them (see
//! `aggregator_scale` for why). Each step adds older history for the same users (the
//! simulator with another seed, ending where the previous load began).
//!
//! At each size, in the same run:
//! - the steady cycle: 1,000 users get a stored row (a cycle recomputes them), then a new
//!   session, and one cycle runs (its users and sessions steps timed apart) advancing them
//!   from their stored rows (`advance_users.sql`); the history loaded before is behind the
//!   watermark, as if aggregated;
//! - a baseline for the sessions step: the same again with `cycle.session_lookback_days = 0`,
//!   the touched sessions read from every part of `session_events` (the cycle before
//!   migration 0020), where the default reads only the parts and months whose events
//!   occurred from a week before the new events on;
//! - its baseline: the same users get another new session and one cycle recomputes them
//!   from all their events (`cycle.advance_users` off: the cycle before issue 17's last
//!   step);
//! - an older baseline: what the cycle before `ingest_touches` spent finding the same window's
//!   users and sessions (the scans of the raw tables' `ingested_at` it ran: the touched
//!   users' count and the sessions' count, each once; the old cycle ran the user set twice
//!   more inside its recompute and the session set once more);
//! - the steady cycle twice: as loaded (the load leaves many parts, which background
//!   merges work through for a while; a touched user is looked up in every one) and after
//!   `OPTIMIZE TABLE ... FINAL` of the raw tables (one part per month partition: what a store
//!   whose history came in over months looks like once merges caught up); the parts of
//!   `session_events` and `user_state_events` are printed beside each;
//! - the first full recompute (the derived tables emptied, a new aggregator's first cycle)
//!   at the sizes of `SYNCTEL_BENCH_FULL_AT_M` (default: every size).
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench aggregator_history`
//! (`SYNCTEL_BENCH_USERS`, `SYNCTEL_BENCH_RAW_ROWS_M`, `SYNCTEL_BENCH_FULL_AT_M`;
//! `SYNCTEL_BENCH_SESSION_INTERVAL_MIN`, default 5: a session per user about this often, so
//! that the history spans hours (the default) or a year (10,000 users at 116 minutes reach
//! 100 M rows over about 365 days, in 13 monthly partitions);
//! `SYNCTEL_BENCH_ROUNDS`, default 3: rounds of steady cycles whose median is reported;
//! `SYNCTEL_BENCH_KEEP=1` keeps the database, `SYNCTEL_BENCH_DATABASE=<kept name>` runs
//! on it again: nothing is loaded while it holds the rows asked for).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

#[path = "common/fleet.rs"]
mod fleet;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::cycle::{now_ms, sql, COUNTS_PROGRESS_NAME, PROGRESS_NAME, SESSIONS_PROGRESS_NAME};
use aggregator::{Aggregator, AggregatorConfig};
use schemas::Event;
use store::rows::Row;

/// Raw rows per session in the simulator's history (started + ended, ~0.25 issue):
/// measured 22.4 M rows for 10.0 M sessions.
const RAW_ROWS_PER_SESSION: f64 = 2.24;

/// The touched users' count as the cycle ran it before `ingest_touches`: a scan of
/// `ingested_at` over both user-keyed raw tables (profile and time parts left out: they
/// are the same in both).
const OLD_TOUCHED_USERS: &str = "SELECT count() FROM (SELECT DISTINCT tenant_id, user_id FROM ( \
     SELECT tenant_id, user_id FROM session_events \
     WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?) \
     UNION ALL SELECT tenant_id, user_id FROM user_state_events \
     WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)))";

/// The sessions' count as the cycle ran it before `ingest_touches`.
const OLD_TOUCHED_SESSIONS: &str = "SELECT uniq(tenant_id, user_id, session_id) \
     FROM session_events WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)";

fn list_env(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn config(ch: &store::ClickHouseConfig) -> AggregatorConfig {
    let mut config = AggregatorConfig::default();
    config.clickhouse = ch.clone();
    config.cycle.settle_secs = 0;
    // No look-back: the steady cycle then sees only the 1,000 users with new events.
    config.cycle.overlap_secs = 0;
    config.cycle.max_users_per_statement =
        fleet::env_u64("SYNCTEL_BENCH_USERS_PER_STATEMENT", 25_000);
    config
}

async fn aggregator(ch: &store::ClickHouseConfig) -> Aggregator {
    aggregator_advancing(ch, true).await
}

async fn aggregator_advancing(ch: &store::ClickHouseConfig, advance: bool) -> Aggregator {
    aggregator_with(
        ch,
        advance,
        AggregatorConfig::default().cycle.session_lookback_days,
    )
    .await
}

async fn aggregator_with(
    ch: &store::ClickHouseConfig,
    advance: bool,
    session_lookback_days: u32,
) -> Aggregator {
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut config = config(ch);
    config.cycle.advance_users = advance;
    config.cycle.session_lookback_days = session_lookback_days;
    Aggregator::new(config, metrics).await.unwrap()
}

async fn server_now(client: &clickhouse::Client) -> u32 {
    client.query(sql::SERVER_NOW).fetch_one().await.unwrap()
}

/// Puts every watermark at the server's now: what is stored is taken as aggregated.
async fn watermarks_to_now(client: &clickhouse::Client) {
    let now = server_now(client).await + 1;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for name in [PROGRESS_NAME, SESSIONS_PROGRESS_NAME, COUNTS_PROGRESS_NAME] {
        client
            .query(sql::PROGRESS_WRITE)
            .bind(name)
            .bind(now)
            .bind(now_ms())
            .bind(u64::try_from(now_ms()).unwrap())
            .execute()
            .await
            .unwrap();
    }
}

/// The 1,000 users the steady cycles of step `seed` touch.
async fn pick_users(client: &clickhouse::Client, seed: usize) -> Vec<(String, String, String)> {
    client
        .query(
            "SELECT tenant_id, any(profile_id), user_id FROM user_state_events \
             GROUP BY tenant_id, user_id ORDER BY cityHash64(user_id, ?) LIMIT 1000",
        )
        .bind(seed as u64)
        .fetch_all()
        .await
        .unwrap()
}

/// The users are marked touched (as a user-state event would), so that the next cycle
/// gives each a stored row (a new aggregator over a loaded history has none).
async fn prime(client: &clickhouse::Client, users: &[(String, String, String)]) {
    let values: Vec<String> = users
        .iter()
        .map(|(tenant, _, user)| {
            format!("(now(), 'user_state', '{tenant}', '{user}', '', 0, today())")
        })
        .collect();
    client
        .query(&format!(
            "INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day) VALUES {}",
            values.join(", ")
        ))
        .execute()
        .await
        .unwrap();
}

/// The users each get a started session (ids tagged `tag`), stored now.
async fn touch_users(client: &clickhouse::Client, users: &[(String, String, String)], tag: &str) {
    let at = now_ms();
    let mut rows = Vec::new();
    for (i, (tenant, profile, user)) in users.iter().enumerate() {
        let ev = Event::SessionStarted(schemas::SessionStarted {
            header: schemas::Header {
                event_id: format!("bench-{tag}-{i}"),
                tenant_id: tenant.clone(),
                profile_id: profile.clone(),
                user_id: user.clone(),
                occurred_at_ms: at,
                engine_id: "bench".into(),
                engine_version: "1".into(),
            },
            session_id: format!("bench-session-{tag}-{i}"),
            trigger: schemas::Trigger::Schedule,
        });
        if let Row::Session(r) = Row::from_event_at(&ev, store::rows::now_s()) {
            rows.push(r);
        }
    }
    fleet::write(client, "session_events", &rows).await;
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, f64) {
    let t = Instant::now();
    let out = f.await;
    (out, t.elapsed().as_secs_f64())
}

/// One steady cycle's figures; a median of rounds also carries the range of its cycles.
struct Steady {
    cycle_s: f64,
    users_ms: u64,
    sessions_ms: u64,
    /// Users advanced from their stored row (the others recomputed from all events).
    advanced: u64,
    /// The fastest and slowest cycle of the rounds, s.
    range_s: (f64, f64),
    rounds: usize,
}

impl Steady {
    /// The round whose cycle took the median time, with the range of all.
    fn median(mut rounds: Vec<Steady>) -> Steady {
        rounds.sort_by(|a, b| a.cycle_s.total_cmp(&b.cycle_s));
        let range_s = (rounds[0].cycle_s, rounds[rounds.len() - 1].cycle_s);
        let n = rounds.len();
        let mut median = rounds.swap_remove(n / 2);
        median.range_s = range_s;
        median.rounds = n;
        median
    }

    fn cell(&self) -> String {
        format!(
            "**{:.2} s** ({:.2} s / {:.2} s; {} rounds {:.2}-{:.2} s)",
            self.cycle_s,
            self.users_ms as f64 / 1e3,
            self.sessions_ms as f64 / 1e3,
            self.rounds,
            self.range_s.0,
            self.range_s.1
        )
    }
}

/// The steady cycles of one state of the tables: the same 1,000 users advanced from their
/// stored rows, then recomputed from all their events (`cycle.advance_users` off: the
/// cycle before this round), and the old cycle's raw scans of the advanced cycle's window.
struct SteadyPair {
    advanced: Steady,
    /// Advanced too, with `cycle.session_lookback_days = 0`: the touched sessions read
    /// from every part of `session_events` (the cycle before migration 0020).
    unbounded: Steady,
    recomputed: Steady,
    /// The old cycle's two raw scans of the same window, s.
    old_s: f64,
}

/// One size's figures.
struct StepResult {
    size_m: u64,
    raw: u64,
    touches: u64,
    full: Option<(f64, u64, u64)>,
    parts_loaded: u64,
    loaded: SteadyPair,
    parts_merged: u64,
    merged: SteadyPair,
}

/// Rows of the raw tables the history sizes count (session and issue events).
async fn raw_rows(client: &clickhouse::Client) -> u64 {
    client
        .query("SELECT (SELECT count() FROM session_events) + (SELECT count() FROM issue_events)")
        .fetch_one()
        .await
        .unwrap()
}

/// Active parts of the raw tables a touched user is read from.
async fn raw_parts(client: &clickhouse::Client) -> u64 {
    client
        .query(
            "SELECT count() FROM system.parts WHERE active AND database = currentDatabase() \
             AND table IN ('session_events', 'user_state_events')",
        )
        .fetch_one()
        .await
        .unwrap()
}

/// Merges every partition of the raw tables into one part.
async fn optimize_raw(client: &clickhouse::Client) {
    for t in ["session_events", "user_state_events", "issue_events"] {
        client
            .query(&format!("OPTIMIZE TABLE {t} FINAL"))
            .with_setting("max_execution_time", "3600")
            .execute()
            .await
            .unwrap();
    }
}

/// One cycle over the users' new sessions (tagged `tag`), timed.
async fn timed_cycle(
    agg: &mut Aggregator,
    client: &clickhouse::Client,
    users: &[(String, String, String)],
    tag: &str,
) -> (Steady, u32, u32) {
    let from = server_now(client).await;
    touch_users(client, users, tag).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let to = server_now(client).await;
    let (report, cycle_s) = timed(agg.cycle()).await;
    let report = report.unwrap();
    // Users whose stall or no-session time has come are recomputed too.
    assert!(report.touched >= 1_000, "{report:?}");
    eprintln!(
        "  steady cycle {tag}: {} users ({} advanced, {} ms), ~{} sessions ({} ms); cycle {cycle_s:.2} s",
        report.touched, report.advanced, report.users_ms, report.sessions, report.sessions_ms
    );
    let steady = Steady {
        cycle_s,
        users_ms: report.users_ms,
        sessions_ms: report.sessions_ms,
        advanced: report.advanced,
        range_s: (cycle_s, cycle_s),
        rounds: 1,
    };
    (steady, from, to)
}

/// The steady cycles: 1,000 users (picked by `seed`) get a stored row; then, in each
/// round, a new session and one cycle advances them, and another new session and one cycle
/// recomputes them from all their events; everything else is behind the watermark. The
/// median of each kind is kept. Then the old cycle's scans of the first window.
async fn steady_cycle(
    ch: &store::ClickHouseConfig,
    client: &clickhouse::Client,
    seed: usize,
) -> SteadyPair {
    watermarks_to_now(client).await;
    let users = pick_users(client, seed).await;
    let mut advancing = aggregator_advancing(ch, true).await;
    let mut unbounded = aggregator_with(ch, true, 0).await;
    let mut recomputing = aggregator_advancing(ch, false).await;
    prime(client, &users).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (primed, s) = timed(advancing.cycle()).await;
    let primed = primed.unwrap();
    eprintln!(
        "  primed {} users ({} advanced) in {s:.2} s",
        primed.touched, primed.advanced
    );
    // Session ids of this run only (a run on a kept database picks the same users again).
    let run = now_ms();
    // Rounds of an advanced then a recomputed cycle, each over a new session per user: the
    // median of each is reported (one cycle alone varies by 20-35% on this machine).
    let rounds = fleet::env_u64("SYNCTEL_BENCH_ROUNDS", 3).max(1);
    let (mut advanced, mut recomputed, mut windows) = (Vec::new(), Vec::new(), Vec::new());
    let mut all_parts = Vec::new();
    for round in 0..rounds {
        for (agg, kind, cycles) in [
            (&mut advancing, "a", &mut advanced),
            (&mut unbounded, "u", &mut all_parts),
            (&mut recomputing, "r", &mut recomputed),
        ] {
            let tag = format!("{run}-{seed}-{round}-{kind}");
            let (steady, from, to) = timed_cycle(agg, client, &users, &tag).await;
            cycles.push(steady);
            windows.push((from, to));
        }
    }
    // The old scans are timed over the first advanced cycle's window.
    let (from, to) = windows[0];
    let (advanced, recomputed) = (Steady::median(advanced), Steady::median(recomputed));
    let unbounded = Steady::median(all_parts);
    let (old_users, old_users_s) = timed(
        client
            .query(OLD_TOUCHED_USERS)
            .bind(from)
            .bind(to)
            .bind(from)
            .bind(to)
            .fetch_one::<u64>(),
    )
    .await;
    let (old_sessions, old_sessions_s) = timed(
        client
            .query(OLD_TOUCHED_SESSIONS)
            .bind(from)
            .bind(to)
            .fetch_one::<u64>(),
    )
    .await;
    let (old_users, old_sessions) = (old_users.unwrap(), old_sessions.unwrap());
    eprintln!(
        "  old scans found {old_users} users in {old_users_s:.2} s, {old_sessions} sessions \
         in {old_sessions_s:.2} s"
    );
    SteadyPair {
        advanced,
        unbounded,
        recomputed,
        old_s: old_users_s + old_sessions_s,
    }
}

#[tokio::main]
async fn main() {
    let users = fleet::env_u64("SYNCTEL_BENCH_USERS", 100_000);
    let interval_ms =
        i64::try_from(fleet::env_u64("SYNCTEL_BENCH_SESSION_INTERVAL_MIN", 5) * 60_000).unwrap();
    let sizes = list_env("SYNCTEL_BENCH_RAW_ROWS_M", "10,50,100");
    let full_at = list_env(
        "SYNCTEL_BENCH_FULL_AT_M",
        &sizes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    let (db, ch) = fleet::kept_or_fresh_database("bench_agg_history").await;
    let client = ch.client();
    let mut history_start_ms = now_ms();
    let mut results: Vec<StepResult> = Vec::new();
    for (step, &size_m) in sizes.iter().enumerate() {
        let want = size_m * 1_000_000;
        // Older history until the size asked is reached (within 3%): the raw rows per
        // session depend on the layout, so each round measures them for the next.
        let mut rows_per_session = RAW_ROWS_PER_SESSION;
        loop {
            let raw = raw_rows(&client).await;
            if raw as f64 >= want as f64 * 0.97 {
                break;
            }
            let per_user =
                ((((want - raw) as f64 / rows_per_session) / users as f64).ceil() as u64).max(1);
            // Seeded by where this load ends, so that every load (two in one step, or one
            // added to a kept database) has ids of its own: loads of one seed repeat the
            // same session and event ids, and their copies collapse or join across months.
            let seed = u64::try_from(history_start_ms).unwrap();
            let (mut cfg, span_ms) = fleet::history_every(seed, users, per_user, interval_ms);
            cfg.start_ms = history_start_ms - span_ms;
            history_start_ms = cfg.start_ms;
            eprintln!(
                "step {size_m} M: adding ~{per_user} sessions per user ({:.1} days of older history)",
                span_ms as f64 / 8.64e7
            );
            let (filled, load_s) = timed(fleet::fill(&client, cfg)).await;
            eprintln!(
                "  loaded {} session rows, {} issues in {load_s:.0} s",
                filled.session_rows, filled.issue_rows
            );
            let added = (filled.session_rows + filled.issue_rows) as f64;
            rows_per_session = (added / (per_user * users) as f64).max(0.5);
        }
        let raw = raw_rows(&client).await;
        let touches: u64 = client
            .query("SELECT count() FROM ingest_touches")
            .fetch_one()
            .await
            .unwrap();

        // The first full recompute at this size.
        let mut full = None;
        if full_at.contains(&size_m) {
            for t in [
                "user_state",
                "session_state",
                "session_counts",
                "issue_counts",
                "user_status_counts",
                "aggregator_progress",
            ] {
                client
                    .query(&format!("TRUNCATE TABLE {t}"))
                    .execute()
                    .await
                    .unwrap();
            }
            let mut agg = aggregator(&ch).await;
            tokio::time::sleep(Duration::from_millis(1_100)).await;
            let (report, s) = timed(agg.cycle()).await;
            let report = report.unwrap();
            eprintln!(
                "  full recompute: {} users ({:.1} s), ~{} sessions ({:.1} s); cycle {s:.1} s",
                report.touched,
                report.users_ms as f64 / 1e3,
                report.sessions,
                report.sessions_ms as f64 / 1e3
            );
            full = Some((s, report.users_ms, report.sessions_ms));
        }

        // The steady cycle as loaded (parts not merged yet), then after merging every
        // partition of the raw tables into one part (what a store that grew over months
        // looks like: background merges have caught up with its history).
        let parts_loaded = raw_parts(&client).await;
        let months: u64 = client
            .query(
                "SELECT uniqExact(partition) FROM system.parts WHERE active \
                 AND database = currentDatabase() AND table = 'session_events'",
            )
            .fetch_one()
            .await
            .unwrap();
        eprintln!("  session_events: {months} monthly partitions; raw parts {parts_loaded}");
        let loaded = steady_cycle(&ch, &client, step * 2).await;
        let (_, optimize_s) = timed(optimize_raw(&client)).await;
        let parts_merged = raw_parts(&client).await;
        eprintln!(
            "  merged the raw tables in {optimize_s:.0} s: {parts_loaded} -> {parts_merged} parts"
        );
        let merged = steady_cycle(&ch, &client, step * 2 + 1).await;
        results.push(StepResult {
            size_m,
            raw,
            touches,
            full,
            parts_loaded,
            loaded,
            parts_merged,
            merged,
        });
    }
    println!(
        "| raw rows | touches rows | full recompute (users / sessions) | raw parts | steady cycle, 1,000 users advanced, as loaded (users / sessions step) | the same, every part read (lookback off: baseline) | same users recomputed from all events (baseline) | raw parts merged | advanced, after merges | every part read, after merges (baseline) | recomputed, after merges (baseline) | the old cycle's raw scans of the same window, as loaded / merged |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let full = r.full.map_or("not run".to_owned(), |(s, u, se)| {
            format!(
                "{s:.1} s ({:.1} s / {:.1} s)",
                u as f64 / 1e3,
                se as f64 / 1e3
            )
        });
        println!(
            "| {:.1} M ({} M asked) | {:.1} M | {full} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} s / {:.2} s |",
            r.raw as f64 / 1e6,
            r.size_m,
            r.touches as f64 / 1e6,
            r.parts_loaded,
            r.loaded.advanced.cell(),
            r.loaded.unbounded.cell(),
            r.loaded.recomputed.cell(),
            r.parts_merged,
            r.merged.advanced.cell(),
            r.merged.unbounded.cell(),
            r.merged.recomputed.cell(),
            r.loaded.old_s,
            r.merged.old_s,
        );
    }
    for r in &results {
        for (when, pair) in [("as loaded", &r.loaded), ("merged", &r.merged)] {
            eprintln!(
                "{} M {when}: {} of 1,000 users advanced",
                r.size_m, pair.advanced.advanced
            );
        }
    }
    if let (Some(first), Some(last)) = (results.first(), results.last()) {
        let ratio = |f: fn(&StepResult) -> f64| f(last) / f(first);
        println!(
            "steady cycle at {} M raw rows / at {} M, advanced: {:.2}x as loaded, {:.2}x after merges (target <= 1.5x); every part read (baseline): {:.2}x, {:.2}x; recomputed (baseline): {:.2}x, {:.2}x",
            last.size_m,
            first.size_m,
            ratio(|r| r.loaded.advanced.cycle_s),
            ratio(|r| r.merged.advanced.cycle_s),
            ratio(|r| r.loaded.unbounded.cycle_s),
            ratio(|r| r.merged.unbounded.cycle_s),
            ratio(|r| r.loaded.recomputed.cycle_s),
            ratio(|r| r.merged.recomputed.cycle_s),
        );
    }
    if std::env::var("SYNCTEL_BENCH_KEEP").is_err() {
        db.drop_database().await.unwrap();
    } else {
        eprintln!("kept database {}", db.keep());
    }
}
