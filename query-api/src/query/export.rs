//! Downloads: a CSV export of a list streamed row by row from ClickHouse to the client
//! (constant memory), with the query timeout on its first rows; the CSV cells (formulas
//! neutralized) that the log exports write too.

pub mod readable;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;
use tokio::sync::OwnedSemaphorePermit;

use super::params::Bound;
use super::run::json_query;
use crate::error::{ApiError, Result};
use crate::state::AppState;

/// A file streamed to the client (`crate::http` answers it with `Content-Disposition:
/// attachment`).
pub struct Download {
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The file name offered.
    pub file_name: String,
    /// The bytes; an `Err` cuts the stream (the failure was logged).
    pub body: BoxStream<'static, std::io::Result<Bytes>>,
}

/// A CSV cell: text as is, numbers as digits, arrays and objects as JSON; a cell that a
/// spreadsheet would read as a formula (starting with = + - @ tab or CR) gets a leading
/// apostrophe.
pub fn cell(value: Option<&Value>) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => u8::from(*b).to_string(),
        Some(Value::Number(n)) => return n.to_string(),
        Some(other) => other.to_string(),
    };
    neutralize(text)
}

/// Prefixes an apostrophe to text starting with a formula character.
pub fn neutralize(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn csv_line(cells: &[String]) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(cells)
        .map_err(|e| ApiError::internal("writing a csv line", e))?;
    w.into_inner()
        .map_err(|e| ApiError::internal("writing a csv line", e.into_error()))
}

/// Bytes of CSV handed to the client at once (about; a row never splits).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A CSV writer (CRLF) into an empty chunk.
pub fn chunk_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK_BYTES + 16 * 1024))
}

/// The values of one JSONEachRow line, in column order (the keys are skipped, not kept).
pub struct RowValues(pub Vec<Value>);

impl<'de> serde::Deserialize<'de> for RowValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<RowValues, A::Error> {
                let mut values = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((serde::de::IgnoredAny, v)) = map.next_entry::<_, Value>()? {
                    values.push(v);
                }
                Ok(RowValues(values))
            }
        }
        d.deserialize_map(V)
    }
}

/// Writes one CSV record: the cells of [`cell`] without a `String` per cell.
pub fn write_row(
    out: &mut csv::Writer<Vec<u8>>,
    scratch: &mut String,
    values: &[Value],
) -> csv::Result<()> {
    use std::fmt::Write;
    for v in values {
        scratch.clear();
        let text: &str = match v {
            Value::Null => "",
            Value::String(s) => s,
            Value::Bool(b) => {
                if *b {
                    "1"
                } else {
                    "0"
                }
            }
            Value::Number(n) => {
                let _ = write!(scratch, "{n}");
                out.write_field(scratch.as_bytes())?;
                continue;
            }
            other => {
                let _ = write!(scratch, "{other}");
                scratch.as_str()
            }
        };
        if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            let quoted = format!("'{text}");
            out.write_field(quoted.as_bytes())?;
        } else {
            out.write_field(text.as_bytes())?;
        }
    }
    out.write_record(None::<&[u8]>)
}

