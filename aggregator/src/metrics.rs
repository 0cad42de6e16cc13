//! Every metric the aggregator exports, in one place. Units are in the names; no labels
//! but the cycle result (never a tenant or user). Updated per cycle.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label: how a cycle ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `ok` or `error`.
    pub result: &'static str,
}

/// The aggregator metrics.
#[derive(Debug)]
pub struct Metrics {
    /// Cycles run, by result.
    pub cycles: Family<ResultLabel, Counter>,
    /// Seconds per cycle (all steps).
    pub cycle_seconds: Histogram,
    /// User rows recomputed (advanced or from all events).
    pub users_recomputed: Counter,
    /// Of them, rows advanced from the stored row and the touched sessions.
    pub users_advanced: Counter,
    /// Users recomputed in the last cycle.
    pub last_cycle_users: Gauge,
    /// Session rows recomputed into `session_state` (approximate count per cycle).
    pub sessions_recomputed: Counter,
    /// How far behind the events the aggregator is: the server's now minus the watermark
    /// (everything ingested before the watermark is reflected), seconds.
    pub lag_seconds: Gauge<f64, AtomicU64>,
    /// The watermark, seconds since the Unix epoch.
    pub watermark_seconds: Gauge,
    /// 1 while this instance runs the cycles (it holds the lease, or runs without one),
    /// 0 while it stands by.
    pub lease_held: Gauge,
    /// Times this instance left the lease group and joined again because no holder's
    /// heartbeat came.
    pub lease_rejoins: Gauge,
}

impl Metrics {
    /// Registers every metric under the `aggregator` prefix.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            cycles: Family::default(),
            cycle_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 16)),
            users_recomputed: Counter::default(),
            users_advanced: Counter::default(),
            last_cycle_users: Gauge::default(),
            sessions_recomputed: Counter::default(),
            lag_seconds: Gauge::default(),
            watermark_seconds: Gauge::default(),
            lease_held: Gauge::default(),
            lease_rejoins: Gauge::default(),
        };
        let r = registry.sub_registry_with_prefix("aggregator");
        r.register("cycles", "Cycles run, by result", m.cycles.clone());
        r.register(
            "cycle_seconds",
            "Seconds per cycle",
            m.cycle_seconds.clone(),
        );
        r.register(
            "users_recomputed",
            "User rows recomputed",
            m.users_recomputed.clone(),
        );
        r.register(
            "users_advanced",
            "User rows advanced from the stored row and the touched sessions (the others \
             were recomputed from all the user's events)",
            m.users_advanced.clone(),
        );
        r.register(
            "last_cycle_users",
            "Users recomputed in the last cycle",
            m.last_cycle_users.clone(),
        );
        r.register(
            "sessions_recomputed",
            "Sessions recomputed into session_state (approximate)",
            m.sessions_recomputed.clone(),
        );
        r.register(
            "lag_seconds",
            "Server now minus the watermark: how far behind the ingested events the derived state is",
            m.lag_seconds.clone(),
        );
        r.register(
            "watermark_seconds",
            "Everything ingested before this instant (s since the epoch) is reflected",
            m.watermark_seconds.clone(),
        );
        r.register(
            "lease_held",
            "1 while this instance runs the cycles, 0 while it stands by",
            m.lease_held.clone(),
        );
        r.register(
            "lease_rejoins",
            "Times this instance joined the lease group again because no heartbeat came",
            m.lease_rejoins.clone(),
        );
        m
    }
}
