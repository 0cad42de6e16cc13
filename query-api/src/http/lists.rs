//! The `/api/v1` handlers: thin, each one parses its parameters, scopes the query to the
//! principal's tenant and profiles, and hands it to [`crate::fetch`]. Ids of another tenant
//! or of a profile the principal may not see answer exactly like ids that do not exist.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::fetch;
use crate::list::{self, Bound, Format, ListRequest, ListSpec, ParseContext};
use crate::AppState;

const PROFILE_STATE: &str = include_str!("../sql/profile_state.sql");
const PROFILE_USERS: &str = include_str!("../sql/profile_users.sql");
const MONITOR_CARDS: &str = include_str!("../sql/monitor_cards.sql");
const FRESHNESS: &str = include_str!("../sql/freshness.sql");
const USER_SCOPE: &str = include_str!("../sql/user_scope.sql");
const USER_ONE: &str = include_str!("../sql/user_one.sql");
const USER_VISIBLE: &str = include_str!("../sql/user_visible.sql");

/// The sync states of the monitor cards, in display order.
pub const CARDS: &[&str] = &[
    "NeverSynced",
    "InProgress",
    "LastSyncFailed",
    "LastSyncSucceeded",
    "Stalled",
];

type Params = Query<Vec<(String, String)>>;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn ctx(state: &AppState) -> ParseContext {
    let l = &state.config.limits;
    ParseContext {
        default_page_size: l.default_page_size,
        max_page_size: l.max_page_size,
        now_ms: now_ms(),
        window_days: l.default_window_days,
    }
}

pub(crate) fn scope(p: &Principal) -> Vec<Bound> {
    let (all, profiles) = p.scope_binds();
    vec![
        Bound::Str(p.tenant_id.clone()),
        Bound::U8(all),
        Bound::Strs(profiles),
    ]
}

/// Binds of `sessions.sql` (tenant, user, session, scope, window): see
/// [`list::session_binds`].
pub(crate) fn session_binds(
    p: &Principal,
    user: &str,
    session: &str,
    from: i64,
    to: i64,
) -> Vec<Bound> {
    let (all, profiles) = p.scope_binds();
    list::session_binds(&p.tenant_id, all, profiles, user, session, from, to)
}

/// Binds of `issues.sql`: the tenant, the user as a key range (empty: any user, see
/// [`list::id_range`]), the profile (empty: any), the principal's profiles, the window.
fn issue_binds(p: &Principal, user: &str, profile: &str, from: i64, to: i64) -> Vec<Bound> {
    let (all, profiles) = p.scope_binds();
    let (user_from, user_to) = list::id_range(user);
    vec![
        Bound::Str(p.tenant_id.clone()),
        user_from,
        user_to,
        Bound::Str(profile.to_owned()),
        Bound::Str(profile.to_owned()),
        Bound::U8(all),
        Bound::Strs(profiles),
        Bound::I64(from),
        Bound::I64(to),
    ]
}

fn eq(column: &str, value: &str) -> (String, Bound) {
    (format!("{column} = ?"), Bound::Str(value.to_owned()))
}

/// Answers a list request: a JSON page or a streamed CSV export.
pub(crate) async fn respond(
    state: &AppState,
    p: &Principal,
    spec: &'static ListSpec,
    req: ListRequest,
    base: Vec<Bound>,
    extra: Vec<(String, Bound)>,
) -> Result<Response> {
    let mut binds = base;
    binds.extend(extra.iter().map(|(_, b)| b.clone()));
    binds.extend(req.filters.iter().map(|(_, b)| b.clone()));
    match req.format {
        Format::Json => {
            let sql = list::wrap(spec, &req, &extra, true);
            binds.push(Bound::U64(req.limit + 1));
            binds.push(Bound::U64(req.offset));
            let mut rows = fetch::rows(state, &sql, &binds).await?;
            let more = rows.len() as u64 > req.limit;
            rows.truncate(usize::try_from(req.limit).unwrap_or(usize::MAX));
            Ok(page(&req, rows, more))
        }
        Format::Csv => {
            let permit = state.export_permit(&p.tenant_id)?;
            let limit = state.config.limits.export_max_rows;
            // The count for the cap and the export's first rows run at once (each is a
            // full pass over the list's query); an export over the cap is dropped before
            // its first byte, which cancels its query.
            let count_sql = list::wrap_count(spec, &req, &extra);
            let sql = list::wrap(spec, &req, &extra, false);
            let (rows, export) = tokio::join!(
                fetch::count(state, &count_sql, &binds),
                fetch::csv_export(state, &sql, &binds, req.columns, spec.name, req.bom, permit)
            );
            let rows = rows?;
            if rows > limit {
                return Err(ApiError::ExportTooLarge { rows, limit });
            }
            export
        }
    }
}

