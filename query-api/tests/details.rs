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
