//! A ZIP of 1,000 session logs through the query API against the real ClickHouse: a fresh
//! database with one user's N sessions (default 1,000) of L log lines each (default 100,
//! ~80 bytes of text per line, the simulator's vocabulary with object details), written
//! straight with the clickhouse crate as ingest writes them, one aggregator cycle (the API
//! shows only users the aggregator knows), and the API started in-process on a free port
//! with an admin token and `limits.log_max_sessions` raised to N (its default is 100).
//!
//! Two phases, the same export measured in each: the user alone in its tenant, then with
//! O other users of the tenant (default 10, half sorting before the user, half after), each
//! with the user's N x L log lines (the export's cost must not grow with them). Printed per
//! phase, in the same run:
//! - `GET /api/v1/users/{u}/logs?from=0&to=<now>` (a ZIP: `index.csv` and one `.log` per
//!   session) and the same with `format=csv`: time, lines/s, bytes, time to the first byte;
//! - the baseline: ClickHouse's own `TabSeparated` of the API's log query
//!   (`query-api/sql/log_lines.sql`, the same binds) read over HTTP by the clickhouse crate;
//! - the process RSS growth during each API download: `VmRSS` of `/proc/self/status`
//!   before, and the peak sampled every 20 ms (API and client are in this process;
//!   target: <= 64 MiB, the issue's export target);
//! - the API's two queries (`log_counts.sql`, `log_lines.sql`) straight to ClickHouse, as
//!   they are and as they were before the key ranges (`benches/benches/sql/*_before.sql`),
//!   one run each, checked to return the same rows (the lines in the same order).
//!
//! The ZIP is checked without unpacking: one local file header per entry (N + 1) and an
//! end-of-central-directory record naming N + 1 entries.
//!
//! Run: `eval "$(deploy/stack.sh env)"; cargo bench -p benches --bench api_logs`
//! (`SYNCTEL_BENCH_SESSIONS`, `SYNCTEL_BENCH_LOG_LINES`, `SYNCTEL_BENCH_OTHER_USERS` (0: the
//! first phase only) size it; `SYNCTEL_BENCH_KEEP=1` keeps the database).

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

use query_api::query::params::Bound;
use schemas::{Event, LogLevel, LogLine};
use store::rows::{LogLineRow, ProfileStateRow, Row, SessionEventRow, UserStateRow};
use tokio_util::sync::CancellationToken;

const TENANT: &str = "bench";
const PROFILE: &str = "bench-p1";
const USER: &str = "bench-u1";
/// The API's log queries (private in `query_api::query::logs`).
const LOG_LINES: &str = include_str!("../../query-api/sql/log_lines.sql");
const LOG_COUNTS: &str = include_str!("../../query-api/sql/log_counts.sql");
/// The same before the key ranges (the "before" figures).
const LOG_LINES_BEFORE: &str = include_str!("sql/log_lines_before.sql");
const LOG_COUNTS_BEFORE: &str = include_str!("sql/log_counts_before.sql");

fn header(user: &str, event_id: String, at: i64) -> schemas::Header {
    schemas::Header {
        event_id,
        tenant_id: TENANT.to_owned(),
        profile_id: PROFILE.to_owned(),
        user_id: user.to_owned(),
        occurred_at_ms: at,
        engine_id: "engine-1".to_owned(),
        engine_version: "4.2.1".to_owned(),
    }
}

/// One line of text like an engine's: the simulator's phrases with object details.
fn text(session: u64, line: u64) -> String {
    const PHRASES: &[&str] = &[
        "Loading sync scope",
        "Fetched changes from mail server",
        "Fetched changes from CRM",
        "Resolving conflicts",
        "Applying changes to CRM",
        "Applying changes to mailbox",
        "Saving sync state",
    ];
    let phrase = PHRASES[usize::try_from(line % PHRASES.len() as u64).unwrap()];
    format!(
        "{phrase}: Contact 'Customer {:05}' updated (id 0035g00000{session:06}{line:04}), {} ms",
        (session * 31 + line * 7) % 100_000,
        (session + line) % 900 + 12
    )
}

