//! Avro binary primitives, hand-written for speed: zigzag varints, length-prefixed
//! strings, booleans, enums and unions by index, arrays in blocks.
//!
//! The [`Reader`] never panics and never allocates more than the input can back: every
//! length prefix is checked against the bytes that are left *before* anything is
//! allocated, and array item counts against both the bytes left and a cap.

use crate::avro_enum::AvroEnum;
use crate::error::{AvroProblem, DecodeError};

/// Most items one array may declare (over all its blocks) before decoding gives up.
pub const MAX_ARRAY_ITEMS: usize = 100_000;

/// Appends `v` as an Avro `long` (zigzag varint).
#[inline]
pub(crate) fn put_long(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// Appends `v` as an Avro `int`.
#[inline]
pub(crate) fn put_int(buf: &mut Vec<u8>, v: i32) {
    put_long(buf, i64::from(v));
}

/// Appends a length-prefixed UTF-8 string.
#[inline]
pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_long(buf, s.len() as i64);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a boolean.
#[inline]
pub(crate) fn put_bool(buf: &mut Vec<u8>, b: bool) {
    buf.push(u8::from(b));
}

/// Appends an enum as its index.
#[inline]
pub(crate) fn put_enum<E: AvroEnum>(buf: &mut Vec<u8>, e: E) {
    put_long(buf, e.index() as i64);
}

/// Appends `["null", "string"]`.
#[inline]
pub(crate) fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_long(buf, 0),
        Some(s) => {
            put_long(buf, 1);
            put_str(buf, s);
        }
    }
}

/// Appends `["null", Enum]`.
#[inline]
pub(crate) fn put_opt_enum<E: AvroEnum>(buf: &mut Vec<u8>, e: Option<E>) {
    match e {
        None => put_long(buf, 0),
        Some(e) => {
            put_long(buf, 1);
            put_enum(buf, e);
        }
    }
}

/// Appends an array as one block (count, items, 0), or a lone 0 when empty: the same
/// bytes apache-avro writes.
#[inline]
pub(crate) fn put_array<T>(buf: &mut Vec<u8>, items: &[T], mut item: impl FnMut(&mut Vec<u8>, &T)) {
    if !items.is_empty() {
        put_long(buf, items.len() as i64);
        for it in items {
            item(buf, it);
        }
    }
    put_long(buf, 0);
}

/// A cursor over an Avro body. Offsets in errors count from the start of the whole
/// message (`base` is where the body starts in it).
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

type Result<T> = std::result::Result<T, DecodeError>;

