//! One user's and one session's details.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Json;
use serde_json::{Map, Value};

use super::respond::{no_params, Params};
use super::route::{op, Route};
use crate::auth::Principal;
use crate::error::Result;
use crate::query::details::{self, UserDetail};
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "/users/{user_id}",
            get(user_detail),
            op(
                "user details: status triple, connectivity, scope, history",
                vec![],
                &["user_id"],
            ),
        ),
        Route::new(
            "/sessions/{session_id}",
            get(session_detail),
            op(
                "one session: objects report, exception",
                vec![],
                &["session_id"],
            ),
        ),
    ]
}

/// `GET /api/v1/users/{user_id}`: status triple, connectivity, scope settings, history.
async fn user_detail(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    Query(q): Params,
) -> Result<Json<UserDetail>> {
    no_params(&q)?;
    let detail = details::user_detail(&s, &p.scope(), &user_id).await?;
    Ok(Json(detail))
}

/// `GET /api/v1/sessions/{session_id}`: every column, objects report per type.
async fn session_detail(
    State(s): State<AppState>,
    p: Principal,
    Path(session_id): Path<String>,
    Query(q): Params,
) -> Result<Json<Map<String, Value>>> {
    no_params(&q)?;
    Ok(Json(
        details::session_detail(&s, &p.scope(), &session_id).await?,
    ))
}
