//! Rows sent as pre-encoded RowBinary (`store::rowbinary`, what ingest sends) are stored
//! exactly as the `clickhouse` crate's own typed insert stores them, on the real server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemas::{examples, Event};
use store::migrate::migrate;
use store::rowbinary::EncodedRows;
use store::rows::{
    DeadLetterRow, IssueEventRow, LogChunk, LogLineRef, LogLineRow, ProfileStateRow, Row,
    SessionEventRow, UserStateRow,
};
use store::ClickHouseConfig;
use testkit::TestDatabase;

const INGESTED_AT: u32 = 1_765_000_000;

fn config(db: &TestDatabase) -> ClickHouseConfig {
    ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    }
}

/// Every example event, and each again (another event id) with long, non-ASCII strings
/// (lengths of two and three LEB128 bytes) in its free-text fields.
fn events() -> Vec<Event> {
    let long = format!("é€😀 {}", "x".repeat(20_000));
    let mut all = examples::all();
    for event in examples::all() {
        let mut json = serde_json::to_value(&event).unwrap();
        stretch(&mut json, &long);
        all.push(serde_json::from_value::<Event>(json).expect("the stretched event"));
    }
    all
}

/// Appends `suffix` to the free-text fields of an event's JSON.
fn stretch(value: &mut serde_json::Value, suffix: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let free_text = [
                    "text",
                    "message",
                    "exception",
                    "description",
                    "object_name",
                    "display_name",
                    "name",
                    "last_token_error",
                ];
                match v {
                    serde_json::Value::String(s) if free_text.contains(&key.as_str()) => {
                        s.push_str(suffix);
                    }
                    serde_json::Value::String(s) if key == "event_id" => s.push_str("-long"),
                    _ => stretch(v, suffix),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| stretch(v, suffix)),
        _ => {}
    }
}

#[derive(Default)]
struct Tables {
    sessions: Vec<SessionEventRow>,
    issues: Vec<IssueEventRow>,
    log_lines: Vec<LogLineRow>,
    chunks: Vec<LogChunk>,
    user_states: Vec<UserStateRow>,
    profile_states: Vec<ProfileStateRow>,
}

fn tables(ingested_at: u32) -> Tables {
    let mut t = Tables::default();
    for event in events() {
        match Row::from_event_at(&event, ingested_at) {
            Row::Session(r) => t.sessions.push(r),
            Row::Issue(r) => t.issues.push(r),
            Row::LogLines(chunk) => {
                t.log_lines.extend(chunk.to_rows());
                t.chunks.push(chunk);
            }
            Row::UserState(r) => t.user_states.push(r),
            Row::ProfileState(r) => t.profile_states.push(r),
        }
    }
    t
}

async fn typed<T>(client: &clickhouse::Client, table: &str, rows: &[T])
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut insert = client.insert::<T>(table).await.unwrap();
    for r in rows {
        insert.write(r).await.unwrap();
    }
    insert.end().await.unwrap();
}

/// Encoded, then stamped with [`INGESTED_AT`] as ingest stamps a batch.
async fn encoded<T>(client: &clickhouse::Client, table: &str, rows: &[T])
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    let mut encoded = EncodedRows::<T>::default();
    for r in rows {
        encoded.push(r).unwrap();
    }
    encoded.stamp(INGESTED_AT);
    encoded
        .insert(client, table, std::time::Duration::from_secs(30))
        .await
        .unwrap();
}

/// The table's rows as sorted TSV lines, after the merges that could make two databases
/// differ are forced.
async fn table_text(client: &clickhouse::Client, table: &str) -> Vec<String> {
    client
        .query(&format!("OPTIMIZE TABLE {table} FINAL"))
        .execute()
        .await
        .unwrap();
    let bytes = client
        .query(&format!("SELECT * FROM {table}"))
        .fetch_bytes("TabSeparated")
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut lines: Vec<String> = String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn encoded_rows_are_stored_as_the_typed_insert_stores_them() {
    let (a, b) = (
        TestDatabase::new("rowbinary_typed"),
        TestDatabase::new("rowbinary_encoded"),
    );
    for db in [&a, &b] {
        migrate(&config(db)).await.unwrap();
    }
    let (ca, cb) = (config(&a).client(), config(&b).client());
    let t = tables(INGESTED_AT);
    let unstamped = tables(0);
    assert!(
        !t.sessions.is_empty()
            && !t.issues.is_empty()
            && !t.log_lines.is_empty()
            && !t.user_states.is_empty()
            && !t.profile_states.is_empty()
    );
    typed(&ca, "session_events", &t.sessions).await;
    encoded(&cb, "session_events", &unstamped.sessions).await;
    typed(&ca, "issue_events", &t.issues).await;
    encoded(&cb, "issue_events", &unstamped.issues).await;
    typed(&ca, "log_lines", &t.log_lines).await;
    // As ingest does: each chunk's lines borrowed, its ids not copied per line.
    let mut lines = EncodedRows::<LogLineRef<'static>>::default();
    for chunk in &unstamped.chunks {
        lines.push_all(chunk.rows()).unwrap();
    }
    lines.stamp(INGESTED_AT);
    assert_eq!(lines.len(), t.log_lines.len());
    lines
        .insert(&cb, "log_lines", std::time::Duration::from_secs(30))
        .await
        .unwrap();
    typed(&ca, "user_state_events", &t.user_states).await;
    encoded(&cb, "user_state_events", &unstamped.user_states).await;
    typed(&ca, "profile_state_events", &t.profile_states).await;
    encoded(&cb, "profile_state_events", &unstamped.profile_states).await;
    let dead = vec![DeadLetterRow {
        topic: "t".into(),
        partition: 2,
        offset: 300,
        message_key: "k".into(),
        payload: vec![0, 159, 146, 150, 255],
        payload_bytes: 5,
        payload_sha256: "ab".repeat(32),
        payload_truncated: 1,
        message_timestamp_ms: -5,
        error_kind: "contract_violation".into(),
        error_message: "é".repeat(100),
        received_at_ms: 7,
    }];
    typed(&ca, "dead_letters", &dead).await;
    encoded(&cb, "dead_letters", &dead).await;

    for table in [
        "session_events",
        "issue_events",
        "log_lines",
        "user_state_events",
        "profile_state_events",
        "dead_letters",
    ] {
        let (ta, tb) = (table_text(&ca, table).await, table_text(&cb, table).await);
        assert!(!ta.is_empty(), "{table}");
        assert_eq!(ta, tb, "{table}");
    }
    let stamped: u64 = cb
        .query("SELECT count() FROM session_events WHERE ingested_at = toDateTime(?)")
        .bind(INGESTED_AT)
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(stamped as usize, t.sessions.len());
    a.drop_database().await.unwrap();
    b.drop_database().await.unwrap();
}