/// A JSON page of a list: its rows, and the next offset when there are `more`.
fn page(req: &ListRequest, rows: Vec<Map<String, Value>>, more: bool) -> Response {
    Json(json!({
        "columns": req.columns,
        "rows": rows,
        "limit": req.limit,
        "offset": req.offset,
        "next_offset": more.then_some(req.offset + req.limit),
    }))
    .into_response()
}

/// 404 unless the profile exists in the tenant and the principal may see it.
pub(crate) async fn visible_profile(
    state: &AppState,
    p: &Principal,
    profile_id: &str,
) -> Result<()> {
    let not_found = || ApiError::NotFound {
        kind: "profile",
        id: profile_id.to_owned(),
    };
    if !p.sees_profile(profile_id) {
        return Err(not_found());
    }
    let binds = [
        Bound::Str(p.tenant_id.clone()),
        Bound::Str(profile_id.to_owned()),
    ];
    // Its latest state event decides; a profile without any is known by its users.
    let latest = fetch::rows(state, PROFILE_STATE, &binds).await?.pop();
    let found = match latest.as_ref().and_then(|r| r.get("latest_change")) {
        Some(change) => change.as_str() != Some("Deleted"),
        None => fetch::count(state, PROFILE_USERS, &binds).await? > 0,
    };
    if !found {
        return Err(not_found());
    }
    Ok(())
}

/// 404 unless the user exists in the tenant (not deleted, nor in a deleted profile) and
/// the principal may see it: the check of the routes that list the user's sessions,
/// issues or logs (cheaper than [`visible_user`], which reads the whole row).
pub(crate) async fn user_visible(state: &AppState, p: &Principal, user_id: &str) -> Result<()> {
    if fetch::count(state, USER_VISIBLE, &user_binds(p, user_id)).await? == 0 {
        return Err(user_not_found(user_id));
    }
    Ok(())
}

/// Binds of `user_visible.sql` and `user_one.sql`: tenant, user, the principal's profiles.
fn user_binds(p: &Principal, user_id: &str) -> [Bound; 4] {
    let (all, profiles) = p.scope_binds();
    [
        Bound::Str(p.tenant_id.clone()),
        Bound::Str(user_id.to_owned()),
        Bound::U8(all),
        Bound::Strs(profiles),
    ]
}

fn user_not_found(user_id: &str) -> ApiError {
    ApiError::NotFound {
        kind: "user",
        id: user_id.to_owned(),
    }
}

/// The user's row (every column of `users.sql`, by `user_one.sql`), or 404.
pub(crate) async fn visible_user(
    state: &AppState,
    p: &Principal,
    user_id: &str,
) -> Result<Map<String, Value>> {
    fetch::rows(state, USER_ONE, &user_binds(p, user_id))
        .await?
        .pop()
        .ok_or_else(|| user_not_found(user_id))
}

/// `GET /api/v1/me`: the principal of the token.
pub async fn me(p: Principal) -> Json<Principal> {
    Json(p)
}

/// `GET /api/v1/profiles`.
pub async fn profiles(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::PROFILES, &q, ctx(&s))?;
    respond(&s, &p, &list::PROFILES, req, scope(&p), Vec::new()).await
}

/// `GET /api/v1/users`.
pub async fn users(State(s): State<AppState>, p: Principal, Query(q): Params) -> Result<Response> {
    let req = list::parse(&list::USERS, &q, ctx(&s))?;
    respond(&s, &p, &list::USERS, req, scope(&p), Vec::new()).await
}

/// `GET /api/v1/profiles/{profile_id}/users`.
pub async fn profile_users(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::USERS, &q, ctx(&s))?;
    visible_profile(&s, &p, &profile_id).await?;
    let extra = vec![eq("profile_id", &profile_id)];
    respond(&s, &p, &list::USERS, req, scope(&p), extra).await
}

