//! Shared helpers of the aggregator's tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
