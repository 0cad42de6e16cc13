//! Shared helpers of the query API tests: a migrated database per test on the real
//! ClickHouse, a small two-tenant fleet written the way ingest writes it and summarized by
//! one aggregator cycle, tokens for each role, and requests through `app()` with `oneshot`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use query_api::auth::{self, Role};
use query_api::{ApiConfig, AppState};
use schemas::*;
use serde_json::Value;
use store::rows::Row;
use store::ClickHouseConfig;
use testkit::TestDatabase;
use tower::ServiceExt;

/// Tenant A (the one most tokens see) and tenant B (the other tenant).
pub const TA: &str = "ta";
pub const TB: &str = "tb";

/// A migrated database with the fleet, the app, and tokens.
pub struct Fixture {
    pub db: TestDatabase,
    pub app: Router,
    pub state: AppState,
    /// Tenant A, admin, every profile.
    pub admin_a: String,
    /// Tenant A, viewer, profile p1 only.
    pub viewer_a_p1: String,
    /// Tenant B, admin, every profile.
    pub admin_b: String,
    /// Base time of the fleet: one hour ago, ms.
    pub base: i64,
}

pub fn header(tenant: &str, profile: &str, user: &str, event_id: &str, at: i64) -> Header {
    Header {
        event_id: format!("{tenant}-{event_id}"),
        tenant_id: tenant.to_owned(),
        profile_id: profile.to_owned(),
        user_id: user.to_owned(),
        occurred_at_ms: at,
        engine_id: "e1".to_owned(),
        engine_version: "1.0".to_owned(),
    }
}

pub fn user(tenant: &str, profile: &str, user: &str, name: &str, at: i64) -> Event {
    Event::UserState(UserState {
        header: header(tenant, profile, user, &format!("{user}-created"), at),
        change: ChangeKind::Created,
        display_name: name.to_owned(),
        mail_account: format!("{user}@{tenant}.example"),
        crm_user_name: user.to_owned(),
        mail_system: MailSystem::Office365,
        crm_system: CrmSystem::Salesforce,
        sync_setting: SyncSetting::Enabled,
        crm_token_active: true,
        mail_token_authorized: true,
        last_token_error: None,
        saved_searches: vec![SavedSearch {
            name: "My contacts".to_owned(),
            object_type: ObjectType::Contact,
            conflict_resolution: ConflictResolution::CrmWins,
        }],
    })
}