/// The user, its profile, N sessions (started + ended) and their logs, as rows. The bench
/// user's sessions are `session-00000`...; another user's `<user>-session-00000`...
fn events(user: &str, sessions: u64, lines: u64, now: i64) -> Vec<Event> {
    let mut out = Vec::new();
    if let Event::ProfileState(mut p) = schemas::examples::profile_state() {
        p.tenant_id = TENANT.to_owned();
        p.profile_id = PROFILE.to_owned();
        p.occurred_at_ms = now - 30 * 86_400_000;
        out.push(Event::ProfileState(p));
    }
    if let Event::UserState(mut u) = schemas::examples::user_state() {
        u.header = header(user, format!("{user}-created"), now - 30 * 86_400_000);
        u.change = schemas::ChangeKind::Created;
        out.push(Event::UserState(u));
    }
    let Event::SessionEnded(template) = schemas::examples::session_ended_error() else {
        unreachable!()
    };
    for s in 0..sessions {
        // One session every 5 minutes, ending a minute before now.
        let started = now - 60_000 - i64::try_from(sessions - s).unwrap() * 300_000;
        let ended = started + 45_000;
        let session_id = if user == USER {
            format!("session-{s:05}")
        } else {
            format!("{user}-session-{s:05}")
        };
        out.push(Event::SessionStarted(schemas::SessionStarted {
            header: header(user, format!("{user}-s-{s}"), started),
            session_id: session_id.clone(),
            trigger: schemas::Trigger::Schedule,
        }));
        let mut end = template.clone();
        end.header = header(user, format!("{user}-e-{s}"), ended);
        end.session_id = session_id.clone();
        end.started_at_ms = started;
        end.ended_at_ms = ended;
        out.push(Event::SessionEnded(end));
        // Chunks of at most 50 lines, as an engine would send them.
        let lines: Vec<LogLine> = (0..lines)
            .map(|l| LogLine {
                at_ms: started + i64::try_from(l).unwrap() * 400,
                level: if l % 10 == 0 {
                    LogLevel::Info
                } else {
                    LogLevel::Debug
                },
                text: text(s, l),
            })
            .collect();
        for (seq, chunk) in lines.chunks(50).enumerate() {
            out.push(Event::SessionLog(schemas::SessionLog {
                header: header(user, format!("{user}-l-{s}-{seq}"), ended),
                session_id: session_id.clone(),
                sequence: i32::try_from(seq).unwrap(),
                lines: chunk.to_vec(),
            }));
        }
    }
    out
}

async fn fill(client: &clickhouse::Client, events: &[Event]) -> u64 {
    let (mut sessions, mut lines, mut users, mut profiles) = (
        Vec::<SessionEventRow>::new(),
        Vec::<LogLineRow>::new(),
        Vec::<UserStateRow>::new(),
        Vec::<ProfileStateRow>::new(),
    );
    for e in events {
        match Row::from_event_at(e, store::rows::now_s()) {
            Row::Session(r) => sessions.push(r),
            Row::LogLines(l) => lines.extend(l),
            Row::UserState(r) => users.push(r),
            Row::ProfileState(r) => profiles.push(r),
            Row::Issue(_) => {}
        }
    }
    fleet::write(client, "profile_state_events", &profiles).await;
    fleet::write(client, "user_state_events", &users).await;
    fleet::write(client, "session_events", &sessions).await;
    for chunk in lines.chunks(200_000) {
        fleet::write(client, "log_lines", chunk).await;
    }
    lines.len() as u64
}