/// `GET /api/v1/profiles/{profile_id}/sessions`.
pub async fn profile_sessions(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::PROFILE_SESSIONS, &q, ctx(&s))?;
    visible_profile(&s, &p, &profile_id).await?;
    let (all, profiles) = p.scope_binds();
    let base = list::profile_session_binds(
        &p.tenant_id,
        &profile_id,
        req.from_ms,
        req.to_ms,
        all,
        profiles.clone(),
    );
    if req.format == Format::Csv {
        return respond(&s, &p, &list::PROFILE_SESSIONS, req, base, Vec::new()).await;
    }
    // A page in two steps: the keys of its rows (the list's query reading only the key,
    // filter and order columns), then the rows by key. Two reads: a cycle of the aggregator
    // in between may drop a key (a shorter page) or change a row's values; the next request
    // sees the new state.
    let keys_sql = list::wrap_select(
        &list::PROFILE_SESSIONS,
        &req,
        &[],
        list::PROFILE_PAGE_KEYS,
        true,
    );
    let mut binds = base;
    binds.extend(req.filters.iter().map(|(_, b)| b.clone()));
    binds.push(Bound::U64(req.limit + 1));
    binds.push(Bound::U64(req.offset));
    let found = fetch::rows(&s, &keys_sql, &binds).await?;
    let more = found.len() as u64 > req.limit;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(t)) => t.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let keys: Vec<(String, String, String)> = found
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
        let binds = list::profile_page_binds(&p.tenant_id, &profile_id, &keys, all, profiles);
        fetch::rows(&s, &list::wrap_page_rows(&req), &binds).await?
    };
    Ok(page(&req, rows, more))
}

/// `GET /api/v1/profiles/{profile_id}/issues?format=csv` (CSV only: large volume).
pub async fn profile_issues(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::ISSUES, &q, ctx(&s))?;
    if req.format != Format::Csv {
        return Err(ApiError::CsvOnly(
            "a profile's issues are exported as CSV only: add format=csv",
        ));
    }
    visible_profile(&s, &p, &profile_id).await?;
    let base = issue_binds(&p, "", &profile_id, req.from_ms, req.to_ms);
    respond(&s, &p, &list::ISSUES, req, base, Vec::new()).await
}

/// `GET /api/v1/users/{user_id}`: status triple, connectivity, scope settings, history.
pub async fn user_detail(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    if let Some((k, _)) = q.first() {
        return Err(ApiError::UnknownParameter(k.clone()));
    }
    let user = visible_user(&s, &p, &user_id).await?;
    let scope_rows = fetch::rows(
        &s,
        USER_SCOPE,
        &[Bound::Str(p.tenant_id.clone()), Bound::Str(user_id.clone())],
    )
    .await?;
    let sc = scope_rows.into_iter().next().unwrap_or_default();
    let arr = |k: &str| sc.get(k).cloned().unwrap_or(Value::Array(Vec::new()));
    let (names, types, resolutions) = (
        arr("s_names"),
        arr("s_object_types"),
        arr("s_conflict_resolutions"),
    );
    let saved_searches: Vec<Value> = names
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "name": n,
                "object_type": types.get(i),
                "conflict_resolution": resolutions.get(i),
            })
        })
        .collect();
    let history_req = list::parse(
        &list::SESSIONS,
        &[
            ("from".to_owned(), "0".to_owned()),
            ("sort".to_owned(), "-started_at_ms".to_owned()),
            ("limit".to_owned(), "20".to_owned()),
        ],
        ctx(&s),
    )?;
    let history_sql = list::wrap(&list::SESSIONS, &history_req, &[], true);
    let mut binds = session_binds(&p, &user_id, "", 0, i64::MAX);
    binds.push(Bound::U64(20));
    binds.push(Bound::U64(0));
    let history = fetch::rows(&s, &history_sql, &binds).await?;
    let flag = |k: &str| user.get(k).and_then(Value::as_u64) == Some(1);
    Ok(Json(json!({
        "user": user,
        "status": {
            "authorized": flag("mail_token_authorized"),
            "active": flag("crm_token_active"),
            "sync_enabled": user.get("effective_status").and_then(Value::as_str) == Some("Enabled"),
        },
        "connectivity": {
            "mail_system": sc.get("s_mail_system"),
            "crm_system": sc.get("s_crm_system"),
            "last_token_error": user.get("last_token_error"),
        },
        "scope": { "saved_searches": saved_searches },
        "history": history,
    }))
    .into_response())
}

/// `GET /api/v1/users/{user_id}/sessions`.
pub async fn user_sessions(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::SESSIONS, &q, ctx(&s))?;
    user_visible(&s, &p, &user_id).await?;
    let base = session_binds(&p, &user_id, "", req.from_ms, req.to_ms);
    respond(&s, &p, &list::SESSIONS, req, base, Vec::new()).await
}