pub fn profile(tenant: &str, id: &str, name: &str, at: i64) -> Event {
    Event::ProfileState(ProfileState {
        event_id: format!("{tenant}-{id}-created"),
        tenant_id: tenant.to_owned(),
        profile_id: id.to_owned(),
        occurred_at_ms: at,
        engine_id: "e1".to_owned(),
        engine_version: "1.0".to_owned(),
        change: ChangeKind::Created,
        name: name.to_owned(),
        sync_enabled: true,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn session(
    tenant: &str,
    profile: &str,
    user: &str,
    id: &str,
    start: i64,
    duration: i64,
    status: SessionStatus,
    message: &str,
) -> Vec<Event> {
    let error = status == SessionStatus::Error;
    vec![
        Event::SessionStarted(SessionStarted {
            header: header(tenant, profile, user, &format!("{id}-s"), start),
            session_id: id.to_owned(),
            trigger: Trigger::Schedule,
        }),
        Event::SessionEnded(SessionEnded {
            header: header(tenant, profile, user, &format!("{id}-e"), start + duration),
            session_id: id.to_owned(),
            started_at_ms: start,
            ended_at_ms: start + duration,
            status,
            scope_items: 100,
            objects: vec![ObjectReport {
                object_type: ObjectType::Email,
                synchronized: 7,
                mail_to_crm: DirectionCounts {
                    created: 3,
                    updated: 2,
                    deleted: 1,
                },
                crm_to_mail: DirectionCounts {
                    created: 0,
                    updated: 1,
                    deleted: 0,
                },
            }],
            changes: 7,
            total_changes: 9,
            failures: i64::from(error),
            issues: i64::from(error),
            conflicts: 0,
            error_category: error.then_some(ErrorCategory::Throttling),
            error_source: error.then_some(ErrorSource::Crm),
            message: Some(message.to_owned()),
            exception: error.then(|| "System.Exception: throttled".to_owned()),
        }),
    ]
}

pub fn issue(
    tenant: &str,
    profile: &str,
    user: &str,
    id: &str,
    session: &str,
    at: i64,
    name: &str,
) -> Event {
    Event::SyncIssue(SyncIssue {
        header: header(tenant, profile, user, id, at),
        issue_id: id.to_owned(),
        session_id: session.to_owned(),
        object_type: ObjectType::Email,
        direction: Direction::MailToCrm,
        mail_system: MailSystem::Office365,
        crm_system: CrmSystem::Salesforce,
        object_name: name.to_owned(),
        operation: Operation::Create,
        error_code: 1,
        description: "ENTITY_IS_LOCKED, \"quoted\"".to_owned(),
        error_source: ErrorSource::Crm,
        target_object_id: None,
    })
}

/// A chunk of a session's log: `lines` (level, text) one second apart from `at`.
#[allow(clippy::too_many_arguments)]
pub fn log(
    tenant: &str,
    profile: &str,
    user: &str,
    session: &str,
    sequence: i32,
    at: i64,
    lines: &[(LogLevel, &str)],
) -> Event {
    Event::SessionLog(SessionLog {
        header: header(
            tenant,
            profile,
            user,
            &format!("{session}-log{sequence}"),
            at,
        ),
        session_id: session.to_owned(),
        sequence,
        lines: lines
            .iter()
            .zip(0..)
            .map(|((level, text), i)| LogLine {
                at_ms: at + i * 1_000,
                level: *level,
                text: (*text).to_owned(),
            })
            .collect(),
    })
}

/// The fleet: tenant A with profiles p1 (users u1, u2) and p2 (u3); tenant B with p1 (its
/// own u1) and p3 (u9). Ids shared between tenants on purpose.
pub fn fleet(base: i64) -> Vec<Event> {
    let h = 3_600_000;
    let mut e = vec![
        profile(TA, "p1", "Sales", base - 10 * h),
        profile(TA, "p2", "Support", base - 10 * h),
        profile(TB, "p1", "Other sales", base - 10 * h),
        profile(TB, "p3", "Other support", base - 10 * h),
        user(TA, "p1", "u1", "Anna Alpha", base - 9 * h),
        user(TA, "p1", "u2", "Bert Beta", base - 9 * h),
        user(TA, "p2", "u3", "Cora Gamma", base - 9 * h),
        user(TB, "p1", "u1", "Other tenant one", base - 9 * h),
        user(TB, "p3", "u9", "Other tenant nine", base - 9 * h),
    ];
    e.extend(session(
        TA,
        "p1",
        "u1",
        "sa1",
        base - 5 * 86_400_000,
        1_000,
        SessionStatus::Success,
        "old",
    ));
    e.extend(session(
        TA,
        "p1",
        "u1",
        "sa2",
        base,
        2_000,
        SessionStatus::Success,
        "ok",
    ));
    e.extend(session(
        TA,
        "p1",
        "u1",
        "sa3",
        base + 60_000,
        3_000,
        SessionStatus::Error,
        "=HYPERLINK(\"x\")",
    ));
    e.extend(session(
        TA,
        "p1",
        "u2",
        "sa4",
        base + 120_000,
        4_000,
        SessionStatus::Success,
        "ok, \"fine\"",
    ));
    e.extend(session(
        TA,
        "p2",
        "u3",
        "sa5",
        base + 180_000,
        5_000,
        SessionStatus::Error,
        "+fail",
    ));
    e.extend(session(
        TB,
        "p1",
        "u1",
        "sb1",
        base,
        6_000,
        SessionStatus::Error,
        "other tenant",
    ));
    e.extend(session(
        TB,
        "p3",
        "u9",
        "sb2",
        base,
        7_000,
        SessionStatus::Success,
        "other tenant",
    ));
    e.push(issue(
        TA,
        "p1",
        "u1",
        "ia1",
        "sa3",
        base + 61_000,
        "-minus subject",
    ));
    e.push(issue(
        TA,
        "p1",
        "u1",
        "ia2",
        "sa3",
        base + 62_000,
        "@at subject",
    ));
    e.push(issue(
        TA,
        "p2",
        "u3",
        "ia3",
        "sa5",
        base + 181_000,
        "Gamma mail",
    ));
    e.push(issue(
        TB,
        "p1",
        "u1",
        "ib1",
        "sb1",
        base + 1_000,
        "other tenant",
    ));
    // Logs: sa3 in two chunks (written out of order), sa2, sa5 (profile p2) and tenant B's sb1.
    e.push(log(
        TA,
        "p1",
        "u1",
        "sa3",
        1,
        base + 63_000,
        &[
            (LogLevel::Error, "=cmd|' /C calc'!A0"),
            (LogLevel::Info, "done, \"quoted\""),
        ],
    ));
    e.push(log(
        TA,
        "p1",
        "u1",
        "sa3",
        0,
        base + 60_000,
        &[
            (LogLevel::Info, "starting sa3"),
            (LogLevel::Warn, "throttled: retry"),
        ],
    ));
    e.push(log(
        TA,
        "p1",
        "u1",
        "sa2",
        0,
        base,
        &[(LogLevel::Info, "sa2 only line")],
    ));
    e.push(log(
        TA,
        "p2",
        "u3",
        "sa5",
        0,
        base + 180_000,
        &[(LogLevel::Error, "Gamma log")],
    ));
    e.push(log(
        TB,
        "p1",
        "u1",
        "sb1",
        0,
        base,
        &[(LogLevel::Info, "other tenant log")],
    ));
    e
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

/// Writes events as ingest does.
pub async fn insert(client: &clickhouse::Client, events: &[Event]) {
    let (mut s, mut u, mut p, mut i) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut l = Vec::new();
    for e in events {
        match Row::from_event_at(e, store::rows::now_s()) {
            Row::Session(r) => s.push(r),
            Row::UserState(r) => u.push(r),
            Row::ProfileState(r) => p.push(r),
            Row::Issue(r) => i.push(r),
            Row::LogLines(rows) => l.extend(rows),
        }
    }
    insert_rows(client, "session_events", &s).await;
    insert_rows(client, "user_state_events", &u).await;
    insert_rows(client, "profile_state_events", &p).await;
    insert_rows(client, "issue_events", &i).await;
    insert_rows(client, "log_lines", &l).await;
}

/// One aggregator cycle over everything stored.
pub async fn aggregate(ch: &ClickHouseConfig) {
    let mut c = aggregator::AggregatorConfig::default();
    c.clickhouse = ch.clone();
    c.cycle.settle_secs = 0;
    c.cycle.snapshot_interval_ms = 1;
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut agg = aggregator::Aggregator::new(c, metrics).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    agg.cycle().await.unwrap();
}

impl Fixture {
    /// A database with the fleet and the default limits.
    pub async fn new(test: &str) -> Self {
        Self::with_limits(test, |_| {}).await
    }

    /// Same, with the config adjusted.
    pub async fn with_limits(test: &str, adjust: impl FnOnce(&mut ApiConfig)) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let db = TestDatabase::new(&format!("api_{test}"));
        let ch = ClickHouseConfig {
            url: db.url.clone(),
            database: db.name.clone(),
            ..ClickHouseConfig::default()
        };
        store::migrate::migrate(&ch).await.unwrap();
        let base = chrono::Utc::now().timestamp_millis() - 3_600_000;
        insert(&db.client(), &fleet(base)).await;
        aggregate(&ch).await;
        let client = db.client();
        let token = |tenant: &'static str, role, profiles: Option<Vec<String>>| {
            let client = client.clone();
            async move {
                auth::create_token(&client, tenant, role, profiles, "test")
                    .await
                    .unwrap()
                    .1
            }
        };
        let admin_a = token(TA, Role::Admin, None).await;
        let viewer_a_p1 = token(TA, Role::Viewer, Some(vec!["p1".to_owned()])).await;
        let admin_b = token(TB, Role::Admin, None).await;
        let mut config = ApiConfig::default();
        config.clickhouse = ch;
        config.kafka.brokers = testkit::kafka_brokers();
        adjust(&mut config);
        let state = AppState::new(config);
        Self {
            db,
            app: query_api::app(state.clone()),
            state,
            admin_a,
            viewer_a_p1,
            admin_b,
            base,
        }
    }

    /// GET with a bearer token (empty: none).
    pub async fn get(&self, token: &str, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        send(&self.app, req.body(Body::empty()).unwrap()).await
    }

    /// POST a JSON body with a bearer token; the answer as JSON.
    pub async fn post(&self, token: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let req = Request::post(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, value)
    }

    /// GET expecting JSON.
    pub async fn json(&self, token: &str, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.get(token, uri).await;
        let value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body))
        });
        (status, value)
    }

    pub async fn drop(self) {
        let secrets = store::secrets_database(&self.db.name);
        self.db
            .client()
            .query(&format!("DROP DATABASE IF EXISTS {secrets}"))
            .execute()
            .await
            .unwrap();
        self.db.drop_database().await.unwrap();
    }
}

