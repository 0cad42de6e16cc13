//! The `.avsc` files themselves: documented, enums matching the Rust enums, optional
//! fields as `["null", T]` with a null default, timestamps as `timestamp-millis`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use schemas::registry::SCHEMAS;
use schemas::AvroEnum;
use schemas::*;
use serde_json::Value;

fn rust_enums() -> BTreeMap<&'static str, (Vec<&'static str>, Option<&'static str>)> {
    fn e<E: AvroEnum>() -> (&'static str, (Vec<&'static str>, Option<&'static str>)) {
        (E::NAME, (E::SYMBOLS.to_vec(), E::DEFAULT))
    }
    BTreeMap::from([
        e::<Trigger>(),
        e::<SessionStatus>(),
        e::<ErrorCategory>(),
        e::<ErrorSource>(),
        e::<ObjectType>(),
        e::<Direction>(),
        e::<MailSystem>(),
        e::<CrmSystem>(),
        e::<Operation>(),
        e::<LogLevel>(),
        e::<ChangeKind>(),
        e::<SyncSetting>(),
        e::<ConflictResolution>(),
        e::<AdminAction>(),
    ])
}

/// Walks a schema JSON, checking docs, optional fields, timestamps and enums.
fn walk(v: &Value, file: &str, seen_enums: &mut Vec<String>) {
    match v {
        Value::Object(o) => match o.get("type").and_then(Value::as_str) {
            Some("record") => {
                assert!(o.get("doc").is_some(), "{file}: record without doc");
                for f in o["fields"].as_array().unwrap() {
                    let name = f["name"].as_str().unwrap();
                    let doc = f.get("doc").and_then(Value::as_str).unwrap_or("");
                    assert!(!doc.trim().is_empty(), "{file}: field {name} without doc");
                    if let Value::Array(branches) = &f["type"] {
                        assert_eq!(branches[0], "null", "{file}: {name}");
                        assert_eq!(f.get("default"), Some(&Value::Null), "{file}: {name}");
                    }
                    if name == "at" || name.ends_with("_at") {
                        assert_eq!(
                            f["type"]["logicalType"], "timestamp-millis",
                            "{file}: {name}"
                        );
                    }
                    walk(&f["type"], file, seen_enums);
                }
            }
            Some("enum") => {
                let name = o["name"].as_str().unwrap();
                let symbols: Vec<&str> = o["symbols"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                let default = o.get("default").and_then(Value::as_str);
                let enums = rust_enums();
                let (rust_symbols, rust_default) = enums
                    .get(name)
                    .unwrap_or_else(|| panic!("{file}: unknown enum {name}"));
                assert_eq!(&symbols, rust_symbols, "{file}: {name}");
                assert_eq!(default, *rust_default, "{file}: {name} default");
                assert!(o.get("doc").is_some(), "{file}: enum {name} without doc");
                seen_enums.push(name.to_owned());
            }
            Some("array") => walk(&o["items"], file, seen_enums),
            _ => {}
        },
        Value::Array(branches) => {
            for b in branches {
                walk(b, file, seen_enums);
            }
        }
        _ => {}
    }
}

#[test]
fn every_field_documented_and_enums_match_rust() {
    let mut seen = Vec::new();
    for entry in &SCHEMAS {
        let json: Value = serde_json::from_str(entry.source).unwrap();
        assert!(
            json["namespace"]
                .as_str()
                .is_some_and(|n| n.starts_with("synctel.")),
            "{}",
            entry.file
        );
        walk(&json, entry.file, &mut seen);
    }
    // Every Rust enum appears in some schema.
    for name in rust_enums().keys() {
        assert!(seen.iter().any(|s| s == name), "enum {name} in no schema");
    }
}

#[test]
fn files_on_disk_are_the_embedded_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("avro");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = SCHEMAS.iter().map(|e| e.file.to_owned()).collect();
    embedded.sort();
    assert_eq!(on_disk, embedded);
}
