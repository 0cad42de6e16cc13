//! Benchmarks (issue 7; not built yet).
