//! Lists: per-list column whitelists, and the parsing of a list request (columns, filters,
//! sort, page, window, format) into a [`Plan`] whose SQL holds only whitelisted column names
//! and `?` placeholders; every value the client sent is bound. Pure code, no I/O.
//!
//! Query parameters of every list:
//! - `columns=a,b,c`: the columns, in order (default: the list's default columns);
//! - `<column>=v` or `<column>.<op>=v`: a filter; `op` is `eq`, `ne`, `contains` (text,
//!   case-insensitive), `gt`, `gte`, `lt`, `lte` (numbers and times); several are ANDed;
//!   times take ms since the epoch or RFC 3339;
//! - `sort=-a,b`: sort keys, `-` for descending (default: the list's own order);
//! - `limit`, `offset`: the page (JSON only; CSV exports every matching row);
//! - `total=true`: the page also says how many rows match (`total`; JSON only);
//! - `from`, `to`: the time window of windowed lists (default: the last 3 days to now);
//! - `format=json|csv`, `bom=true` (UTF-8 byte order mark before the CSV, for Excel),
//!   `readable=true` (the CSV in words: times, durations, yes/no, headers; `export::readable`).

use super::params::Bound;
use super::sql::{self, base_sql};
use crate::error::ApiError;

/// What a column holds, which decides the filters it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: eq, ne, contains.
    Text,
    /// Integer: eq, ne, gt, gte, lt, lte.
    Int,
    /// Time in ms since the epoch: like Int, values may also be RFC 3339.
    Time,
    /// 0/1 flag: eq, ne with 0, 1, true, false.
    Flag,
    /// Array: selectable only.
    Array,
}

impl Kind {
    /// Its name in `GET /api/v1/lists`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "int",
            Kind::Time => "time",
            Kind::Flag => "flag",
            Kind::Array => "array",
        }
    }

    /// The filter operators it takes (`eq` is the bare `column=value`).
    pub fn operator_names(self) -> &'static [&'static str] {
        match self {
            Kind::Text => &["eq", "ne", "contains"],
            Kind::Int | Kind::Time => &["eq", "ne", "gt", "gte", "lt", "lte"],
            Kind::Flag => &["eq", "ne"],
            Kind::Array => &[],
        }
    }

    fn operators(self) -> &'static str {
        match self {
            Kind::Text => "eq, ne, contains",
            Kind::Int | Kind::Time => "eq, ne, gt, gte, lt, lte",
            Kind::Flag => "eq, ne",
            Kind::Array => "none",
        }
    }
}

/// One column of a list.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name in the API and in the list's SQL.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// A column (for the list specs).
pub const fn c(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// A list: its SQL (from `query-api/sql/`), whitelist, defaults.
#[derive(Debug)]
pub struct ListSpec {
    /// Name used in file names of exports.
    pub name: &'static str,
    /// The base query; the API wraps it (filters, sort, page).
    pub sql: &'static str,
    /// Every column a request may name.
    pub columns: &'static [Column],
    /// Columns when the request names none.
    pub default_columns: &'static [&'static str],
    /// ORDER BY when the request gives no sort (constant SQL over whitelisted columns).
    pub default_order: &'static str,
    /// Column ties are broken by (unique within the list, with `then`).
    pub key: &'static str,
    /// A second tie-breaker when `key` alone is not unique ("" for none): a session id is
    /// unique per user, and a profile's list holds several users.
    pub then: &'static str,
    /// Whether `from`/`to` apply (bound by the base query).
    pub windowed: bool,
}

impl ListSpec {
    /// A column by name.
    pub fn column(&self, name: &str) -> Result<&'static Column, ApiError> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ApiError::UnknownColumn {
                column: name.to_owned(),
                allowed: self
                    .columns
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON page.
    Json,
    /// Every matching row, streamed as CSV.
    Csv,
}

/// The parsed request of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    /// Chosen columns, in order.
    pub columns: Vec<&'static str>,
    /// `column op ?` clauses with their values.
    pub filters: Vec<(String, Bound)>,
    /// ORDER BY text (whitelisted columns only).
    pub order: String,
    /// Page size.
    pub limit: u64,
    /// Page start.
    pub offset: u64,
    /// Window start, ms (windowed lists).
    pub from_ms: i64,
    /// Window end (exclusive), ms.
    pub to_ms: i64,
    /// Output format.
    pub format: Format,
    /// UTF-8 BOM before the CSV.
    pub bom: bool,
    /// `readable=true`: the CSV for a spreadsheet (`export::readable`).
    pub readable: bool,
    /// `total=true`: the JSON page carries the number of matching rows.
    pub total: bool,
}

