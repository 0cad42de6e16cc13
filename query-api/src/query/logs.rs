//! Logs: one session's log, or a user's sessions (a time window or chosen ones), as a ZIP or
//! a CSV, streamed.
//!
//! - ZIP of one session: one entry `<session>.log`, a line per log line: `time level text`
//!   (time in RFC 3339 UTC with milliseconds).
//! - ZIP of a user's sessions: one `<session>.log` per session (empty when it logged
//!   nothing) plus `index.csv` first: `session_id,start,end,status,lines`.
//! - CSV (either route): `session_id,time,level,text`, RFC 4180, formulas neutralized.
//!
//! Entry names keep only `[A-Za-z0-9._-]` (anything else becomes `_`, a leading dot too);
//! names that collide after that get `-2`, `-3`... Sessions are found through `sessions.sql`
//! with the principal's scope, so another tenant's session is a 404 like a missing one.
//! Before anything is streamed, the export is checked against `limits.log_max_sessions`,
//! `log_max_lines` and `log_max_bytes` (422 `log_export_too_large` naming the cap); the
//! stream enforces the same caps while it runs. The archive is written by the `zip` crate's
//! streaming writer into a small buffer that is handed to the client through a bounded
//! channel, so memory stays flat whatever the size.

mod stream;

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::export::{self, Download};
use super::list::{self, ListSpec, ParseContext};
use super::params::{Bound, LogCounts, LogLines, Scope, Sessions};
use super::specs::SESSIONS;
use super::{run, sql};
use crate::error::{ApiError, Result};
use crate::state::AppState;
use stream::{Chunks, Pump, PumpError};

/// Chunks in flight between the writer and the client.
const CHUNKS_IN_FLIGHT: usize = 8;

/// What a log export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// A ZIP archive.
    Zip,
    /// One CSV of every line.
    Csv,
}

impl LogFormat {
    /// The file name extension.
    pub fn ext(self) -> &'static str {
        match self {
            LogFormat::Zip => "zip",
            LogFormat::Csv => "csv",
        }
    }
}

/// One session of a log export (a row of `index.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSession {
    /// The session.
    pub session_id: String,
    /// Its user.
    pub user_id: String,
    /// Start, ms since the epoch.
    pub started_at_ms: i64,
    /// End, ms since the epoch (0: not ended).
    pub ended_at_ms: i64,
    /// Status (`Success`, `Error`, ...).
    pub status: String,
    /// Log lines stored for it.
    pub lines: u64,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct LineRow {
    session_id: String,
    at_ms: i64,
    level: String,
    text: String,
}

#[derive(Debug, Deserialize, clickhouse::Row)]
struct CountRow {
    session_id: String,
    lines: u64,
    bytes: u64,
}

/// A name safe in an archive: only `[A-Za-z0-9._-]`, never starting with a dot, never empty.
pub fn sanitize(id: &str) -> String {
    let mut name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with('.') || name.is_empty() {
        name.insert(0, '_');
    }
    name
}

/// The entry names of the sessions' logs: sanitized, `.log`, unique.
pub fn entry_names(sessions: &[LogSession]) -> Vec<String> {
    let mut seen = HashSet::new();
    sessions
        .iter()
        .map(|s| {
            let base = sanitize(&s.session_id);
            let mut name = format!("{base}.log");
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}-{n}.log");
                n += 1;
            }
            name
        })
        .collect()
}

/// RFC 3339 UTC with milliseconds (empty for 0).
pub fn time(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// `index.csv` of a ZIP of several sessions.
pub fn index_csv(sessions: &[LogSession]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::internal("writing index.csv", e);
    w.write_record(["session_id", "user_id", "start", "end", "status", "lines"])
        .map_err(csv_err)?;
    for s in sessions {
        w.write_record([
            export::neutralize(s.session_id.clone()),
            export::neutralize(s.user_id.clone()),
            time(s.started_at_ms),
            time(s.ended_at_ms),
            export::neutralize(s.status.clone()),
            s.lines.to_string(),
        ])
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::internal("writing index.csv", e.into_error()))
}

/// What the query string asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// ZIP or CSV.
    pub format: LogFormat,
    /// Window start, ms.
    pub from_ms: i64,
    /// Window end (exclusive), ms.
    pub to_ms: i64,
    /// Chosen sessions instead of the window.
    pub sessions: Option<Vec<String>>,
    /// `summary=true`: answer what the export would hold (JSON [`Summary`]), not the file.
    pub summary: bool,
}

