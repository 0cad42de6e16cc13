//! A session ended more than once is decided by one of its `session_ended` events, the
//! greatest by (`occurred_at_ms`, `event_id`) (docs/status-rules.md, S1), in every place that
//! merges session events: the `sessions` view, `session_state`, the user's row in
//! `user_state`, the lists of query-api (`sessions.sql` on the raw events,
//! `profile_sessions.sql` on `session_state`), and the session counts behind
//! `/trends?metric=sessions` (`session_counts`, read by `trend_sessions.sql`), which count
//! each session once, under its decided status.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use aggregator::{Aggregator, CycleReport};
use common::fixtures::*;
use common::Db;
use schemas::{
    AvroEnum, ChangeKind, ErrorCategory, ErrorSource, Event, SessionEnded, SessionStatus,
    SyncSetting,
};
use serde::Deserialize;

const SESSIONS_SQL: &str = include_str!("../../query-api/sql/sessions.sql");
const PROFILE_SESSIONS_SQL: &str = include_str!("../../query-api/sql/profile_sessions.sql");
const TREND_SESSIONS_SQL: &str = include_str!("../../query-api/sql/trend_sessions.sql");

/// The fields of a session's end that the lists and the user's row show.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
struct End {
    user_id: String,
    status: String,
    message: String,
    error_category: String,
    error_source: String,
    ended_at_ms: i64,
    changes: i64,
}

const END_COLUMNS: &str =
    "user_id, status, message, error_category, error_source, ended_at_ms, changes";

/// An end event of session `session` of `user`, in profile `p1`.
#[allow(clippy::too_many_arguments)]
fn end(
    user: &str,
    session: &str,
    event_id: &str,
    start: i64,
    at: i64,
    ended_at: i64,
    status: SessionStatus,
    message: &str,
    changes: i64,
) -> Event {
    let mut h = header(event_id, at);
    h.user_id = user.to_owned();
    let (category, source) = match status {
        SessionStatus::Error => (Some(ErrorCategory::Throttling), Some(ErrorSource::Crm)),
        // A category on a non-Error end too: a mix of two ends would show it.
        _ => (Some(ErrorCategory::Quota), Some(ErrorSource::MailServer)),
    };
    Event::SessionEnded(SessionEnded {
        header: h,
        session_id: session.to_owned(),
        started_at_ms: start,
        ended_at_ms: ended_at,
        status,
        scope_items: 0,
        objects: Vec::new(),
        changes,
        total_changes: changes,
        failures: 0,
        issues: 0,
        conflicts: 0,
        error_category: category,
        error_source: source,
        message: Some(message.to_owned()),
        exception: None,
    })
}

fn for_user(mut e: Event, user: &str) -> Event {
    let h = match &mut e {
        Event::UserState(s) => &mut s.header,
        Event::SessionStarted(s) => &mut s.header,
        Event::SessionEnded(s) => &mut s.header,
        _ => return e,
    };
    h.user_id = user.to_owned();
    h.event_id = format!("{user}-{}", h.event_id);
    e
}

fn expected(e: &Event) -> End {
    let Event::SessionEnded(s) = e else {
        panic!("not an end")
    };
    End {
        user_id: s.header.user_id.clone(),
        status: s.status.symbol().to_owned(),
        message: s.message.clone().unwrap_or_default(),
        error_category: s.error_category.map_or("", AvroEnum::symbol).to_owned(),
        error_source: s.error_source.map_or("", AvroEnum::symbol).to_owned(),
        ended_at_ms: s.ended_at_ms,
        changes: s.changes,
    }
}

async fn cycle(db: &Db) -> CycleReport {
    let mut config = db.config(3_600, 86_400);
    config.cycle.settle_secs = 0;
    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    agg.cycle().await.unwrap()
}

fn base_sql(file: &str) -> String {
    let text: Vec<&str> = file
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    text.join("\n").trim().trim_end_matches(';').to_owned()
}

async fn ends(db: &Db, sql: &str) -> Vec<End> {
    db.client().query(sql).fetch_all().await.unwrap()
}

