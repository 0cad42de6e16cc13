//! Time moves state without new events: a session started and never ended turns Stalled
//! once the stall limit passes, and an enabled user with no session for the configured
//! period gets flagged, with no event arriving in between.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::fixtures::*;
use common::random_users::for_user;
use common::Db;
use schemas::{ChangeKind, SessionStatus, SyncSetting};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_session_stalls_and_idle_user_is_flagged_without_new_events() {
    let db = Db::new("agg_stall").await;
    let (stall_s, idle_s): (i64, i64) = (4, 8);
    let shutdown = CancellationToken::new();
    let running = aggregator::start(db.config(stall_s as u64, idle_s as u64), shutdown.clone())
        .await
        .unwrap();
    let now = aggregator::cycle::now_ms();
    let created = |id| {
        user(
            id,
            now - 10_000,
            P,
            ChangeKind::Created,
            SyncSetting::Enabled,
        )
    };
    let mut events = for_user(vec![created("c"), started("s1", now - 1_000)], "runner");
    events.extend(for_user(
        [
            vec![created("c")],
            session("s1", now - 2_000, now - 1_500, SessionStatus::Success),
        ]
        .concat(),
        "idler",
    ));
    db.insert(&events).await;

    let state = |db: &Db, user: &'static str| {
        let client = db.client();
        async move {
            client
                .query("SELECT sync_state, no_recent_session, computed_at_ms FROM user_state FINAL WHERE user_id = ?")
                .bind(user)
                .fetch_optional::<(String, u8, i64)>()
                .await
                .unwrap()
        }
    };
    let wait_for = |user: &'static str, want: (&'static str, u8)| {
        let db = &db;
        async move {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Some((s, flag, at)) = state(db, user).await {
                    if (s.as_str(), flag) == want {
                        return at;
                    }
                }
                assert!(Instant::now() < deadline, "{user} never reached {want:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // First the states the events say.
    wait_for("runner", ("InProgress", 0)).await;
    wait_for("idler", ("LastSyncSucceeded", 0)).await;
    // Then, with no new event, time alone.
    let stalled_at = wait_for("runner", ("Stalled", 0)).await;
    assert!(
        stalled_at >= now - 1_000 + stall_s * 1_000,
        "stalled too early"
    );
    let idle_at = wait_for("idler", ("LastSyncSucceeded", 1)).await;
    assert!(idle_at >= now - 2_000 + idle_s * 1_000, "flagged too early");
    let runner_idle = wait_for("runner", ("Stalled", 1)).await;
    assert!(runner_idle >= now - 1_000 + idle_s * 1_000);
    // Nothing left for time to change: no more recomputation of these users.
    let rows: Vec<i64> = db
        .client()
        .query("SELECT changes_at_ms FROM user_state FINAL")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(rows, vec![0, 0]);

    shutdown.cancel();
    running.join().await;
    db.drop().await;
}