/// `several`: the query may choose sessions (`sessions=` or `from`/`to`), as the user and
/// profile exports do; a single session's export takes `format` only.
pub fn parse_query(c: ParseContext, q: &[(String, String)], several: bool) -> Result<LogQuery> {
    let mut out = LogQuery {
        format: LogFormat::Zip,
        from_ms: c.now_ms - i64::from(c.window_days) * 86_400_000,
        to_ms: c.now_ms,
        sessions: None,
        summary: false,
    };
    let mut window = false;
    for (key, value) in q {
        match key.as_str() {
            "format" => {
                out.format = match value.as_str() {
                    "zip" => LogFormat::Zip,
                    "csv" => LogFormat::Csv,
                    _ => return Err(ApiError::bad_value("format", "must be zip or csv")),
                }
            }
            "from" | "to" if several => {
                // The list parser owns the time syntax (ms or RFC 3339).
                let pair = [(key.clone(), value.clone())];
                let r = list::parse(&SESSIONS, &pair, c)?;
                if key == "from" {
                    out.from_ms = r.from_ms;
                } else {
                    out.to_ms = r.to_ms;
                }
                window = true;
            }
            "summary" => {
                out.summary = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad_value("summary", "must be true or false")),
                }
            }
            "sessions" if several => {
                let mut ids: Vec<String> = Vec::new();
                for id in value.split(',').filter(|s| !s.is_empty()) {
                    if !ids.iter().any(|i| i == id) {
                        ids.push(id.to_owned());
                    }
                }
                if ids.is_empty() {
                    return Err(ApiError::bad_value("sessions", "no session given"));
                }
                out.sessions = Some(ids);
            }
            _ => return Err(ApiError::UnknownParameter(key.clone())),
        }
    }
    if window && out.sessions.is_some() {
        return Err(ApiError::bad_value(
            "sessions",
            "give either sessions or from/to, not both",
        ));
    }
    if out.from_ms >= out.to_ms {
        return Err(ApiError::bad_value("from", "must be before to"));
    }
    Ok(out)
}

