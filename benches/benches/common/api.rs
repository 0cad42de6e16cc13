//! Shared by the benches that measure the query API: one aggregator cycle over what a bench
//! loaded, and the API started in-process on a free port with an admin token.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::{Aggregator, AggregatorConfig, CycleReport};
use query_api::auth::{self, Role};
use query_api::{ApiConfig, AppState};
use store::ClickHouseConfig;
use tokio_util::sync::CancellationToken;

/// One aggregator cycle (settle 0) over everything stored in `ch`'s database, and its
/// seconds. Waits a second first: `ingested_at` has whole seconds, and a cycle takes the
/// rows ingested before its own second.
pub async fn one_cycle(ch: &ClickHouseConfig) -> (CycleReport, f64) {
    let mut config = AggregatorConfig::default();
    config.clickhouse = ch.clone();
    config.cycle.settle_secs = 0;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let t = Instant::now();
    let report = agg.cycle().await.unwrap();
    (report, t.elapsed().as_secs_f64())
}

/// The query API running in this process.
pub struct Api {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// An admin token of the tenant it was started for.
    pub token: String,
    /// The config it runs with.
    pub config: ApiConfig,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Api {
    /// Starts the API over `ch` on a free loopback port, with an admin token of `tenant`
    /// and the config as `adjust` leaves it; it stops with `shutdown` or [`Api::stop`].
    pub async fn start(
        ch: &ClickHouseConfig,
        tenant: &str,
        shutdown: CancellationToken,
        adjust: impl FnOnce(&mut ApiConfig),
    ) -> Self {
        let (_, token) = auth::create_token(&ch.client(), tenant, Role::Admin, None, "bench")
            .await
            .unwrap();
        let mut config = ApiConfig::default();
        config.clickhouse = ch.clone();
        config.http.listen = "127.0.0.1:0".parse().unwrap();
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(query_api::serve(
            listener,
            AppState::new(config.clone()),
            shutdown.clone(),
        ));
        Self {
            addr,
            token,
            config,
            shutdown,
            server,
        }
    }

    /// Stops it and waits for it to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.server.await;
    }
}
