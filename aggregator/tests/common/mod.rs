//! Shared helpers of the aggregator's tests: a migrated database per test on the real
//! ClickHouse, events written the way ingest writes them, an aggregator config for tests,
//! and exact checks against the simulator's manifest.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

pub mod fixtures;
pub mod pipeline;
pub mod random_users;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aggregator::AggregatorConfig;
use schemas::{AvroEnum, Event};
use serde::Deserialize;
use simulator::{Manifest, Record};
use store::rows::Row;
use store::ClickHouseConfig;
use testkit::TestDatabase;

/// A migrated database of one test.
pub struct Db {
    pub db: TestDatabase,
}

impl Db {
    pub async fn new(test: &str) -> Self {
        let db = TestDatabase::new(test);
        let me = Self { db };
        store::migrate::migrate(&me.clickhouse())
            .await
            .expect("migrate");
        me
    }

    pub fn clickhouse(&self) -> ClickHouseConfig {
        ClickHouseConfig {
            url: self.db.url.clone(),
            database: self.db.name.clone(),
            ..ClickHouseConfig::default()
        }
    }

    pub fn client(&self) -> clickhouse::Client {
        self.db.client()
    }

    /// An aggregator config for this database: fast cycles, the given limits (s).
    pub fn config(&self, stall_after_secs: u64, no_session_after_secs: u64) -> AggregatorConfig {
        let mut c = AggregatorConfig::default();
        c.clickhouse = self.clickhouse();
        c.cycle.interval_ms = 300;
        c.cycle.settle_secs = 1;
        c.cycle.overlap_secs = 5;
        c.cycle.max_users_per_statement = 50;
        c.cycle.snapshot_interval_ms = 1;
        c.rules.stall_after_secs = stall_after_secs;
        c.rules.no_session_after_secs = no_session_after_secs;
        c.http.listen = "127.0.0.1:0".parse().unwrap();
        c
    }

    /// Writes events as ingest does (one row per event, log lines skipped).
    pub async fn insert(&self, events: &[Event]) {
        let (mut s, mut u, mut p, mut i) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for e in events {
            match Row::from_event_at(e, store::rows::now_s()) {
                Row::Session(r) => s.push(r),
                Row::UserState(r) => u.push(r),
                Row::ProfileState(r) => p.push(r),
                Row::Issue(r) => i.push(r),
                Row::LogLines(_) => {}
            }
        }
        insert_rows(&self.client(), "session_events", &s).await;
        insert_rows(&self.client(), "user_state_events", &u).await;
        insert_rows(&self.client(), "profile_state_events", &p).await;
        insert_rows(&self.client(), "issue_events", &i).await;
    }

    /// The server's clock, s.
    pub async fn server_now(&self) -> u32 {
        self.client()
            .query("SELECT toUInt32(now())")
            .fetch_one()
            .await
            .unwrap()
    }

    /// The aggregator's watermark, s (0 before the first cycle).
    pub async fn watermark(&self) -> u32 {
        self.client()
            .query("SELECT toUInt32(max(watermark)) FROM aggregator_progress")
            .fetch_one()
            .await
            .unwrap()
    }

    /// Waits until the watermark passes `after_s` (everything ingested before is reflected).
    pub async fn wait_watermark(&self, after_s: u32, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.watermark().await <= after_s {
            assert!(
                Instant::now() < deadline,
                "watermark did not pass {after_s}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn users(&self) -> BTreeMap<String, StateRow> {
        let rows: Vec<StateRow> = self
            .client()
            .query(&format!("SELECT {STATE_COLUMNS} FROM user_state FINAL"))
            .fetch_all()
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| (format!("{}/{}", r.tenant_id, r.user_id), r))
            .collect()
    }

    /// The live rows of `session_state` and the started sessions of the `sessions` view,
    /// as JSON lines of the same columns, both sorted: equal when the aggregator is exact.
    pub async fn session_state_and_view(&self) -> (Vec<String>, Vec<String>) {
        let order = "ORDER BY tenant_id, user_id, session_id";
        let state = self
            .json_lines(&format!(
                "SELECT {SESSION_COLUMNS} FROM (SELECT {SESSION_COLUMNS}, deleted FROM session_state FINAL) \
                 WHERE deleted = 0 {order}"
            ))
            .await;
        let view = self
            .json_lines(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE started_at_ms != 0 {order}"
            ))
            .await;
        (state, view)
    }

