//! The migrator and the row types against the real ClickHouse server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemas::examples;
use store::migrate::{migrate, verify, MigrationReport, MIGRATIONS};
use store::rows::{Row, SessionEventRow};
use store::{ClickHouseConfig, StoreError};
use testkit::TestDatabase;

fn config(db: &TestDatabase) -> ClickHouseConfig {
    ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    }
}

#[tokio::test]
async fn migrates_once_then_verifies_and_refuses_drift() {
    let db = TestDatabase::new("migrate");
    let cfg = config(&db);
    assert!(matches!(
        verify(&cfg).await,
        Err(StoreError::ClickHouse(_) | StoreError::Pending { .. })
    ));
    let all: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    let first = migrate(&cfg).await.expect("first run");
    assert_eq!(
        first,
        MigrationReport {
            applied: all.clone(),
            already_applied: vec![],
            deferred: None,
        }
    );
    let second = migrate(&cfg).await.expect("second run");
    assert_eq!(
        second,
        MigrationReport {
            applied: vec![],
            already_applied: all,
            deferred: None,
        }
    );
    // An empty session_events was rewritten at once (migration 0017).
    let create: String = db
        .client()
        .query("SHOW CREATE TABLE session_events")
        .fetch_one()
        .await
        .unwrap();
    assert!(create.contains("index_granularity = 1024"), "{create}");
    verify(&cfg).await.expect("fully migrated");

    // Someone edited an applied migration: the recorded checksum no longer matches.
    db.client()
        .query("INSERT INTO schema_migrations (version, name, checksum) VALUES (1, 'event_tables', 'edited')")
        .execute()
        .await
        .unwrap();
    assert!(matches!(
        verify(&cfg).await,
        Err(StoreError::ChecksumDrift { version: 1, .. })
    ));
    assert!(matches!(
        migrate(&cfg).await,
        Err(StoreError::ChecksumDrift { .. })
    ));
    db.client()
        .query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')")
        .execute()
        .await
        .unwrap();
    db.drop_database().await.unwrap();

    // A database migrated by a newer binary.
    let db = TestDatabase::new("migrate_newer");
    let cfg = config(&db);
    migrate(&cfg).await.unwrap();
    db.client()
        .query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')")
        .execute()
        .await
        .unwrap();
    assert!(matches!(
        migrate(&cfg).await,
        Err(StoreError::UnknownMigration { version: 9999, .. })
    ));
    db.drop_database().await.unwrap();
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct SessionView {
    session_id: String,
    started_at_ms: i64,
    ended_at_ms: i64,
    trigger: String,
    status: String,
    objects_type: Vec<String>,
}

#[tokio::test]
async fn example_rows_insert_and_read_back_through_the_views() {
    let db = TestDatabase::new("rows");
    let cfg = config(&db);
    migrate(&cfg).await.unwrap();
    let client = cfg.client();
    let mut sessions: Vec<SessionEventRow> = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for event in examples::all() {
        match Row::from_event(&event) {
            Row::Session(r) => sessions.push(r),
            Row::Issue(r) => {
                let mut insert = client
                    .insert::<store::rows::IssueEventRow>("issue_events")
                    .await
                    .unwrap();
                insert.write(&r).await.unwrap();
                insert.write(&r).await.unwrap(); // a duplicate
                insert.end().await.unwrap();
                *counts.entry("issues").or_insert(0u64) += 1;
            }
            Row::LogLines(chunk) => {
                let lines = chunk.to_rows();
                let mut insert = client
                    .insert::<store::rows::LogLineRow>("log_lines")
                    .await
                    .unwrap();
                for r in &lines {
                    insert.write(r).await.unwrap();
                }
                insert.end().await.unwrap();
                *counts.entry("session_logs").or_insert(0u64) += lines.len() as u64;
            }
            Row::UserState(r) => {
                let mut insert = client
                    .insert::<store::rows::UserStateRow>("user_state_events")
                    .await
                    .unwrap();
                insert.write(&r).await.unwrap();
                insert.end().await.unwrap();
                *counts.entry("user_state_history").or_insert(0u64) += 1;
            }
            Row::ProfileState(r) => {
                let mut insert = client
                    .insert::<store::rows::ProfileStateRow>("profile_state_events")
                    .await
                    .unwrap();
                insert.write(&r).await.unwrap();
                insert.end().await.unwrap();
                *counts.entry("profile_state_history").or_insert(0u64) += 1;
            }
        }
    }
    // Session events in reverse order and twice: the view merges them the same way.
    let mut insert = client
        .insert::<SessionEventRow>("session_events")
        .await
        .unwrap();
    for r in sessions.iter().rev().chain(sessions.iter()) {
        insert.write(r).await.unwrap();
    }
    insert.end().await.unwrap();
    for (view, expected) in counts {
        let n: u64 = client
            .query(&format!("SELECT count() FROM {view}"))
            .fetch_one()
            .await
            .unwrap();
        assert_eq!(n, expected, "{view}");
    }
    let merged: Vec<SessionView> = client
        .query("SELECT ?fields FROM sessions ORDER BY session_id")
        .fetch_all()
        .await
        .unwrap();
    let ids: std::collections::BTreeSet<&str> =
        sessions.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(merged.len(), ids.len());
    for s in &merged {
        let ended = sessions
            .iter()
            .find(|r| r.session_id == s.session_id && r.event_kind == "session_ended");
        match ended {
            Some(e) => {
                assert_eq!(s.status, e.status);
                assert_eq!(s.ended_at_ms, e.ended_at_ms);
                assert_eq!(s.started_at_ms, e.started_at_ms);
                assert_eq!(
                    s.objects_type,
                    e.objects_type
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                );
            }
            None => assert_eq!((s.status.as_str(), s.ended_at_ms), ("", 0)),
        }
        if let Some(st) = sessions
            .iter()
            .find(|r| r.session_id == s.session_id && r.event_kind == "session_started")
        {
            assert_eq!(s.trigger, st.trigger);
        }
    }
    db.drop_database().await.unwrap();
}
