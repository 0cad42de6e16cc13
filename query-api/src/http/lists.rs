//! The list routes of profiles, users, sessions and issues: each parses its parameters,
//! checks the ids of its path, scopes its query to the principal and answers a page or a
//! CSV export. Ids of another tenant or of a profile the principal may not see answer
//! exactly like ids that do not exist.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;

use super::respond::{ctx, eq, respond, Params};
use super::route::{list_op, Route};
use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::list::{self, Format};
use crate::query::pages;
use crate::query::params::{Issues, Sessions};
use crate::query::specs::{ISSUES, PROFILES, PROFILE_SESSIONS, SESSIONS, USERS};
use crate::query::visibility::{user_visible, visible_profile};
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "/profiles",
            get(profiles),
            list_op("profiles with sync status and user counts", &PROFILES, &[]),
        ),
        Route::new(
            "/users",
            get(users),
            list_op("users with effective and profile status", &USERS, &[]),
        ),
        Route::new(
            "/profiles/{profile_id}/users",
            get(profile_users),
            list_op("one profile's users", &USERS, &["profile_id"]),
        ),
        Route::new(
            "/profiles/{profile_id}/sessions",
            get(profile_sessions),
            list_op(
                "sessions of a profile (errors first)",
                &SESSIONS,
                &["profile_id"],
            ),
        ),
        Route::new(
            "/profiles/{profile_id}/issues",
            get(profile_issues),
            list_op(
                "sync issues of a profile, CSV only",
                &ISSUES,
                &["profile_id"],
            ),
        ),
        Route::new(
            "/users/{user_id}/sessions",
            get(user_sessions),
            list_op("sessions of a user (errors first)", &SESSIONS, &["user_id"]),
        ),
        Route::new(
            "/users/{user_id}/issues",
            get(user_issues),
            list_op("sync issues of a user", &ISSUES, &["user_id"]),
        ),
    ]
}

/// `GET /api/v1/profiles`.
async fn profiles(State(s): State<AppState>, p: Principal, Query(q): Params) -> Result<Response> {
    let req = list::parse(&PROFILES, &q, ctx(&s))?;
    respond(&s, &p, &PROFILES, req, p.scope().binds(), Vec::new()).await
}

/// `GET /api/v1/users`.
async fn users(State(s): State<AppState>, p: Principal, Query(q): Params) -> Result<Response> {
    let req = list::parse(&USERS, &q, ctx(&s))?;
    respond(&s, &p, &USERS, req, p.scope().binds(), Vec::new()).await
}

/// `GET /api/v1/profiles/{profile_id}/users`.
async fn profile_users(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&USERS, &q, ctx(&s))?;
    let scope = p.scope();
    visible_profile(&s, &scope, &profile_id).await?;
    let extra = vec![eq("profile_id", &profile_id)];
    respond(&s, &p, &USERS, req, scope.binds(), extra).await
}

/// `GET /api/v1/profiles/{profile_id}/sessions`: from the aggregator's `session_state`, a
/// page in two steps ([`pages::profile_sessions`]).
async fn profile_sessions(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&PROFILE_SESSIONS, &q, ctx(&s))?;
    let scope = p.scope();
    visible_profile(&s, &scope, &profile_id).await?;
    if req.format == Format::Csv {
        let base = crate::query::params::ProfileSessions {
            scope: &scope,
            profile_id: &profile_id,
            from_ms: req.from_ms,
            to_ms: req.to_ms,
        }
        .binds();
        return respond(&s, &p, &PROFILE_SESSIONS, req, base, Vec::new()).await;
    }
    let page = pages::profile_sessions(&s, &scope, &profile_id, &req).await?;
    Ok(Json(page).into_response())
}

/// `GET /api/v1/profiles/{profile_id}/issues?format=csv` (CSV only: large volume).
async fn profile_issues(
    State(s): State<AppState>,
    p: Principal,
    Path(profile_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&ISSUES, &q, ctx(&s))?;
    if req.format != Format::Csv {
        return Err(ApiError::CsvOnly(
            "a profile's issues are exported as CSV only: add format=csv",
        ));
    }
    let scope = p.scope();
    visible_profile(&s, &scope, &profile_id).await?;
    let base = Issues {
        scope: &scope,
        user_id: "",
        profile_id: &profile_id,
        from_ms: req.from_ms,
        to_ms: req.to_ms,
    }
    .binds();
    respond(&s, &p, &ISSUES, req, base, Vec::new()).await
}

/// `GET /api/v1/users/{user_id}/sessions`.
async fn user_sessions(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&SESSIONS, &q, ctx(&s))?;
    let scope = p.scope();
    user_visible(&s, &scope, &user_id).await?;
    let base = Sessions {
        scope: &scope,
        user_id: &user_id,
        session_id: "",
        from_ms: req.from_ms,
        to_ms: req.to_ms,
    }
    .binds();
    respond(&s, &p, &SESSIONS, req, base, Vec::new()).await
}

/// `GET /api/v1/users/{user_id}/issues`.
async fn user_issues(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&ISSUES, &q, ctx(&s))?;
    let scope = p.scope();
    user_visible(&s, &scope, &user_id).await?;
    let base = Issues {
        scope: &scope,
        user_id: &user_id,
        profile_id: "",
        from_ms: req.from_ms,
        to_ms: req.to_ms,
    }
    .binds();
    respond(&s, &p, &ISSUES, req, base, Vec::new()).await
}
