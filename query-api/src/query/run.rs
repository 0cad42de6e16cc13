//! Running queries with the configured timeout: rows as JSON objects (lists, where the
//! client picks the columns), typed rows ([`clickhouse::Row`], fixed-shape queries), and
//! counts. Every value reaches ClickHouse bound ([`bind_all`]).

use clickhouse::query::Query;
use serde_json::{Map, Value};

use super::params::Bound;
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// Binds values in order.
pub fn bind_all(mut query: Query, binds: &[Bound]) -> Query {
    for b in binds {
        query = match b {
            Bound::Str(v) => query.bind(v.as_str()),
            Bound::I64(v) => query.bind(*v),
            Bound::U8(v) => query.bind(*v),
            Bound::U64(v) => query.bind(*v),
            Bound::Strs(v) => query.bind(v.as_slice()),
        };
    }
    query
}

/// `max_execution_time` of the configured query timeout, whole seconds.
pub fn timeout_secs(state: &AppState) -> String {
    state
        .config
        .limits
        .query_timeout_ms
        .div_ceil(1000)
        .to_string()
}

/// A query with its binds and the server-side time limit.
pub fn query(state: &AppState, sql: &str, binds: &[Bound]) -> Query {
    bind_all(state.client.query(sql), binds).with_setting("max_execution_time", timeout_secs(state))
}

/// [`query`] answering JSON numbers unquoted (the format the lists read).
pub fn json_query(state: &AppState, sql: &str, binds: &[Bound]) -> Query {
    query(state, sql, binds).with_setting("output_format_json_quote_64bit_integers", "0")
}

/// `work` within the query timeout (504 `query_timeout` past it).
async fn timed<T>(
    state: &AppState,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(state.config.limits.query_timeout(), work)
        .await
        .map_err(|_| ApiError::Timeout(state.config.limits.query_timeout_ms))?
}

/// Every row of a query as JSON objects (callers bound the row count with LIMIT).
pub async fn rows(state: &AppState, sql: &str, binds: &[Bound]) -> Result<Vec<Map<String, Value>>> {
    timed(state, async {
        let mut cursor = json_query(state, sql, binds).fetch_bytes("JSONEachRow")?;
        let bytes = cursor.collect().await?;
        let mut out = Vec::new();
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let row: Map<String, Value> = serde_json::from_slice(line)
                .map_err(|e| ApiError::internal("decoding a row", e))?;
            out.push(row);
        }
        Ok(out)
    })
    .await
}

/// Every row of a fixed-shape query, typed (callers bound the row count).
pub async fn typed<T>(state: &AppState, sql: &str, binds: &[Bound]) -> Result<Vec<T>>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    timed(state, async {
        Ok(query(state, sql, binds).fetch_all::<T>().await?)
    })
    .await
}

/// One number from a query (a count).
pub async fn count(state: &AppState, sql: &str, binds: &[Bound]) -> Result<u64> {
    timed(state, async {
        Ok(query(state, sql, binds).fetch_one::<u64>().await?)
    })
    .await
}