/// `others` other users of the tenant and profile, half sorting before the bench user and
/// half after, each with the bench user's shape of sessions and lines: their log lines only
/// (a user's export reads nothing else of them). Returns the lines written.
async fn fill_others(
    client: &clickhouse::Client,
    others: u64,
    sessions: u64,
    lines: u64,
    now: i64,
) -> u64 {
    let mut written = 0;
    for i in 0..others {
        let user = if i % 2 == 0 {
            format!("bench-a{i:03}")
        } else {
            format!("bench-z{i:03}")
        };
        let rows: Vec<LogLineRow> = events(&user, sessions, lines, now)
            .iter()
            .filter_map(|e| match Row::from_event_at(e, store::rows::now_s()) {
                Row::LogLines(l) => Some(l),
                _ => None,
            })
            .flatten()
            .collect();
        written += rows.len() as u64;
        for chunk in rows.chunks(200_000) {
            fleet::write(client, "log_lines", chunk).await;
        }
    }
    written
}

/// ClickHouse's `TabSeparated` of `sql` with `binds`, read by the clickhouse crate: time,
/// lines, bytes, and an FNV-1a hash of the bytes (the same rows in the same order: the
/// same hash).
async fn tsv(client: &clickhouse::Client, sql: &str, binds: &[Bound]) -> (Duration, u64, u64, u64) {
    let t = Instant::now();
    let mut cursor = query_api::query::run::bind_all(client.query(sql), binds)
        .with_setting("max_execution_time", "600")
        .fetch_bytes("TabSeparated")
        .unwrap();
    let (mut n, mut bytes, mut hash) = (0u64, 0u64, 0xcbf2_9ce4_8422_2325_u64);
    while let Some(chunk) = cursor.next().await.unwrap() {
        bytes += chunk.len() as u64;
        for b in chunk.iter() {
            n += u64::from(*b == b'\n');
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (t.elapsed(), n, bytes, hash)
}

struct Download {
    status: String,
    bytes: u64,
    /// Local file headers of a ZIP (`PK\x03\x04`), counted across reads.
    zip_entries: u64,
    /// The last 22 bytes (a ZIP's end-of-central-directory record, without comment).
    tail: Vec<u8>,
    lines: u64,
    first_byte: Duration,
    total: Duration,
}

/// GET over HTTP/1.0, counting without keeping the body.
async fn download(addr: std::net::SocketAddr, path: &str, token: &str) -> Download {
    let t = Instant::now();
    let mut d = Download {
        status: String::new(),
        bytes: 0,
        zip_entries: 0,
        tail: Vec::new(),
        lines: 0,
        first_byte: Duration::ZERO,
        total: Duration::ZERO,
    };
    // The last 3 bytes of the previous read, so a signature split across reads counts.
    let mut carry: Vec<u8> = Vec::new();
    let (status, first_byte) = http::get_streamed(addr, path, token, |chunk| {
        d.bytes += chunk.len() as u64;
        d.lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        let mut joined = std::mem::take(&mut carry);
        joined.extend_from_slice(chunk);
        d.zip_entries += joined.windows(4).filter(|w| *w == b"PK\x03\x04").count() as u64;
        carry = joined[joined.len().saturating_sub(3)..].to_vec();
        d.tail.extend_from_slice(chunk);
        let keep = d.tail.len().saturating_sub(22);
        d.tail.drain(..keep);
    })
    .await;
    d.total = t.elapsed();
    d.status = status;
    d.first_byte = first_byte;
    d
}

/// `download` with this process's RSS sampled every 20 ms: (download, before, peak).
async fn measured(addr: std::net::SocketAddr, path: &str, token: &str) -> (Download, u64, u64) {
    let me = std::process::id();
    let before = proc::rss_bytes(me);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(proc::rss_bytes(me), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let d = download(addr, path, token).await;
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    (d, before, peak.load(Ordering::Relaxed))
}

/// The queries of one export with their binds: (SQL, binds).
struct Sql<'a> {
    counts: (&'static str, &'a [Bound]),
    lines: (&'static str, &'a [Bound]),
    before_counts: (&'static str, &'a [Bound]),
    before_lines: (&'static str, &'a [Bound]),
}

/// What every phase measures: the bench user's export of every session.
struct Run<'a> {
    client: &'a clickhouse::Client,
    addr: std::net::SocketAddr,
    token: &'a str,
    zip_path: String,
    csv_path: String,
    sessions: u64,
    lines: u64,
}

impl Run<'_> {
    /// Warms both paths once (page cache, marks, the API's pool), then measures ClickHouse's
    /// TSV of the API's lines query (the baseline), the API's ZIP and CSV, and each query
    /// straight (one run each), as it is and as it was; checks they return the same rows.
    async fn phase(&self, label: &str, sql: &Sql<'_>) {
        let (sessions, lines) = (self.sessions, self.lines);
        let _ = tsv(self.client, sql.lines.0, sql.lines.1).await;
        let _ = download(self.addr, &self.zip_path, self.token).await;
        let (ch_time, ch_lines, ch_bytes, ch_hash) =
            tsv(self.client, sql.lines.0, sql.lines.1).await;
        let (zip, zip_before, zip_peak) = measured(self.addr, &self.zip_path, self.token).await;
        let (csv, csv_before, csv_peak) = measured(self.addr, &self.csv_path, self.token).await;
        let counts = tsv(self.client, sql.counts.0, sql.counts.1).await;
        let before_counts = tsv(self.client, sql.before_counts.0, sql.before_counts.1).await;
        let before_lines = tsv(self.client, sql.before_lines.0, sql.before_lines.1).await;
        assert!(zip.status.contains(" 200"), "{}", zip.status);
        assert!(csv.status.contains(" 200"), "{}", csv.status);
        assert_eq!(ch_lines, lines, "ClickHouse TSV lines");
        assert_eq!(
            (before_lines.1, before_lines.3),
            (ch_lines, ch_hash),
            "log_lines.sql: the same rows in the same order as before"
        );
        assert_eq!(
            (counts.1, counts.3),
            (before_counts.1, before_counts.3),
            "log_counts.sql: the same rows as before"
        );
        assert_eq!(
            zip.zip_entries,
            sessions + 1,
            "ZIP entries (index.csv + a log each)"
        );
        assert!(
            zip.tail.starts_with(b"PK\x05\x06")
                && u64::from(u16::from_le_bytes([zip.tail[10], zip.tail[11]]))
                    == (sessions + 1) % 65_536,
            "end of central directory"
        );
        assert_eq!(csv.lines, lines + 1, "CSV lines (header + lines)");

        let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64();
        let ch_rate = rate(ch_lines, ch_time);
        println!("{label}:");
        println!(
            "{:<26} {:>8} {:>13} {:>10} {:>12} {:>9}  RSS before / peak / growth",
            "", "time", "lines/s", "MiB", "first byte", "ratio"
        );
        for (name, d, before, peak) in [
            ("API ZIP", &zip, zip_before, zip_peak),
            ("API CSV", &csv, csv_before, csv_peak),
        ] {
            let r = rate(lines, d.total);
            let growth = peak.saturating_sub(before);
            println!(
                "{name:<26} {:>6.2} s {:>13.0} {:>10.1} {:>10.2} s {:>8.2}x  {:.1} / {:.1} / {:.1} MiB (target <= 64) {}",
                d.total.as_secs_f64(),
                r,
                proc::mib(d.bytes),
                d.first_byte.as_secs_f64(),
                r / ch_rate,
                proc::mib(before),
                proc::mib(peak),
                proc::mib(growth),
                if growth <= 64 << 20 { "OK" } else { "MISSED" }
            );
        }
        println!(
            "{:<26} {:>6.2} s {:>13.0} {:>10.1}   (baseline: log_lines.sql as TabSeparated, same binds)",
            "ClickHouse TSV",
            ch_time.as_secs_f64(),
            ch_rate,
            proc::mib(ch_bytes)
        );
        println!(
            "straight SQL, one run each: log_counts.sql {:.3} s (before the key ranges: {:.3} s), log_lines.sql {:.3} s (before: {:.3} s); same rows as before",
            counts.0.as_secs_f64(),
            before_counts.0.as_secs_f64(),
            ch_time.as_secs_f64(),
            before_lines.0.as_secs_f64(),
        );
    }
}