/// Limits and clock the parser needs.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext {
    /// Page size when not given.
    pub default_page_size: u64,
    /// Largest page.
    pub max_page_size: u64,
    /// Now, ms.
    pub now_ms: i64,
    /// Default window, days back from now.
    pub window_days: u32,
}

fn parse_time(param: &str, value: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_value(
                param,
                format!("{value:?} is neither ms since the epoch nor an RFC 3339 time"),
            )
        })
}

fn parse_u64(param: &str, value: &str, max: u64) -> Result<u64, ApiError> {
    let n: u64 = value
        .parse()
        .map_err(|_| ApiError::bad_value(param, format!("{value:?} is not a whole number")))?;
    if n > max {
        return Err(ApiError::bad_value(
            param,
            format!("{n} is larger than the maximum {max}"),
        ));
    }
    Ok(n)
}

fn filter(spec: &ListSpec, key: &str, value: &str) -> Result<(String, Bound), ApiError> {
    let (name, op) = key.split_once('.').unwrap_or((key, "eq"));
    let column = spec.column(name)?;
    let bad_op = || ApiError::BadOperator {
        column: name.to_owned(),
        op: op.to_owned(),
        allowed: column.kind.operators(),
    };
    let sql_op = match op {
        "eq" => "=",
        "ne" => "!=",
        "gt" => ">",
        "gte" => ">=",
        "lt" => "<",
        "lte" => "<=",
        "contains" => "contains",
        _ => return Err(bad_op()),
    };
    let n = column.name;
    match column.kind {
        Kind::Array => Err(bad_op()),
        Kind::Text => match sql_op {
            "=" | "!=" => Ok((format!("{n} {sql_op} ?"), Bound::Str(value.to_owned()))),
            "contains" => Ok((
                format!("positionCaseInsensitiveUTF8({n}, ?) > 0"),
                Bound::Str(value.to_owned()),
            )),
            _ => Err(bad_op()),
        },
        Kind::Flag => {
            let v = match value {
                "1" | "true" => 1,
                "0" | "false" => 0,
                _ => {
                    return Err(ApiError::bad_value(
                        key,
                        format!("{value:?} is not one of 0, 1, true, false"),
                    ))
                }
            };
            match sql_op {
                "=" | "!=" => Ok((format!("{n} {sql_op} ?"), Bound::U8(v))),
                _ => Err(bad_op()),
            }
        }
        Kind::Int | Kind::Time => {
            if sql_op == "contains" {
                return Err(bad_op());
            }
            let v = if column.kind == Kind::Time {
                parse_time(key, value)?
            } else {
                value.parse::<i64>().map_err(|_| {
                    ApiError::bad_value(key, format!("{value:?} is not a whole number"))
                })?
            };
            Ok((format!("{n} {sql_op} ?"), Bound::I64(v)))
        }
    }
}

fn order(spec: &ListSpec, value: &str) -> Result<String, ApiError> {
    let mut parts = Vec::new();
    for item in value.split(',').filter(|s| !s.is_empty()) {
        let (name, desc) = match item.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (item, false),
        };
        let column = spec.column(name)?;
        if column.kind == Kind::Array {
            return Err(ApiError::bad_value(
                "sort",
                format!("{name} cannot be sorted"),
            ));
        }
        parts.push(format!(
            "{}{}",
            column.name,
            if desc { " DESC" } else { "" }
        ));
    }
    if parts.is_empty() {
        return Err(ApiError::bad_value("sort", "no column given"));
    }
    for tie in [spec.key, spec.then] {
        if !tie.is_empty() && !parts.iter().any(|p| p.split(' ').next() == Some(tie)) {
            parts.push(tie.to_owned());
        }
    }
    Ok(parts.join(", "))
}

/// Most filters one list request may carry: ClickHouse 18.16 refuses a long chain of
/// conditions as "AST is too deep" (a 503), so more are a 400 `too_many_filters` up front.
pub const MAX_FILTERS: usize = 32;

