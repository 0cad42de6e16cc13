//! Rows kept as the bytes ClickHouse reads (`INSERT ... FORMAT RowBinary`), encoded when
//! they are made, so that a batch holds one buffer per table instead of a struct and its
//! strings per row, and sending it is a copy.
//!
//! [`encode`] is a serde `Serializer`: a row struct's fields go out in declaration order,
//! as the `clickhouse` crate's own serializer writes them (that one is crate-private, and
//! `clickhouse_rowbinary` works on dynamic values, one allocation per field). The encoding:
//! integers little-endian; `String`, `&str` and `serde_bytes` a LEB128 length then the
//! bytes; sequences (`Array`) a LEB128 count then the elements; `Option` a `Nullable`
//! prefix byte. Anything else (maps, enums, `char`, units) is refused with an error.
//!
//! [`EncodedRows`] also knows where each row ends, so that `ingested_at`, the last column
//! of every raw-table row, is set in place ([`EncodedRows::stamp`]): ingest stamps a batch
//! before each attempt to store it, without encoding its rows again.

use std::fmt::Display;
use std::marker::PhantomData;
use std::time::Duration;

use serde::ser::{self, Impossible, Serialize};
use thiserror::Error;

/// Why a value cannot be encoded (a row type with a field RowBinary has no form for).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A serde type with no RowBinary form here.
    #[error("RowBinary has no encoding for {0} here")]
    Unsupported(&'static str),
    /// A sequence of unknown length.
    #[error("RowBinary needs the length of a sequence before its elements")]
    UnknownLength,
    /// An error raised by a `Serialize` impl.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for EncodeError {
    fn custom<T: Display>(msg: T) -> Self {
        EncodeError::Custom(msg.to_string())
    }
}

/// Appends `value` to `out` as RowBinary; on error `out` may hold part of it.
pub fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    value.serialize(&mut Encoder { out })
}

/// The column that [`EncodedRows::stamp`] sets: the last of the row.
pub const STAMPED_COLUMN: &str = "ingested_at";

/// Rows of one table as RowBinary, and where each ends.
pub struct EncodedRows<T> {
    data: Vec<u8>,
    ends: Vec<u32>,
    _rows: PhantomData<fn(&T)>,
}

impl<T> std::fmt::Debug for EncodedRows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedRows")
            .field("rows", &self.ends.len())
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl<T> Default for EncodedRows<T> {
    fn default() -> Self {
        Self {
            data: Vec::new(),
            ends: Vec::new(),
            _rows: PhantomData,
        }
    }
}

impl<T: clickhouse::RowWrite> EncodedRows<T> {
    /// Appends one row (a `T`, or for a borrowing row type, a `T` of any lifetime).
    pub fn push(&mut self, row: &T::Value<'_>) -> Result<(), EncodeError> {
        let start = self.data.len();
        let end = encode(row, &mut self.data).and_then(|()| {
            u32::try_from(self.data.len()).map_err(|_| EncodeError::Custom("over 4 GiB".into()))
        });
        match end {
            Ok(end) => {
                self.ends.push(end);
                Ok(())
            }
            Err(e) => {
                self.data.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends every row of `rows`, or none of them.
    pub fn push_all<'r>(
        &mut self,
        rows: impl IntoIterator<Item = T::Value<'r>>,
    ) -> Result<(), EncodeError> {
        let (start, ends) = (self.data.len(), self.ends.len());
        for row in rows {
            if let Err(e) = self.push(&row) {
                self.data.truncate(start);
                self.ends.truncate(ends);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sets the last column ([`STAMPED_COLUMN`], a `UInt32`) of every row to `value`. Does
    /// nothing for a row type without that column.
    pub fn stamp(&mut self, value: u32) {
        if T::COLUMN_NAMES.last() != Some(&STAMPED_COLUMN) {
            return;
        }
        let bytes = value.to_le_bytes();
        for &end in &self.ends {
            let end = end as usize;
            self.data[end - 4..end].copy_from_slice(&bytes);
        }
    }

    /// The statement that inserts these rows into `table` (a name of letters, digits, `_`
    /// and `.`), its columns named as `T` names them.
    pub fn insert_sql(table: &str) -> String {
        let columns: Vec<String> = T::COLUMN_NAMES.iter().map(|c| format!("`{c}`")).collect();
        format!(
            "INSERT INTO {table}({}) FORMAT RowBinary",
            columns.join(",")
        )
    }

    /// Inserts the rows into `table` with `client` in one statement (`timeout` bounds each
    /// send and the server's answer), streamed in chunks of at most 1 MiB.
    pub async fn insert(
        &self,
        client: &clickhouse::Client,
        table: &str,
        timeout: Duration,
    ) -> Result<(), clickhouse::error::Error> {
        if self.is_empty() {
            return Ok(());
        }
        let mut insert = client
            .insert_formatted_with(Self::insert_sql(table))
            .with_timeouts(Some(timeout), Some(timeout));
        for chunk in self.data.chunks(SEND_CHUNK_BYTES) {
            insert.send(bytes::Bytes::copy_from_slice(chunk)).await?;
        }
        insert.end().await
    }
}

/// The size of one send of [`EncodedRows::insert`].
const SEND_CHUNK_BYTES: usize = 1 << 20;

impl<T> EncodedRows<T> {
    /// Rows held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No row.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The encoded rows, back to back.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// LEB128, as RowBinary writes lengths.
fn put_len(out: &mut Vec<u8>, len: usize) {
    let mut n = len as u64;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

macro_rules! little_endian {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), EncodeError> {
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        })*
    };
}

impl ser::Serializer for &mut Encoder<'_> {
    type Ok = ();
    type Error = EncodeError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), EncodeError>;
    type SerializeMap = Impossible<(), EncodeError>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), EncodeError>;

    little_endian!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64,
    );