#[tokio::main]
async fn main() {
    let sessions = fleet::env_u64("SYNCTEL_BENCH_SESSIONS", 1_000);
    let lines_per = fleet::env_u64("SYNCTEL_BENCH_LOG_LINES", 100);
    let others = fleet::env_u64("SYNCTEL_BENCH_OTHER_USERS", 10);
    let (db, ch) = fleet::fresh_database("bench_api_logs").await;
    let client = ch.client();
    let now = aggregator::cycle::now_ms();
    let t = Instant::now();
    let all = events(USER, sessions, lines_per, now);
    let lines = fill(&client, &all).await;
    drop(all);
    let text_bytes: u64 = client
        .query("SELECT sum(length(text)) FROM log_lines")
        .fetch_one()
        .await
        .unwrap();
    println!(
        "filled {} with {sessions} sessions of one user, {lines} log lines ({:.1} MiB of text) in {:.1} s",
        db.name,
        proc::mib(text_bytes),
        t.elapsed().as_secs_f64()
    );

    api::one_cycle(&ch).await;
    let api = api::Api::start(&ch, TENANT, CancellationToken::new(), |c| {
        c.limits.log_max_sessions = sessions.max(1);
        c.limits.log_max_lines = lines.max(1) * 2;
        c.limits.query_timeout_ms = 600_000;
    })
    .await;
    let (addr, token) = (api.addr, api.token.clone());

    // The SQL the API runs for the export (the bench user's sessions, oldest first, with an
    // admin's scope), and the SQL it ran before the key ranges; the same binds as the API.
    let ids: Vec<String> = (0..sessions).map(|s| format!("session-{s:05}")).collect();
    let (user_from, user_to) = query_api::query::params::id_range(USER);
    let counts_binds = vec![
        Bound::Str(TENANT.to_owned()),
        user_from,
        user_to,
        Bound::Strs(vec![USER.to_owned(); ids.len()]),
        Bound::Strs(ids.clone()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
    ];
    let lines_binds: Vec<Bound> = std::iter::once(Bound::Strs(ids.clone()))
        .chain(counts_binds.iter().cloned())
        .collect();
    let before_counts_binds = vec![
        Bound::Str(TENANT.to_owned()),
        Bound::Str(USER.to_owned()),
        Bound::Str(USER.to_owned()),
        Bound::Strs(ids.clone()),
        Bound::U8(1),
        Bound::Strs(vec![String::new()]),
    ];
    let before_lines_binds: Vec<Bound> = before_counts_binds
        .iter()
        .cloned()
        .chain(std::iter::once(Bound::Strs(ids)))
        .collect();
    let sql = Sql {
        counts: (LOG_COUNTS, &counts_binds),
        lines: (LOG_LINES, &lines_binds),
        before_counts: (LOG_COUNTS_BEFORE, &before_counts_binds),
        before_lines: (LOG_LINES_BEFORE, &before_lines_binds),
    };
    let window = format!("from=0&to={}", now + 60_000);
    let run = Run {
        client: &client,
        addr,
        token: &token,
        zip_path: format!("/api/v1/users/{USER}/logs?{window}"),
        csv_path: format!("/api/v1/users/{USER}/logs?{window}&format=csv"),
        sessions,
        lines,
    };
    println!(
        "{sessions} sessions x {lines_per} lines = {lines} lines; GET /api/v1/users/{{u}}/logs (from/to covering them all)"
    );
    run.phase("the bench user alone in the tenant", &sql).await;

    // The same export with other users' logs in the tenant: the cost must not grow with them.
    if others > 0 {
        let t = Instant::now();
        let other_lines = fill_others(&client, others, sessions, lines_per, now).await;
        println!(
            "added {others} other users of the tenant (half sorting before the bench user, half after), {other_lines} log lines, in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        run.phase(
            &format!("with {others} other users' {other_lines} log lines in the tenant"),
            &sql,
        )
        .await;
    }

    api.stop().await;
    if std::env::var("SYNCTEL_BENCH_KEEP").is_ok() {
        println!("kept database {}", db.name);
    } else {
        db.drop_database().await.unwrap();
    }
}