/// Parses a list's query parameters.
pub fn parse(
    spec: &ListSpec,
    params: &[(String, String)],
    ctx: ParseContext,
) -> Result<ListRequest, ApiError> {
    let mut req = ListRequest {
        columns: spec.default_columns.to_vec(),
        filters: Vec::new(),
        order: spec.default_order.to_owned(),
        limit: ctx.default_page_size,
        offset: 0,
        from_ms: ctx.now_ms - i64::from(ctx.window_days) * 86_400_000,
        to_ms: ctx.now_ms,
        format: Format::Json,
        bom: false,
        readable: false,
        total: false,
    };
    for (key, value) in params {
        match key.as_str() {
            "columns" => {
                let mut cols = Vec::new();
                for name in value.split(',').filter(|s| !s.is_empty()) {
                    let column = spec.column(name)?;
                    if !cols.contains(&column.name) {
                        cols.push(column.name);
                    }
                }
                if cols.is_empty() {
                    return Err(ApiError::bad_value("columns", "no column given"));
                }
                req.columns = cols;
            }
            "sort" => req.order = order(spec, value)?,
            "limit" => {
                req.limit = parse_u64("limit", value, ctx.max_page_size)?;
                if req.limit == 0 {
                    return Err(ApiError::bad_value("limit", "must be at least 1"));
                }
            }
            "offset" => req.offset = parse_u64("offset", value, 1 << 40)?,
            "format" => {
                req.format = match value.as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    _ => return Err(ApiError::bad_value("format", "must be json or csv")),
                }
            }
            "bom" => {
                req.bom = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad_value("bom", "must be true or false")),
                }
            }
            "readable" => {
                req.readable = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad_value("readable", "must be true or false")),
                }
            }
            "total" => {
                req.total = match value.as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(ApiError::bad_value("total", "must be true or false")),
                }
            }
            "from" if spec.windowed => req.from_ms = parse_time("from", value)?,
            "to" if spec.windowed => req.to_ms = parse_time("to", value)?,
            _ if key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && key.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                }) =>
            {
                if req.filters.len() == MAX_FILTERS {
                    return Err(ApiError::TooManyFilters { limit: MAX_FILTERS });
                }
                req.filters.push(filter(spec, key, value)?)
            }
            _ => return Err(ApiError::UnknownParameter(key.clone())),
        }
    }
    if req.from_ms >= req.to_ms && spec.windowed {
        return Err(ApiError::bad_value("from", "must be before to"));
    }
    Ok(req)
}

/// The SQL of a list request: the base query wrapped with the filters (and `extra`
/// clauses the handler adds, e.g. one profile), the order and, for a page, LIMIT/OFFSET.
pub fn wrap(spec: &ListSpec, req: &ListRequest, extra: &[(String, Bound)], page: bool) -> String {
    wrap_select(spec, req, extra, &req.columns.join(", "), page)
}

/// [`wrap`] selecting `select` (whitelisted column names) instead of the request's columns.
pub fn wrap_select(
    spec: &ListSpec,
    req: &ListRequest,
    extra: &[(String, Bound)],
    select: &str,
    page: bool,
) -> String {
    let mut sql = format!("SELECT {select} FROM ({}) WHERE 1 = 1", base_sql(spec.sql));
    for (clause, _) in extra.iter().chain(&req.filters) {
        sql.push_str(" AND ");
        sql.push_str(clause);
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(&req.order);
    if page {
        sql.push_str(" LIMIT ? OFFSET ?");
    }
    sql
}

/// The sort key of `session_state` after tenant and profile: a page of a profile's sessions
/// is found by these first (see `profile_sessions_page.sql`).
pub const PROFILE_PAGE_KEYS: &str = "started_at_ms, user_id, session_id";

/// The second step of a profile's session page: the request's columns of the rows whose
/// keys the first step ([`wrap_select`] with [`PROFILE_PAGE_KEYS`]) found, in its order.
pub fn wrap_page_rows(req: &ListRequest) -> String {
    format!(
        "SELECT {} FROM ({}) ORDER BY {}",
        req.columns.join(", "),
        base_sql(sql::PROFILE_SESSIONS_PAGE),
        req.order
    )
}

/// A count of the rows a list request matches (for the export cap).
pub fn wrap_count(spec: &ListSpec, req: &ListRequest, extra: &[(String, Bound)]) -> String {
    let mut sql = format!("SELECT count() FROM ({}) WHERE 1 = 1", base_sql(spec.sql));
    for (clause, _) in extra.iter().chain(&req.filters) {
        sql.push_str(" AND ");
        sql.push_str(clause);
    }
    sql
}
