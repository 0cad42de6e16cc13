//! The cycle's sessions step (the touched sessions recomputed into `session_state`,
//! `sql/recompute_sessions.sql`) and the session series (`sql/session_counts.sql`), split
//! into statements by ranges of users when one statement would take too many sessions.

use std::collections::BTreeSet;

use super::{now_ms, sql, Aggregator, UserRange, SESSION_COUNT_DAYS_PER_STATEMENT};
use crate::error::{at, Result};

/// The sessions with events ingested in a window and the statements that take them.
#[derive(Debug, Clone)]
pub(super) struct TouchedSessions {
    /// About how many (ClickHouse's `uniq`).
    pub(super) sessions: u64,
    pub(super) ranges: Vec<UserRange>,
    /// Their events are read from this time on, s ([`occurred_from`]; 0: all of them).
    pub(super) occurred_from_s: u32,
}

/// From when a cycle reads its touched sessions' events: `lookback_s` before `earliest_s`,
/// the earliest time the window's touches carry (the day of their events' `occurred_at`
/// and of the starts they report), or from the beginning (0) when a touch does not know it
/// (`earliest_s` 0: written before migration 0020, or by a rewrite) or the lookback is off
/// (`lookback_s` 0). The parts of `session_events` whose events all occurred before it are
/// not read: a touched session is no longer looked up in every month kept.
pub(super) fn occurred_from(earliest_s: u32, lookback_s: u32) -> u32 {
    if earliest_s == 0 || lookback_s == 0 {
        0
    } else {
        earliest_s.saturating_sub(lookback_s)
    }
}

impl Aggregator {
    /// About how many sessions have events ingested in `[from_s, to_s)`, the ranges of
    /// users that split them into statements of about `max_sessions_per_statement`
    /// sessions (`session_key_ranges.sql`; one range when they fit in one), and from when
    /// their events are read.
    pub(super) async fn touched_sessions(&self, from_s: u32, to_s: u32) -> Result<TouchedSessions> {
        let (sessions, session_rows, time_rows, earliest_s) = self
            .client
            .query(sql::TOUCHED_SESSIONS)
            .bind(from_s)
            .bind(to_s)
            .fetch_one::<(u64, u64, u64, u32)>()
            .await
            .map_err(at("touched_sessions"))?;
        // Every touch of the window knows its time, or none is used.
        let earliest_s = if time_rows == session_rows {
            earliest_s
        } else {
            0
        };
        let lookback_s = self
            .config
            .cycle
            .session_lookback_days
            .saturating_mul(86_400);
        let occurred_from_s = occurred_from(earliest_s, lookback_s);
        let per_statement = self.config.cycle.max_sessions_per_statement;
        let ranges = if sessions <= per_statement {
            vec![UserRange::all()]
        } else {
            let q = self.client.query(sql::SESSION_KEY_RANGES);
            let q = q.bind(per_statement).bind(from_s).bind(to_s);
            UserRange::fetch(q, "session_key_ranges").await?
        };
        Ok(TouchedSessions {
            sessions,
            ranges,
            occurred_from_s,
        })
    }

    /// Recomputes into `session_state` the sessions with events ingested in
    /// `[from_s, to_s)`, one statement per range of `touched`.
    pub(super) async fn recompute_sessions(
        &self,
        (from_s, to_s): (u32, u32),
        version: u64,
        touched: &TouchedSessions,
    ) -> Result<()> {
        if touched.sessions == 0 {
            return Ok(());
        }
        // From 0 (a first cycle, a rebuild): every session of each range, by its key.
        let all = self
            .recompute_all_sessions
            .as_deref()
            .filter(|_| from_s == 0);
        for range in &touched.ranges {
            let text = all.unwrap_or(sql::RECOMPUTE_SESSIONS);
            let q = self.client.query(text).bind(now_ms()).bind(version);
            let q = match all {
                Some(_) => range.bind(q),
                None => range
                    .bind(
                        range
                            .bind(q.bind(from_s).bind(to_s))
                            .bind(from_s)
                            .bind(to_s),
                    )
                    .bind(touched.occurred_from_s),
            };
            q.execute().await.map_err(at("recompute_sessions"))?;
        }
        Ok(())
    }

    /// The (tenant, day)s holding an end of a session with a new end in `[from_s, to_s)`,
    /// sorted by day then tenant. Found per range of `touched` (the sessions step's for the
    /// window): a first cycle's window holds every session, too many ids for one set.
    async fn session_count_days(
        &self,
        (from_s, to_s): (u32, u32),
        touched: &TouchedSessions,
    ) -> Result<Vec<(String, String)>> {
        let mut days = BTreeSet::new();
        for range in &touched.ranges {
            // From 0 (a first cycle, a rebuild): every end of the range, by its key.
            let q = if from_s == 0 {
                self.client.query(sql::SESSION_COUNT_DAYS_ALL)
            } else {
                self.client
                    .query(sql::SESSION_COUNT_DAYS)
                    .bind(touched.occurred_from_s)
                    .bind(from_s)
                    .bind(to_s)
            };
            let found: Vec<(String, String)> = range
                .bind(q)
                .fetch_all()
                .await
                .map_err(at("session_count_days"))?;
            days.extend(found.into_iter().map(|(tenant, day)| (day, tenant)));
        }
        Ok(days
            .into_iter()
            .map(|(day, tenant)| (tenant, day))
            .collect())
    }

    /// Recomputes the session series (`session_counts`) of every (tenant, day) holding an
    /// end of a session with a new end in `[from_s, to_s)`, in chunks of
    /// [`SESSION_COUNT_DAYS_PER_STATEMENT`] (tenant, day)s; returns the (tenant, day)s.
    pub(super) async fn session_counts(
        &self,
        window: (u32, u32),
        version: u64,
        touched: &TouchedSessions,
    ) -> Result<u64> {
        let days = self.session_count_days(window, touched).await?;
        // Sorted by day: each chunk reads the ends from its first day on.
        for chunk in days.chunks(SESSION_COUNT_DAYS_PER_STATEMENT) {
            let (tenants, ds): (Vec<String>, Vec<String>) = chunk.iter().cloned().unzip();
            let first_day = ds.iter().min().cloned().unwrap_or_default();
            self.client
                .query(sql::SESSION_COUNTS)
                .bind(version)
                .bind(&tenants)
                .bind(&ds)
                .bind(&first_day)
                .bind(&first_day)
                .bind(&tenants)
                .bind(&ds)
                .bind(&tenants)
                .bind(&ds)
                .execute()
                .await
                .map_err(at("session_counts"))?;
        }
        Ok(u64::try_from(days.len()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::occurred_from;

    const DAY: u32 = 86_400;

    #[test]
    fn the_sessions_are_read_from_the_lookback_before_the_earliest_time_their_touches_carry() {
        let earliest = 1_800_000_000;
        assert_eq!(occurred_from(earliest, 7 * DAY), earliest - 7 * DAY);
    }

    #[test]
    fn an_unknown_earliest_time_or_no_lookback_reads_every_event() {
        // A touch written before migration 0020 or by a rewrite carries 0.
        assert_eq!(occurred_from(0, 7 * DAY), 0);
        assert_eq!(occurred_from(1_800_000_000, 0), 0);
    }

    #[test]
    fn a_lookback_past_the_epoch_reads_from_the_beginning() {
        assert_eq!(occurred_from(3 * DAY, 7 * DAY), 0);
        assert_eq!(occurred_from(u32::MAX, u32::MAX), 0);
    }
}
