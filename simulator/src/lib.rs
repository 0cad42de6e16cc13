//! Fleet simulator: realistic sync-engine traffic.
