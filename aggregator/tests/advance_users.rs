//! Advancing a user from their stored row (`advance_users.sql`) gives exactly what a
//! recomputation from all their events gives: many random users whose events arrive over
//! several cycles, mostly in the order they happened but with late sessions of any age,
//! ends before starts, ends reporting another start, duplicates and corrected ends (a
//! later `session_ended` of the same session with another status); after every cycle each row equals what
//! `rules::derive_user` gives from the events delivered so far. The advancing path and
//! the fall-back to a recomputation both run (the cycle reports say how many of each).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use aggregator::rules::derive_user;
use aggregator::{Aggregator, AggregatorConfig, CycleReport};
use common::fixtures::*;
use common::random_users::{assert_row, for_user, history, STATUSES};
use common::{Db, StateRow};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use schemas::{ChangeKind, Event, ProfileState, SessionStatus, SyncSetting};

const USERS: usize = 300;
const ROUNDS: usize = 6;

/// A corrected end of `end`'s session: a later `session_ended` with another status.
fn corrected(rng: &mut impl Rng, end: &Event) -> Option<Event> {
    let Event::SessionEnded(e) = end else {
        return None;
    };
    let statuses: Vec<_> = STATUSES.iter().filter(|s| **s != e.status).collect();
    Some(corrected_to(end, **statuses.choose(rng).unwrap()))
}

/// `end` (a `session_ended`) corrected to `status` by a later event.
fn corrected_to(end: &Event, status: SessionStatus) -> Event {
    let Event::SessionEnded(e) = end else {
        panic!("not an end: {end:?}")
    };
    let mut e = e.clone();
    let Event::SessionEnded(fresh) = ended(&e.session_id, e.started_at_ms, e.ended_at_ms, status)
    else {
        unreachable!()
    };
    e.status = status;
    e.error_category = fresh.error_category;
    e.error_source = fresh.error_source;
    e.message = fresh.message.map(|m| format!("{m} (corrected)"));
    e.header.event_id = format!("{}-fix", e.header.event_id);
    e.header.occurred_at_ms += 1;
    Event::SessionEnded(e)
}

/// An end reporting an earlier start than its session's start event (the latest start
/// reported is the session's; the earliest decides whether a stored row may have counted
/// it).
fn moved_start(rng: &mut impl Rng, end: &mut Event) {
    if let Event::SessionEnded(e) = end {
        e.started_at_ms -= rng.random_range(1..20) * 60_000;
    }
}

/// The round each of a user's events is delivered in: mostly by when it happened (a user's
/// sessions arrive as they run), else any round (late and early events), and some again
/// in a later round (redelivery).
fn deliveries(rng: &mut impl Rng, events: &[Event]) -> Vec<Vec<Event>> {
    let mut by_time: Vec<&Event> = events.iter().collect();
    by_time.sort_by_key(|e| e.occurred_at_ms());
    let mut rounds = vec![Vec::new(); ROUNDS];
    let n = by_time.len().max(1);
    for (i, e) in by_time.into_iter().enumerate() {
        let round = if rng.random_bool(0.8) {
            i * ROUNDS / n
        } else {
            rng.random_range(0..ROUNDS)
        };
        rounds[round].push(e.clone());
        if rng.random_bool(0.15) {
            let again = rng.random_range(round..ROUNDS);
            rounds[again].push(e.clone());
        }
    }
    rounds
}

fn config(db: &Db) -> AggregatorConfig {
    let mut config = db.config(20 * 60, 30 * 60);
    config.cycle.settle_secs = 0;
    config
}

/// In statements of 50 users (six ranges of the 300): each range advances, then recomputes.
#[tokio::test]
async fn advancing_from_the_stored_row_equals_recomputing_every_cycle() {
    advancing_equals_recomputing("agg_advance", 50).await;
}

/// In one statement: a cycle that advanced every touched user sends no recomputation.
#[tokio::test]
async fn advancing_in_one_statement_equals_recomputing_every_cycle() {
    advancing_equals_recomputing("agg_advance_one", 10_000).await;
}