fn str_of(row: &Map<String, Value>, k: &str) -> String {
    row.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn int_of(row: &Map<String, Value>, k: &str) -> i64 {
    row.get(k).and_then(Value::as_i64).unwrap_or(0)
}

/// Sessions of a session list's query (`sessions.sql` or `profile_sessions.sql` with
/// their binds), oldest first, at most `limit`; `ids` narrows to those sessions.
pub async fn find_sessions(
    state: &AppState,
    spec: &ListSpec,
    binds: Vec<Bound>,
    ids: Option<&[String]>,
    limit: u64,
) -> Result<Vec<LogSession>> {
    let mut sql = format!(
        "SELECT session_id, user_id, started_at_ms, ended_at_ms, status FROM ({}) WHERE 1 = 1",
        sql::base_sql(spec.sql)
    );
    let mut binds = binds;
    if let Some(ids) = ids {
        sql.push_str(" AND has(?, session_id)");
        binds.push(Bound::Strs(ids.to_vec()));
    }
    sql.push_str(" ORDER BY started_at_ms, session_id LIMIT ?");
    binds.push(Bound::U64(limit));
    let rows = run::rows(state, &sql, &binds).await?;
    Ok(rows
        .iter()
        .map(|r| LogSession {
            session_id: str_of(r, "session_id"),
            user_id: str_of(r, "user_id"),
            started_at_ms: int_of(r, "started_at_ms"),
            ended_at_ms: int_of(r, "ended_at_ms"),
            status: str_of(r, "status"),
            lines: 0,
        })
        .collect())
}

/// What one export streams.
pub struct Plan {
    /// The user whose sessions these are; empty for a profile's (several users).
    pub user_id: String,
    /// The sessions, in the export's order.
    pub sessions: Vec<LogSession>,
    /// ZIP or CSV.
    pub format: LogFormat,
    /// A ZIP with `index.csv` (several sessions) or without (one session).
    pub index: bool,
    /// The file name offered.
    pub file_name: String,
}

/// Too many chosen sessions: refused before any query.
pub fn check_chosen(state: &AppState, query: &LogQuery) -> Result<()> {
    let cap = state.config.limits.log_max_sessions;
    match &query.sessions {
        Some(ids) if ids.len() as u64 > cap => Err(sessions_cap(ids.len() as u64, cap)),
        _ => Ok(()),
    }
}

/// The window of the query's sessions: chosen sessions whenever they started, or the
/// window.
pub fn window(query: &LogQuery) -> (i64, i64) {
    match query.sessions {
        Some(_) => (0, i64::MAX),
        None => (query.from_ms, query.to_ms),
    }
}

/// Binds of `sessions.sql` for the query's sessions of one user.
pub fn user_sessions(scope: &Scope, user_id: &str, query: &LogQuery) -> Vec<Bound> {
    let (from_ms, to_ms) = window(query);
    Sessions {
        scope,
        user_id,
        session_id: "",
        from_ms,
        to_ms,
    }
    .binds()
}

/// The sessions the query chose (every chosen one must exist and be visible: the first that
/// is not answers 404 like a missing one), or those of the window; at most the cap.
pub async fn chosen(
    state: &AppState,
    query: &LogQuery,
    spec: &ListSpec,
    binds: Vec<Bound>,
) -> Result<Vec<LogSession>> {
    let cap = state.config.limits.log_max_sessions;
    let ids = query.sessions.as_deref();
    let found = find_sessions(state, spec, binds, ids, cap + 1).await?;
    if let Some(missing) = ids
        .into_iter()
        .flatten()
        .find(|id| !found.iter().any(|f| &f.session_id == *id))
    {
        return Err(ApiError::NotFound {
            kind: "session",
            id: missing.clone(),
        });
    }
    let n = found.len() as u64;
    if n > cap {
        return Err(sessions_cap(n, cap));
    }
    Ok(found)
}

fn sessions_cap(actual: u64, limit: u64) -> ApiError {
    ApiError::LogCapExceeded {
        cap: "log_max_sessions",
        what: "sessions",
        actual,
        limit,
    }
}

/// Sessions per query of an export: the (user, session) pairs are bound into the SQL, so a
/// window of thousands of sessions is read in batches of this many (a few tens of KiB of
/// SQL each, well under ClickHouse's `max_query_size` of 256 KiB).
pub const SESSIONS_PER_QUERY: usize = 500;

/// What a log export would hold: sessions, lines, bytes of text (before compression), and
/// the caps it is checked against (`GET .../logs?summary=true`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Sessions in the export.
    pub sessions: u64,
    /// Log lines.
    pub lines: u64,
    /// Bytes of log text.
    pub bytes: u64,
    /// `limits.log_max_bytes`.
    pub max_bytes: u64,
    /// `limits.log_max_lines`.
    pub max_lines: u64,
    /// `limits.log_max_sessions`.
    pub max_sessions: u64,
}

/// The binds of `log_counts.sql` for one batch of the plan's sessions.
fn batch_counts<'a>(scope: &'a Scope, user_id: &'a str, batch: &[LogSession]) -> LogCounts<'a> {
    LogCounts {
        scope,
        user_id,
        pairs: batch
            .iter()
            .map(|s| (s.user_id.clone(), s.session_id.clone()))
            .collect(),
    }
}

/// The binds of `log_lines.sql` for one batch (its sessions' ids in the export's order, each
/// once: for a repeated key `transform` answers the last position on 18.16 and the first on
/// current ClickHouse; with each id once, both answer its first).
fn batch_lines(scope: &Scope, user_id: &str, batch: &[LogSession]) -> Vec<Bound> {
    let counts = batch_counts(scope, user_id, batch);
    let mut seen = HashSet::new();
    let in_order: Vec<String> = batch
        .iter()
        .filter(|s| seen.insert(s.session_id.as_str()))
        .map(|s| s.session_id.clone())
        .collect();
    LogLines {
        in_order,
        counts: &counts,
    }
    .binds()
}

/// Counts the plan's lines and bytes (per session into `plan.sessions[..].lines`), then
/// checks them against the caps: 422 `log_export_too_large` naming the first cap passed.
pub async fn measure(state: &AppState, scope: &Scope, plan: &mut Plan) -> Result<Summary> {
    let caps = &state.config.limits;
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut per_session: std::collections::HashMap<String, u64> = Default::default();
    for batch in plan.sessions.chunks(SESSIONS_PER_QUERY) {
        let binds = batch_counts(scope, &plan.user_id, batch).binds();
        let counts: Vec<CountRow> = run::typed(state, sql::LOG_COUNTS, &binds).await?;
        for c in counts {
            lines += c.lines;
            bytes += c.bytes;
            per_session.insert(c.session_id, c.lines);
        }
    }
    for s in &mut plan.sessions {
        s.lines = per_session.get(&s.session_id).copied().unwrap_or(0);
    }
    if bytes > caps.log_max_bytes {
        return Err(ApiError::LogCapExceeded {
            cap: "log_max_bytes",
            what: "bytes of text",
            actual: bytes,
            limit: caps.log_max_bytes,
        });
    }
    if lines > caps.log_max_lines {
        return Err(ApiError::LogCapExceeded {
            cap: "log_max_lines",
            what: "lines",
            actual: lines,
            limit: caps.log_max_lines,
        });
    }
    Ok(Summary {
        sessions: plan.sessions.len() as u64,
        lines,
        bytes,
        max_bytes: caps.log_max_bytes,
        max_lines: caps.log_max_lines,
        max_sessions: caps.log_max_sessions,
    })
}

