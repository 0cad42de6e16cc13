//! `/metrics` (Prometheus text format) and `/health`, served until shutdown.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
pub use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What a service says of its own health: a status code (200 or 503) and a JSON body.
pub type HealthCheck = Arc<dyn Fn() -> (StatusCode, String) + Send + Sync>;

/// The router, apart from serving, so tests can call it directly. `/health` answers `ok`.
pub fn app(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(|| async { "ok\n" }))
        .with_state(registry)
}

/// The router with `/health` answered by `health` (JSON).
pub fn app_with_health(registry: Arc<Registry>, health: HealthCheck) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route(
            "/health",
            get(move || {
                let health = Arc::clone(&health);
                async move {
                    let (status, body) = health();
                    (status, [(header::CONTENT_TYPE, "application/json")], body)
                }
            }),
        )
        .with_state(registry)
}

async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    metrics_response(&registry)
}

/// The registry in the Prometheus text format, as an HTTP response (for services that
/// serve `/metrics` from their own router).
pub fn metrics_response(registry: &Registry) -> Response {
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, registry) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}\n"),
        )
            .into_response(),
    }
}

/// Serves until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, app(registry))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Serves until `shutdown`, with `/health` answered by `health`.
pub async fn serve_with_health(
    listener: TcpListener,
    registry: Arc<Registry>,
    health: HealthCheck,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, app_with_health(registry, health))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
