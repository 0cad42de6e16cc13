//! Aggregator service: effective status per user and summary counts (issue 4).
pub mod rules;
