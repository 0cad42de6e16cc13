//! Rewrite migrations (store::rewrite; migration 0017 rewrites `session_events` with
//! 1,024-row granules) against the real ClickHouse server: left pending by the services
//! when the table has rows, applied by `migrate --rewrite` while rows keep arriving, taken
//! up again after a run cut short, and kept to one migrator at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use store::migrate::{migrate, migrate_rewriting, migrate_to, verify, Mode, MIGRATIONS};
use store::ClickHouseConfig;
use testkit::TestDatabase;

const REWRITE: u32 = 17;
const NEW_LAYOUT: &str = "index_granularity = 1024";
/// Migration 0020 creates a view over session_events: it waits for the rewrite.
const WAITED_FOR_THE_REWRITE: u32 = 20;

fn config(db: &TestDatabase) -> ClickHouseConfig {
    ClickHouseConfig {
        url: db.url.clone(),
        database: db.name.clone(),
        ..ClickHouseConfig::default()
    }
}

/// `n` session events of sessions `<prefix><i / 2>` (a start and an end each), users
/// `u<i % 50>`, ingested `ago_secs` ago.
fn insert_sql(prefix: &str, first: u64, n: u64, ago_secs: u64) -> String {
    format!(
        "INSERT INTO session_events (tenant_id, profile_id, user_id, session_id, event_kind, \
         event_id, occurred_at_ms, started_at_ms, ingested_at) \
         SELECT 't1', 'p1', concat('u', toString(number % 50)), \
         concat('{prefix}', toString(intDiv(number, 2))), \
         if(number % 2 = 0, 'session_started', 'session_ended'), \
         concat('{prefix}e', toString(number)), 1764979200000 + number, 1764979200000, \
         now() - {ago_secs} FROM system.numbers WHERE number >= {first} LIMIT {n}"
    )
}

async fn scalar(db: &TestDatabase, sql: &str) -> u64 {
    db.client().query(sql).fetch_one::<u64>().await.unwrap()
}

async fn layout(db: &TestDatabase) -> String {
    db.client()
        .query("SHOW CREATE TABLE session_events")
        .fetch_one::<String>()
        .await
        .unwrap()
}

/// Tables a rewrite leaves behind if it did not finish.
async fn leftovers(db: &TestDatabase) -> Vec<String> {
    db.client()
        .query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() \
             AND (name LIKE '%_rewrite1%' OR name LIKE '%_before1%' OR name = 'schema_rewrite_lock') \
             ORDER BY name",
        )
        .fetch_all::<String>()
        .await
        .unwrap()
}

/// A database as release 0016 left it, with `rows` session events ingested 3 hours ago.
async fn before_rewrite(name: &str, rows: u64) -> (TestDatabase, ClickHouseConfig) {
    let db = TestDatabase::new(name);
    let cfg = config(&db);
    let report = migrate_to(&cfg, REWRITE - 1, Mode::IfEmpty).await.unwrap();
    assert_eq!(report.applied.last(), Some(&(REWRITE - 1)));
    db.client()
        .query(&insert_sql("old", 0, rows, 3 * 3600))
        .execute()
        .await
        .unwrap();
    (db, cfg)
}

