//! Session logs as ZIP or CSV, streamed: one session's, a user's sessions (a window or
//! chosen ones), a profile's (every user's). The export itself is `crate::query::logs`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;

use super::respond::{ctx, Params};
use super::route::{log_op, Route};
use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::logs;
use crate::query::params::{ProfileSessions, Sessions};
use crate::query::specs::{PROFILE_SESSIONS, SESSIONS};
use crate::query::visibility::{user_visible, visible_profile};
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "/sessions/{session_id}/logs",
            get(session_logs),
            log_op("one session's log as ZIP or CSV", false, "session_id"),
        ),
        Route::new(
            "/users/{user_id}/logs",
            get(user_logs),
            log_op(
                "a user's sessions' logs (a window or chosen sessions) as ZIP or CSV",
                true,
                "user_id",
            ),
        ),
        Route::new(
            "/profiles/{profile_id}/logs",
            get(profile_logs),
            log_op(
                "a profile's sessions' logs, every user's (a window or chosen sessions) as ZIP or CSV",
                true,
                "profile_id",
            ),
        ),
    ]
}

/// The export, or with `summary=true` what it would hold (sessions, lines, bytes and the
/// caps, as JSON; the same 422 when a cap is passed).
async fn finish(
    s: &AppState,
    scope: &crate::query::params::Scope,
    mut plan: logs::Plan,
    summary: bool,
) -> Result<Response> {
    if summary {
        let summary = logs::measure(s, scope, &mut plan).await?;
        return Ok(Json(summary).into_response());
    }
    Ok(logs::export(s, scope, plan).await?.into_response())
}

/// `GET /api/v1/sessions/{session_id}/logs?format=zip|csv`.
async fn session_logs(
    State(s): State<AppState>,
    p: Principal,
    Path(session_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let query = logs::parse_query(ctx(&s), &q, false)?;
    let not_found = || ApiError::NotFound {
        kind: "session",
        id: session_id.clone(),
    };
    if session_id.is_empty() {
        return Err(not_found());
    }
    let scope = p.scope();
    let binds = Sessions {
        scope: &scope,
        user_id: "",
        session_id: &session_id,
        from_ms: 0,
        to_ms: i64::MAX,
    }
    .binds();
    let session = logs::find_sessions(&s, &SESSIONS, binds, None, 1)
        .await?
        .pop()
        .ok_or_else(not_found)?;
    let plan = logs::Plan {
        user_id: session.user_id.clone(),
        file_name: format!(
            "{}.{}",
            logs::sanitize(&session.session_id),
            query.format.ext()
        ),
        sessions: vec![session],
        format: query.format,
        index: false,
    };
    finish(&s, &scope, plan, query.summary).await
}

/// `GET /api/v1/users/{user_id}/logs?from=&to=` or `?sessions=a,b,c`, `format=zip|csv`.
async fn user_logs(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let query = logs::parse_query(ctx(&s), &q, true)?;
    logs::check_chosen(&s, &query)?;
    let scope = p.scope();
    user_visible(&s, &scope, &user_id).await?;
    let binds = logs::user_sessions(&scope, &user_id, &query);
    let sessions = logs::chosen(&s, &query, &SESSIONS, binds).await?;
    let plan = logs::Plan {
        file_name: format!("{}-logs.{}", logs::sanitize(&user_id), query.format.ext()),
        user_id,
        sessions,
        format: query.format,
        index: true,
    };
    finish(&s, &scope, plan, query.summary).await
}

/// `GET /api/v1/profiles/{profile_id}/logs?from=&to=` or `?sessions=a,b,c`,
/// `format=zip|csv`: the sessions of every user of the profile.
async fn profile_logs(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let query = logs::parse_query(ctx(&s), &q, true)?;
    logs::check_chosen(&s, &query)?;
    let scope = p.scope();
    visible_profile(&s, &scope, &profile_id).await?;
    // Chosen sessions whenever they started, or the window.
    let (from_ms, to_ms) = logs::window(&query);
    let binds = ProfileSessions {
        scope: &scope,
        profile_id: &profile_id,
        from_ms,
        to_ms,
    }
    .binds();
    let sessions = logs::chosen(&s, &query, &PROFILE_SESSIONS, binds).await?;
    let plan = logs::Plan {
        file_name: format!(
            "{}-logs.{}",
            logs::sanitize(&profile_id),
            query.format.ext()
        ),
        user_id: String::new(),
        sessions,
        format: query.format,
        index: true,
    };
    finish(&s, &scope, plan, query.summary).await
}