async fn advancing_equals_recomputing(name: &str, max_users_per_statement: u64) {
    let db = Db::new(name).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let now = aggregator::cycle::now_ms();
    let base = now - 45 * 60_000;
    let profiles: Vec<ProfileState> = vec![
        profile("pa", base, P, ChangeKind::Created, true),
        profile("pb", base, "p2", ChangeKind::Created, true),
    ];
    let mut rounds: Vec<Vec<Event>> = vec![Vec::new(); ROUNDS];
    let mut users = Vec::new();
    for n in 0..USERS {
        let id = format!("user{n:03}");
        let mut events = history(&mut rng, base);
        for e in &mut events {
            if rng.random_bool(0.15) {
                moved_start(&mut rng, e);
            }
        }
        let mut fixes = Vec::new();
        for e in &events {
            if rng.random_bool(0.15) {
                fixes.extend(corrected(&mut rng, e));
            }
        }
        events.extend(fixes);
        let events = for_user(events, &id);
        for (round, delivered) in deliveries(&mut rng, &events).into_iter().enumerate() {
            rounds[round].extend(delivered);
        }
        users.push(id);
    }
    db.insert(
        &profiles
            .iter()
            .cloned()
            .map(Event::ProfileState)
            .collect::<Vec<_>>(),
    )
    .await;

    let registry = &mut prometheus_client::registry::Registry::default();
    let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
    let mut config = config(&db);
    config.cycle.max_users_per_statement = max_users_per_statement;
    let limits = config.rules.limits();
    let mut agg = Aggregator::new(config, metrics).await.unwrap();
    let mut delivered: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let (mut advanced, mut recomputed) = (0, 0);
    for (round, mut events) in rounds.into_iter().enumerate() {
        events.shuffle(&mut rng);
        db.insert(&events).await;
        for e in events {
            let user = e.header().map(|h| h.user_id.clone()).unwrap_or_default();
            delivered.entry(user).or_default().push(e);
        }
        // ingested_at has whole seconds: the window must hold this round's second.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let report = agg.cycle().await.unwrap();
        eprintln!(
            "round {round}: {} touched, {} advanced",
            report.touched, report.advanced
        );
        // Split every max_users_per_statement users (cycle::UserRange), no more.
        assert_eq!(
            report.shards,
            report.touched.div_ceil(max_users_per_statement).max(1),
            "round {round}: {report:?}"
        );
        advanced += report.advanced;
        recomputed += report.touched - report.advanced;

        let rows = db.users().await;
        for id in &users {
            let events = delivered.get(id).map_or(&[][..], Vec::as_slice);
            let key = format!("{T}/{id}");
            match derive_user(events, &profiles, 0, &limits) {
                None => assert!(
                    !rows.contains_key(&key),
                    "round {round}: {id} has no state yet"
                ),
                Some(_) => {
                    let row = rows
                        .get(&key)
                        .unwrap_or_else(|| panic!("round {round}: no row for {id}"));
                    let want = derive_user(events, &profiles, row.computed_at_ms, &limits).unwrap();
                    assert_row(&format!("round {round}: {id}"), row, &want);
                }
            }
        }
    }
    // Both paths ran, and advancing was the common one once rows existed.
    assert!(
        advanced > 300,
        "{advanced} advanced, {recomputed} recomputed"
    );
    assert!(
        recomputed > 300,
        "{advanced} advanced, {recomputed} recomputed"
    );
    db.drop().await;
}

/// One user "u" delivered step by step: each step inserts a batch, runs one cycle and
/// checks the user's row against `rules::derive_user` of everything delivered so far.
struct OneUser {
    db: Db,
    agg: Aggregator,
    limits: aggregator::rules::Limits,
    all: Vec<Event>,
}

impl OneUser {
    /// Cycles over `name`'s database, each seeing its own step only: a session touched
    /// again by the overlap while it is no longer the latest one is recomputed too
    /// (correct, but not what these tests show).
    async fn new(name: &str) -> Self {
        let db = Db::new(name).await;
        let mut config = config(&db);
        config.cycle.overlap_secs = 0;
        let limits = config.rules.limits();
        let registry = &mut prometheus_client::registry::Registry::default();
        let metrics = Arc::new(aggregator::metrics::Metrics::new(registry));
        let agg = Aggregator::new(config, metrics).await.unwrap();
        Self {
            db,
            agg,
            limits,
            all: Vec::new(),
        }
    }

    /// Delivers `batch`, runs one cycle, checks the row; returns the cycle's report and
    /// the row.
    async fn step(&mut self, batch: Vec<Event>) -> (CycleReport, StateRow) {
        let batch = for_user(batch, "u");
        self.all.extend(batch.iter().cloned());
        self.db.insert(&batch).await;
        // ingested_at has whole seconds: the window must hold this step's second.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
        let report = self.agg.cycle().await.unwrap();
        let mut rows = self.db.users().await;
        let row = rows.remove(&format!("{T}/u")).unwrap();
        let want = derive_user(&self.all, &[], row.computed_at_ms, &self.limits).unwrap();
        assert_row("u", &row, &want);
        (report, row)
    }
}

