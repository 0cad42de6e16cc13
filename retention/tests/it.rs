//! Retention against the real ClickHouse: each test its own migrated database, rows placed
//! in old, kept and current months by the server's own date, the aggregator run in-process
//! to fill its derived tables.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::{Aggregator, AggregatorConfig};
use chrono::{Datelike, Months, NaiveDate};
use retention::plan::Month;
use retention::RetentionConfig;
use store::ClickHouseConfig;
use testkit::TestDatabase;

struct Db {
    db: TestDatabase,
    today: NaiveDate,
    now_ms: i64,
}

impl Db {
    async fn new(test: &str) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()))
            .with_test_writer()
            .try_init();
        let db = TestDatabase::new(test);
        let mut me = Self {
            db,
            today: NaiveDate::MIN,
            now_ms: 0,
        };
        store::migrate::migrate(&me.clickhouse())
            .await
            .expect("migrate");
        let (today, now_s) = me
            .db
            .client()
            .query("SELECT toString(today()), toUnixTimestamp(now())")
            .fetch_one::<(String, u32)>()
            .await
            .unwrap();
        me.today = NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap();
        me.now_ms = i64::from(now_s) * 1000;
        me
    }

    fn clickhouse(&self) -> ClickHouseConfig {
        ClickHouseConfig {
            url: self.db.url.clone(),
            database: self.db.name.clone(),
            ..ClickHouseConfig::default()
        }
    }

    fn config(&self) -> RetentionConfig {
        RetentionConfig {
            clickhouse: self.clickhouse(),
            ..RetentionConfig::default()
        }
    }

    /// Noon (server time, UTC here) of the 15th, `n` months before the current month, ms:
    /// well inside its month whatever the time zone.
    fn months_ago(&self, n: u32) -> i64 {
        let first = self.today.with_day0(0).unwrap();
        let day = first.checked_sub_months(Months::new(n)).unwrap() + chrono::Days::new(14);
        day.and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    fn month(&self, n: u32) -> String {
        let first = self.today.with_day0(0).unwrap();
        Month::of(first.checked_sub_months(Months::new(n)).unwrap()).to_string()
    }

    async fn exec(&self, sql: &str) {
        self.db.client().query(sql).execute().await.unwrap();
    }

    /// Every active (table, partition) of the database.
    async fn partitions(&self) -> BTreeSet<(String, String)> {
        self.db
            .client()
            .query(
                "SELECT table, partition_id FROM system.parts \
                 WHERE database = ? AND active GROUP BY table, partition_id",
            )
            .bind(&self.db.name)
            .fetch_all::<(String, String)>()
            .await
            .unwrap()
            .into_iter()
            .collect()
    }

    async fn session(&self, user: &str, id: &str, start_ms: i64, status: &str) {
        let end_ms = start_ms + 60_000;
        self.exec(&format!(
            "INSERT INTO session_events (tenant_id, profile_id, user_id, session_id, event_kind, \
             event_id, occurred_at_ms, trigger, started_at_ms, ended_at_ms, status) VALUES \
             ('t', 'p', '{user}', '{id}', 'session_started', '{id}-s', {start_ms}, 'Schedule', {start_ms}, 0, ''), \
             ('t', 'p', '{user}', '{id}', 'session_ended', '{id}-e', {end_ms}, '', {start_ms}, {end_ms}, '{status}')"
        ))
        .await;
    }

    async fn user(&self, user: &str, at_ms: i64) {
        self.exec(&format!(
            "INSERT INTO user_state_events (tenant_id, profile_id, user_id, event_id, \
             occurred_at_ms, change, display_name, sync_setting, crm_token_active, \
             mail_token_authorized) VALUES ('t', 'p', '{user}', '{user}-c', {at_ms}, 'Created', \
             '{user}', 'Enabled', 1, 1)"
        ))
        .await;
    }

    fn aggregator_config(&self) -> AggregatorConfig {
        let mut c = AggregatorConfig::default();
        c.clickhouse = self.clickhouse();
        c.cycle.settle_secs = 1;
        // No overlap: a cycle after the events were taken in recomputes nobody (with the
        // default 10 s, the next cycles would recompute the users of events just inserted).
        c.cycle.overlap_secs = 0;
        c.cycle.snapshot_interval_ms = 1;
        c
    }

    async fn aggregator(&self) -> Aggregator {
        let metrics = aggregator::metrics::Metrics::new(
            &mut prometheus_client::registry::Registry::default(),
        );
        Aggregator::new(self.aggregator_config(), Arc::new(metrics))
            .await
            .unwrap()
    }

    /// The one number `sql` returns (a count, a maximum).
    async fn number(&self, sql: &str) -> u64 {
        self.db.client().query(sql).fetch_one().await.unwrap()
    }

    /// Runs aggregator cycles until `sql` (a count) returns `want` (bounded wait: the
    /// aggregator only sees rows once they are `settle_secs` old).
    async fn cycle_until(&self, agg: &mut Aggregator, sql: &str, want: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            agg.cycle().await.unwrap();
            let got = self.number(sql).await;
            if got == want {
                return;
            }
            assert!(Instant::now() < deadline, "{sql}: {got}, want {want}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The current status of every user: `user_state FINAL` without the cycle's
    /// bookkeeping (`version`, `computed_at_ms`).
    async fn status(&self) -> Vec<String> {
        self.db
            .client()
            .query(
                "SELECT concat(user_id, ' ', effective_status, ' ', sync_state, ' ', \
                 toString(no_recent_session), ' ', last_session_id, ' ', \
                 toString(last_session_started_at_ms), ' ', toString(last_session_ended_at_ms), \
                 ' ', last_session_status, ' ', last_outcome, ' ', toString(ever_succeeded), ' ', \
                 toString(consecutive_failures), ' ', toString(first_seen_ms), ' ', \
                 toString(last_event_at_ms), ' ', toString(changes_at_ms)) \
                 FROM user_state FINAL ORDER BY user_id",
            )
            .fetch_all::<String>()
            .await
            .unwrap()
    }
}

fn planned(plan: &retention::Plan) -> BTreeSet<(String, String)> {
    plan.candidates
        .iter()
        .map(|c| (c.table.name.to_owned(), c.month.to_string()))
        .collect()
}

/// Rows in old months of every managed table (and of the state-event tables, which are
/// never dropped), in kept months and in the current month: the dry run lists exactly the
/// old partitions and drops nothing; the run drops them and nothing else; a second run is a
/// no-op.
#[tokio::test]
async fn drops_exactly_the_months_older_than_each_period_once() {
    let db = Db::new("retention_drop").await;
    let now = db.now_ms;
    let old_session = db.months_ago(16);
    // Sessions: 16 months ago goes (400 days), 2 months ago and now stay.
    db.user("u1", old_session).await;
    db.exec(&format!(
        "INSERT INTO profile_state_events (tenant_id, profile_id, event_id, occurred_at_ms, \
         change, name, sync_enabled) VALUES ('t', 'p', 'p-c', {old_session}, 'Created', 'p', 1)"
    ))
    .await;
    db.session("u1", "s-old", old_session, "Success").await;
    db.session("u1", "s-kept", db.months_ago(2), "Error").await;
    db.session("u1", "s-now", now - 600_000, "Success").await;
    // Issues: same periods as sessions.
    for (id, at) in [
        ("i-old", old_session),
        ("i-kept", db.months_ago(2)),
        ("i-now", now),
    ] {
        db.exec(&format!(
            "INSERT INTO issue_events (tenant_id, profile_id, user_id, session_id, issue_id, \
             event_id, occurred_at_ms, object_type, direction, error_code) VALUES \
             ('t', 'p', 'u1', 's', '{id}', '{id}', {at}, 'Contact', 'MailToCrm', 1)"
        ))
        .await;
    }
    // Logs and dead letters: 6 months ago goes (90 days), last month and now stay.
    for (seq, at) in [(1, db.months_ago(6)), (2, db.months_ago(1)), (3, now)] {
        db.exec(&format!(
            "INSERT INTO log_lines (tenant_id, profile_id, user_id, session_id, sequence, \
             line_no, event_id, chunk_at_ms, at_ms, level, text) VALUES \
             ('t', 'p', 'u1', 's', {seq}, 0, 'l{seq}', {at}, {at}, 'Info', 'x')"
        ))
        .await;
        db.exec(&format!(
            "INSERT INTO dead_letters (topic, partition, offset, message_key, payload, \
             message_timestamp_ms, error_kind, error_message, received_at_ms) VALUES \
             ('synctel.events', 0, {seq}, '', '', {at}, 'truncated', 'x', {at})"
        ))
        .await;
    }
    // Audit: 70 months ago goes (1825 days), 20 months ago stays.
    for (id, at) in [("a-old", db.months_ago(70)), ("a-kept", db.months_ago(20))] {
        db.exec(&format!(
            "INSERT INTO admin_actions (tenant_id, profile_id, user_id, request_id, command_id, \
             action, issued_by, issued_at_ms, result, version) VALUES \
             ('t', 'p', 'u1', '{id}', '{id}', 'Suspend', 'admin', {at}, 'published', 1)"
        ))
        .await;
    }
    // The aggregator's derived rows: session_state and session_counts of the old month too.
    let mut agg = db.aggregator().await;
    db.cycle_until(
        &mut agg,
        "SELECT count() FROM session_state FINAL WHERE deleted = 0",
        3,
    )
    .await;
    db.cycle_until(
        &mut agg,
        "SELECT toUInt64(count()) FROM (SELECT DISTINCT toYYYYMM(bucket) FROM session_counts)",
        3,
    )
    .await;
    db.cycle_until(
        &mut agg,
        "SELECT toUInt64(count()) FROM (SELECT DISTINCT toYYYYMM(bucket) FROM issue_counts)",
        3,
    )
    .await;

    let old = |table: &str, months: u32| (table.to_owned(), db.month(months));
    let expected: BTreeSet<(String, String)> = [
        old("session_events", 16),
        old("session_state", 16),
        old("session_counts", 16),
        old("issue_events", 16),
        old("issue_counts", 16),
        old("log_lines", 6),
        old("dead_letters", 6),
        old("admin_actions", 70),
    ]
    .into_iter()
    .collect();
    let before = db.partitions().await;
    assert!(
        expected.is_subset(&before),
        "{expected:?} not in {before:?}"
    );

    let config = db.config();
    let dry = retention::run(&config, true).await.unwrap();
    assert_eq!(planned(&dry), expected);
    assert!(dry.candidates.iter().all(|c| c.rows > 0 && c.bytes > 0));
    assert_eq!(
        db.partitions().await,
        before,
        "the dry run dropped something"
    );
    let printed = dry.render();
    assert!(
        printed.contains("session_events") && printed.contains(&db.month(16)),
        "{printed}"
    );

    let done = retention::run(&config, false).await.unwrap();
    assert_eq!(planned(&done), expected);
    let after = db.partitions().await;
    let want: BTreeSet<_> = before.difference(&expected).cloned().collect();
    assert_eq!(after, want);
    // Never dropped: the state events of the old month and the current month anywhere.
    assert!(after.contains(&old("user_state_events", 16)));
    assert!(after.contains(&old("profile_state_events", 16)));
    assert!(after.contains(&old("session_events", 0)));

    let again = retention::run(&config, false).await.unwrap();
    assert!(again.candidates.is_empty(), "{:?}", again.candidates);
    assert_eq!(db.partitions().await, after);

    // A period of 0 keeps everything; a database without the tables is refused.
    let mut forever = config.clone();
    forever.keep_days.audit = 0;
    assert!(retention::run(&forever, true)
        .await
        .unwrap()
        .candidates
        .is_empty());
    let mut missing = config.clone();
    missing.clickhouse.database = "system".to_owned();
    assert!(matches!(
        retention::run(&missing, true).await,
        Err(retention::RetentionError::MissingTable { .. })
    ));
    db.db.drop_database().await.unwrap();
}

/// The rule of docs/ops/retention.md, "Derived tables": dropping an old month of
/// session_events leaves `user_state` as it is, and even a full recomputation of every
/// user gives the same status to each user whose last session and latest success (and the
/// sessions after it) are in kept months. A user whose only sessions were in the dropped
/// month keeps their row while it is advanced, and shows as never synced once recomputed
/// from all events (a rebuild): the dry run counts such users.
#[tokio::test]
async fn current_status_is_unchanged_after_dropping_an_old_month() {
    let db = Db::new("retention_status").await;
    let now = db.now_ms;
    let old = db.months_ago(16);
    for user in ["a", "b", "c"] {
        db.user(user, old).await;
    }
    // a: history in the old month before its latest success, which is kept.
    db.session("a", "a1", old, "Success").await;
    db.session("a", "a2", old + 3_600_000, "Error").await;
    db.session("a", "a3", db.months_ago(2), "Success").await;
    db.session("a", "a4", now - 600_000, "Error").await;
    // b: only kept sessions.
    db.session("b", "b1", db.months_ago(1), "Error").await;
    db.session("b", "b2", now - 900_000, "Success").await;
    // c: only old sessions.
    db.session("c", "c1", old, "Success").await;

    let mut agg = db.aggregator().await;
    db.cycle_until(&mut agg, "SELECT count() FROM user_state FINAL", 3)
        .await;
    let before = db.status().await;
    assert!(
        before[0].starts_with("a Enabled LastSyncFailed"),
        "{before:?}"
    );
    assert!(
        before[2].starts_with("c Enabled LastSyncSucceeded"),
        "{before:?}"
    );

    let config = db.config();
    let dry = retention::run(&config, true).await.unwrap();
    assert_eq!(dry.users_losing_last_session, 1, "user c");
    let done = retention::run(&config, false).await.unwrap();
    assert!(planned(&done).contains(&("session_events".to_owned(), db.month(16))));

    // The next cycles (nothing new): every row as it was.
    agg.cycle().await.unwrap();
    assert_eq!(db.status().await, before);

    // A full recomputation (the watermark reset, a rebuild: every user recomputed from the
    // events that are left, not advanced).
    let v0 = db.number("SELECT max(version) FROM user_state").await;
    db.exec("TRUNCATE TABLE aggregator_progress").await;
    let mut agg = db.aggregator().await;
    db.cycle_until(
        &mut agg,
        &format!("SELECT count() FROM user_state FINAL WHERE version > {v0}"),
        3,
    )
    .await;
    let after = db.status().await;
    assert_eq!(after[0], before[0], "a");
    assert_eq!(after[1], before[1], "b");
    assert!(
        after[2].starts_with("c Enabled NeverSynced 1  0 0"),
        "{after:?}"
    );
    db.db.drop_database().await.unwrap();
}
