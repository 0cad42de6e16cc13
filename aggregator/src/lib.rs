//! Aggregator service: effective status per user and summary counts (issue 4; not built yet).