/// Streams a CSV export of `sql` (no LIMIT needed: the caller checked the row cap, and the
/// stream stops after `max_rows` anyway). The first rows are read before answering, so a
/// failing query still gets a JSON error; the export permit is held until the end.
pub async fn csv_export(
    state: &AppState,
    sql: &str,
    binds: &[Bound],
    columns: Vec<&'static str>,
    file_name: &str,
    bom: bool,
    permit: OwnedSemaphorePermit,
) -> Result<Download> {
    let cursor = json_query(state, sql, binds).fetch_bytes("JSONEachRow")?;
    let mut lines = cursor.lines();
    let timeout = state.config.limits.query_timeout();
    let first = tokio::time::timeout(timeout, lines.next_line())
        .await
        .map_err(|_| ApiError::Timeout(state.config.limits.query_timeout_ms))?
        .map_err(|e| ApiError::internal("reading the export", e))?;
    let mut head = Vec::new();
    if bom {
        head.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let header: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    head.extend(csv_line(&header)?);
    let metrics = Arc::clone(&state.metrics);
    metrics.exports_running.inc();
    let max_rows = state.config.limits.export_max_rows;
    struct Export {
        lines: tokio::io::Lines<clickhouse::query::BytesCursor>,
        pending: Option<String>,
        out: csv::Writer<Vec<u8>>,
        scratch: String,
        rows: u64,
        max_rows: u64,
        done: bool,
        metrics: Arc<crate::metrics::Metrics>,
        _permit: OwnedSemaphorePermit,
    }
    impl Drop for Export {
        fn drop(&mut self) {
            self.metrics.exports_running.dec();
            self.metrics.export_rows.inc_by(self.rows);
        }
    }
    let export = Export {
        lines,
        pending: first,
        out: chunk_writer(),
        scratch: String::new(),
        rows: 0,
        max_rows,
        done: false,
        metrics,
        _permit: permit,
    };
    let head_stream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) });
    let failed = || std::io::Error::other("export failed");
    let rows = futures_util::stream::unfold(export, move |mut ex| async move {
        if ex.done {
            return None;
        }
        // Rows until the chunk holds about CHUNK_BYTES; one writer and one scratch string
        // for the whole export, the values of a row decoded in order without their keys.
        while ex.out.get_ref().len() < CHUNK_BYTES {
            let line = match ex.pending.take() {
                Some(l) => Some(l),
                None => match ex.lines.next_line().await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!(error = %e, "export stream failed");
                        ex.done = true;
                        return Some((Err(failed()), ex));
                    }
                },
            };
            let Some(line) = line else {
                ex.done = true;
                break;
            };
            if ex.rows >= ex.max_rows {
                ex.done = true;
                break;
            }
            let written = serde_json::from_str::<RowValues>(&line)
                .map_err(|e| format!("export row did not decode: {e}"))
                .and_then(|row| {
                    write_row(&mut ex.out, &mut ex.scratch, &row.0).map_err(|e| e.to_string())
                });
            if let Err(e) = written {
                tracing::error!(error = %e, "export row failed");
                ex.done = true;
                return Some((Err(failed()), ex));
            }
            ex.rows += 1;
        }
        let Ok(chunk) = std::mem::replace(&mut ex.out, chunk_writer()).into_inner() else {
            ex.done = true;
            return Some((Err(failed()), ex));
        };
        if chunk.is_empty() && ex.done {
            return None;
        }
        Some((Ok(Bytes::from(chunk)), ex))
    });
    use futures_util::StreamExt;
    Ok(Download {
        content_type: "text/csv; charset=utf-8",
        file_name: format!("{file_name}.csv"),
        body: head_stream.chain(rows).boxed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn formulas_are_neutralized() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralize(bad.to_owned()), format!("'{bad}"));
        }
        assert_eq!(neutralize("plain".to_owned()), "plain");
        // Numbers are never text: a negative number stays a number.
        assert_eq!(cell(Some(&serde_json::json!(-5))), "-5");
        assert_eq!(cell(Some(&serde_json::json!(["a", "b"]))), "[\"a\",\"b\"]");
    }

    #[test]
    fn rows_are_written_like_cells() {
        let line = r#"{"a":"=x","b":-5,"c":["p","q"],"d":null,"e":"say \"hi\", ok","f":true}"#;
        let row: RowValues = serde_json::from_str(line).unwrap();
        let (mut out, mut scratch) = (chunk_writer(), String::new());
        write_row(&mut out, &mut scratch, &row.0).unwrap();
        let map: Map<String, Value> = serde_json::from_str(line).unwrap();
        let cells: Vec<String> = map.values().map(|v| cell(Some(v))).collect();
        assert_eq!(out.into_inner().unwrap(), csv_line(&cells).unwrap());
    }

    #[test]
    fn csv_quotes_per_rfc4180() {
        let line = csv_line(&["a,b".to_owned(), "say \"hi\"".to_owned(), "x\ny".to_owned()])
            .unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&line),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\"\r\n"
        );
    }
}
