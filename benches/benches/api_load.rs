//! Throughput of the query API's pages under concurrency, beside the same SQL sent straight
//! to ClickHouse at the same concurrency (issue 17).
//!
//! A fleet as in `api_latency` (default 1,000 users x ~288 sessions: a day of 5-minute
//! sessions per user, about the demo's history per user; one tenant, 10 profiles), one
//! aggregator cycle, the API in-process on a free port with an admin token. Pages:
//! - `cards`: `GET /api/v1/monitor/cards` (SQL: `monitor_cards.sql`);
//! - `user`: `GET /api/v1/users/{u}`, the console's user page (SQL: `user_one.sql`,
//!   `user_scope.sql` and `user_history.sql`, the route's three statements, in turn),
//!   the user taken round-robin from the first 100 users not deleted;
//! - `profile`: `GET /api/v1/profiles/{p}/sessions`, default window, page 1 (SQL:
//!   `profile_state.sql`, then the page's keys and its rows, as the route runs them).
//!
//! Each page at 1, 16 and 64 connections (`SYNCTEL_BENCH_CONNS`, comma separated): for
//! `SYNCTEL_BENCH_SECS` seconds (default 8) that many client tasks each send one request
//! after the other (HTTP/1.0, a new connection per request; a request without an answer
//! after 10 s counts as a time-out), then the same for as many tasks sending the page's SQL
//! straight to ClickHouse (the clickhouse crate, JSONEachRow as the API reads it), then the
//! next cell: API and SQL alternate. Printed per cell: requests/s, p50 and p99, errors and
//! time-outs, and CPU ms per request of the ClickHouse server (its pid from
//! `$SYNCTEL_VAR/run/clickhouse.pid` or `SYNCTEL_BENCH_CH_PID`) and of this process (the API
//! and the client tasks); the server's figure includes whatever else it runs meanwhile.
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench api_load`
//! (`SYNCTEL_BENCH_USERS`, `SYNCTEL_BENCH_SESSIONS_PER_USER` size the fleet;
//! `SYNCTEL_BENCH_PAGES=user,cards` picks pages; `SYNCTEL_BENCH_KEEP=1` keeps the database,
//! `SYNCTEL_BENCH_DB=<name>` reuses a kept one).

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

use std::sync::Arc;
use std::time::{Duration, Instant};

use query_api::query::params::{
    Bound, PageKey, ProfileSessions, ProfileSessionsPage, Scope, ScopedUser, TenantProfile,
    TenantUser,
};
use query_api::query::{details, list, specs, sql};
use tokio_util::sync::CancellationToken;

/// One statement: SQL and binds.
type Statement = (String, Vec<Bound>);

/// A page: its paths (one per request, round-robin) and the SQL the route runs for each.
struct Page {
    name: &'static str,
    paths: Vec<String>,
    /// Per path: the statements in turn; `None` for a profile page's second step, whose
    /// binds come from the first step's rows.
    sql: Vec<Vec<Statement>>,
    /// A profile page: the second step's tenant and profile.
    profile_rows: Option<(String, String, String)>,
}

async fn direct_rows(
    client: &clickhouse::Client,
    sql: &str,
    binds: &[Bound],
) -> Result<Vec<serde_json::Value>, String> {
    let mut cursor = query_api::query::run::bind_all(client.query(sql), binds)
        .with_setting("output_format_json_quote_64bit_integers", "0")
        .with_setting("max_execution_time", "60")
        .fetch_bytes("JSONEachRow")
        .map_err(|e| e.to_string())?;
    let bytes = cursor.collect().await.map_err(|e| e.to_string())?;
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| e.to_string()))
        .collect()
}

/// The page's SQL for its `i`-th path, straight to ClickHouse.
async fn direct_page(client: &clickhouse::Client, page: &Page, i: usize) -> Result<(), String> {
    let statements = &page.sql[i % page.sql.len()];
    let mut last = Vec::new();
    for (sql, binds) in statements {
        last = direct_rows(client, sql, binds).await?;
    }
    if let Some((tenant, profile, rows_sql)) = &page.profile_rows {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        let keys: Vec<PageKey> = last
            .iter()
            .take(100)
            .map(|r| {
                (
                    text(&r["started_at_ms"]),
                    text(&r["user_id"]),
                    text(&r["session_id"]),
                )
            })
            .collect();
        if !keys.is_empty() {
            let scope = admin_scope(tenant);
            let binds = ProfileSessionsPage {
                scope: &scope,
                profile_id: profile,
                keys: &keys,
            }
            .binds();
            direct_rows(client, rows_sql, &binds).await?;
        }
    }
    Ok(())
}

fn admin_scope(tenant: &str) -> Scope {
    Scope {
        tenant_id: tenant.to_owned(),
        all_profiles: 1,
        profiles: vec![String::new()],
    }
}

/// What one cell measured.
struct Cell {
    ok: usize,
    errors: usize,
    timeouts: usize,
    ms: Vec<f64>,
    secs: f64,
    server_cpu_s: f64,
    own_cpu_s: f64,
}

#[derive(Clone, Copy)]
enum Target {
    Api,
    Sql,
}

#[allow(clippy::too_many_arguments)]
async fn run_cell(
    target: Target,
    page: Arc<Page>,
    conns: usize,
    secs: f64,
    addr: std::net::SocketAddr,
    token: Arc<String>,
    client: clickhouse::Client,
    ch_pid: Option<u32>,
) -> Cell {
    let ticks = proc::clock_ticks();
    let me = std::process::id();
    let server0 = ch_pid.map_or(0.0, |p| proc::cpu_seconds(p, ticks));
    let own0 = proc::cpu_seconds(me, ticks);
    let t = Instant::now();
    let deadline = t + Duration::from_secs_f64(secs);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (page, token, client, next) =
            (page.clone(), token.clone(), client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut timeouts, mut ms) = (0, 0, 0, Vec::new());
            while Instant::now() < deadline {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                let done = match target {
                    Target::Api => {
                        let path = &page.paths[i % page.paths.len()];
                        tokio::time::timeout(Duration::from_secs(10), http::get(addr, path, &token))
                            .await
                            .map(|(status, _)| status.contains(" 200"))
                    }
                    Target::Sql => tokio::time::timeout(
                        Duration::from_secs(10),
                        direct_page(&client, &page, i),
                    )
                    .await
                    .map(|r| r.is_ok()),
                };
                match done {
                    Ok(true) => {
                        ok += 1;
                        ms.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    Ok(false) => errors += 1,
                    Err(_) => timeouts += 1,
                }
            }
            (ok, errors, timeouts, ms)
        }));
    }
    let mut cell = Cell {
        ok: 0,
        errors: 0,
        timeouts: 0,
        ms: Vec::new(),
        secs: 0.0,
        server_cpu_s: 0.0,
        own_cpu_s: 0.0,
    };
    for task in tasks {
        let (ok, errors, timeouts, ms) = task.await.unwrap();
        cell.ok += ok;
        cell.errors += errors;
        cell.timeouts += timeouts;
        cell.ms.extend(ms);
    }
    cell.secs = t.elapsed().as_secs_f64();
    cell.server_cpu_s = ch_pid.map_or(0.0, |p| proc::cpu_seconds(p, ticks)) - server0;
    cell.own_cpu_s = proc::cpu_seconds(me, ticks) - own0;
    cell
}

fn percentile(ms: &mut [f64], q: f64) -> f64 {
    if ms.is_empty() {
        return f64::NAN;
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    ms[((ms.len() as f64 - 1.0) * q).round() as usize]
}

fn print_cell(page: &str, conns: usize, target: &str, mut c: Cell) -> f64 {
    let rps = c.ok as f64 / c.secs;
    let per = |cpu: f64| {
        if c.ok == 0 {
            f64::NAN
        } else {
            cpu * 1e3 / c.ok as f64
        }
    };
    println!(
        "{page:<8} {conns:>5} {target:<4} {rps:>9.1} {:>9.1} {:>9.1} {:>6} {:>6} {:>8.1} {:>8.1}",
        percentile(&mut c.ms, 0.5),
        percentile(&mut c.ms, 0.99),
        c.errors,
        c.timeouts,
        per(c.server_cpu_s),
        per(c.own_cpu_s),
    );
    rps
}

#[tokio::main]
async fn main() {
    let users = fleet::env_u64("SYNCTEL_BENCH_USERS", 1_000);
    let per_user = fleet::env_u64("SYNCTEL_BENCH_SESSIONS_PER_USER", 288);
    let secs = fleet::env_u64("SYNCTEL_BENCH_SECS", 8) as f64;
    let conns: Vec<usize> = std::env::var("SYNCTEL_BENCH_CONNS")
        .unwrap_or_else(|_| "1,16,64".to_owned())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let pages_wanted =
        std::env::var("SYNCTEL_BENCH_PAGES").unwrap_or_else(|_| "cards,user,profile".to_owned());
    let reuse = std::env::var("SYNCTEL_BENCH_DB").ok();
    let (db, ch) = match &reuse {
        Some(name) => {
            let db = testkit::TestDatabase::new("unused");
            let ch = store::ClickHouseConfig {
                url: db.url.clone(),
                database: name.clone(),
                ..store::ClickHouseConfig::default()
            };
            (db, ch)
        }
        None => fleet::fresh_database("bench_api_load").await,
    };
    let client = ch.client();
    if reuse.is_none() {
        let (cfg, span_ms) = fleet::history(11, users, per_user);
        eprintln!(
            "generating and writing: {} users, ~{per_user} sessions each, {:.1} h of history",
            cfg.total_users(),
            span_ms as f64 / 3.6e6
        );
        let t = Instant::now();
        let rows = fleet::fill(&client, cfg).await.session_rows;
        let (report, cycle_s) = api::one_cycle(&ch).await;
        println!(
            "loaded {rows} session rows in {:.0} s; one aggregator cycle: {} users, ~{} sessions, {cycle_s:.1} s",
            t.elapsed().as_secs_f64(),
            report.touched,
            report.sessions
        );
    } else {
        println!("reusing database {}", ch.database);
    }
    let (sessions, session_rows, users_in_db): (u64, u64, u64) = client
        .query("SELECT uniqExact(session_id), count(), uniqExact(user_id) FROM session_events")
        .fetch_one()
        .await
        .unwrap();
    let (tenant, profile): (String, String) = client
        .query("SELECT any(tenant_id), min(profile_id) FROM user_state")
        .fetch_one()
        .await
        .unwrap();
    let some_users: Vec<String> = client
        .query(
            "SELECT user_id FROM user_state FINAL WHERE deleted = 0 AND profile_deleted = 0 \
             ORDER BY user_id LIMIT 100",
        )
        .fetch_all()
        .await
        .unwrap();
    println!(
        "fleet: {users_in_db} users in 10 profiles of one tenant, {sessions} sessions ({session_rows} session rows)"
    );

    let api = api::Api::start(&ch, &tenant, CancellationToken::new(), |_| {}).await;
    let ctx = list::ParseContext {
        default_page_size: api.config.limits.default_page_size,
        max_page_size: api.config.limits.max_page_size,
        now_ms: aggregator::cycle::now_ms(),
        window_days: api.config.limits.default_window_days,
    };
    let scope = admin_scope(&tenant);

    let mut pages = Vec::new();
    if pages_wanted.contains("cards") {
        pages.push(Page {
            name: "cards",
            paths: vec!["/api/v1/monitor/cards".to_owned()],
            sql: vec![vec![(sql::MONITOR_CARDS.to_owned(), scope.binds())]],
            profile_rows: None,
        });
    }
    if pages_wanted.contains("user") {
        pages.push(Page {
            name: "user",
            paths: some_users
                .iter()
                .map(|u| format!("/api/v1/users/{u}"))
                .collect(),
            sql: some_users
                .iter()
                .map(|u| {
                    vec![
                        (
                            sql::USER_ONE.to_owned(),
                            ScopedUser {
                                scope: &scope,
                                user_id: u,
                            }
                            .binds(),
                        ),
                        (
                            sql::USER_SCOPE.to_owned(),
                            TenantUser {
                                tenant_id: &tenant,
                                user_id: u,
                            }
                            .binds(),
                        ),
                        (
                            details::USER_HISTORY.to_owned(),
                            details::history_binds(&scope, u),
                        ),
                    ]
                })
                .collect(),
            profile_rows: None,
        });
    }
    if pages_wanted.contains("profile") {
        let req = list::parse(&specs::SESSIONS, &[], ctx).unwrap();
        let mut binds = ProfileSessions {
            scope: &scope,
            profile_id: &profile,
            from_ms: req.from_ms,
            to_ms: req.to_ms,
        }
        .binds();
        binds.push(Bound::U64(req.limit + 1));
        binds.push(Bound::U64(req.offset));
        pages.push(Page {
            name: "profile",
            paths: vec![format!("/api/v1/profiles/{profile}/sessions")],
            sql: vec![vec![
                (
                    sql::PROFILE_STATE.to_owned(),
                    TenantProfile {
                        tenant_id: &tenant,
                        profile_id: &profile,
                    }
                    .binds(),
                ),
                (
                    list::wrap_select(
                        &specs::PROFILE_SESSIONS,
                        &req,
                        &[],
                        list::PROFILE_PAGE_KEYS,
                        true,
                    ),
                    binds,
                ),
            ]],
            profile_rows: Some((tenant.clone(), profile.clone(), list::wrap_page_rows(&req))),
        });
    }

    let ch_pid = std::env::var("SYNCTEL_BENCH_CH_PID")
        .ok()
        .or_else(|| {
            let var = std::env::var("SYNCTEL_VAR").ok()?;
            std::fs::read_to_string(format!("{var}/run/clickhouse.pid")).ok()
        })
        .and_then(|p| p.trim().parse::<u32>().ok());
    let token = Arc::new(api.token.clone());
    println!(
        "{secs} s per cell, API and direct SQL alternated; HTTP/1.0, one connection per request; \
         ClickHouse pid {ch_pid:?}"
    );
    println!(
        "{:<8} {:>5} {:<4} {:>9} {:>9} {:>9} {:>6} {:>6} {:>8} {:>8}",
        "page", "conns", "via", "req/s", "p50 ms", "p99 ms", "errors", "t/o", "CH cpu", "own cpu"
    );
    for page in pages {
        let page = Arc::new(page);
        // Warm both paths once, and check that the API answers 200.
        let (status, body) = http::get(api.addr, &page.paths[0], &token).await;
        assert!(
            status.contains(" 200"),
            "{status} {}",
            String::from_utf8_lossy(&body)
        );
        direct_page(&client, &page, 0).await.unwrap();
        for &c in &conns {
            let cell = run_cell(
                Target::Api,
                page.clone(),
                c,
                secs,
                api.addr,
                token.clone(),
                client.clone(),
                ch_pid,
            )
            .await;
            let api_rps = print_cell(page.name, c, "API", cell);
            let cell = run_cell(
                Target::Sql,
                page.clone(),
                c,
                secs,
                api.addr,
                token.clone(),
                client.clone(),
                ch_pid,
            )
            .await;
            let sql_rps = print_cell(page.name, c, "SQL", cell);
            println!(
                "{:<8} {c:>5} API/SQL requests/s: {:.2}",
                page.name,
                api_rps / sql_rps
            );
        }
    }
    println!(
        "CH cpu / own cpu: CPU ms per answered request of the ClickHouse server and of this \
         process (the API in-process plus the client tasks); t/o: no answer within 10 s"
    );
    api.stop().await;
    if reuse.is_some() || std::env::var("SYNCTEL_BENCH_KEEP").is_ok() {
        db.keep();
        println!("kept database {}", ch.database);
    } else {
        db.drop_database().await.unwrap();
    }
}
