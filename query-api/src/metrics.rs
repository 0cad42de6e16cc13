//! Every metric `query-api` exports, in one place. Units are in the names; labels are
//! bounded (one of a few methods or `other`, route template or `unmatched`, status code),
//! never a tenant, user, raw method or raw path.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label: one route and its answer.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    /// HTTP method: one of [`METHODS`], or `other` (a client may send any token).
    pub method: &'static str,
    /// Route template (`/api/v1/users/{user_id}`), or `unmatched` (the console's files and
    /// unknown paths: never the raw path).
    pub route: String,
    /// Status code.
    pub status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Label: what became of an admin command request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabel {
    /// `published`, `failed` or `replayed` (a repeated request id).
    pub result: &'static str,
}

/// The methods counted under their own name; any other is `other`.
pub const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// The method's label: itself when in [`METHODS`], else `other`.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The API metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Seconds from request to response headers, per route and status.
    pub request_seconds: Family<RouteLabel, Histogram, fn() -> Histogram>,
    /// Rows written by CSV exports.
    pub export_rows: Counter,
    /// CSV and log exports running now.
    pub exports_running: Gauge,
    /// Exports refused (429 `too_many_exports`) because the tenant's
    /// `limits.exports_per_tenant` slots were all taken.
    pub exports_refused: Counter,
    /// Admin command requests, per result.
    pub admin_commands: Family<CommandLabel, Counter>,
    /// HTTP connections open now.
    pub connections_open: Gauge,
    /// Connections refused because `http.max_connections` were open.
    pub connections_refused: Counter,
    /// Token lookups answered by the token cache.
    pub token_cache_hits: Counter,
    /// Token lookups the token cache did not hold (each one a ClickHouse round trip; none
    /// counted when the cache is off).
    pub token_cache_misses: Counter,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            request_seconds: Family::new_with_constructor(latency_histogram),
            export_rows: Counter::default(),
            exports_running: Gauge::default(),
            exports_refused: Counter::default(),
            admin_commands: Family::default(),
            connections_open: Gauge::default(),
            connections_refused: Counter::default(),
            token_cache_hits: Counter::default(),
            token_cache_misses: Counter::default(),
        };
        let r = registry.sub_registry_with_prefix("query_api");
        r.register(
            "request_seconds",
            "Time to answer a request (to the response headers), per route",
            metrics.request_seconds.clone(),
        );
        r.register(
            "export_rows",
            "Rows written by CSV exports",
            metrics.export_rows.clone(),
        );
        r.register(
            "exports_running",
            "CSV exports streaming now",
            metrics.exports_running.clone(),
        );
        r.register(
            "exports_refused",
            "Exports refused with 429 because the tenant's export slots were all taken",
            metrics.exports_refused.clone(),
        );
        r.register(
            "admin_commands",
            "Admin command requests, per result (published, failed, replayed)",
            metrics.admin_commands.clone(),
        );
        r.register(
            "connections_open",
            "HTTP connections open now",
            metrics.connections_open.clone(),
        );
        r.register(
            "connections_refused",
            "Connections refused with 503 because http.max_connections were open",
            metrics.connections_refused.clone(),
        );
        r.register(
            "token_cache_hits",
            "Requests whose token the token cache answered (no ClickHouse lookup)",
            metrics.token_cache_hits.clone(),
        );
        r.register(
            "token_cache_misses",
            "Requests whose token was looked up in ClickHouse because the token cache did not hold it",
            metrics.token_cache_misses.clone(),
        );
        metrics
    }

    /// Counts one admin command request.
    pub fn admin_command(&self, result: &'static str) {
        self.admin_commands
            .get_or_create(&CommandLabel { result })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_a_bounded_set() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        let invented = axum::http::Method::from_bytes(b"BREW").unwrap_or_default();
        assert_eq!(method_label(&invented), "other");
    }
}
