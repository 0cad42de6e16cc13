//! Fleet simulator: realistic sync-engine traffic for tests, benchmarks and demos.
//!
//! [`Generator`] makes a deterministic, time-ordered stream of events for a fleet of
//! tenants, profiles and users; [`FaultInjector`] adds duplicates, out-of-order delivery and
//! malformed messages and builds the [`Manifest`] (what was sent, and every user's expected
//! final state); [`publish::publish`] sends the records to Kafka.

pub mod config;
pub mod engine;
pub mod faults;
pub mod fleet;
pub mod generator;
pub mod manifest;
pub mod publish;
pub mod record;
mod vocab;

pub use config::SimConfig;
pub use faults::{Damage, FaultInjector};
pub use generator::Generator;
pub use manifest::Manifest;
pub use record::{Record, Route};

/// The records and manifest of a whole run, and the fleet as it ends (what
/// [`engine::Engine`] starts from), in memory.
pub fn simulate_fleet(cfg: &SimConfig) -> (Vec<Record>, Manifest, fleet::Fleet) {
    let generator = Generator::new(cfg.clone());
    let end_ms = generator.end_ms();
    let mut injector = FaultInjector::new(generator, cfg, end_ms);
    let records: Vec<Record> = injector.by_ref().collect();
    let fleet = injector.inner().fleet().clone();
    (records, injector.finish(), fleet)
}

/// The records and manifest of a whole run, in memory (for tests and small runs).
pub fn simulate(cfg: &SimConfig) -> (Vec<Record>, Manifest) {
    let generator = Generator::new(cfg.clone());
    let end_ms = generator.end_ms();
    let mut injector = FaultInjector::new(generator, cfg, end_ms);
    let records: Vec<Record> = injector.by_ref().collect();
    (records, injector.finish())
}
