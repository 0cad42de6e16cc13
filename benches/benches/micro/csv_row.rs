//! query-api's CSV export writer (`query_api::query::export`), plus the chunk hand-over the
//! export stream does, for the micro benchmark.

pub use query_api::query::export::{chunk_writer, write_row, RowValues, CHUNK_BYTES};

/// Hands the chunk over (dropped here) and starts a new one once it holds `CHUNK_BYTES`.
pub fn maybe_cut(out: &mut csv::Writer<Vec<u8>>) {
    if out.get_ref().len() >= CHUNK_BYTES {
        let full = std::mem::replace(out, chunk_writer());
        std::hint::black_box(full.into_inner().ok());
    }
}
