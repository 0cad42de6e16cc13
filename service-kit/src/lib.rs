//! What every service binary needs besides its own job, written once:
//!
//! - [`init_logs`]: `tracing` to stderr, text or JSON lines, level from `RUST_LOG`;
//! - [`cancel_on_signal`]: SIGINT/SIGTERM cancel a token (graceful shutdown);
//! - [`http`]: the `/metrics` (Prometheus text) and `/health` endpoint;
//! - [`config`]: TOML file + environment overrides, one error type.

pub mod config;
pub mod http;

use tokio_util::sync::CancellationToken;

/// Logs to stderr; `RUST_LOG` sets the filter (default `default_filter`).
pub fn init_logs(json: bool, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
pub fn cancel_on_signal(shutdown: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received: stopping");
        shutdown.cancel();
    });
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
