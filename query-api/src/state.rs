//! What every handler shares ([`AppState`]): the config, the ClickHouse client, the metrics,
//! the producer of admin commands, the token cache, and the per-process bookkeeping
//! (export slots per tenant, admin requests in flight).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::token_cache::TokenCache;
use crate::{commands, metrics};

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
    /// Token lookups, reused for `auth.token_cache_ttl_ms`.
    pub tokens: Arc<TokenCache>,
}

impl AppState {
    /// State for `config` (connects lazily).
    pub fn new(config: ApiConfig) -> Self {
        let mut registry = Registry::default();
        let metrics = Arc::new(metrics::Metrics::new(&mut registry));
        let producer = commands::producer(&config.kafka)
            .inspect_err(|e| tracing::error!(error = %e, "creating the Kafka producer"))
            .ok();
        let tokens = Arc::new(TokenCache::new(
            config.auth.token_cache_ttl(),
            config.auth.token_cache_max_entries,
            metrics.token_cache_hits.clone(),
            metrics.token_cache_misses.clone(),
        ));
        Self {
            tokens,
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
                .map_err(|_| ApiError::bug("export slots lock poisoned"))?;
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

    /// Marks the admin request `(tenant, stored request id)` as being processed until the
    /// guard drops; `Ok(None)` when it already is.
    pub fn begin_action(&self, key: (String, String)) -> Result<Option<InFlight>, ApiError> {
        let mut set = self
            .actions_in_flight
            .lock()
            .map_err(|_| ApiError::bug("in-flight lock poisoned"))?;
        if !set.insert(key.clone()) {
            return Ok(None);
        }
        Ok(Some(InFlight {
            set: Arc::clone(&self.actions_in_flight),
            key,
        }))
    }
}

/// An admin request being processed: removed from the in-flight set when dropped, however
/// the handler ends.
pub struct InFlight {
    set: Arc<Mutex<HashSet<(String, String)>>>,
    key: (String, String),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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

    #[test]
    fn an_action_is_in_flight_until_its_guard_drops() {
        let state = AppState::new(ApiConfig::default());
        let key = ("t".to_owned(), "r".to_owned());
        let guard = state.begin_action(key.clone()).unwrap();
        assert!(guard.is_some());
        assert!(state.begin_action(key.clone()).unwrap().is_none());
        drop(guard);
        assert!(state.begin_action(key).unwrap().is_some());
    }
}