    fn serialize_bool(self, v: bool) -> Result<(), EncodeError> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_char(self, _: char) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported("char"))
    }
    fn serialize_str(self, v: &str) -> Result<(), EncodeError> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), EncodeError> {
        put_len(self.out, v.len());
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), EncodeError> {
        self.out.push(1);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), EncodeError> {
        self.out.push(0);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported("()"))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported("a unit struct"))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported("an enum"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), EncodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), EncodeError> {
        Err(EncodeError::Unsupported("an enum"))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, EncodeError> {
        put_len(self.out, len.ok_or(EncodeError::UnknownLength)?);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EncodeError> {
        Err(EncodeError::Unsupported("an enum"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, EncodeError> {
        Err(EncodeError::Unsupported("a map"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, EncodeError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EncodeError> {
        Err(EncodeError::Unsupported("an enum"))
    }
}

/// The compound parts (sequences, tuples, structs) write their elements back to back.
macro_rules! elements {
    ($($trait:ident :: $method:ident ($($name:ty)?)),* $(,)?) => {
        $(impl ser::$trait for &mut Encoder<'_> {
            type Ok = ();
            type Error = EncodeError;
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $(_: $name,)?
                value: &T,
            ) -> Result<(), EncodeError> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), EncodeError> {
                Ok(())
            }
        })*
    };
}

elements!(
    SerializeSeq::serialize_element(),
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
);

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T: Serialize>(value: &T) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value, &mut out).unwrap();
        out
    }

    #[test]
    fn lengths_are_leb128() {
        for (len, expected) in [
            (0usize, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (16_384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            put_len(&mut out, len);
            assert_eq!(out, expected, "{len}");
        }
    }

    #[derive(serde::Serialize, clickhouse::Row)]
    struct Sample {
        text: String,
        kind: &'static str,
        at_ms: i64,
        n: i32,
        flag: u8,
        list: Vec<i64>,
        names: Vec<&'static str>,
        #[serde(with = "serde_bytes")]
        blob: Vec<u8>,
        ingested_at: u32,
    }

    fn sample(text: &str) -> Sample {
        Sample {
            text: text.to_owned(),
            kind: "ab",
            at_ms: -2,
            n: 258,
            flag: 1,
            list: vec![1, -1],
            names: vec!["x", ""],
            blob: vec![0, 255],
            ingested_at: 0,
        }
    }

    #[test]
    fn a_struct_is_its_fields_in_order() {
        let mut expected = vec![3, b'h', b'i', b'!', 2, b'a', b'b'];
        expected.extend_from_slice(&(-2i64).to_le_bytes());
        expected.extend_from_slice(&258i32.to_le_bytes());
        expected.push(1);
        expected.push(2);
        expected.extend_from_slice(&1i64.to_le_bytes());
        expected.extend_from_slice(&(-1i64).to_le_bytes());
        expected.extend_from_slice(&[2, 1, b'x', 0]);
        expected.extend_from_slice(&[2, 0, 255]);
        expected.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(bytes(&sample("hi!")), expected);
        assert_eq!(bytes(&Some(7u8)), vec![0, 7]);
        assert_eq!(bytes(&None::<u8>), vec![1]);
    }

    #[test]
    fn stamping_sets_the_last_column_of_every_row() {
        let mut rows = EncodedRows::<Sample>::default();
        rows.push(&sample("a")).unwrap();
        rows.push_all([sample("bb"), sample(&"c".repeat(200))])
            .unwrap();
        assert_eq!(rows.len(), 3);
        rows.stamp(0x0102_0304);
        let mut expected = Vec::new();
        for text in ["a", "bb", &"c".repeat(200)] {
            let mut s = sample(text);
            s.ingested_at = 0x0102_0304;
            expected.extend(bytes(&s));
        }
        assert_eq!(rows.bytes(), expected.as_slice());
    }

    #[derive(serde::Serialize, clickhouse::Row)]
    struct Unstamped {
        a: u32,
    }

    #[test]
    fn rows_without_the_column_are_not_stamped() {
        let mut rows = EncodedRows::<Unstamped>::default();
        rows.push(&Unstamped { a: 5 }).unwrap();
        rows.stamp(9);
        assert_eq!(rows.bytes(), 5u32.to_le_bytes());
    }

    #[derive(serde::Serialize, clickhouse::Row)]
    struct WithMap {
        ok: u8,
        map: std::collections::BTreeMap<String, u8>,
    }

    #[test]
    fn a_failed_push_adds_nothing() {
        let mut rows = EncodedRows::<WithMap>::default();
        let bad = WithMap {
            ok: 1,
            map: [("k".to_owned(), 1)].into(),
        };
        assert!(matches!(
            rows.push_all([bad]),
            Err(EncodeError::Unsupported("a map"))
        ));
        assert!(rows.is_empty() && rows.bytes().is_empty());
    }

    #[test]
    fn the_insert_names_the_columns() {
        assert_eq!(
            EncodedRows::<Unstamped>::insert_sql("t"),
            "INSERT INTO t(`a`) FORMAT RowBinary"
        );
    }
}
