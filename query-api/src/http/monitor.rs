//! The monitor: the cards (users per sync state), the user table behind a card, and
//! "statistics as of".

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Json;
use schemas::SyncState;

use super::respond::{ctx, eq, respond, Params};
use super::route::{list_op, op, Route};
use crate::auth::Principal;
use crate::error::{ApiError, Result};
use crate::query::list;
use crate::query::specs::CARD_USERS;
use crate::query::summary::{self, Cards, Freshness};
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "/monitor/cards",
            get(monitor_cards),
            op("users per sync state", vec![], &[]),
        ),
        Route::new(
            "/monitor/cards/{sync_state}/users",
            get(card_users),
            list_op("the user table behind a card", &CARD_USERS, &["sync_state"]),
        ),
        Route::new(
            "/freshness",
            get(freshness),
            op("statistics as of", vec![], &[]),
        ),
    ]
}

/// `GET /api/v1/monitor/cards`: users per sync state (every card, zeros included).
async fn monitor_cards(State(s): State<AppState>, p: Principal) -> Result<Json<Cards>> {
    Ok(Json(summary::monitor_cards(&s, &p.scope()).await?))
}

/// `GET /api/v1/monitor/cards/{sync_state}/users`: the user table behind a card.
async fn card_users(
    State(s): State<AppState>,
    p: Principal,
    Path(sync_state): Path<String>,
    Query(q): Params,
) -> Result<Response> {
    let Some(state) = SyncState::parse(&sync_state) else {
        return Err(ApiError::NotFound {
            kind: "card",
            id: sync_state,
        });
    };
    let req = list::parse(&CARD_USERS, &q, ctx(&s))?;
    let extra = vec![eq("sync_state", state.as_str())];
    respond(&s, &p, &CARD_USERS, req, p.scope().binds(), extra).await
}

/// `GET /api/v1/freshness`: statistics as of.
async fn freshness(State(s): State<AppState>, p: Principal) -> Result<Json<Freshness>> {
    Ok(Json(summary::freshness(&s, &p.tenant_id).await?))
}
