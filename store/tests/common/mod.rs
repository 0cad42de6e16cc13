//! Helpers shared by the store's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

/// Runs `sql` (an insert) as ingest does during a rewrite: a missing table (code 60: the
/// moment between the rewrite dropping `session_events`' materialized view and creating it
/// again) is retried, every other error fails the test. Returns the retries.
pub async fn insert_as_ingest(client: &clickhouse::Client, sql: &str) -> u32 {
    let mut retries = 0;
    loop {
        match client.query(sql).execute().await {
            Ok(()) => return retries,
            Err(e) if store::error::server_code(&e) == Some(60) && retries < 100 => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
}