/// The sessions' ends as query-api's one-user list (`sessions.sql`) shows them.
async fn user_list(db: &Db, user: &str, session: &str) -> Vec<End> {
    db.client()
        .query(&format!(
            "SELECT {END_COLUMNS} FROM ({}) ORDER BY user_id",
            base_sql(SESSIONS_SQL)
        ))
        .bind(T)
        .bind(user)
        .bind(user)
        .bind(session)
        .bind(session)
        .bind(0_i64)
        .bind(i64::MAX)
        .bind(1_u8)
        .bind(vec![String::new()])
        .bind(T)
        .bind(user)
        .bind(user)
        .bind(session)
        .bind(session)
        .bind(1_u8)
        .bind(vec![String::new()])
        .bind(0_i64)
        .bind(i64::MAX)
        .fetch_all()
        .await
        .unwrap()
}

/// A profile's list (`profile_sessions.sql`, on `session_state`).
async fn profile_list(db: &Db) -> Vec<End> {
    db.client()
        .query(&format!(
            "SELECT {END_COLUMNS} FROM ({}) ORDER BY user_id",
            base_sql(PROFILE_SESSIONS_SQL)
        ))
        .bind(T)
        .bind(P)
        .bind(0_i64)
        .bind(i64::MAX)
        .bind(1_u8)
        .bind(vec![String::new()])
        .fetch_all()
        .await
        .unwrap()
}

/// Sessions per status of `/trends?metric=sessions` (`trend_sessions.sql`), summed over
/// the buckets: per tenant (profile '') or one profile.
async fn trend(db: &Db, granularity: &str, profile: &str) -> BTreeMap<String, u64> {
    #[derive(Deserialize, clickhouse::Row)]
    struct Row {
        status: String,
        sessions: u64,
    }
    let rows: Vec<Row> = db
        .client()
        .query(&format!(
            "SELECT status, toUInt64(sum(sessions)) AS sessions FROM ({}) GROUP BY status",
            base_sql(TREND_SESSIONS_SQL)
        ))
        .bind(T)
        .bind(1_u8)
        .bind(vec![String::new()])
        .bind(profile)
        .bind(profile)
        .bind(granularity)
        .bind(0_i64)
        .bind(4_102_444_800_i64)
        .fetch_all()
        .await
        .unwrap();
    rows.into_iter()
        .filter(|r| r.sessions > 0)
        .map(|r| (r.status, r.sessions))
        .collect()
}

/// `session_counts` as stored: per granularity and status, summed over buckets.
async fn counts(db: &Db) -> BTreeMap<(String, String), u64> {
    let rows: Vec<(String, String, u64)> = db
        .client()
        .query(
            "SELECT granularity, status, toUInt64(sum(sessions)) FROM session_counts FINAL \
             GROUP BY granularity, status HAVING sum(sessions) > 0",
        )
        .fetch_all()
        .await
        .unwrap();
    rows.into_iter().map(|(g, s, n)| ((g, s), n)).collect()
}

fn by_status(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect()
}

