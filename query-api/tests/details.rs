//! The user details' history (`user_history.sql`, one query level) answers the same rows as
//! the user's session list over all time, newest first (`sessions.sql` as the list wraps
//! it), for every principal, with more sessions than the history holds, duplicates, an end
//! delivered before its start, a session still running and one without a start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::{insert, rows, session, Fixture, TA};
use schemas::SessionStatus;
use serde_json::Value;

#[tokio::test]
async fn user_history_is_the_head_of_the_session_list() {
    let f = Fixture::new("details_history").await;
    let mut events = Vec::new();
    for i in 0..30i64 {
        let status = match i % 3 {
            0 => SessionStatus::Error,
            1 => SessionStatus::Success,
            _ => SessionStatus::Canceled,
        };
        let mut s = session(
            TA,
            "p1",
            "u1",
            &format!("h{i:02}"),
            f.base - i * 300_000,
            1_000 + i,
            status,
            &format!("m{i}"),
        );
        match i {
            // The end before the start, and a duplicate of the end.
            3 => {
                s.reverse();
                let end = s[0].clone();
                s.push(end);
            }
            // Still running: no end.
            4 => s.truncate(1),
            // An end without its start (started_at_ms from the end).
            5 => {
                s.remove(0);
            }
            _ => {}
        }
        events.extend(s);
    }
    insert(&f.db.client(), &events).await;
    let events_of = |v: &Value| rows(v);
    for token in [&f.admin_a, &f.viewer_a_p1] {
        let (s, detail) = f.json(token, "/api/v1/users/u1").await;
        assert_eq!(s, StatusCode::OK, "{detail}");
        let (s, list) = f
            .json(
                token,
                "/api/v1/users/u1/sessions?from=0&sort=-started_at_ms&limit=20",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let history = detail["history"].as_array().unwrap();
        assert_eq!(history.len(), 20);
        assert_eq!(history, &events_of(&list));
        assert!(history.iter().any(|r| r["ended_at_ms"] == 0));
    }
    f.drop().await;
}

/// A sync Canceled after an Error: the user's row says which session gave the outcome and
/// which gave the error shown, with their starts, so a "Last sync failed" row can tell the
/// failure's own time and an older error apart (the console marks the error as earlier).
#[tokio::test]
async fn a_canceled_outcome_names_its_session_and_the_older_error() {
    let f = Fixture::new("details_outcome").await;
    let (error_at, canceled_at, running_at) = (f.base - 600_000, f.base - 300_000, f.base - 60_000);
    let mut events = vec![common::user(TA, "p1", "u7", "Seven", error_at - 1_000)];
    events.extend(session(
        TA,
        "p1",
        "u7",
        "e1",
        error_at,
        1_000,
        SessionStatus::Error,
        "boom",
    ));
    events.extend(session(
        TA,
        "p1",
        "u7",
        "c2",
        canceled_at,
        1_000,
        SessionStatus::Canceled,
        "stop",
    ));
    // A session still running: the latest session, not the outcome.
    events.push(
        session(
            TA,
            "p1",
            "u7",
            "r3",
            running_at,
            1_000,
            SessionStatus::Success,
            "",
        )[0]
        .clone(),
    );
    insert(&f.db.client(), &events).await;
    common::aggregate(&f.state.config.clickhouse).await;
    let (s, detail) = f.json(&f.admin_a, "/api/v1/users/u7").await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    let u = &detail["user"];
    assert_eq!(u["last_outcome"], "Canceled", "{u}");
    assert_eq!(u["last_outcome_session_id"], "c2");
    assert_eq!(u["last_outcome_started_at_ms"], canceled_at);
    assert_eq!(u["last_error_message"], "boom");
    assert_eq!(u["last_error_session_id"], "e1");
    assert_eq!(u["last_error_started_at_ms"], error_at);
    assert_eq!(u["last_session_id"], "r3");
    // The same columns on the users list (the card tables' columns).
    let (s, list) = f
        .json(
            &f.admin_a,
            "/api/v1/users?user_id=u7&columns=user_id,last_outcome_started_at_ms,last_error_started_at_ms",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let row = rows(&list)
        .into_iter()
        .find(|r| r["user_id"] == "u7")
        .expect("u7 listed");
    assert_eq!(row["last_outcome_started_at_ms"], canceled_at);
    assert_eq!(row["last_error_started_at_ms"], error_at);
    f.drop().await;
}
