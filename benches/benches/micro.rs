//! Micro benchmarks, in memory (no servers): each figure in a criterion group beside its
//! same-run baseline, then a table of ratios.
//!
//! - `decode_<example>`: our `schemas::wire::decode` vs serde_json decoding the same event
//!   as JSON (`Event` derives Deserialize) vs apache-avro's generic `Value` path
//!   (`schemas::reference::decode_body`), apache-avro `Value` + `from_value` into typed
//!   structs, and serde_avro_fast into the same typed structs; the serde-driven decoders
//!   fill mirror records of the `.avsc` and move them into an `Event` (see `micro/mirror.rs`)
//!   so every path ends with the same value.
//! - `validate`: `schemas::validate::validate_at` over the 8 examples vs decoding them.
//! - `rows`: `store::rows::Row::from_event` over the 8 examples vs cloning them.
//! - `csv_session_row`: one `sessions` export row as query-api writes it (JSONEachRow line
//!   -> values -> one CSV record, formulas neutralized, into a 64 KiB chunk writer; see
//!   `query_api::query::export`, via `micro/csv_row.rs`) vs the csv crate writing the same ready cells.
//! - `status_user`: `aggregator::rules::derive_user` on one simulated user with ~100
//!   sessions vs decoding that user's messages.
//!
//! Run: `cargo bench -p benches --bench micro` (about 2.5 minutes: 30 samples, 0.5 s warm-up
//! and 1.5 s measurement per figure; criterion's usual flags and filters work).

#[path = "micro/csv_row.rs"]
mod csv_row;
#[path = "micro/mirror.rs"]
mod mirror;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use aggregator::rules::{derive_user, Limits};
use criterion::Criterion;
use schemas::{examples, reference, registry, validate, wire, Event, MessageKind};
use simulator::SimConfig;
use store::rows::Row;

/// The figures compared at the end: (group, figure, baseline).
const RATIOS: &[(&str, &str, &str)] = &[
    ("validate", "validate_at_8_events", "ours_decode_8_events"),
    ("rows", "row_from_event_8_events", "clone_8_events"),
    (
        "csv_session_row",
        "query_api_json_line_to_csv",
        "csv_reused_writer",
    ),
    (
        "csv_session_row",
        "query_api_values_to_csv",
        "csv_reused_writer",
    ),
    ("status_user", "derive_user", "ours_decode_user_events"),
];

const DECODERS: &[&str] = &[
    "serde_json",
    "apache_avro_value",
    "apache_avro_from_value",
    "serde_avro_fast",
];

struct Fast<'a>(&'a [u8], &'a serde_avro_fast::Schema);

impl mirror::SerdeAvro for Fast<'_> {
    type Error = serde_avro_fast::de::DeError;
    fn de<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_avro_fast::de::DeError> {
        serde_avro_fast::from_datum_slice(self.0, self.1)
    }
}

struct FromValue<'a>(&'a apache_avro::types::Value);

impl mirror::SerdeAvro for FromValue<'_> {
    type Error = apache_avro::Error;
    fn de<T: serde::de::DeserializeOwned>(&self) -> Result<T, apache_avro::Error> {
        apache_avro::from_value(self.0)
    }
}

fn decode(c: &mut Criterion) {
    for (name, event) in examples::named() {
        let bytes = wire::encode(&event);
        let body = &bytes[wire::HEADER_LEN..];
        let json = serde_json::to_vec(&event).unwrap_or_default();
        let event_kind = event.kind();
        let kind = MessageKind::Event(event_kind);
        let fast: serde_avro_fast::Schema = match registry::current(kind).source.parse() {
            Ok(s) => s,
            Err(e) => panic!("{name}: serde_avro_fast schema: {e}"),
        };
        // Every path must give back the same event, or the comparison means nothing.
        let from_value = |body: &[u8]| {
            let value = reference::decode_body(kind, body).ok()?;
            mirror::decode(event_kind, &FromValue(&value)).ok()
        };
        assert_eq!(wire::decode(&bytes).ok().as_ref(), Some(&event), "{name}");
        assert_eq!(
            serde_json::from_slice::<Event>(&json).ok(),
            Some(event.clone())
        );
        assert_eq!(from_value(body).as_ref(), Some(&event), "{name}");
        assert_eq!(
            mirror::decode(event_kind, &Fast(body, &fast)).ok().as_ref(),
            Some(&event),
            "{name}"
        );

        let mut g = c.benchmark_group(format!("decode_{name}"));
        g.bench_function("ours_wire", |b| b.iter(|| wire::decode(black_box(&bytes))));
        g.bench_function("serde_json", |b| {
            b.iter(|| serde_json::from_slice::<Event>(black_box(&json)))
        });
        g.bench_function("apache_avro_value", |b| {
            b.iter(|| reference::decode_body(kind, black_box(body)))
        });
        g.bench_function("apache_avro_from_value", |b| {
            b.iter(|| from_value(black_box(body)))
        });
        g.bench_function("serde_avro_fast", |b| {
            b.iter(|| mirror::decode(event_kind, &Fast(black_box(body), &fast)))
        });
        g.finish();
    }
}

