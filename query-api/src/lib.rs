//! `query-api`: the admin API over ClickHouse (issue 5).
//!
//! - [`config`]: one typed config (file + environment), validated before start.
//! - [`auth`]: bearer tokens (stored hashed) -> [`auth::Principal`] (tenant, profiles, role).
//! - [`list`]: column whitelists and the parsing of filters, sort, columns, page (pure).
//! - [`fetch`]: running the queries: JSON pages, CSV exports streamed in constant memory.
//! - [`logs`]: session logs as ZIP or CSV, streamed, with caps.
//! - [`actions`]: admin actions published to Kafka as commands, with their audit trail.
//! - [`routes`]: the thin `/api/v1` handlers; every query is scoped to the principal's
//!   tenant and profiles, and another tenant's ids answer like missing ones.
//! - [`summary`]: summary counts (users by status, per tenant and profile) and trends (the
//!   aggregator's series as lists).
//! - [`error`]: the one [`ApiError`], JSON bodies `{"error": {"code", "message"}}`.
//! - [`metrics`]: latency per route (bounded labels), exports, connections.
//! - [`server`]: serving with header-read and idle timeouts and a connection cap.
//! - [`middleware`]: security and caching headers, JSON error bodies, the URI limit.
//! - [`openapi`]: the OpenAPI document at `/api/v1/openapi.json`.
//! - [`console`]: the web console's files at `/`, its sign-in cookie, list metadata.
//!
//! Query SQL lives in `query-api/sql/*.sql` (checked on ClickHouse 18.16 and current by
//! `deploy/clickhouse/portability/run.sh`); only bound values reach ClickHouse.

pub mod actions;
pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod fetch;
pub mod list;
pub mod logs;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod summary;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use config::ApiConfig;
pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The config.
    pub config: Arc<ApiConfig>,
    /// ClickHouse, the configured database selected.
    pub client: clickhouse::Client,
    /// Metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// The registry `/metrics` encodes.
    pub registry: Arc<Registry>,
    exports: Arc<Mutex<HashMap<String, Arc<Semaphore>>>>,
    /// The producer of admin commands (`None` when its config was refused: actions
    /// answer 503, and the reason was logged at start).
    pub producer: Option<rdkafka::producer::FutureProducer>,
    /// (tenant, request id) of admin requests being processed.
    actions_in_flight: Arc<Mutex<HashSet<(String, String)>>>,
}

impl AppState {
    /// State for `config` (connects lazily).
    pub fn new(config: ApiConfig) -> Self {
        let mut registry = Registry::default();
        let metrics = Arc::new(metrics::Metrics::new(&mut registry));
        let producer = actions::producer(&config.kafka)
            .inspect_err(|e| tracing::error!(error = %e, "creating the Kafka producer"))
            .ok();
        Self {
            producer,
            actions_in_flight: Arc::new(Mutex::new(HashSet::new())),
            client: config.clickhouse.client(),
            config: Arc::new(config),
            metrics,
            registry: Arc::new(registry),
            exports: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A slot for one CSV export of `tenant_id`, or 429 when its exports are all running.
    pub fn export_permit(&self, tenant_id: &str) -> Result<OwnedSemaphorePermit, ApiError> {
        let limit = self.config.limits.exports_per_tenant;
        let semaphore = {
            let mut map = self
                .exports
                .lock()
                .map_err(|_| ApiError::Internal("export slots lock poisoned".to_owned()))?;
            Arc::clone(
                map.entry(tenant_id.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(limit))),
            )
        };
        semaphore.try_acquire_owned().map_err(|_| {
            self.metrics.exports_refused.inc();
            ApiError::TooManyExports { limit }
        })
    }
}

/// The router, apart from serving, so tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    use routes as r;
    let api = Router::new()
        .route("/me", get(r::me))
        .route("/profiles", get(r::profiles))
        .route("/profiles/{profile_id}/users", get(r::profile_users))
        .route("/profiles/{profile_id}/sessions", get(r::profile_sessions))
        .route("/profiles/{profile_id}/issues", get(r::profile_issues))
        .route("/profiles/{profile_id}/logs", get(logs::profile_logs))
        .route("/users", get(r::users))
        .route("/users/{user_id}", get(r::user_detail))
        .route("/users/{user_id}/sessions", get(r::user_sessions))
        .route("/users/{user_id}/issues", get(r::user_issues))
        .route("/users/{user_id}/logs", get(logs::user_logs))
        .route("/users/{user_id}/actions", post(actions::post_action))
        .route("/sessions/{session_id}", get(r::session_detail))
        .route("/sessions/{session_id}/logs", get(logs::session_logs))
        .route("/audit", get(actions::audit))
        .route("/monitor/cards", get(r::monitor_cards))
        .route("/monitor/cards/{sync_state}/users", get(r::card_users))
        .route("/freshness", get(r::freshness))
        .route("/summary", get(summary::summary))
        .route("/trends", get(summary::trends))
        .route("/lists", get(console::lists))
        .route("/session", post(console::sign_in).delete(console::sign_out))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }));
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
            metrics::track,
        ))
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

pub use server::serve;

/// Checks the schema is migrated, binds the listener, serves until `shutdown`.
pub async fn run(config: ApiConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    store::migrate::verify(&config.clickhouse).await?;
    let listener = TcpListener::bind(config.http.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "query-api listening");
    serve(listener, AppState::new(config), shutdown).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_export_is_counted() {
        let mut config = ApiConfig::default();
        config.limits.exports_per_tenant = 1;
        let state = AppState::new(config);
        let held = state.export_permit("t1");
        assert!(held.is_ok());
        assert!(state.export_permit("t1").is_err());
        assert!(state.export_permit("t2").is_ok(), "slots are per tenant");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &state.registry).unwrap();
        assert!(
            text.contains("\nquery_api_exports_refused_total 1\n"),
            "{text}"
        );
    }
}