impl<'a> Reader<'a> {
    /// A reader over `data`, which starts at byte `base` of the message.
    pub(crate) fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// Offset of the cursor from the start of the message.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn invalid(&self, field: &'static str, at: usize, problem: AvroProblem) -> DecodeError {
        DecodeError::InvalidAvro {
            field,
            offset: self.base + at,
            problem,
        }
    }

    fn truncated(&self, field: &'static str) -> DecodeError {
        DecodeError::Truncated {
            field,
            offset: self.offset(),
        }
    }

    /// Fails with `TrailingBytes` unless the input is used up.
    pub(crate) fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.invalid("", self.pos, AvroProblem::TrailingBytes(n))),
        }
    }

    /// Reads an Avro `long`.
    #[inline]
    pub(crate) fn long(&mut self, field: &'static str) -> Result<i64> {
        // Fast path: one byte.
        if let Some(&b) = self.data.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(i64::from(b >> 1) ^ -i64::from(b & 1));
            }
        }
        let start = self.pos;
        let mut z: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.truncated(field));
            };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(self.invalid(field, start, AvroProblem::VarintOverflow));
            }
            z |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    /// Reads an Avro `int`.
    #[inline]
    pub(crate) fn int(&mut self, field: &'static str) -> Result<i32> {
        let start = self.pos;
        let v = self.long(field)?;
        i32::try_from(v).map_err(|_| self.invalid(field, start, AvroProblem::IntOutOfRange(v)))
    }

    /// Reads a boolean.
    #[inline]
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool> {
        match self.data.get(self.pos) {
            None => Err(self.truncated(field)),
            Some(0) => {
                self.pos += 1;
                Ok(false)
            }
            Some(1) => {
                self.pos += 1;
                Ok(true)
            }
            Some(&b) => Err(self.invalid(field, self.pos, AvroProblem::InvalidBool(b))),
        }
    }

    /// Reads a length prefix and checks it against the bytes left.
    #[inline]
    fn len(&mut self, field: &'static str) -> Result<usize> {
        let start = self.pos;
        let declared = self.long(field)?;
        if declared < 0 {
            return Err(self.invalid(field, start, AvroProblem::NegativeLength(declared)));
        }
        let remaining = self.remaining();
        match usize::try_from(declared) {
            Ok(n) if n <= remaining => Ok(n),
            _ => Err(DecodeError::LengthTooLarge {
                field,
                offset: self.base + start,
                declared: declared.unsigned_abs(),
                remaining,
            }),
        }
    }

    /// Reads length-prefixed bytes, borrowed from the input.
    #[inline]
    pub(crate) fn bytes(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let n = self.len(field)?;
        let start = self.pos;
        let end = start + n;
        let out = self
            .data
            .get(start..end)
            .ok_or_else(|| self.truncated(field))?;
        self.pos = end;
        Ok(out)
    }

    /// Reads a string, borrowed from the input.
    #[inline]
    pub(crate) fn str(&mut self, field: &'static str) -> Result<&'a str> {
        let start = self.pos;
        let b = self.bytes(field)?;
        std::str::from_utf8(b).map_err(|_| self.invalid(field, start, AvroProblem::InvalidUtf8))
    }

    /// Reads a string into an owned `String`.
    #[inline]
    pub(crate) fn string(&mut self, field: &'static str) -> Result<String> {
        self.str(field).map(str::to_owned)
    }

    /// Reads an index in `0..n` (enum symbol or union branch).
    #[inline]
    fn index(&mut self, field: &'static str, n: usize, union: bool) -> Result<usize> {
        let start = self.pos;
        let i = self.long(field)?;
        match usize::try_from(i) {
            Ok(u) if u < n => Ok(u),
            _ => Err(self.invalid(
                field,
                start,
                if union {
                    AvroProblem::BadUnionIndex {
                        index: i,
                        branches: n,
                    }
                } else {
                    AvroProblem::BadEnumIndex {
                        index: i,
                        symbols: n,
                    }
                },
            )),
        }
    }

    /// Reads an enum.
    #[inline]
    pub(crate) fn enumeration<E: AvroEnum>(&mut self, field: &'static str) -> Result<E> {
        let i = self.index(field, E::ALL.len(), false)?;
        E::from_index(i).ok_or_else(|| {
            self.invalid(
                field,
                self.pos,
                AvroProblem::BadEnumIndex {
                    index: i as i64,
                    symbols: E::ALL.len(),
                },
            )
        })
    }

    /// Reads the branch index of a union of `branches` branches.
    #[inline]
    pub(crate) fn union_index(&mut self, field: &'static str, branches: usize) -> Result<usize> {
        self.index(field, branches, true)
    }

    /// Reads `["null", T]`: `None` for branch 0, `Some(read(self))` for branch 1.
    #[inline]
    pub(crate) fn optional<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.union_index(field, 2)? {
            0 => Ok(None),
            _ => read(self).map(Some),
        }
    }

    /// Reads an array of items that each take at least `min_item_bytes` (> 0) bytes,
    /// in any number of blocks, negative-count blocks (with a byte size) included.
    pub(crate) fn array<T>(
        &mut self,
        field: &'static str,
        min_item_bytes: usize,
        mut item: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut total: u64 = 0;
        loop {
            let count_at = self.pos;
            let count = self.long(field)?;
            if count == 0 {
                return Ok(out);
            }
            let n = count.unsigned_abs();
            let block_bytes = if count < 0 {
                Some(self.len(field)?)
            } else {
                None
            };
            total = total.saturating_add(n);
            if total > MAX_ARRAY_ITEMS as u64 {
                return Err(DecodeError::TooManyItems {
                    field,
                    declared: total,
                    cap: MAX_ARRAY_ITEMS,
                });
            }
            // n <= MAX_ARRAY_ITEMS here, so the casts below are lossless.
            let n = n as usize;
            let remaining = self.remaining();
            if n.saturating_mul(min_item_bytes.max(1)) > remaining {
                return Err(DecodeError::LengthTooLarge {
                    field,
                    offset: self.base + count_at,
                    declared: n as u64,
                    remaining,
                });
            }
            out.reserve(n);
            let start = self.pos;
            for _ in 0..n {
                out.push(item(self)?);
            }
            if let Some(declared) = block_bytes {
                let actual = self.pos - start;
                if actual != declared {
                    return Err(self.invalid(
                        field,
                        count_at,
                        AvroProblem::BlockSizeMismatch {
                            declared: declared as u64,
                            actual,
                        },
                    ));
                }
            }
        }
    }

    /// Skips `n` raw bytes (fixed, float, double).
    pub(crate) fn skip(&mut self, field: &'static str, n: usize) -> Result<()> {
        if n > self.remaining() {
            return Err(self.truncated(field));
        }
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_roundtrip_at_the_edges() {
        for v in [
            0,
            1,
            -1,
            63,
            -64,
            64,
            -65,
            i64::from(i32::MAX),
            i64::MAX,
            i64::MIN,
        ] {
            let mut buf = Vec::new();
            put_long(&mut buf, v);
            let mut r = Reader::new(&buf, 0);
            assert_eq!(r.long("x").unwrap(), v);
            r.finish().unwrap();
        }
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let buf = [0xff; 11];
        let err = Reader::new(&buf, 5).long("x").unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidAvro {
                field: "x",
                offset: 5,
                problem: AvroProblem::VarintOverflow
            }
        );
    }

    #[test]
    fn string_length_is_checked_before_allocating() {
        let mut buf = Vec::new();
        put_long(&mut buf, i64::MAX);
        let err = Reader::new(&buf, 0).string("s").unwrap_err();
        assert!(matches!(
            err,
            DecodeError::LengthTooLarge { field: "s", .. }
        ));
    }

    #[test]
    fn negative_block_counts_are_read() {
        let mut buf = Vec::new();
        put_long(&mut buf, -2);
        put_long(&mut buf, 2);
        put_long(&mut buf, 7);
        put_long(&mut buf, 8);
        put_long(&mut buf, 1);
        put_long(&mut buf, 9);
        put_long(&mut buf, 0);
        let mut r = Reader::new(&buf, 0);
        assert_eq!(r.array("a", 1, |r| r.long("i")).unwrap(), vec![7, 8, 9]);
        r.finish().unwrap();
    }
}
