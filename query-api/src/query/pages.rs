//! Answering a list request: a JSON page (the rows, and the next offset when there are
//! more), or a CSV export of every matching row, capped by `limits.export_max_rows`.

use serde::Serialize;
use serde_json::{Map, Value};

use super::export::{self, Download};
use super::list::{self, ListRequest, ListSpec};
use super::params::{Bound, PageKey, ProfileSessions, ProfileSessionsPage, Scope};
use super::run;
use super::specs::PROFILE_SESSIONS;
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// A JSON page of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The columns of the rows, in order.
    pub columns: Vec<&'static str>,
    /// The rows (the client chose the columns: maps).
    pub rows: Vec<Map<String, Value>>,
    /// The page size.
    pub limit: u64,
    /// The page start.
    pub offset: u64,
    /// The next page's offset, when there are more rows.
    pub next_offset: Option<u64>,
}

impl Page {
    /// `rows` of `req` (at most its limit), with `more` rows after them or not.
    fn new(req: &ListRequest, mut rows: Vec<Map<String, Value>>, more: bool) -> Self {
        rows.truncate(usize::try_from(req.limit).unwrap_or(usize::MAX));
        Page {
            columns: req.columns.clone(),
            rows,
            limit: req.limit,
            offset: req.offset,
            next_offset: more.then_some(req.offset + req.limit),
        }
    }
}

/// All binds of a list request: the base query's, the `extra` clauses', the filters'.
fn list_binds(base: Vec<Bound>, extra: &[(String, Bound)], req: &ListRequest) -> Vec<Bound> {
    let mut binds = base;
    binds.extend(extra.iter().map(|(_, b)| b.clone()));
    binds.extend(req.filters.iter().map(|(_, b)| b.clone()));
    binds
}

/// A page of `spec` with its base query's binds `base` and `extra` clauses.
pub async fn page(
    state: &AppState,
    spec: &ListSpec,
    req: &ListRequest,
    base: Vec<Bound>,
    extra: &[(String, Bound)],
) -> Result<Page> {
    let sql = list::wrap(spec, req, extra, true);
    let mut binds = list_binds(base, extra, req);
    binds.push(Bound::U64(req.limit + 1));
    binds.push(Bound::U64(req.offset));
    let rows = run::rows(state, &sql, &binds).await?;
    let more = rows.len() as u64 > req.limit;
    Ok(Page::new(req, rows, more))
}

/// A CSV export of every row of `spec` the request matches, for `tenant_id` (one of its
/// export slots), or 422 over the row cap.
pub async fn csv(
    state: &AppState,
    tenant_id: &str,
    spec: &'static ListSpec,
    req: ListRequest,
    base: Vec<Bound>,
    extra: &[(String, Bound)],
) -> Result<Download> {
    let permit = state.export_permit(tenant_id)?;
    let limit = state.config.limits.export_max_rows;
    let binds = list_binds(base, extra, &req);
    // The count for the cap and the export's first rows run at once (each is a full pass
    // over the list's query); an export over the cap is dropped before its first byte,
    // which cancels its query.
    let count_sql = list::wrap_count(spec, &req, extra);
    let sql = list::wrap(spec, &req, extra, false);
    let (rows, download) = tokio::join!(
        run::count(state, &count_sql, &binds),
        export::csv_export(state, &sql, &binds, req.columns, spec.name, req.bom, permit)
    );
    let rows = rows?;
    if rows > limit {
        return Err(ApiError::ExportTooLarge { rows, limit });
    }
    download
}

/// A page of a profile's sessions in two steps: the keys of its rows (the list's query
/// reading only the key, filter and order columns), then the rows by key. Two reads: a
/// cycle of the aggregator in between may drop a key (a shorter page) or change a row's
/// values; the next request sees the new state.
pub async fn profile_sessions(
    state: &AppState,
    scope: &Scope,
    profile_id: &str,
    req: &ListRequest,
) -> Result<Page> {
    let keys_sql = list::wrap_select(&PROFILE_SESSIONS, req, &[], list::PROFILE_PAGE_KEYS, true);
    let base = ProfileSessions {
        scope,
        profile_id,
        from_ms: req.from_ms,
        to_ms: req.to_ms,
    }
    .binds();
    let mut binds = list_binds(base, &[], req);
    binds.push(Bound::U64(req.limit + 1));
    binds.push(Bound::U64(req.offset));
    let found = run::rows(state, &keys_sql, &binds).await?;
    let more = found.len() as u64 > req.limit;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let keys: Vec<PageKey> = found
        .iter()
        .take(usize::try_from(req.limit).unwrap_or(usize::MAX))
        .map(|r| {
            (
                text(r.get("started_at_ms")),
                text(r.get("user_id")),
                text(r.get("session_id")),
            )
        })
        .collect();
    let rows = if keys.is_empty() {
        Vec::new()
    } else {
        let binds = ProfileSessionsPage {
            scope,
            profile_id,
            keys: &keys,
        }
        .binds();
        run::rows(state, &list::wrap_page_rows(req), &binds).await?
    };
    Ok(Page::new(req, rows, more))
}