/// The `rows` of a list page.
pub fn rows(v: &Value) -> Vec<Value> {
    v["rows"].as_array().cloned().unwrap_or_default()
}

/// One column of a list page.
pub fn column(v: &Value, name: &str) -> Vec<String> {
    rows(v)
        .iter()
        .map(|r| match &r[name] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Sends `req` to `app` in-process; the answer's status, headers and whole body.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// `body` as JSON (the test fails, showing the body, when it is not).
pub fn json_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// `client` with its queries logged and tagged by a setting of no effect
/// (`max_rows_to_read` of a unique, huge value), and the tag.
pub fn tagged(client: &clickhouse::Client) -> (clickhouse::Client, String) {
    let tag = (1_000_000_000_000u128 + uuid::Uuid::new_v4().as_u128() % 1_000_000_000).to_string();
    let client = client
        .clone()
        .with_setting("log_queries", "1")
        .with_setting("max_rows_to_read", tag.clone());
    (client, tag)
}

/// The rows read by each finished query tagged `tag` whose text names `table`, with the
/// start of its text, in the order they started. The server writes a query's log entry
/// after its answer has reached the client, so this flushes the logs until `expected`
/// entries are there (or 10 s have passed, and the caller's assertion tells what is).
pub async fn rows_read(
    client: &clickhouse::Client,
    tag: &str,
    table: &str,
    expected: usize,
) -> Vec<(u64, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        client.query("SYSTEM FLUSH LOGS").execute().await.unwrap();
        let read: Vec<(u64, String)> = client
            .query(
                "SELECT read_rows, substring(query, 1, 300) FROM system.query_log \
                 WHERE type = 2 AND has(Settings.Values, ?) AND position(query, ?) > 0 \
                 ORDER BY event_time, query_start_time",
            )
            .bind(tag)
            .bind(table)
            .fetch_all()
            .await
            .unwrap();
        if read.len() >= expected || std::time::Instant::now() > deadline {
            return read;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
