//! The writing side of a log export: the ZIP (the `zip` crate's stream writer, no seeking)
//! or CSV written into a small buffer that is handed to the client through a bounded channel
//! every [`CHUNK_BYTES`], so memory stays flat whatever the size of the export.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::ZipWriter;

use super::{entry_names, index_csv, time, LineRow, LogFormat, Plan};
use crate::query::export;

/// Bytes buffered before a chunk goes to the client.
pub(super) const CHUNK_BYTES: usize = 64 << 10;

/// The writer's output: a buffer drained into the channel every [`CHUNK_BYTES`].
#[derive(Clone, Default)]
pub(super) struct Chunks(Arc<Mutex<Vec<u8>>>);

impl Write for Chunks {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("buffer lock poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Chunks {
    fn take(&self, at_least: usize) -> Option<Vec<u8>> {
        let mut b = self.0.lock().ok()?;
        (b.len() >= at_least && !b.is_empty()).then(|| std::mem::take(&mut *b))
    }
}

pub(super) enum PumpError {
    /// The client went away.
    Gone,
    /// The export failed (logged; the stream is cut).
    Failed(String),
}

impl From<std::io::Error> for PumpError {
    fn from(e: std::io::Error) -> Self {
        PumpError::Failed(e.to_string())
    }
}

impl From<zip::result::ZipError> for PumpError {
    fn from(e: zip::result::ZipError) -> Self {
        PumpError::Failed(format!("zip: {e}"))
    }
}

impl From<csv::Error> for PumpError {
    fn from(e: csv::Error) -> Self {
        PumpError::Failed(format!("csv: {e}"))
    }
}

impl From<clickhouse::error::Error> for PumpError {
    fn from(e: clickhouse::error::Error) -> Self {
        PumpError::Failed(format!("clickhouse: {e}"))
    }
}

enum Out {
    Zip(Box<ZipWriter<StreamWriter<Chunks>>>),
    Csv(Box<csv::Writer<Chunks>>),
}

type Cursor = clickhouse::query::RowCursor<LineRow>;

pub(super) struct Pump {
    pub(super) chunks: Chunks,
    pub(super) tx: mpsc::Sender<std::io::Result<Bytes>>,
    pub(super) lines: u64,
    pub(super) bytes: u64,
    pub(super) max_lines: u64,
    pub(super) max_bytes: u64,
}

impl Pump {
    async fn send(&self, at_least: usize) -> Result<(), PumpError> {
        if let Some(chunk) = self.chunks.take(at_least) {
            self.tx
                .send(Ok(Bytes::from(chunk)))
                .await
                .map_err(|_| PumpError::Gone)?;
        }
        Ok(())
    }

    pub(super) async fn run(
        &mut self,
        plan: &Plan,
        first: Option<LineRow>,
        mut cursor: clickhouse::query::RowCursor<LineRow>,
        mut next_batch: impl FnMut() -> Option<clickhouse::error::Result<Cursor>>,
    ) -> Result<(), PumpError> {
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let names = entry_names(&plan.sessions);
        let mut out = match plan.format {
            LogFormat::Zip => {
                let mut zip = ZipWriter::new_stream(self.chunks.clone());
                if plan.index {
                    zip.start_file("index.csv", options)?;
                    let index =
                        index_csv(&plan.sessions).map_err(|e| PumpError::Failed(e.to_string()))?;
                    zip.write_all(&index)?;
                }
                Out::Zip(Box::new(zip))
            }
            LogFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(self.chunks.clone());
                w.write_record(["session_id", "time", "level", "text"])?;
                Out::Csv(Box::new(w))
            }
        };
        // Next session whose entry is not open yet, and the open one.
        let (mut next, mut open): (usize, Option<usize>) = (0, None);
        let mut row = first;
        // Batches whose sessions logged nothing.
        while row.is_none() {
            match next_batch() {
                Some(c) => {
                    cursor = c?;
                    row = cursor.next().await?;
                }
                None => break,
            }
        }
        while let Some(r) = row {
            self.lines += 1;
            self.bytes += r.text.len() as u64;
            if self.lines > self.max_lines || self.bytes > self.max_bytes {
                return Err(PumpError::Failed(
                    "log cap passed while streaming (lines arrived after the check)".to_owned(),
                ));
            }
            match &mut out {
                Out::Zip(zip) => {
                    while open.map(|i| plan.sessions[i].session_id != r.session_id) != Some(false) {
                        let name = names.get(next).ok_or_else(|| {
                            PumpError::Failed(format!("a line of session {:?}", r.session_id))
                        })?;
                        zip.start_file(name.as_str(), options)?;
                        open = Some(next);
                        next += 1;
                    }
                    let line = format!("{} {} {}\n", time(r.at_ms), r.level, r.text);
                    zip.write_all(line.as_bytes())?;
                }
                Out::Csv(w) => {
                    w.write_record([
                        export::neutralize(r.session_id.clone()),
                        time(r.at_ms),
                        r.level.clone(),
                        export::neutralize(r.text),
                    ])?;
                    w.flush()?;
                }
            }
            self.send(CHUNK_BYTES).await?;
            row = cursor.next().await?;
            // The next batch of sessions when this one's lines are done.
            while row.is_none() {
                match next_batch() {
                    Some(c) => {
                        cursor = c?;
                        row = cursor.next().await?;
                    }
                    None => break,
                }
            }
        }
        match out {
            Out::Zip(mut zip) => {
                for name in names.iter().skip(next) {
                    zip.start_file(name.as_str(), options)?;
                }
                zip.finish()?;
            }
            Out::Csv(mut w) => w.flush()?,
        }
        self.send(0).await
    }
}
