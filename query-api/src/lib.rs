//! `query-api`: the admin API over ClickHouse (issue 5), in layers whose dependencies run
//! one way (a test, `tests/layers.rs`, checks there is no import cycle between modules):
//!
//! 1. [`config`], [`error`], [`metrics`], [`commands`] (the Kafka producer of admin
//!    commands), [`principal`] (who is asking), [`token_cache`] (the process's bounded
//!    cache of token lookups), [`state`] (what every handler shares): no HTTP routing, no
//!    SQL of requests.
//! 2. [`query`]: every query of a request, without axum: the `.sql` files and their binds
//!    (one struct per file, tested against its `-- params:` header), list parsing, running
//!    SQL (typed rows for fixed shapes), visibility checks, CSV and log exports.
//! 3. [`auth`]: tokens (stored hashed), the sign-in cookie, the [`auth::Principal`] of a
//!    request and its [`query::params::Scope`].
//! 4. [`http`]: one route table feeding the router and the OpenAPI document, one module per
//!    area, the request span (tower-http's `TraceLayer`), hardening and latency layers.
//! 5. [`server`]: serving with header-read and idle timeouts and a connection cap; [`run`].
//!
//! Every query is scoped to the principal's tenant and profiles, and another tenant's ids
//! answer like missing ones. Query SQL lives in `query-api/sql/*.sql` (checked on
//! ClickHouse 18.16 and current by `deploy/clickhouse/portability/run.sh`); only bound
//! values reach ClickHouse.

pub mod auth;
pub mod commands;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod principal;
pub mod query;
pub mod server;
pub mod state;
pub mod token_cache;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::ApiConfig;
pub use error::ApiError;
pub use http::app;
pub use server::serve;
pub use state::AppState;

/// Why [`run`] stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunError {
    /// The schema is not migrated (or ClickHouse is unreachable).
    #[error("checking the schema")]
    Schema(#[source] store::error::StoreError),
    /// The listener could not be bound or served.
    #[error("serving on {addr}")]
    Serve {
        /// The configured listen address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Checks the schema is migrated, binds the listener, serves until `shutdown`.
pub async fn run(config: ApiConfig, shutdown: CancellationToken) -> Result<(), RunError> {
    store::migrate::verify(&config.clickhouse)
        .await
        .map_err(RunError::Schema)?;
    let addr = config.http.listen;
    let serve_err = |source| RunError::Serve { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(serve_err)?;
    tracing::info!(addr = %listener.local_addr().map_err(serve_err)?, "query-api listening");
    serve(listener, AppState::new(config), shutdown)
        .await
        .map_err(serve_err)?;
    Ok(())
}
