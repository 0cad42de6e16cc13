//! Query latency of the query API against the real ClickHouse: a fresh database filled with a
//! fleet (default 10,000 users x ~20 sessions, one tenant, 10 profiles) from the simulator's
//! history mode, written straight into the raw tables with the clickhouse crate (as
//! `aggregator_scale` does), one aggregator cycle so `user_state` and `session_state` exist,
//! then the API started in-process on a free port with an admin token.
//!
//! For each of
//! - (a) the monitor cards (`GET /api/v1/monitor/cards`),
//! - (b) a card's user table, first page (`GET /api/v1/monitor/cards/{state}/users`),
//! - (c) a filtered session list: one profile, `status=Error`, the default window (last
//!   3 days), first page (`GET /api/v1/profiles/{p}/sessions?status=Error`),
//! - (d) one user's session list, the default window, first page
//!   (`GET /api/v1/users/{u}/sessions`),
//! - (e) as (c) over the last hour only (`&from=<now - 1 h>`),
//!
//! N requests (default 200) through HTTP, beside the same SQL with the same binds sent straight
//! to ClickHouse with the clickhouse crate (JSONEachRow, the format the API reads), alternated
//! request by request. Printed: p50/p95 of both and the ratio (target: API p50 <= 1.2x direct
//! SQL, or + 10 ms). The API's figure includes what every request does besides the list
//! query: the token lookup, and for (c)-(e) the profile or user visibility check. A profile's
//! list (c, e) reads the aggregator's `session_state` (the cycle above fills it) in two
//! statements, as the route does (the page's keys, then its rows by key), and the direct SQL
//! is those two; one user's (d) merges the raw events. The query each list ran before is timed too, straight to
//! ClickHouse (`SYNCTEL_BENCH_BEFORE_RUNS`, default 20): for (c) and (e) the raw-event
//! merge of `sessions.sql` scoped to the profile, for (d) the query before the window
//! pushdown (`benches/benches/sql/sessions_before.sql`). A request that fails (e.g. a query over the
//! memory limit or the API's timeout) is reported as such with its time, and its case stops.
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench api_latency`
//! (`SYNCTEL_BENCH_USERS`, `SYNCTEL_BENCH_SESSIONS_PER_USER`, `SYNCTEL_BENCH_REQUESTS` size
//! it; `SYNCTEL_BENCH_KEEP=1` keeps the database, `SYNCTEL_BENCH_DB=<name>` reuses a kept one
//! instead of loading: the 100k-user fleet takes ~6 min to load and aggregate).

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

use std::time::{Duration, Instant};

use query_api::query::params::Bound;
use query_api::query::{list, specs, sql};
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

/// The API's own SQL of the cards route (`query_api::query::sql::MONITOR_CARDS`).
const MONITOR_CARDS: &str = include_str!("../../query-api/sql/monitor_cards.sql");
/// The session list query before the window pushdown (the "before" baseline).
const SESSIONS_BEFORE: &str = include_str!("sql/sessions_before.sql");

/// The same SQL and binds as the API, straight to ClickHouse, read as the API reads it;
/// the rows, or the error.
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
    let bytes = cursor.collect().await.map_err(|e| {
        let e = e.to_string();
        // ClickHouse's own message, without its stack.
        e.split(", e.what()").next().unwrap_or(&e).to_owned()
    })?;
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).map_err(|e| e.to_string()))
        .collect()
}

/// [`direct_rows`], counted.
async fn direct(client: &clickhouse::Client, sql: &str, binds: &[Bound]) -> Result<usize, String> {
    Ok(direct_rows(client, sql, binds).await?.len())
}

/// A case's SQL straight to ClickHouse: one statement, or, for a profile's session page,
/// the route's two (the keys, then the page's rows by key; the rows counted).
async fn direct_case(client: &clickhouse::Client, case: &Case) -> Result<usize, String> {
    let Some(step) = &case.rows_step else {
        return direct(client, &case.sql, &case.binds).await;
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    let keys: Vec<(String, String, String)> = direct_rows(client, &case.sql, &case.binds)
        .await?
        .iter()
        .take(step.limit)
        .map(|r| {
            (
                text(&r["started_at_ms"]),
                text(&r["user_id"]),
                text(&r["session_id"]),
            )
        })
        .collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let binds =
        binds::profile_page_binds(&step.tenant, &step.profile, &keys, 1, vec![String::new()]);
    direct(client, &step.sql, &binds).await
}

/// The second step of a profile's session page (`profile_sessions_page.sql`).
struct RowsStep {
    tenant: String,
    profile: String,
    sql: String,
    limit: usize,
}

/// Milliseconds of `f`.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (f64, T) {
    let t = Instant::now();
    let out = f.await;
    (t.elapsed().as_secs_f64() * 1e3, out)
}

struct Case {
    name: String,
    path: String,
    sql: String,
    binds: Vec<Bound>,
    /// The same list as the API ran it before (see the header).
    before: Option<(String, Vec<Bound>)>,
    /// For a profile's session page: `sql` finds the keys, this reads the rows.
    rows_step: Option<RowsStep>,
}

/// The binds the API puts after the base binds of a list: extra, filters, page.
fn list_binds(base: Vec<Bound>, extra: &[(String, Bound)], req: &list::ListRequest) -> Vec<Bound> {
    let mut binds = base;
    binds.extend(extra.iter().map(|(_, b)| b.clone()));
    binds.extend(req.filters.iter().map(|(_, b)| b.clone()));
    binds.push(Bound::U64(req.limit + 1));
    binds.push(Bound::U64(req.offset));
    binds
}

/// The SQL and binds of a session list with the pre-pushdown `sessions.sql`.
fn before(
    tenant: &str,
    user: &str,
    req: &list::ListRequest,
    extra: &[(String, Bound)],
) -> (String, Vec<Bound>) {
    let mut sql = list::wrap(&specs::SESSIONS, req, extra, true);
    sql = sql.replace(
        &sql::base_sql(specs::SESSIONS.sql),
        &sql::base_sql(SESSIONS_BEFORE),
    );
    let base = vec![
        Bound::Str(tenant.to_owned()),
        Bound::Str(user.to_owned()),
        Bound::Str(user.to_owned()),
        Bound::Str(String::new()),
        Bound::Str(String::new()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
        Bound::I64(req.from_ms),
        Bound::I64(req.to_ms),
    ];
    (sql, list_binds(base, extra, req))
}

fn fmt_stats(ms: Vec<f64>) -> (String, String, f64) {
    let (p50, p95) = fleet::stats(ms);
    (format!("{p50:.1} ms"), format!("{p95:.1} ms"), p50)
}

#[tokio::main]
async fn main() {
    let users = fleet::env_u64("SYNCTEL_BENCH_USERS", 10_000);
    let per_user = fleet::env_u64("SYNCTEL_BENCH_SESSIONS_PER_USER", 20);
    let n = usize::try_from(fleet::env_u64("SYNCTEL_BENCH_REQUESTS", 200)).unwrap();
    let n_before = usize::try_from(fleet::env_u64("SYNCTEL_BENCH_BEFORE_RUNS", 20)).unwrap();
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
        None => fleet::fresh_database("bench_api_latency").await,
    };
    let client = ch.client();

    if reuse.is_none() {
        let (cfg, span_ms) = fleet::history(7, users, per_user);
        eprintln!(
            "generating and writing: {} users, ~{per_user} sessions each, {:.1} h of history",
            cfg.total_users(),
            span_ms as f64 / 3.6e6
        );
        let t = Instant::now();
        let session_rows = fleet::fill(&client, cfg).await.session_rows;
        let load_s = t.elapsed().as_secs_f64();

        eprintln!("aggregating (one cycle over every user)");
        let (report, cycle_s) = api::one_cycle(&ch).await;
        println!(
            "loaded {session_rows} session rows in {load_s:.0} s; one aggregator cycle: {} users \
             ({} statements), ~{} sessions into session_state ({} statements), {cycle_s:.1} s",
            report.touched, report.shards, report.sessions, report.session_shards
        );
    } else {
        println!("reusing database {}", ch.database);
    }

    let (sessions, session_rows, users_in_db, span_h): (u64, u64, u64, f64) = client
        .query(
            "SELECT uniqExact(session_id), count(), uniqExact(user_id), \
             (max(started_at_ms) - minIf(started_at_ms, started_at_ms != 0)) / 3.6e6 \
             FROM session_events",
        )
        .fetch_one()
        .await
        .unwrap();
    let (tenant, profile, user): (String, String, String) = client
        .query("SELECT any(tenant_id), min(profile_id), min(user_id) FROM user_state")
        .fetch_one()
        .await
        .unwrap();
    println!(
        "fleet: {users_in_db} users in 10 profiles of one tenant, {sessions} sessions ({session_rows} session rows) over {span_h:.1} h"
    );

    let api = api::Api::start(&ch, &tenant, CancellationToken::new(), |_| {}).await;
    let (addr, token) = (api.addr, api.token.clone());

    // The SQL and binds of each route, built the way the handlers build them (admin token
    // over every profile: all_profiles = 1, profiles = ['']).
    let scope = vec![
        Bound::Str(tenant.clone()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
    ];
    let now_ms = aggregator::cycle::now_ms();
    let ctx = list::ParseContext {
        default_page_size: api.config.limits.default_page_size,
        max_page_size: api.config.limits.max_page_size,
        now_ms,
        window_days: api.config.limits.default_window_days,
    };
    let card = "LastSyncFailed";
    let card_req = list::parse(&specs::CARD_USERS, &[], ctx).unwrap();
    let card_extra = vec![("sync_state = ?".to_owned(), Bound::Str(card.to_owned()))];
    let sessions_case = |name: String,
                         path: String,
                         params: Vec<(String, String)>,
                         user: &str,
                         extra: Vec<(String, Bound)>| {
        let req = list::parse(&specs::SESSIONS, &params, ctx).unwrap();
        match extra.first() {
            // A profile's list: `session_state` by key range, as the route reads it; before:
            // the merge of the raw events scoped to the profile (the API until 2026-11-22).
            Some((_, Bound::Str(p))) => {
                let base = binds::profile_session_binds(
                    &tenant,
                    p,
                    req.from_ms,
                    req.to_ms,
                    1,
                    vec![String::new()],
                );
                let raw = binds::session_binds(
                    &tenant,
                    0,
                    vec![p.clone()],
                    "",
                    "",
                    req.from_ms,
                    req.to_ms,
                );
                Case {
                    name,
                    path,
                    sql: list::wrap_select(
                        &specs::PROFILE_SESSIONS,
                        &req,
                        &[],
                        list::PROFILE_PAGE_KEYS,
                        true,
                    ),
                    binds: list_binds(base, &[], &req),
                    rows_step: Some(RowsStep {
                        tenant: tenant.clone(),
                        profile: p.clone(),
                        sql: list::wrap_page_rows(&req),
                        limit: usize::try_from(req.limit).unwrap(),
                    }),
                    before: Some((
                        list::wrap(&specs::SESSIONS, &req, &extra, true),
                        list_binds(raw, &extra, &req),
                    )),
                }
            }
            // One user's list: the raw events by key range; before: the pre-pushdown merge.
            _ => {
                let base = binds::session_binds(
                    &tenant,
                    1,
                    vec![String::new()],
                    user,
                    "",
                    req.from_ms,
                    req.to_ms,
                );
                Case {
                    name,
                    path,
                    sql: list::wrap(&specs::SESSIONS, &req, &extra, true),
                    binds: list_binds(base, &extra, &req),
                    before: Some(before(&tenant, user, &req, &extra)),
                    rows_step: None,
                }
            }
        }
    };
    let profile_extra = vec![("profile_id = ?".to_owned(), Bound::Str(profile.clone()))];
    let hour_ago = now_ms - 3_600_000;
    let cases = [
        Case {
            name: "(a) monitor cards".to_owned(),
            path: "/api/v1/monitor/cards".to_owned(),
            sql: MONITOR_CARDS.to_owned(),
            binds: scope.clone(),
            before: None,
            rows_step: None,
        },
        Case {
            name: format!("(b) card {card} users, page 1"),
            path: format!("/api/v1/monitor/cards/{card}/users"),
            sql: list::wrap(&specs::CARD_USERS, &card_req, &card_extra, true),
            binds: list_binds(scope.clone(), &card_extra, &card_req),
            before: None,
            rows_step: None,
        },
        sessions_case(
            format!("(c) sessions of {profile}, status=Error, 3 days, page 1"),
            format!("/api/v1/profiles/{profile}/sessions?status=Error"),
            vec![("status".to_owned(), "Error".to_owned())],
            "",
            profile_extra.clone(),
        ),
        sessions_case(
            format!("(d) sessions of user {user}, 3 days, page 1"),
            format!("/api/v1/users/{user}/sessions"),
            Vec::new(),
            &user,
            Vec::new(),
        ),
        sessions_case(
            format!("(e) sessions of {profile}, status=Error, last hour, page 1"),
            format!("/api/v1/profiles/{profile}/sessions?status=Error&from={hour_ago}"),
            vec![
                ("status".to_owned(), "Error".to_owned()),
                ("from".to_owned(), hour_ago.to_string()),
            ],
            "",
            profile_extra.clone(),
        ),
    ];

    println!(
        "{n} requests per query, API (HTTP/1.0, one connection each) and direct SQL alternated; \
         before, {n_before} runs straight to ClickHouse: (c), (e) the raw-event merge of \
         sessions.sql scoped to the profile (the API's path before session_state), (d) the \
         pre-pushdown sessions.sql"
    );
    println!(
        "{:<58} {:>9} {:>10} {:>10} {:>10} {:>10} {:>7} {:>9}  {:<7} before p50 / p95",
        "query", "rows", "API p50", "API p95", "SQL p50", "SQL p95", "p50 x", "p50 +ms", "target"
    );
    for case in &cases {
        run_case(case, addr, &token, &client, n, n_before).await;
    }
    println!(
        "rows: API rows (cards: the 5 cards) / direct SQL rows (a page asks for limit + 1; \
         a profile's page (c, e): the rows of its second statement); \
         target: API p50 <= 1.2x direct SQL p50, or + 10 ms"
    );

    api.stop().await;
    if reuse.is_some() || std::env::var("SYNCTEL_BENCH_KEEP").is_ok() {
        db.keep();
        println!("kept database {}", ch.database);
    } else {
        db.drop_database().await.unwrap();
    }
}

async fn run_case(
    case: &Case,
    addr: std::net::SocketAddr,
    token: &str,
    client: &clickhouse::Client,
    n: usize,
    n_before: usize,
) {
    eprintln!("  {}", case.name);
    // Warm both paths (ClickHouse's caches, the API's connection pool); a failure ends the case.
    let (ms, (status, body)) = timed(http::get(addr, &case.path, token)).await;
    if !status.contains(" 200") {
        let body = String::from_utf8_lossy(&body);
        println!(
            "{:<58} API failed after {ms:.0} ms: {status} {}",
            case.name,
            body.chars().take(160).collect::<String>()
        );
    } else {
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let api_rows = page
            .get("rows")
            .or_else(|| page.get("cards"))
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        let sql_rows = direct_case(client, case).await.unwrap();
        let (mut api_ms, mut sql_ms) = (Vec::with_capacity(n), Vec::with_capacity(n));
        // At most n pairs, and no more than ~2 min per case once 10 pairs are in.
        let t = Instant::now();
        for i in 0..n {
            if i >= 10 && t.elapsed() > Duration::from_secs(120) {
                break;
            }
            let (ms, (status, _)) = timed(http::get(addr, &case.path, token)).await;
            assert!(status.contains(" 200"), "{status}");
            api_ms.push(ms);
            let (ms, rows) = timed(direct_case(client, case)).await;
            rows.unwrap();
            sql_ms.push(ms);
        }
        let pairs = api_ms.len();
        let (a50s, a95s, a50) = fmt_stats(api_ms);
        let (s50s, s95s, s50) = fmt_stats(sql_ms);
        let ok = a50 <= 1.2 * s50 || a50 <= s50 + 10.0;
        print!(
            "{:<58} {:>9} {:>10} {:>10} {:>10} {:>10} {:>6.2}x {:>+6.1} ms  {:<7} ({pairs} pairs)",
            case.name,
            format!("{api_rows}/{sql_rows}"),
            a50s,
            a95s,
            s50s,
            s95s,
            a50 / s50,
            a50 - s50,
            if ok { "OK" } else { "MISSED" }
        );
    }
    if let Some((sql, binds)) = &case.before {
        let mut ms_all = Vec::new();
        let mut failed = None;
        let t = Instant::now();
        for i in 0..n_before.max(1) {
            if i >= 3 && t.elapsed() > Duration::from_secs(60) {
                break;
            }
            let (ms, rows) = timed(direct(client, sql, binds)).await;
            if let Err(e) = rows {
                failed = Some((ms, e));
                break;
            }
            ms_all.push(ms);
        }
        match failed {
            Some((ms, e)) => print!(
                " before: failed after {ms:.0} ms: {}",
                e.chars().take(140).collect::<String>()
            ),
            None => {
                let runs = ms_all.len();
                let (b50, b95, _) = fmt_stats(ms_all);
                print!(" before: {b50} / {b95} ({runs} runs)");
            }
        }
    }
    println!();
}
