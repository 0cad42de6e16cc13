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
//! - `from`, `to`: the time window of windowed lists (default: the last 3 days to now);
//! - `format=json|csv`, `bom=true` (UTF-8 byte order mark before the CSV, for Excel).

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

const fn c(name: &'static str, kind: Kind) -> Column {
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

use Kind::{Array, Flag, Int, Text, Time};

/// Profiles.
pub static PROFILES: ListSpec = ListSpec {
    name: "profiles",
    sql: include_str!("../sql/profiles.sql"),
    columns: &[
        c("profile_id", Text),
        c("name", Text),
        c("status", Text),
        c("users", Int),
        c("updated_at_ms", Time),
    ],
    default_columns: &["profile_id", "name", "status", "users", "updated_at_ms"],
    default_order: "name, profile_id",
    key: "profile_id",
    then: "",
    windowed: false,
};

const USER_COLUMNS: &[Column] = &[
    c("user_id", Text),
    c("display_name", Text),
    c("mail_account", Text),
    c("crm_user_name", Text),
    c("profile_id", Text),
    c("profile_status", Text),
    c("effective_status", Text),
    c("sync_setting", Text),
    c("sync_state", Text),
    c("crm_token_active", Flag),
    c("mail_token_authorized", Flag),
    c("last_token_error", Text),
    c("last_session_id", Text),
    c("last_session_started_at_ms", Time),
    c("last_session_duration_ms", Int),
    c("last_session_status", Text),
    c("last_outcome", Text),
    c("last_error_category", Text),
    c("last_error_source", Text),
    c("last_error_message", Text),
    c("consecutive_failures", Int),
    c("no_recent_session", Flag),
    c("first_seen_ms", Time),
    c("last_event_at_ms", Time),
];

/// Users (all, one profile's, or one monitor card's).
pub static USERS: ListSpec = ListSpec {
    name: "users",
    sql: include_str!("../sql/users.sql"),
    columns: USER_COLUMNS,
    default_columns: &[
        "user_id",
        "display_name",
        "mail_account",
        "profile_id",
        "profile_status",
        "effective_status",
        "sync_state",
        "last_session_started_at_ms",
        "last_session_duration_ms",
        "crm_token_active",
        "mail_token_authorized",
    ],
    default_order: "display_name, user_id",
    key: "user_id",
    then: "",
    windowed: false,
};

/// The user table behind a monitor card (the columns of aggregator/sql/monitor_card_users.sql).
pub static CARD_USERS: ListSpec = ListSpec {
    name: "card_users",
    sql: include_str!("../sql/users.sql"),
    columns: USER_COLUMNS,
    default_columns: &[
        "last_session_status",
        "user_id",
        "display_name",
        "mail_account",
        "profile_id",
        "last_session_started_at_ms",
        "last_session_duration_ms",
        "crm_token_active",
        "mail_token_authorized",
        "last_error_message",
    ],
    default_order: "last_session_started_at_ms DESC, user_id",
    key: "user_id",
    then: "",
    windowed: false,
};

const SESSION_COLUMNS: &[Column] = &[
    c("session_id", Text),
    c("user_id", Text),
    c("profile_id", Text),
    c("queued_at_ms", Time),
    c("started_at_ms", Time),
    c("ended_at_ms", Time),
    c("duration_ms", Int),
    c("trigger", Text),
    c("status", Text),
    c("scope_items", Int),
    c("changes", Int),
    c("total_changes", Int),
    c("failures", Int),
    c("issues", Int),
    c("conflicts", Int),
    c("error_category", Text),
    c("error_source", Text),
    c("message", Text),
    c("exception", Text),
    c("objects_type", Array),
    c("objects_synchronized", Array),
    c("objects_mail_to_crm_created", Array),
    c("objects_mail_to_crm_updated", Array),
    c("objects_mail_to_crm_deleted", Array),
    c("objects_crm_to_mail_created", Array),
    c("objects_crm_to_mail_updated", Array),
    c("objects_crm_to_mail_deleted", Array),
    c("engine_id", Text),
    c("engine_version", Text),
];

const SESSION_DEFAULT_COLUMNS: &[&str] = &[
    "session_id",
    "user_id",
    "profile_id",
    "started_at_ms",
    "ended_at_ms",
    "duration_ms",
    "trigger",
    "status",
    "scope_items",
    "changes",
    "total_changes",
    "failures",
    "issues",
    "conflicts",
    "error_category",
    "error_source",
    "message",
];

/// The seeds' default order of sessions: errors first, then newest first.
const SESSION_ORDER: &str = "status = 'Error' DESC, started_at_ms DESC, session_id, user_id";

/// Sessions of one user (or one session), merged from the raw events: always fresh.
pub static SESSIONS: ListSpec = ListSpec {
    name: "sessions",
    sql: include_str!("../sql/sessions.sql"),
    columns: SESSION_COLUMNS,
    default_columns: SESSION_DEFAULT_COLUMNS,
    default_order: SESSION_ORDER,
    key: "session_id",
    then: "user_id",
    windowed: true,
};

/// Sessions of one profile, from the aggregator's `session_state` (one key range; lags by
/// one aggregator cycle). Same columns as [`SESSIONS`].
pub static PROFILE_SESSIONS: ListSpec = ListSpec {
    name: "sessions",
    sql: include_str!("../sql/profile_sessions.sql"),
    columns: SESSION_COLUMNS,
    default_columns: SESSION_DEFAULT_COLUMNS,
    default_order: SESSION_ORDER,
    key: "session_id",
    then: "user_id",
    windowed: true,
};

/// Sync issues (a user's; a profile's as CSV).
pub static ISSUES: ListSpec = ListSpec {
    name: "issues",
    sql: include_str!("../sql/issues.sql"),
    columns: &[
        c("issue_id", Text),
        c("session_id", Text),
        c("user_id", Text),
        c("profile_id", Text),
        c("occurred_at_ms", Time),
        c("object_type", Text),
        c("direction", Text),
        c("mail_system", Text),
        c("crm_system", Text),
        c("object_name", Text),
        c("operation", Text),
        c("error_code", Int),
        c("description", Text),
        c("error_source", Text),
        c("target_object_id", Text),
    ],
    default_columns: &[
        "issue_id",
        "occurred_at_ms",
        "user_id",
        "session_id",
        "object_type",
        "direction",
        "object_name",
        "operation",
        "error_code",
        "description",
        "error_source",
        "target_object_id",
    ],
    default_order: "occurred_at_ms DESC, issue_id",
    key: "issue_id",
    then: "",
    windowed: true,
};

/// A value bound to a `?`.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// String.
    Str(String),
    /// Int64.
    I64(i64),
    /// UInt8.
    U8(u8),
    /// UInt64.
    U64(u64),
    /// Array(String).
    Strs(Vec<String>),
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

/// Sorts after every id the contract allows (at most 256 bytes of UTF-8): 65 times
/// U+10FFFF, the largest code point, whose encoding `F4 8F BF BF` is bytewise larger than any
/// other character's. `['', ID_MAX]` is the key range of "any id".
pub const ID_MAX: &str = concat!(
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
    "\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}\u{10FFFF}",
);

/// The key range `[from, to]` of one id, or of any id when `id` is empty. Unlike
/// `(? = '' OR col = ?)`, ClickHouse 18.16's key index can use it.
pub fn id_range(id: &str) -> (Bound, Bound) {
    if id.is_empty() {
        (Bound::Str(String::new()), Bound::Str(ID_MAX.to_owned()))
    } else {
        (Bound::Str(id.to_owned()), Bound::Str(id.to_owned()))
    }
}

/// The binds of `sessions.sql`: the tenant, one user and one session (empty for any), the
/// profiles (`all` = 1 for every one: the principal's, or one visible profile for a
/// profile's list) and the window `[from_ms, to_ms)`.
pub fn session_binds(
    tenant_id: &str,
    all: u8,
    profiles: Vec<String>,
    user_id: &str,
    session_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Vec<Bound> {
    let ((u0, u1), (s0, s1)) = (id_range(user_id), id_range(session_id));
    vec![
        // The candidates: sessions with a row started in the window.
        Bound::Str(tenant_id.to_owned()),
        u0.clone(),
        u1.clone(),
        s0.clone(),
        s1.clone(),
        Bound::I64(from_ms),
        Bound::I64(to_ms),
        Bound::U8(all),
        Bound::Strs(profiles.clone()),
        // The merge.
        Bound::Str(tenant_id.to_owned()),
        u0,
        u1,
        s0,
        s1,
        // The merged row.
        Bound::U8(all),
        Bound::Strs(profiles),
        Bound::I64(from_ms),
        Bound::I64(to_ms),
    ]
}

/// The binds of `profile_sessions.sql`: the tenant, the profile, the window
/// `[from_ms, to_ms)` and the principal's profiles (`all` = 1 for every one).
pub fn profile_session_binds(
    tenant_id: &str,
    profile_id: &str,
    from_ms: i64,
    to_ms: i64,
    all: u8,
    profiles: Vec<String>,
) -> Vec<Bound> {
    vec![
        Bound::Str(tenant_id.to_owned()),
        Bound::Str(profile_id.to_owned()),
        Bound::I64(from_ms),
        Bound::I64(to_ms),
        Bound::U8(all),
        Bound::Strs(profiles),
    ]
}

/// The sort key of `session_state` after tenant and profile: a page of a profile's sessions
/// is found by these first (see [`PROFILE_SESSIONS_PAGE`]).
pub const PROFILE_PAGE_KEYS: &str = "started_at_ms, user_id, session_id";

/// The rows of a page of a profile's sessions by their keys (`profile_sessions_page.sql`).
pub const PROFILE_SESSIONS_PAGE: &str = include_str!("../sql/profile_sessions_page.sql");

/// The second step of a profile's session page: the request's columns of the rows whose
/// keys the first step ([`wrap_select`] with [`PROFILE_PAGE_KEYS`]) found, in its order.
pub fn wrap_page_rows(req: &ListRequest) -> String {
    format!(
        "SELECT {} FROM ({}) ORDER BY {}",
        req.columns.join(", "),
        base_sql(PROFILE_SESSIONS_PAGE),
        req.order
    )
}

/// The binds of `profile_sessions_page.sql`: the tenant, the profile, the page's keys
/// (start as decimal text, user, session) and the principal's profiles.
pub fn profile_page_binds(
    tenant_id: &str,
    profile_id: &str,
    keys: &[(String, String, String)],
    all: u8,
    profiles: Vec<String>,
) -> Vec<Bound> {
    let starts: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
    vec![
        Bound::Str(tenant_id.to_owned()),
        Bound::Str(profile_id.to_owned()),
        Bound::Strs(starts.clone()),
        Bound::Strs(starts),
        Bound::Strs(keys.iter().map(|k| k.1.clone()).collect()),
        Bound::Strs(keys.iter().map(|k| k.2.clone()).collect()),
        Bound::U8(all),
        Bound::Strs(profiles),
    ]
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

/// A query file without its comments and final `;`, ready to be a subquery.
pub fn base_sql(file: &str) -> String {
    let text: Vec<&str> = file
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    text.join("\n").trim().trim_end_matches(';').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext {
            default_page_size: 100,
            max_page_size: 1000,
            now_ms: 10 * 86_400_000,
            window_days: 3,
        }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults() {
        let r = parse(&SESSIONS, &[], ctx()).unwrap();
        assert_eq!(r.from_ms, 7 * 86_400_000);
        assert_eq!(r.to_ms, 10 * 86_400_000);
        assert!(r.order.starts_with("status = 'Error' DESC"));
        assert_eq!(r.limit, 100);
    }

    #[test]
    fn filters_sort_columns() {
        let r = parse(
            &USERS,
            &p(&[
                ("columns", "user_id,display_name"),
                ("display_name.contains", "an'n"),
                ("consecutive_failures.gte", "2"),
                ("crm_token_active", "true"),
                ("sort", "-display_name"),
            ]),
            ctx(),
        )
        .unwrap();
        assert_eq!(r.columns, vec!["user_id", "display_name"]);
        assert_eq!(r.order, "display_name DESC, user_id");
        assert_eq!(
            r.filters[0],
            (
                "positionCaseInsensitiveUTF8(display_name, ?) > 0".to_owned(),
                Bound::Str("an'n".to_owned())
            )
        );
        assert_eq!(r.filters[1].1, Bound::I64(2));
        assert_eq!(r.filters[2].1, Bound::U8(1));
        let sql = wrap(&USERS, &r, &[], true);
        assert!(!sql.contains("an'n"));
        assert!(sql.ends_with("ORDER BY display_name DESC, user_id LIMIT ? OFFSET ?"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |pairs: &[(&str, &str)]| parse(&SESSIONS, &p(pairs), ctx()).unwrap_err();
        assert_eq!(e(&[("nope", "1")]).code(), "unknown_column");
        assert_eq!(e(&[("columns", "status,x;DROP")]).code(), "unknown_column");
        assert_eq!(e(&[("sort", "status DESC")]).code(), "unknown_column");
        assert_eq!(e(&[("status.gt", "a")]).code(), "bad_operator");
        assert_eq!(e(&[("duration_ms.contains", "1")]).code(), "bad_operator");
        assert_eq!(e(&[("duration_ms", "1 OR 1=1")]).code(), "bad_value");
        assert_eq!(e(&[("from", "yesterday")]).code(), "bad_value");
        assert_eq!(e(&[("limit", "100000")]).code(), "bad_value");
        assert_eq!(e(&[("Status", "x")]).code(), "unknown_parameter");
        assert_eq!(e(&[("objects_type", "x")]).code(), "bad_operator");
        let msg = e(&[("nope", "1")]).to_string();
        assert!(msg.contains("\"nope\""), "{msg}");
        assert!(parse(&USERS, &p(&[("from", "0")]), ctx()).is_err());
    }

    #[test]
    fn times_take_rfc3339() {
        let r = parse(&SESSIONS, &p(&[("from", "1970-01-02T00:00:00Z")]), ctx()).unwrap();
        assert_eq!(r.from_ms, 86_400_000);
    }

    #[test]
    fn id_max_sorts_after_every_allowed_id() {
        assert_eq!(ID_MAX.len(), 260);
        let largest = "\u{10FFFF}".repeat(64);
        for id in [
            "",
            "u-1",
            "zzz",
            "\u{FFFF}\u{FFFF}",
            largest.as_str(),
            "\u{10FFFF}\u{10FFFE}",
        ] {
            assert!(id.as_bytes() < ID_MAX.as_bytes(), "{id:?}");
        }
        assert_eq!(
            id_range(""),
            (Bound::Str(String::new()), Bound::Str(ID_MAX.to_owned()))
        );
        assert_eq!(
            id_range("u_1%"),
            (Bound::Str("u_1%".to_owned()), Bound::Str("u_1%".to_owned()))
        );
    }

    #[test]
    fn session_binds_fill_every_placeholder() {
        let binds = session_binds("t", 1, vec![String::new()], "", "s1", 0, 10);
        let placeholders = base_sql(SESSIONS.sql).matches('?').count();
        assert_eq!(
            profile_session_binds("t", "p", 0, 1, 1, vec![String::new()]).len(),
            base_sql(PROFILE_SESSIONS.sql).matches('?').count()
        );
        let key = ("1".to_owned(), "u".to_owned(), "s".to_owned());
        assert_eq!(
            profile_page_binds("t", "p", &[key], 1, vec![String::new()]).len(),
            base_sql(PROFILE_SESSIONS_PAGE).matches('?').count()
        );
        assert_eq!(binds.len(), placeholders);
        assert_eq!(binds[2], Bound::Str(ID_MAX.to_owned()));
        assert_eq!(binds[3], Bound::Str("s1".to_owned()));
        assert_eq!(binds[4], Bound::Str("s1".to_owned()));
    }

    #[test]
    fn base_sql_drops_comments_and_semicolon() {
        let s = base_sql("-- a ? comment\nSELECT 1\nFROM t;\n");
        assert_eq!(s, "SELECT 1\nFROM t");
    }
}