/// `GET /api/v1/users/{user_id}/issues`.
pub async fn user_issues(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&list::ISSUES, &q, ctx(&s))?;
    user_visible(&s, &p, &user_id).await?;
    let base = issue_binds(&p, &user_id, "", req.from_ms, req.to_ms);
    respond(&s, &p, &list::ISSUES, req, base, Vec::new()).await
}

/// `GET /api/v1/sessions/{session_id}`: every column, objects report per type.
pub async fn session_detail(
    State(s): State<AppState>,
    p: Principal,
    Path(session_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    if let Some((k, _)) = q.first() {
        return Err(ApiError::UnknownParameter(k.clone()));
    }
    let not_found = || ApiError::NotFound {
        kind: "session",
        id: session_id.clone(),
    };
    if session_id.is_empty() {
        return Err(not_found());
    }
    let spec = &list::SESSIONS;
    let sql = format!(
        "SELECT * FROM ({}) ORDER BY started_at_ms DESC LIMIT 1",
        list::base_sql(spec.sql)
    );
    let binds = session_binds(&p, "", &session_id, 0, i64::MAX);
    let mut row = fetch::rows(&s, &sql, &binds)
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let take = |row: &mut Map<String, Value>, k: &str| match row.remove(k) {
        Some(Value::Array(v)) => v,
        _ => Vec::new(),
    };
    let types = take(&mut row, "objects_type");
    let cols = [
        "synchronized",
        "mail_to_crm_created",
        "mail_to_crm_updated",
        "mail_to_crm_deleted",
        "crm_to_mail_created",
        "crm_to_mail_updated",
        "crm_to_mail_deleted",
    ];
    let values: Vec<Vec<Value>> = cols
        .iter()
        .map(|c| take(&mut row, &format!("objects_{c}")))
        .collect();
    let objects: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut o = Map::new();
            o.insert("object_type".to_owned(), t.clone());
            for (c, v) in cols.iter().zip(&values) {
                o.insert((*c).to_owned(), v.get(i).cloned().unwrap_or(Value::Null));
            }
            Value::Object(o)
        })
        .collect();
    row.insert("objects".to_owned(), Value::Array(objects));
    Ok(Json(Value::Object(row)).into_response())
}

/// `GET /api/v1/monitor/cards`: users per sync state (every card, zeros included).
pub async fn monitor_cards(State(s): State<AppState>, p: Principal) -> Result<Response> {
    let rows = fetch::rows(&s, MONITOR_CARDS, &scope(&p)).await?;
    let cards: Vec<Value> = CARDS
        .iter()
        .map(|state| {
            let row = rows
                .iter()
                .find(|r| r.get("sync_state").and_then(Value::as_str) == Some(state));
            let n = |k: &str| {
                row.and_then(|r| r.get(k))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            json!({
                "sync_state": state,
                "users": n("users"),
                "no_recent_session_users": n("no_recent_session_users"),
            })
        })
        .collect();
    Ok(Json(json!({ "cards": cards })).into_response())
}

/// `GET /api/v1/monitor/cards/{sync_state}/users`: the user table behind a card.
pub async fn card_users(
    State(s): State<AppState>,
    p: Principal,
    Path(sync_state): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    if !CARDS.contains(&sync_state.as_str()) {
        return Err(ApiError::NotFound {
            kind: "card",
            id: sync_state,
        });
    }
    let req = list::parse(&list::CARD_USERS, &q, ctx(&s))?;
    let extra = vec![eq("sync_state", &sync_state)];
    respond(&s, &p, &list::CARD_USERS, req, scope(&p), extra).await
}

/// `GET /api/v1/freshness`: statistics as of.
pub async fn freshness(State(s): State<AppState>, p: Principal) -> Result<Response> {
    let rows = fetch::rows(&s, FRESHNESS, &[Bound::Str(p.tenant_id.clone())]).await?;
    let row = rows.into_iter().next().unwrap_or_default();
    let n = |k: &str| row.get(k).and_then(Value::as_i64).unwrap_or(0);
    Ok(Json(json!({
        "as_of_ms": n("as_of_ms"),
        "newest_event_at_ms": n("newest_event_at_ms"),
        "computed_at_ms": n("computed_at_ms"),
    }))
    .into_response())
}
