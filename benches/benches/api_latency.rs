//! Query latency of the query API against the real ClickHouse: a fresh database filled with a
//! moderate fleet (default 10,000 users x ~20 sessions, one tenant, 10 profiles) from the
//! simulator's history mode, written straight into the raw tables with the clickhouse crate
//! (as `aggregator_scale` does), one aggregator cycle so `user_state` exists, then the API
//! started in-process on a free port with an admin token.
//!
//! For each of
//! - (a) the monitor cards (`GET /api/v1/monitor/cards`),
//! - (b) a card's user table, first page (`GET /api/v1/monitor/cards/{state}/users`),
//! - (c) a filtered session list: one profile, `status=Error`, the default window (last
//!   3 days), first page (`GET /api/v1/profiles/{p}/sessions?status=Error`),
//!
//! N requests (default 200) through HTTP, beside the same SQL with the same binds sent straight
//! to ClickHouse with the clickhouse crate (JSONEachRow, the format the API reads), alternated
//! request by request. Printed: p50/p95 of both and the ratio (target: API p50 <= 1.2x direct
//! SQL, or + 10 ms). The API's figure includes what every request does besides the list
//! query: the token lookup, and for (c) the profile visibility check.
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench api_latency`
//! (`SYNCTEL_BENCH_USERS`, `SYNCTEL_BENCH_SESSIONS_PER_USER`, `SYNCTEL_BENCH_REQUESTS` size
//! it; `SYNCTEL_BENCH_KEEP=1` keeps the database).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default,
    missing_docs
)]

#[path = "common/fleet.rs"]
mod fleet;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::{Aggregator, AggregatorConfig};
use query_api::auth::{self, Role};
use query_api::list::{self, Bound};
use query_api::{ApiConfig, AppState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The API's own SQL of the cards route (private in `query_api::routes`).
const MONITOR_CARDS: &str = include_str!("../../query-api/sql/monitor_cards.sql");

async fn timed<F: Future<Output = ()>>(f: F) -> f64 {
    let t = Instant::now();
    f.await;
    t.elapsed().as_secs_f64() * 1e3
}

/// GET over HTTP/1.0 (one connection per request, the body runs to the close); returns the
/// status line and the body.
async fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::with_capacity(64 * 1024);
    stream.read_to_end(&mut buf).await.unwrap();
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head");
    let status = String::from_utf8_lossy(&buf[..end])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (status, buf[end + 4..].to_vec())
}

/// The same SQL and binds as the API, straight to ClickHouse, read as the API reads it.
async fn direct(client: &clickhouse::Client, sql: &str, binds: &[Bound]) -> usize {
    let mut cursor = query_api::fetch::bind_all(client.query(sql), binds)
        .with_setting("output_format_json_quote_64bit_integers", "0")
        .fetch_bytes("JSONEachRow")
        .unwrap();
    let bytes = cursor.collect().await.unwrap();
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count()
}

struct Case {
    name: String,
    path: String,
    sql: String,
    binds: Vec<Bound>,
}

#[tokio::main]
async fn main() {
    let users = fleet::env_u64("SYNCTEL_BENCH_USERS", 10_000);
    let per_user = fleet::env_u64("SYNCTEL_BENCH_SESSIONS_PER_USER", 20);
    let n = usize::try_from(fleet::env_u64("SYNCTEL_BENCH_REQUESTS", 200)).unwrap();
    let (cfg, span_ms) = fleet::history(7, users, per_user);
    let cfg_profiles = cfg.profiles_per_tenant;
    let (db, ch) = fleet::fresh_database("bench_api_latency").await;
    let client = ch.client();

    eprintln!(
        "generating and writing: {} users, ~{per_user} sessions each, {:.1} h of history",
        cfg.total_users(),
        span_ms as f64 / 3.6e6
    );
    let t = Instant::now();
    let session_rows = fleet::fill(&client, cfg).await.session_rows;
    let load_s = t.elapsed().as_secs_f64();

    let mut config = AggregatorConfig::default();
    config.clickhouse = ch.clone();
    config.cycle.settle_secs = 0;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let t = Instant::now();
    let report = agg.cycle().await.unwrap();
    let cycle_s = t.elapsed().as_secs_f64();

    let sessions: u64 = client
        .query("SELECT uniqExact(session_id) FROM session_events")
        .fetch_one()
        .await
        .unwrap();
    let (tenant, profile): (String, String) = client
        .query("SELECT any(tenant_id), min(profile_id) FROM user_state")
        .fetch_one()
        .await
        .unwrap();
    println!(
        "fleet: {users} users in {} profiles of one tenant, {sessions} sessions \
         ({session_rows} session rows) loaded in {load_s:.0} s; one aggregator cycle: {} users, {cycle_s:.1} s",
        cfg_profiles,
        report.touched
    );

    let (_, token) = auth::create_token(&client, &tenant, Role::Admin, None, "bench")
        .await
        .unwrap();
    let mut api = ApiConfig::default();
    api.clickhouse = ch.clone();
    api.http.listen = "127.0.0.1:0".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let state = AppState::new(api.clone());
    let server = tokio::spawn(query_api::serve(listener, state, shutdown.clone()));

    // The SQL and binds of each route, built the way the handlers build them (admin token
    // over every profile: all_profiles = 1, profiles = ['']).
    let scope = vec![
        Bound::Str(tenant.clone()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
    ];
    let ctx = list::ParseContext {
        default_page_size: api.limits.default_page_size,
        max_page_size: api.limits.max_page_size,
        now_ms: aggregator::cycle::now_ms(),
        window_days: api.limits.default_window_days,
    };
    let card = "LastSyncFailed";
    let card_req = list::parse(&list::CARD_USERS, &[], ctx).unwrap();
    let card_extra = vec![("sync_state = ?".to_owned(), Bound::Str(card.to_owned()))];
    let mut card_binds = scope.clone();
    card_binds.push(Bound::Str(card.to_owned()));
    card_binds.push(Bound::U64(card_req.limit + 1));
    card_binds.push(Bound::U64(card_req.offset));
    let params = vec![("status".to_owned(), "Error".to_owned())];
    let s_req = list::parse(&list::SESSIONS, &params, ctx).unwrap();
    let s_extra = vec![("profile_id = ?".to_owned(), Bound::Str(profile.clone()))];
    let mut s_binds = vec![
        Bound::Str(tenant.clone()),
        Bound::Str(String::new()),
        Bound::Str(String::new()),
        Bound::Str(String::new()),
        Bound::Str(String::new()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
        Bound::I64(s_req.from_ms),
        Bound::I64(s_req.to_ms),
        Bound::Str(profile.clone()),
    ];
    s_binds.extend(s_req.filters.iter().map(|(_, b)| b.clone()));
    s_binds.push(Bound::U64(s_req.limit + 1));
    s_binds.push(Bound::U64(s_req.offset));
    let cases = [
        Case {
            name: "(a) monitor cards".to_owned(),
            path: "/api/v1/monitor/cards".to_owned(),
            sql: MONITOR_CARDS.to_owned(),
            binds: scope.clone(),
        },
        Case {
            name: format!("(b) card {card} users, page 1"),
            path: format!("/api/v1/monitor/cards/{card}/users"),
            sql: list::wrap(&list::CARD_USERS, &card_req, &card_extra, true),
            binds: card_binds,
        },
        Case {
            name: format!("(c) sessions of {profile}, status=Error, 3 days, page 1"),
            path: format!("/api/v1/profiles/{profile}/sessions?status=Error"),
            sql: list::wrap(&list::SESSIONS, &s_req, &s_extra, true),
            binds: s_binds,
        },
    ];

    println!(
        "{n} requests per query, API (HTTP/1.0, one connection each) and direct SQL alternated"
    );
    println!(
        "{:<58} {:>5} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}  target",
        "query", "rows", "API p50", "API p95", "SQL p50", "SQL p95", "p50 x", "p50 +ms"
    );
    for case in &cases {
        // Warm both paths (ClickHouse's caches, the API's connection pool).
        let (status, body) = get(addr, &case.path, &token).await;
        assert!(status.contains(" 200"), "{}: {status}", case.path);
        let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let api_rows = page
            .get("rows")
            .or_else(|| page.get("cards"))
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        let sql_rows = direct(&client, &case.sql, &case.binds).await;
        let (mut api_ms, mut sql_ms) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            api_ms.push(
                timed(async {
                    let (status, _) = get(addr, &case.path, &token).await;
                    assert!(status.contains(" 200"), "{status}");
                })
                .await,
            );
            sql_ms.push(
                timed(async {
                    direct(&client, &case.sql, &case.binds).await;
                })
                .await,
            );
        }
        let (a50, a95) = fleet::stats(api_ms);
        let (s50, s95) = fleet::stats(sql_ms);
        let ok = a50 <= 1.2 * s50 || a50 <= s50 + 10.0;
        println!(
            "{:<58} {:>5} {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>6.2}x {:>+6.1} ms  {}",
            case.name,
            format!("{api_rows}/{sql_rows}"),
            a50,
            a95,
            s50,
            s95,
            a50 / s50,
            a50 - s50,
            if ok { "OK" } else { "MISSED" }
        );
    }
    println!(
        "rows: API rows (cards: the 5 cards) / direct SQL rows (a page asks for limit + 1); \
         target: API p50 <= 1.2x direct SQL p50, or + 10 ms"
    );

    shutdown.cancel();
    let _ = server.await;
    if std::env::var("SYNCTEL_BENCH_KEEP").is_ok() {
        println!("kept database {}", db.name);
    } else {
        db.drop_database().await.unwrap();
    }
}
