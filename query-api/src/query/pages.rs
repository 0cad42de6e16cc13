//! Answering a list request: a JSON page (the rows, the next offset when there are more,
//! and with `total=true` how many rows match), or a CSV export of every matching row,
//! capped by `limits.export_max_rows`.

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
    /// The rows the view matches, on every page (asked for with `total=true`; absent
    /// otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
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
            total: None,
        }
    }

    /// The total the page itself proves, without a count: on the last page (no more rows)
    /// that holds a row, or on the first page, the rows before it plus its own. A page past
    /// the end proves nothing (the view may have shrunk), so it asks.
    fn known_total(&self) -> Option<u64> {
        (self.next_offset.is_none() && (!self.rows.is_empty() || self.offset == 0))
            .then(|| self.offset + self.rows.len() as u64)
    }

    /// Fills `total` when the request asked for it: from the page alone when it is the
    /// last ([`Self::known_total`]), else `count()` (a count over the same filtered query).
    async fn with_total(
        mut self,
        req: &ListRequest,
        count: impl std::future::Future<Output = Result<u64>>,
    ) -> Result<Self> {
        if req.total {
            self.total = Some(match self.known_total() {
                Some(n) => n,
                None => count.await?,
            });
        }
        Ok(self)
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
    binds.truncate(binds.len() - 2);
    let count_sql = list::wrap_count(spec, req, extra);
    Page::new(req, rows, more)
        .with_total(req, run::count(state, &count_sql, &binds))
        .await
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
    let count_binds = binds.clone();
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
    let count_sql = list::wrap_count(&PROFILE_SESSIONS, req, &[]);
    Page::new(req, rows, more)
        .with_total(req, run::count(state, &count_sql, &count_binds))
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::query::list::{parse, ParseContext};
    use crate::query::specs::USERS;

    fn req(pairs: &[(&str, &str)]) -> ListRequest {
        let params: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let ctx = ParseContext {
            default_page_size: 50,
            max_page_size: 1000,
            now_ms: 0,
            window_days: 3,
        };
        parse(&USERS, &params, ctx).unwrap()
    }

    fn rows(n: usize) -> Vec<Map<String, Value>> {
        vec![Map::new(); n]
    }

    #[tokio::test]
    async fn total_comes_from_the_last_page_without_a_count() {
        let r = req(&[("total", "true"), ("limit", "10"), ("offset", "20")]);
        let page = Page::new(&r, rows(4), false);
        let counted = page.with_total(&r, async { panic!("no count needed") });
        assert_eq!(counted.await.unwrap().total, Some(24));
        let first = req(&[("total", "true")]);
        let empty = Page::new(&first, rows(0), false);
        let counted = empty.with_total(&first, async { panic!("no count needed") });
        assert_eq!(counted.await.unwrap().total, Some(0));
    }

    #[tokio::test]
    async fn total_is_counted_when_more_rows_follow_or_past_the_end() {
        let r = req(&[("total", "true"), ("limit", "10")]);
        let page = Page::new(&r, rows(11), true);
        assert_eq!(page.rows.len(), 10);
        let page = page.with_total(&r, async { Ok(123) }).await.unwrap();
        assert_eq!((page.total, page.next_offset), (Some(123), Some(10)));
        let past = req(&[("total", "true"), ("offset", "500")]);
        let page = Page::new(&past, rows(0), false);
        assert_eq!(
            page.with_total(&past, async { Ok(7) }).await.unwrap().total,
            Some(7)
        );
    }

    #[tokio::test]
    async fn no_total_unless_asked() {
        let r = req(&[("limit", "10")]);
        let page = Page::new(&r, rows(11), true);
        let page = page
            .with_total(&r, async { panic!("not asked") })
            .await
            .unwrap();
        assert_eq!(page.total, None);
        let json = serde_json::to_value(&page).unwrap();
        assert!(json.get("total").is_none(), "{json}");
    }
}