#[tokio::test]
async fn a_table_with_rows_is_left_pending_then_rewritten_while_rows_arrive() {
    let (db, cfg) = before_rewrite("rewrite_live", 300_000).await;

    // Services at start: the table has rows, so the rewrite waits for an operator.
    let report = migrate(&cfg).await.unwrap();
    assert_eq!(report.deferred, Some((REWRITE, 300_000)));
    // The migrations after it that leave session_events alone (0018, 0019) are applied:
    // the services need them whatever its layout. 0020 (a view over session_events) waits.
    assert_eq!(report.applied, vec![REWRITE + 1, REWRITE + 2]);
    let column: u64 = db
        .client()
        .query(
            "SELECT count() FROM system.columns WHERE database = currentDatabase() \
             AND table = 'user_state' AND name = 'last_success_started_at_ms'",
        )
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(column, 1, "0018 applied beside the pending rewrite");
    verify(&cfg)
        .await
        .expect("a pending rewrite lets the services run");
    assert!(!layout(&db).await.contains(NEW_LAYOUT));

    // An ingest stand-in writes batches of 100 rows the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, client) = (stop.clone(), written.clone(), db.client());
        tokio::spawn(async move {
            let mut batches_after_stop = 0;
            while batches_after_stop < 3 {
                if stop.load(Ordering::SeqCst) {
                    batches_after_stop += 1;
                }
                let first = written.load(Ordering::SeqCst);
                common::insert_as_ingest(&client, &insert_sql("live", first, 100, 0)).await;
                written.fetch_add(100, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = migrate_rewriting(&cfg).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    // The rewrite, then the migration that waited for it.
    assert_eq!(report.applied, vec![REWRITE, WAITED_FOR_THE_REWRITE]);
    assert_eq!(report.deferred, None);
    verify(&cfg).await.unwrap();

    let live = written.load(Ordering::SeqCst);
    assert!(live >= 300, "{live} rows written meanwhile");
    assert!(
        layout(&db).await.contains(NEW_LAYOUT),
        "{}",
        layout(&db).await
    );
    assert_eq!(leftovers(&db).await, Vec::<String>::new());
    // Every event is there (copies merge away: count distinct identities).
    assert_eq!(
        scalar(&db, "SELECT uniqExact(event_id) FROM session_events").await,
        300_000 + live
    );
    // The old rows kept their ingestion time.
    assert_eq!(
        scalar(
            &db,
            "SELECT uniqExact(event_id) FROM session_events WHERE ingested_at < now() - 7200"
        )
        .await,
        300_000
    );
    // Every session written during the rewrite is marked for recomputation after it.
    assert_eq!(
        scalar(
            &db,
            "SELECT uniqExact(session_id) FROM ingest_touches \
             WHERE source = 'session' AND session_id LIKE 'live%'"
        )
        .await,
        live / 2
    );
    // The view over the new table writes touches for new rows.
    db.client()
        .query(&insert_sql("after", 0, 2, 0))
        .execute()
        .await
        .unwrap();
    assert_eq!(
        scalar(
            &db,
            "SELECT count() FROM ingest_touches WHERE session_id = 'after0' AND ended = 1"
        )
        .await,
        1
    );
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn a_rewrite_cut_short_is_taken_up_by_the_next_run() {
    let (db, cfg) = before_rewrite("rewrite_resume", 5_000).await;
    let create = MIGRATIONS
        .iter()
        .find(|m| m.version == REWRITE)
        .unwrap()
        .statements()
        .remove(0)
        .replacen("session_events", "session_events_rewrite17", 1);

    // Killed during the copy: a scratch table with part of the rows.
    db.client().query(&create).execute().await.unwrap();
    db.client()
        .query("INSERT INTO session_events_rewrite17 SELECT * FROM session_events LIMIT 100")
        .execute()
        .await
        .unwrap();
    migrate_rewriting(&cfg).await.unwrap();
    assert!(layout(&db).await.contains(NEW_LAYOUT));
    assert_eq!(leftovers(&db).await, Vec::<String>::new());
    assert_eq!(
        scalar(&db, "SELECT count() FROM session_events").await,
        5_000,
        "copied once, not 100 rows twice"
    );
    db.drop_database().await.unwrap();

    // Killed after the swap: the old table got rows the copy missed, the view was not
    // created again.
    let (db, cfg) = before_rewrite("rewrite_resume2", 5_000).await;
    for sql in [
        create.as_str(),
        "INSERT INTO session_events_rewrite17 SELECT * FROM session_events",
        "RENAME TABLE session_events TO session_events_before17, session_events_rewrite17 TO session_events",
        "DROP TABLE ingest_touches_sessions",
    ] {
        db.client().query(sql).execute().await.unwrap();
    }
    db.client()
        .query(&insert_sql("old", 5_000, 10, 60).replace(
            "INSERT INTO session_events ",
            "INSERT INTO session_events_before17 ",
        ))
        .execute()
        .await
        .unwrap();
    assert_eq!(
        migrate(&cfg).await.unwrap().deferred,
        Some((REWRITE, 5_000)),
        "the services do not finish it either"
    );
    migrate_rewriting(&cfg).await.unwrap();
    assert_eq!(leftovers(&db).await, Vec::<String>::new());
    assert_eq!(
        scalar(&db, "SELECT uniqExact(event_id) FROM session_events").await,
        5_010
    );
    // The sessions the old table got meanwhile (ingested a minute ago) are marked for
    // recomputation now, besides the touch their insert wrote then.
    assert_eq!(
        scalar(
            &db,
            "SELECT uniqExact(session_id) FROM ingest_touches \
             WHERE session_id IN ('old2500', 'old2504') AND ingested_at >= now() - 30"
        )
        .await,
        2
    );
    db.client()
        .query(&insert_sql("after", 0, 2, 0))
        .execute()
        .await
        .unwrap();
    assert_eq!(
        scalar(
            &db,
            "SELECT count() FROM ingest_touches WHERE session_id = 'after0' AND ended = 1"
        )
        .await,
        1,
        "the view is there again"
    );
    db.drop_database().await.unwrap();
}

#[tokio::test]
async fn one_migrator_rewrites_at_a_time() {
    let db = TestDatabase::new("rewrite_lock");
    let cfg = config(&db);
    migrate_to(&cfg, REWRITE - 1, Mode::IfEmpty).await.unwrap();
    db.client()
        .query("CREATE TABLE schema_rewrite_lock (version UInt32, started DateTime) ENGINE = Log")
        .execute()
        .await
        .unwrap();
    // A service starting beside a migrator at work goes on without the rewrite.
    assert_eq!(migrate(&cfg).await.unwrap().deferred, Some((REWRITE, 0)));
    let refused = migrate_rewriting(&cfg).await.unwrap_err().to_string();
    assert!(refused.contains("schema_rewrite_lock"), "{refused}");
    db.client()
        .query("DROP TABLE schema_rewrite_lock")
        .execute()
        .await
        .unwrap();
    assert_eq!(
        migrate(&cfg).await.unwrap().applied,
        vec![REWRITE, WAITED_FOR_THE_REWRITE]
    );
    assert!(layout(&db).await.contains(NEW_LAYOUT));
    db.drop_database().await.unwrap();
}
