//! The HTTP layer: the one route table (each area's routes beside its handlers), from which
//! both the router ([`app`]) and the OpenAPI paths ([`openapi`]) are built, and the layers
//! every request goes through ([`middleware`]: the request span, latency, hardening).
//!
//! - areas: [`lists`], [`details`], [`monitor`], [`summary`], [`logs`], [`actions`],
//!   [`console`] (sign-in, `/me`, `/lists`, the console's files);
//! - below them: [`route`] (what a route is; OpenAPI builders), [`respond`] (parameters,
//!   list answers, the responses of errors and downloads);
//! - above them: this module and [`openapi`].
//!
//! Depends on `crate::auth` and `crate::query`; nothing below imports it.

pub mod actions;
pub mod console;
pub mod details;
pub mod lists;
pub mod logs;
pub mod middleware;
pub mod monitor;
pub mod openapi;
pub mod respond;
pub mod route;
pub mod summary;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::state::AppState;
use route::Route;

/// Every route of `/api/v1` except the document itself, area by area.
pub fn routes() -> Vec<Route> {
    [
        console::routes(),
        lists::routes(),
        details::routes(),
        logs::routes(),
        actions::routes(),
        monitor::routes(),
        summary::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The router, apart from serving, so tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let mut api = Router::new();
    for r in routes() {
        api = api.route(r.path, r.handlers);
    }
    let api = api.route(
        "/openapi.json",
        get(|| async { Json(openapi::document(&routes())) }),
    );
    Router::new()
        .nest("/api/v1", api)
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .fallback(console::files)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::harden,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::track,
        ))
        .layer(middleware::trace_layer())
        .layer(DefaultBodyLimit::max(state.config.http.max_body_bytes))
        .layer(RequestBodyTimeoutLayer::new(
            state.config.http.idle_timeout(),
        ))
        .with_state(state)
}

async fn ready(State(state): State<AppState>) -> Response {
    match store::migrate::verify(&state.config.clickhouse).await {
        Ok(()) => "ready\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let body = serde_json::json!({"error": {"code": "not_ready", "message": "the statistics store is not reachable or not migrated"}});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    service_kit::http::metrics_response(&state.registry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::specs;
    use serde_json::Map;

    #[test]
    fn every_route_of_the_table_is_served_and_documented_once() {
        let table = routes();
        let mut paths: Vec<&str> = table.iter().map(|r| r.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), table.len(), "a path twice in the table");
        // Building the router panics on a path given twice or a bad template.
        let _ = app(AppState::new(crate::config::ApiConfig::default()));
    }

    #[test]
    fn every_list_column_is_documented() {
        let doc = openapi::document(&routes());
        let text = doc.to_string();
        for spec in [
            &specs::PROFILES,
            &specs::USERS,
            &specs::SESSIONS,
            &specs::ISSUES,
            &specs::AUDIT,
        ] {
            for c in spec.columns {
                assert!(text.contains(c.name), "{}", c.name);
            }
        }
        assert_eq!(doc["paths"].as_object().map(Map::len), Some(23));
        assert!(doc["paths"]["/api/v1/users/{user_id}/actions/pending"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/users/{user_id}/actions"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/session"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/session"]["delete"].is_object());
        assert!(doc["paths"]["/api/v1/lists"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/profiles/{profile_id}/logs"]["get"].is_object());
        let users = &doc["paths"]["/api/v1/users"]["get"]["responses"];
        for code in ["400", "422", "429", "503", "504"] {
            assert!(users[code].is_object(), "{code}");
        }
        assert_eq!(
            doc["paths"]["/api/v1/users/{user_id}"]["get"]["parameters"][0]["schema"]["minLength"],
            1
        );
    }
}