#[tokio::test]
async fn ends_with_the_same_time_are_decided_by_the_event_id_everywhere() {
    let db = Db::new("agg_session_ties").await;
    let now = aggregator::cycle::now_ms();
    let start = now - 3_600_000;
    let at = start + 60_000;
    // Per user, one session ended twice at the same `occurred_at_ms`: the end with the
    // greater event id ("…-e2") decides, whichever is stored first. It ends earlier and has
    // another status, message, category and counter than the other, so a mix of the two
    // (or the greatest end time of either) shows.
    let mut winners = Vec::new();
    for (user, winner_status, loser_status, winner_first) in [
        ("a1", SessionStatus::Error, SessionStatus::Success, false),
        ("a2", SessionStatus::Error, SessionStatus::Success, true),
        ("b1", SessionStatus::Success, SessionStatus::Error, false),
        ("b2", SessionStatus::Success, SessionStatus::Error, true),
    ] {
        let session = format!("s-{user}");
        let winner = end(
            user,
            &session,
            &format!("{user}-e2"),
            start,
            at,
            at - 20_000,
            winner_status,
            &format!("winner of {user}"),
            7,
        );
        let loser = end(
            user,
            &session,
            &format!("{user}-e1"),
            start,
            at,
            at - 10_000,
            loser_status,
            &format!("loser of {user}"),
            5,
        );
        db.insert(&[
            for_user(created(), user),
            for_user(started(&session, start), user),
        ])
        .await;
        // Separate inserts: separate parts, read in this order.
        let (first, second) = if winner_first {
            (winner.clone(), loser)
        } else {
            (loser, winner.clone())
        };
        db.insert(&[first]).await;
        db.insert(&[second]).await;
        winners.push(expected(&winner));
    }

    // The view, before any cycle.
    let view = ends(
        &db,
        &format!("SELECT {END_COLUMNS} FROM sessions ORDER BY user_id"),
    )
    .await;
    assert_eq!(view, winners, "the sessions view");
    // One user's list, on the raw events.
    for w in &winners {
        let list = user_list(&db, &w.user_id, &format!("s-{}", w.user_id)).await;
        assert_eq!(list, vec![w.clone()], "sessions.sql of {}", w.user_id);
    }

    cycle(&db).await;

    // session_state: equal to the view, and the winner.
    let (state, view_lines) = db.session_state_and_view().await;
    assert_eq!(state, view_lines, "session_state differs from the view");
    let state = ends(
        &db,
        &format!(
            "SELECT {END_COLUMNS} FROM (SELECT {END_COLUMNS}, deleted FROM session_state FINAL) \
             WHERE deleted = 0 ORDER BY user_id"
        ),
    )
    .await;
    assert_eq!(state, winners, "session_state");
    assert_eq!(profile_list(&db).await, winners, "profile_sessions.sql");

    // The user's row: last session, last outcome, last error from the same end.
    let users = db.users().await;
    for w in &winners {
        let u = &users[&format!("{T}/{}", w.user_id)];
        let error = w.status == "Error";
        assert_eq!(
            (
                u.last_session_status.as_str(),
                u.last_session_ended_at_ms,
                u.last_session_duration_ms,
                u.last_outcome.as_str(),
                u.last_error_message.as_str(),
                u.last_error_category.as_str(),
                u.consecutive_failures,
            ),
            (
                w.status.as_str(),
                w.ended_at_ms,
                w.ended_at_ms - start,
                w.status.as_str(),
                if error { w.message.as_str() } else { "" },
                if error { w.error_category.as_str() } else { "" },
                u64::from(error),
            ),
            "user_state of {}",
            w.user_id
        );
    }

    // Counted once each, under the decided status: 2 Error (a1, a2), 2 Success (b1, b2).
    let decided = by_status(&[("Error", 2), ("Success", 2)]);
    for g in ["hour", "day"] {
        assert_eq!(trend(&db, g, "").await, decided, "{g} trend of the tenant");
        assert_eq!(trend(&db, g, P).await, decided, "{g} trend of the profile");
    }
    assert_eq!(
        counts(&db).await,
        BTreeMap::from([
            (("day".to_owned(), "Error".to_owned()), 2),
            (("day".to_owned(), "Success".to_owned()), 2),
            (("hour".to_owned(), "Error".to_owned()), 2),
            (("hour".to_owned(), "Success".to_owned()), 2),
        ]),
        "session_counts"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_session_ended_twice_is_counted_once_under_its_decided_status() {
    let db = Db::new("agg_session_twice").await;
    // Fixed past days: the first end just before midnight UTC, the second one just after,
    // so the two ends fall in different hours and days.
    let midnight: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let start = midnight - 600_000;
    let first_at = midnight - 120_000;
    let second_at = midnight + 120_000;
    let user = for_user(
        user(
            "created",
            start - 60_000,
            P,
            ChangeKind::Created,
            SyncSetting::Enabled,
        ),
        "u2",
    );
    let first = end(
        "u2",
        "s-twice",
        "u2-end-1",
        start,
        first_at,
        first_at,
        SessionStatus::Success,
        "first",
        1,
    );
    let second = end(
        "u2",
        "s-twice",
        "u2-end-2",
        start,
        second_at,
        second_at,
        SessionStatus::Error,
        "second",
        2,
    );
    db.insert(&[user, for_user(started("s-twice", start), "u2"), first])
        .await;
    cycle(&db).await;
    let once = |status: &str| by_status(&[(status, 1)]);
    for g in ["hour", "day"] {
        assert_eq!(trend(&db, g, "").await, once("Success"), "{g}, first end");
    }
    // The later end arrives in another cycle: the session moves to its status and bucket,
    // and leaves the first end's (another day, which no new event touched).
    db.insert(std::slice::from_ref(&second)).await;
    cycle(&db).await;
    for g in ["hour", "day"] {
        assert_eq!(
            trend(&db, g, "").await,
            once("Error"),
            "{g} trend of the tenant"
        );
        assert_eq!(
            trend(&db, g, P).await,
            once("Error"),
            "{g} trend of the profile"
        );
    }
    assert_eq!(
        counts(&db).await,
        BTreeMap::from([
            (("day".to_owned(), "Error".to_owned()), 1),
            (("hour".to_owned(), "Error".to_owned()), 1),
        ]),
        "session_counts"
    );
    // Where it is counted: the hour and day of the deciding end.
    let buckets: Vec<(String, u32)> = db
        .client()
        .query(
            "SELECT granularity, toUInt32(bucket) FROM \
             (SELECT granularity, bucket, sessions FROM session_counts FINAL) \
             WHERE sessions > 0 ORDER BY granularity",
        )
        .fetch_all()
        .await
        .unwrap();
    let s = u32::try_from(second_at / 1000).unwrap();
    assert_eq!(
        buckets,
        vec![
            ("day".to_owned(), s - s % 86_400),
            ("hour".to_owned(), s - s % 3_600)
        ]
    );
    // And the view, the lists and the user agree on that status.
    let view = ends(
        &db,
        &format!("SELECT {END_COLUMNS} FROM sessions ORDER BY user_id"),
    )
    .await;
    assert_eq!(view, vec![expected(&second)]);
    assert_eq!(profile_list(&db).await, vec![expected(&second)]);
    assert_eq!(db.users().await[&format!("{T}/u2")].last_outcome, "Error");
    db.drop().await;
}

#[tokio::test]
async fn counts_made_before_the_rule_are_recounted_by_the_first_cycle() {
    let db = Db::new("agg_session_recount").await;
    let midnight: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    let start = midnight - 600_000;
    let user = for_user(
        user(
            "created",
            start - 60_000,
            P,
            ChangeKind::Created,
            SyncSetting::Enabled,
        ),
        "u3",
    );
    let first = end(
        "u3",
        "s-old",
        "u3-end-1",
        start,
        midnight - 120_000,
        midnight - 120_000,
        SessionStatus::Success,
        "first",
        1,
    );
    let second = end(
        "u3",
        "s-old",
        "u3-end-2",
        start,
        midnight + 120_000,
        midnight + 120_000,
        SessionStatus::Error,
        "second",
        2,
    );
    db.insert(&[user, for_user(started("s-old", start), "u3"), first, second])
        .await;
    // A database an earlier version kept: its watermarks are past every event, and its
    // counts have the session under both ends' statuses, hours and days.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    db.client()
        .query(
            "INSERT INTO aggregator_progress (name, watermark, cycle_at_ms, version) \
             SELECT arrayJoin(['main', 'session_state']), now(), 0, 1",
        )
        .execute()
        .await
        .unwrap();
    db.client()
        .query(
            "INSERT INTO session_counts \
             (tenant_id, profile_id, granularity, bucket, status, sessions, version) VALUES \
             ('t', 'p1', 'hour', toDateTime(1767222000), 'Success', 1, 1), \
             ('t', 'p1', 'day', toDateTime(1767139200), 'Success', 1, 1), \
             ('t', 'p1', 'hour', toDateTime(1767225600), 'Error', 1, 1), \
             ('t', 'p1', 'day', toDateTime(1767225600), 'Error', 1, 1)",
        )
        .execute()
        .await
        .unwrap();
    let twice = by_status(&[("Error", 1), ("Success", 1)]);
    assert_eq!(trend(&db, "day", "").await, twice, "the old counts");
    let report = cycle(&db).await;
    assert_eq!(report.counts_from_s, 0, "the counts start over: {report:?}");
    assert!(report.from_s > 0, "the main window does not: {report:?}");
    for g in ["hour", "day"] {
        assert_eq!(
            trend(&db, g, "").await,
            by_status(&[("Error", 1)]),
            "{g}, recounted"
        );
    }
    // The next cycle continues from the counts' watermark.
    let report = cycle(&db).await;
    assert!(report.counts_from_s > 0, "{report:?}");
    assert_eq!(trend(&db, "day", "").await, by_status(&[("Error", 1)]));
    db.drop().await;
}