/// The one bound the advancing path has is the stored latest session's start: a session
/// with an event before it may be counted in the row already. A late session from last
/// year, and a corrected end that takes back the user's only success, are recomputed from
/// all events; a new session after them is advanced again.
#[tokio::test]
async fn a_session_from_last_year_arriving_late_is_recomputed_from_all_events() {
    let mut u = OneUser::new("agg_advance_late").await;
    let now = aggregator::cycle::now_ms();
    let year = 365 * 86_400_000;
    // Each step: (touched, advanced, consecutive failures, ever succeeded).
    let mut step = async |batch: Vec<Event>| {
        let (report, row) = u.step(batch).await;
        (
            report.touched,
            report.advanced,
            row.consecutive_failures,
            row.ever_succeeded,
        )
    };

    let mut first = vec![user(
        "c",
        now - year - 60_000,
        P,
        ChangeKind::Created,
        SyncSetting::Enabled,
    )];
    first.extend(session(
        "ok",
        now - 7_200_000,
        now - 7_100_000,
        SessionStatus::Success,
    ));
    first.extend(session(
        "e1",
        now - 3_600_000,
        now - 3_500_000,
        SessionStatus::Error,
    ));
    assert_eq!(step(first).await, (1, 0, 1, 1), "no stored row: recomputed");

    let e2 = session("e2", now - 1_800_000, now - 1_700_000, SessionStatus::Error);
    assert_eq!(step(e2).await, (1, 1, 2, 1), "a new session: advanced");

    // A failure from last year, stored now: older than anything the row bounds.
    let old = session(
        "last-year",
        now - year,
        now - year + 60_000,
        SessionStatus::Error,
    );
    assert_eq!(
        step(old).await,
        (1, 0, 2, 1),
        "late: recomputed, counted before the success"
    );

    // The only success's end corrected to an Error: every failure counts again.
    let fix = corrected_to(
        &session(
            "ok",
            now - 7_200_000,
            now - 7_100_000,
            SessionStatus::Success,
        )[1],
        SessionStatus::Error,
    );
    assert_eq!(
        step(vec![fix]).await,
        (1, 0, 4, 0),
        "success taken back: recomputed"
    );

    let s3 = session("s3", now - 600_000, now - 500_000, SessionStatus::Success);
    assert_eq!(
        step(s3).await,
        (1, 1, 0, 1),
        "a new session: advanced again"
    );

    let s4 = session("s4", now - 240_000, now - 200_000, SessionStatus::Error);
    assert_eq!(step(s4).await, (1, 1, 1, 1), "a new failure: advanced");

    // An end first, reporting a start before the stored latest session (s4) and after the
    // success: counted in the row as a failure.
    let early_end = ended("moved", now - 270_000, now - 60_000, SessionStatus::Error);
    assert_eq!(
        step(vec![early_end]).await,
        (1, 0, 2, 1),
        "an end before the latest: recomputed"
    );
    // Then its start event, later than s4's start: the session's start moves past it (the
    // latest start reported is the session's), and it becomes the latest session. Its
    // earliest start is still before s4's, so the row may have counted it: recomputed,
    // not advanced (advancing would count its failure a second time: 3).
    assert_eq!(
        step(vec![started("moved", now - 120_000)]).await,
        (1, 0, 2, 1),
        "a start moved past the latest: recomputed"
    );
    u.db.drop().await;
}

/// On one server the users step reads the touched sessions from the rows the sessions
/// step wrote, which a view copies into `session_state_by_cycle`. Without the view (an
/// operator's hand-made change) those rows would be missing: the cycle reads the raw
/// events instead, and the advanced row still holds the new session.
#[tokio::test]
async fn without_the_view_the_touched_sessions_are_read_from_the_raw_events() {
    let mut u = OneUser::new("agg_advance_no_view").await;
    let now = aggregator::cycle::now_ms();
    // Each step: (touched, advanced, the latest session).
    let seen = |(report, row): (CycleReport, StateRow)| {
        (report.touched, report.advanced, row.last_session_id)
    };
    let mut first = vec![user(
        "c",
        now - 3_600_000,
        P,
        ChangeKind::Created,
        SyncSetting::Enabled,
    )];
    first.extend(session(
        "s1",
        now - 1_800_000,
        now - 1_700_000,
        SessionStatus::Error,
    ));
    assert_eq!(seen(u.step(first).await), (1, 0, "s1".to_owned()));

    u.db.client()
        .query("DROP TABLE session_state_by_cycle_rows")
        .execute()
        .await
        .unwrap();
    let s2 = session("s2", now - 600_000, now - 500_000, SessionStatus::Success);
    assert_eq!(
        seen(u.step(s2).await),
        (1, 1, "s2".to_owned()),
        "advanced from the raw events"
    );
    u.db.drop().await;
}
