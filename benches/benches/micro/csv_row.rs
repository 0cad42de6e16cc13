//! query-api's CSV export writer, repeated here because its pieces are private
//! (`query_api::fetch::{RowValues, write_row, chunk_writer}`): a JSONEachRow line decoded
//! to its values in order (keys skipped), each value written as a cell with the same
//! formula neutralization as `query_api::fetch::cell` / `neutralize`, one CRLF writer per
//! 64 KiB chunk. Keep in step with `query-api/src/fetch.rs`.

use std::fmt::Write;

use serde_json::Value;

/// Bytes of CSV per chunk (query-api's `CHUNK_BYTES`).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// A CSV writer (CRLF) into an empty chunk.
pub fn chunk_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(CHUNK_BYTES + 16 * 1024))
}

/// The values of one JSONEachRow line, in column order.
pub struct RowValues(pub Vec<Value>);

impl<'de> serde::Deserialize<'de> for RowValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RowValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RowValues, A::Error> {
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

/// Writes one CSV record from the values of a row.
pub fn write_row(
    out: &mut csv::Writer<Vec<u8>>,
    scratch: &mut String,
    values: &[Value],
) -> csv::Result<()> {
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

/// Hands the chunk over (dropped here) and starts a new one once it holds `CHUNK_BYTES`.
pub fn maybe_cut(out: &mut csv::Writer<Vec<u8>>) {
    if out.get_ref().len() >= CHUNK_BYTES {
        let full = std::mem::replace(out, chunk_writer());
        std::hint::black_box(full.into_inner().ok());
    }
}
