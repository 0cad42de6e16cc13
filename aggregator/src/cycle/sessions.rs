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
}

/// The `lookback_s` bind of the statements that read touched sessions' events
/// (`recompute_sessions.sql`, `session_count_days.sql`, `advance_users.sql`): they read
/// from this long before the earliest day the window's touches of their range carry
/// (migration 0020), so that the parts and months of `session_events` that cannot hold
/// the sessions are skipped. `session_lookback_days` 0 turns it off: a lookback longer than
/// any time since the epoch reads every event.
pub(super) fn lookback_bind(session_lookback_days: u32) -> u32 {
    match session_lookback_days {
        0 => u32::MAX,
        days => days.saturating_mul(86_400),
    }
}

impl Aggregator {
    /// Binds the lookback's subquery over the window's touches of `range`.
    pub(super) fn bind_lookback(
        &self,
        q: clickhouse::query::Query,
        (from_s, to_s): (u32, u32),
        range: &UserRange,
    ) -> clickhouse::query::Query {
        let lookback_s = lookback_bind(self.config.cycle.session_lookback_days);
        range.bind(q.bind(lookback_s).bind(lookback_s).bind(from_s).bind(to_s))
    }

    /// About how many sessions have events ingested in `[from_s, to_s)`, the ranges of
    /// users that split them into statements of about `max_sessions_per_statement`
    /// sessions (`session_key_ranges.sql`; one range when they fit in one).
    pub(super) async fn touched_sessions(&self, from_s: u32, to_s: u32) -> Result<TouchedSessions> {
        let sessions = self
            .client
            .query(sql::TOUCHED_SESSIONS)
            .bind(from_s)
            .bind(to_s)
            .fetch_one::<u64>()
            .await
            .map_err(at("touched_sessions"))?;
        let per_statement = self.config.cycle.max_sessions_per_statement;
        let ranges = if sessions <= per_statement {
            vec![UserRange::all()]
        } else {
            let q = self.client.query(sql::SESSION_KEY_RANGES);
            let q = q.bind(per_statement).bind(from_s).bind(to_s);
            UserRange::fetch(q, "session_key_ranges").await?
        };
        Ok(TouchedSessions { sessions, ranges })
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
                None => self.bind_lookback(
                    range.bind(
                        range
                            .bind(q.bind(from_s).bind(to_s))
                            .bind(from_s)
                            .bind(to_s),
                    ),
                    (from_s, to_s),
                    range,
                ),
            };
            q.execute().await.map_err(at("recompute_sessions"))?;
        }
        Ok(())
    }

    /// The (tenant, day)s holding an end of a session with a new end in `[from_s, to_s)`,
    /// sorted by day then tenant. Found per range of `ranges` (the sessions step's for the
    /// window): a first cycle's window holds every session, too many ids for one set.
    async fn session_count_days(
        &self,
        (from_s, to_s): (u32, u32),
        ranges: &[UserRange],
    ) -> Result<Vec<(String, String)>> {
        let mut days = BTreeSet::new();
        for range in ranges {
            // From 0 (a first cycle, a rebuild): every end of the range, by its key.
            let q = if from_s == 0 {
                range.bind(self.client.query(sql::SESSION_COUNT_DAYS_ALL))
            } else {
                let q = self.client.query(sql::SESSION_COUNT_DAYS);
                let q = range.bind(q.bind(from_s).bind(to_s));
                self.bind_lookback(q, (from_s, to_s), range)
            };
            let found: Vec<(String, String)> =
                q.fetch_all().await.map_err(at("session_count_days"))?;
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
        ranges: &[UserRange],
    ) -> Result<u64> {
        let days = self.session_count_days(window, ranges).await?;
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
    use super::lookback_bind;

    #[test]
    fn the_lookback_is_days_in_seconds() {
        assert_eq!(lookback_bind(7), 7 * 86_400);
    }

    #[test]
    fn no_lookback_reads_every_event() {
        // The statements read from 0 when the earliest day is not past the lookback.
        assert_eq!(lookback_bind(0), u32::MAX);
        assert_eq!(lookback_bind(u32::MAX), u32::MAX);
    }
}