    async fn json_lines(&self, sql: &str) -> Vec<String> {
        let bytes = self
            .client()
            .query(sql)
            .fetch_bytes("JSONEachRow")
            .unwrap()
            .collect()
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub async fn drop(self) {
        self.db.drop_database().await.unwrap();
    }
}

async fn insert_rows<T>(client: &clickhouse::Client, table: &str, rows: &[T])
where
    T: clickhouse::RowOwned + clickhouse::RowWrite,
{
    if rows.is_empty() {
        return;
    }
    let mut insert = client.insert::<T>(table).await.unwrap();
    for r in rows {
        insert.write(r).await.unwrap();
    }
    insert.end().await.unwrap();
}

/// The valid events of simulator records, in delivery order (duplicates kept).
pub fn events_of(records: &[Record]) -> Vec<Event> {
    records
        .iter()
        .filter_map(|r| schemas::decode_valid(&r.payload).ok())
        .collect()
}

/// The columns of the `sessions` view the lists show.
pub const SESSION_COLUMNS: &str =
    "tenant_id, user_id, session_id, profile_id, queued_at_ms, started_at_ms, \
    ended_at_ms, duration_ms, trigger, status, scope_items, changes, total_changes, failures, \
    issues, conflicts, objects_type, objects_synchronized, objects_mail_to_crm_created, \
    objects_mail_to_crm_updated, objects_mail_to_crm_deleted, objects_crm_to_mail_created, \
    objects_crm_to_mail_updated, objects_crm_to_mail_deleted, error_category, error_source, \
    message, exception, engine_id, engine_version";

pub const STATE_COLUMNS: &str = "tenant_id, user_id, profile_id, display_name, mail_account, \
    deleted, profile_deleted, sync_setting, profile_status, effective_status, sync_state, \
    no_recent_session, crm_token_active, mail_token_authorized, last_session_id, \
    last_session_started_at_ms, last_session_ended_at_ms, last_session_duration_ms, \
    last_session_status, last_outcome, last_outcome_session_id, last_outcome_started_at_ms, \
    ever_succeeded, last_error_category, last_error_source, last_error_message, \
    last_error_session_id, last_error_started_at_ms, consecutive_failures, first_seen_ms, \
    changes_at_ms, computed_at_ms";

/// A row of `user_state`, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct StateRow {
    pub tenant_id: String,
    pub user_id: String,
    pub profile_id: String,
    pub display_name: String,
    pub mail_account: String,
    pub deleted: u8,
    pub profile_deleted: u8,
    pub sync_setting: String,
    pub profile_status: String,
    pub effective_status: String,
    pub sync_state: String,
    pub no_recent_session: u8,
    pub crm_token_active: u8,
    pub mail_token_authorized: u8,
    pub last_session_id: String,
    pub last_session_started_at_ms: i64,
    pub last_session_ended_at_ms: i64,
    pub last_session_duration_ms: i64,
    pub last_session_status: String,
    pub last_outcome: String,
    pub last_outcome_session_id: String,
    pub last_outcome_started_at_ms: i64,
    pub ever_succeeded: u8,
    pub last_error_category: String,
    pub last_error_source: String,
    pub last_error_message: String,
    pub last_error_session_id: String,
    pub last_error_started_at_ms: i64,
    pub consecutive_failures: u64,
    pub first_seen_ms: i64,
    pub changes_at_ms: i64,
    pub computed_at_ms: i64,
}

fn sym<T: AvroEnum>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.symbol().to_owned())
}

/// Every user of the manifest has exactly its expected state in `user_state`, and no
/// other user is there. Returns the mismatches (empty when all agree).
pub fn manifest_mismatches(manifest: &Manifest, users: &BTreeMap<String, StateRow>) -> Vec<String> {
    let mut bad = Vec::new();
    if users.len() != manifest.users.len() {
        bad.push(format!(
            "{} users in user_state, {} in the manifest",
            users.len(),
            manifest.users.len()
        ));
    }
    for (key, e) in &manifest.users {
        let Some(r) = users.get(key) else {
            bad.push(format!("{key}: missing"));
            continue;
        };
        let expected = (
            (
                e.profile_id.clone(),
                e.display_name.clone(),
                e.mail_account.clone(),
                e.deleted,
                e.sync_setting.symbol().to_owned(),
                e.effective_status.clone(),
                e.sync_state.clone(),
            ),
            e.crm_token_active,
            e.mail_token_authorized,
            e.last_session_id.clone().unwrap_or_default(),
            e.last_session_started_at_ms.unwrap_or(0),
            e.last_session_ended_at_ms.unwrap_or(0),
            sym(e.last_outcome),
            e.ever_succeeded,
            (
                sym(e.last_error_category),
                sym(e.last_error_source),
                e.last_error_message.clone().unwrap_or_default(),
                e.consecutive_failures,
            ),
        );
        let got = (
            (
                r.profile_id.clone(),
                r.display_name.clone(),
                r.mail_account.clone(),
                r.deleted == 1,
                r.sync_setting.clone(),
                r.effective_status.clone(),
                r.sync_state.clone(),
            ),
            r.crm_token_active == 1,
            r.mail_token_authorized == 1,
            r.last_session_id.clone(),
            r.last_session_started_at_ms,
            r.last_session_ended_at_ms,
            r.last_outcome.clone(),
            r.ever_succeeded == 1,
            (
                r.last_error_category.clone(),
                r.last_error_source.clone(),
                r.last_error_message.clone(),
                r.consecutive_failures,
            ),
        );
        if expected != got {
            bad.push(format!(
                "{key}:\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    bad
}

/// Users the manifest says the monitor counts, per tenant, effective status and sync state.
pub fn manifest_counts(manifest: &Manifest) -> BTreeMap<(String, String, String), u64> {
    let mut out = BTreeMap::new();
    for u in manifest.users.values() {
        let profile = manifest
            .profiles
            .get(&format!("{}/{}", u.tenant_id, u.profile_id));
        if u.deleted || profile.is_some_and(|p| p.deleted) {
            continue;
        }
        *out.entry((
            u.tenant_id.clone(),
            u.effective_status.clone(),
            u.sync_state.clone(),
        ))
        .or_insert(0) += 1;
    }
    out
}

/// A plain HTTP/1.0 GET on loopback (the metrics and health endpoints): status line,
/// headers and body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}