/// Checks the caps, then streams the export: the lines of each batch of
/// [`SESSIONS_PER_QUERY`] sessions in turn, one query at a time.
pub async fn export(state: &AppState, scope: &Scope, mut plan: Plan) -> Result<Download> {
    let permit = state.export_permit(&scope.tenant_id)?;
    let caps = state.config.limits.clone();
    measure(state, scope, &mut plan).await?;
    let batches: Vec<Vec<Bound>> = plan
        .sessions
        .chunks(SESSIONS_PER_QUERY)
        .map(|b| batch_lines(scope, &plan.user_id, b))
        .collect();
    let mut batches = batches.into_iter();
    let first_binds = batches
        .next()
        .unwrap_or_else(|| batch_lines(scope, &plan.user_id, &[]));
    let mut cursor = run::query(state, sql::LOG_LINES, &first_binds).fetch::<LineRow>()?;
    // The first row before answering: a failing query still gets a JSON error.
    let first = tokio::time::timeout(caps.query_timeout(), cursor.next())
        .await
        .map_err(|_| ApiError::Timeout(caps.query_timeout_ms))??;
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
    let metrics = Arc::clone(&state.metrics);
    let (content_type, file_name) = match plan.format {
        LogFormat::Zip => ("application/zip", plan.file_name.clone()),
        LogFormat::Csv => ("text/csv; charset=utf-8", plan.file_name.clone()),
    };
    let state = state.clone();
    tokio::spawn(async move {
        metrics.exports_running.inc();
        let mut pump = Pump {
            chunks: Chunks::default(),
            tx: tx.clone(),
            lines: 0,
            bytes: 0,
            max_lines: caps.log_max_lines,
            max_bytes: caps.log_max_bytes,
        };
        let next = move || {
            batches
                .next()
                .map(|binds| run::query(&state, sql::LOG_LINES, &binds).fetch::<LineRow>())
        };
        let result = pump.run(&plan, first, cursor, next).await;
        metrics.exports_running.dec();
        metrics.export_rows.inc_by(pump.lines);
        match result {
            Ok(()) | Err(PumpError::Gone) => {}
            Err(PumpError::Failed(e)) => {
                tracing::error!(error = %e, "log export failed");
                let _ = tx
                    .send(Err(std::io::Error::other("log export failed")))
                    .await;
            }
        }
        drop(permit);
    });
    Ok(Download {
        content_type,
        file_name,
        body: futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn session(id: &str) -> LogSession {
        LogSession {
            session_id: id.to_owned(),
            user_id: "u1".to_owned(),
            started_at_ms: 1_000,
            ended_at_ms: 0,
            status: "Success".to_owned(),
            lines: 3,
        }
    }

    #[test]
    fn names_are_sanitized_and_unique() {
        assert_eq!(sanitize("6f1c-2a8e_x.y"), "6f1c-2a8e_x.y");
        assert_eq!(sanitize("../etc/passwd"), "_.._etc_passwd");
        assert_eq!(sanitize("a b/c\\d:é"), "a_b_c_d__");
        assert_eq!(sanitize(""), "_");
        let names = entry_names(&[session("a/b"), session("a:b"), session("a_b")]);
        assert_eq!(names, ["a_b.log", "a_b-2.log", "a_b-3.log"]);
    }

    #[test]
    fn index_has_one_row_per_session() {
        let text = String::from_utf8(index_csv(&[session("=s1")]).unwrap()).unwrap();
        assert_eq!(
            text,
            "session_id,user_id,start,end,status,lines\r\n'=s1,u1,1970-01-01T00:00:01.000Z,,Success,3\r\n"
        );
    }
}
