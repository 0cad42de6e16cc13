//! Reading a message written with a non-current schema version: apache-avro resolves the
//! writer's data to the current reader schema (defaults filled, removed fields dropped),
//! and the result is re-encoded with the current schema so the hand-written decoder can
//! read it. This path is only for old (or, with a registry, newer) writers, so its cost
//! matters less than its correctness.
//!
//! apache-avro trusts length prefixes up to a global 512 MiB limit, so [`check`] first
//! walks the writer's bytes with the writer schema and the same bounds as the hand-written
//! decoder (every length within the bytes left, item caps, enum and union indexes, UTF-8,
//! no trailing bytes). Only bytes that pass reach apache-avro.

use std::collections::HashMap;

use apache_avro::schema::{Name, Namespace, Schema};

use crate::binary::Reader;
use crate::error::{AvroProblem, DecodeError};
use crate::registry::SchemaEntry;
use crate::wire::HEADER_LEN;

/// Deepest nesting of records/arrays/unions the checker follows.
const MAX_DEPTH: usize = 32;

type Names = HashMap<Name, &'static Schema>;

/// Resolves a body written with `writer` to a body of the current schema `reader`.
pub(crate) fn to_current(
    writer: &'static SchemaEntry,
    reader: &'static SchemaEntry,
    body: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let ws = writer.schema();
    check(ws, body)?;
    let failed = |e: apache_avro::Error| DecodeError::Resolution {
        id: writer.id,
        reason: e.to_string(),
    };
    let mut input = body;
    let value =
        apache_avro::from_avro_datum(ws, &mut input, Some(reader.schema())).map_err(failed)?;
    apache_avro::to_avro_datum(reader.schema(), value).map_err(failed)
}

/// Checks that `body` is exactly one datum of `schema`, within the decoder's bounds.
pub(crate) fn check(schema: &'static Schema, body: &[u8]) -> Result<(), DecodeError> {
    let mut names = Names::new();
    collect_names(schema, &mut names);
    let ns: Namespace = match schema {
        Schema::Record(r) => r.name.namespace.clone(),
        _ => None,
    };
    let mut r = Reader::new(body, HEADER_LEN);
    walk(schema, &names, &ns, &mut r, "", 0)?;
    r.finish()
}

fn collect_names(schema: &'static Schema, names: &mut Names) {
    match schema {
        Schema::Record(r) => {
            names.insert(r.name.clone(), schema);
            for f in &r.fields {
                collect_names(&f.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema);
        }
        Schema::Fixed(f) => {
            names.insert(f.name.clone(), schema);
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => {
            for v in u.variants() {
                collect_names(v, names);
            }
        }
        _ => {}
    }
}

fn unsupported(r: &Reader<'_>, field: &'static str, what: &'static str) -> DecodeError {
    DecodeError::InvalidAvro {
        field,
        offset: r.offset(),
        problem: AvroProblem::Unsupported(what),
    }
}

fn walk(
    schema: &'static Schema,
    names: &Names,
    ns: &Namespace,
    r: &mut Reader<'_>,
    field: &'static str,
    depth: usize,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(unsupported(r, field, "nesting too deep"));
    }
    match schema {
        Schema::Null => Ok(()),
        Schema::Boolean => r.bool(field).map(drop),
        Schema::Int | Schema::Date | Schema::TimeMillis => r.int(field).map(drop),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => r.long(field).map(drop),
        Schema::Float => r.skip(field, 4),
        Schema::Double => r.skip(field, 8),
        Schema::Bytes => r.bytes(field).map(drop),
        Schema::String => r.str(field).map(drop),
        Schema::Fixed(f) => r.skip(field, f.size),
        Schema::Enum(e) => {
            let at = r.offset();
            let i = r.int(field)?;
            match usize::try_from(i) {
                Ok(u) if u < e.symbols.len() => Ok(()),
                _ => Err(DecodeError::InvalidAvro {
                    field,
                    offset: at,
                    problem: AvroProblem::BadEnumIndex {
                        index: i64::from(i),
                        symbols: e.symbols.len(),
                    },
                }),
            }
        }
        Schema::Union(u) => {
            let variants = u.variants();
            let i = r.union_index(field, variants.len())?;
            match variants.get(i) {
                Some(v) => walk(v, names, ns, r, field, depth + 1),
                None => Err(unsupported(r, field, "union branch")),
            }
        }
        Schema::Array(a) => r
            .array(field, 1, |r| walk(&a.items, names, ns, r, field, depth + 1))
            .map(drop),
        Schema::Map(m) => r
            .array(field, 1, |r| {
                r.str(field)?;
                walk(&m.types, names, ns, r, field, depth + 1)
            })
            .map(drop),
        Schema::Record(rec) => {
            for f in &rec.fields {
                walk(&f.schema, names, ns, r, f.name.as_str(), depth + 1)?;
            }
            Ok(())
        }
        Schema::Ref { name } => {
            let full = name.fully_qualified_name(ns);
            match names.get(&full).or_else(|| names.get(name)) {
                Some(s) => walk(s, names, ns, r, field, depth + 1),
                None => Err(unsupported(r, field, "unresolved reference")),
            }
        }
        _ => Err(unsupported(r, field, "logical type")),
    }
}