fn validate_and_rows(c: &mut Criterion) {
    let events = examples::all();
    let encoded: Vec<Vec<u8>> = events.iter().map(wire::encode).collect();
    // The examples are dated 2025; "now" a day after the latest keeps them all valid.
    let now = events.iter().map(Event::occurred_at_ms).max().unwrap_or(0) + 86_400_000;
    for e in &events {
        assert_eq!(validate::validate_at(e, now), Ok(()));
    }

    let mut g = c.benchmark_group("validate");
    g.bench_function("validate_at_8_events", |b| {
        b.iter(|| {
            for e in black_box(&events) {
                let _ = black_box(validate::validate_at(e, now));
            }
        })
    });
    g.bench_function("ours_decode_8_events", |b| {
        b.iter(|| {
            for m in black_box(&encoded) {
                let _ = black_box(wire::decode(m));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("rows");
    g.bench_function("row_from_event_8_events", |b| {
        b.iter(|| {
            for e in black_box(&events) {
                black_box(Row::from_event(e));
            }
        })
    });
    g.bench_function("clone_8_events", |b| {
        b.iter(|| {
            for e in black_box(&events) {
                black_box(e.clone());
            }
        })
    });
    g.finish();
}

fn csv_session_row(c: &mut Criterion) {
    let Event::SessionEnded(e) = examples::session_ended_error() else {
        return;
    };
    // A `sessions` row as ClickHouse sends it (JSONEachRow), the export's default columns
    // in order; the message starts with a formula character, so it is neutralized.
    let columns = query_api::query::specs::SESSIONS.default_columns;
    let mut row = serde_json::json!({
        "session_id": e.session_id,
        "user_id": e.header.user_id,
        "profile_id": e.header.profile_id,
        "started_at_ms": e.started_at_ms,
        "ended_at_ms": e.ended_at_ms,
        "duration_ms": e.ended_at_ms - e.started_at_ms,
        "trigger": "Schedule",
        "status": "Error",
        "scope_items": e.scope_items,
        "changes": e.changes,
        "total_changes": e.total_changes,
        "failures": e.failures,
        "issues": e.issues,
        "conflicts": e.conflicts,
        "error_category": "Throttling",
        "error_source": "Crm",
        "message": format!("-{}", e.message.unwrap_or_default()),
    });
    let map = row.as_object_mut().map(std::mem::take).unwrap_or_default();
    // JSONEachRow keeps the SELECT's column order.
    let line = {
        let ordered: Vec<String> = columns
            .iter()
            .map(|c| format!("{:?}:{}", c, map.get(*c).cloned().unwrap_or_default()))
            .collect();
        format!("{{{}}}", ordered.join(","))
    };
    let values = serde_json::from_str::<csv_row::RowValues>(&line)
        .map(|r| r.0)
        .unwrap_or_default();
    // The same cells as query-api's `fetch::cell` makes them (its public helper).
    let cells: Vec<String> = columns
        .iter()
        .map(|c| query_api::query::export::cell(map.get(*c)))
        .collect();
    // The replicated writer and `fetch::cell` agree on this row.
    let mut out = csv_row::chunk_writer();
    let mut scratch = String::new();
    let _ = csv_row::write_row(&mut out, &mut scratch, &values);
    let mut check = csv_row::chunk_writer();
    let _ = check.write_record(&cells);
    assert_eq!(out.into_inner().ok(), check.into_inner().ok());
    assert!(cells.iter().any(|c| c.starts_with("'-")));

    let mut g = c.benchmark_group("csv_session_row");
    let mut out = csv_row::chunk_writer();
    g.bench_function("query_api_json_line_to_csv", |b| {
        b.iter(|| {
            if let Ok(row) = serde_json::from_str::<csv_row::RowValues>(black_box(&line)) {
                let _ = csv_row::write_row(&mut out, &mut scratch, &row.0);
            }
            csv_row::maybe_cut(&mut out);
        })
    });
    g.bench_function("query_api_values_to_csv", |b| {
        b.iter(|| {
            let _ = csv_row::write_row(&mut out, &mut scratch, black_box(&values));
            csv_row::maybe_cut(&mut out);
        })
    });
    g.bench_function("csv_reused_writer", |b| {
        b.iter(|| {
            let _ = out.write_record(black_box(&cells));
            csv_row::maybe_cut(&mut out);
        })
    });
    g.finish();
}

fn status_user(c: &mut Criterion) {
    // 2 profiles x 4 users, ~110 sessions each (one every ~5 min over 10 h), no logs.
    let cfg = SimConfig {
        seed: 11,
        tenants: 1,
        profiles_per_tenant: 2,
        users_per_profile: 4,
        span_ms: 10 * 3_600_000,
        logs: false,
        state_change_rate: 0.02,
        ..SimConfig::default()
    };
    let (records, manifest) = simulator::simulate(&cfg);
    let mut profiles = Vec::new();
    let mut users: std::collections::BTreeMap<String, Vec<(Vec<u8>, Event)>> = Default::default();
    for r in records {
        match wire::decode(&r.payload) {
            Ok(Event::ProfileState(p)) => profiles.push(p),
            Ok(e) => {
                let user = e.header().map(|h| h.user_id.clone()).unwrap_or_default();
                users.entry(user).or_default().push((r.payload, e));
            }
            Err(_) => {}
        }
    }
    let sessions = |evs: &[(Vec<u8>, Event)]| {
        evs.iter()
            .filter(|(_, e)| matches!(e, Event::SessionEnded(_)))
            .count()
    };
    // The user whose session count is closest to 100.
    let Some((user, chosen)) = users
        .iter()
        .min_by_key(|(_, evs)| sessions(evs).abs_diff(100))
    else {
        return;
    };
    let payloads: Vec<&[u8]> = chosen.iter().map(|(p, _)| p.as_slice()).collect();
    let events: Vec<Event> = chosen.iter().map(|(_, e)| e.clone()).collect();
    let limits = Limits::default();
    let now = manifest.end_ms;
    let status = derive_user(&events, &profiles, now, &limits);
    println!(
        "status_user: user {user}, {} events, {} sessions ended, state {:?}",
        events.len(),
        sessions(chosen),
        status.as_ref().map(|s| s.sync_state.as_str())
    );

    let mut g = c.benchmark_group("status_user");
    g.bench_function("derive_user", |b| {
        b.iter(|| derive_user(black_box(&events), &profiles, now, &limits))
    });
    g.bench_function("ours_decode_user_events", |b| {
        b.iter(|| {
            for p in black_box(&payloads) {
                let _ = black_box(wire::decode(p));
            }
        })
    });
    g.finish();
}

/// Where criterion writes its estimates: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`,
/// or the workspace's `target/criterion`.
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// The median of one figure of this run, ns, from criterion's `new/estimates.json`.
fn median_ns(group: &str, figure: &str) -> Option<f64> {
    let path = criterion_home()
        .join(group)
        .join(figure)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn print_ratios() {
    println!("\n## Ratios (medians of this run)\n");
    println!("| group | figure | median | baseline | median | ratio |");
    println!("|---|---|---|---|---|---|");
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (name, _) in examples::named() {
        for base in DECODERS {
            rows.push((format!("decode_{name}"), "ours_wire".into(), (*base).into()));
        }
    }
    for (g, f, b) in RATIOS {
        rows.push(((*g).into(), (*f).into(), (*b).into()));
    }
    for (group, figure, base) in rows {
        let (Some(f), Some(b)) = (median_ns(&group, &figure), median_ns(&group, &base)) else {
            continue;
        };
        println!(
            "| {group} | {figure} | {} | {base} | {} | {:.2} |",
            fmt_ns(f),
            fmt_ns(b),
            f / b
        );
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args();
    decode(&mut c);
    validate_and_rows(&mut c);
    csv_session_row(&mut c);
    status_user(&mut c);
    c.final_summary();
    print_ratios();
}
