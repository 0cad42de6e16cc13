//! The cycle's users step: each touched user's new `user_state` row, advanced from the
//! stored row and the touched sessions where the row allows it (`sql/advance_users.sql`),
//! recomputed from all their events otherwise (`sql/recompute_users.sql`).

use super::{bind_touched_sessions, sql, Aggregator, UserRange};
use crate::error::{at, Result};

/// What the users statements of one cycle share.
pub(super) struct UsersWindow {
    pub(super) from_s: u32,
    pub(super) to_s: u32,
    pub(super) now: i64,
    /// The statements' ranges of users (one: all of them).
    pub(super) ranges: Vec<UserRange>,
    /// The touched users (`touched_count.sql`).
    pub(super) touched: u64,
    /// On one server with the view there, the version the cycle's sessions step wrote
    /// its rows with: `advance_users.sql` reads the touched sessions from them. `None`:
    /// from the raw events.
    pub(super) session_rows: Option<u64>,
}

/// Binds the touched users' set of `[from_s, to_s)` at `now` (`touched_count.sql`'s).
fn bind_touched_users(
    q: clickhouse::query::Query,
    (from_s, to_s): (u32, u32),
    now: i64,
) -> clickhouse::query::Query {
    q.bind(from_s)
        .bind(to_s)
        .bind(from_s)
        .bind(to_s)
        .bind(now)
        .bind(now)
}

impl UsersWindow {
    /// Binds the touched users' set (`touched_count.sql`'s).
    fn bind_touched(&self, q: clickhouse::query::Query) -> clickhouse::query::Query {
        bind_touched_users(q, (self.from_s, self.to_s), self.now)
    }
}

impl Aggregator {
    /// Writes the touched users' rows, range by range: advanced with `advanced_version`
    /// first (when `Some`), then the others recomputed with `version` (higher: should both
    /// be written for a user, the recomputed row wins). Returns the users advanced.
    pub(super) async fn write_users(
        &self,
        w: &UsersWindow,
        advanced_version: Option<u64>,
        version: u64,
    ) -> Result<u64> {
        let mut counted = None;
        for range in &w.ranges {
            if let Some(advanced_version) = advanced_version {
                self.advance_users(w, range, advanced_version)
                    .execute()
                    .await
                    .map_err(at("advance_users"))?;
                // In one statement, when every touched user was advanced, the
                // recomputation (which leaves them out) has nobody left: it is not sent
                // (about 0.1 s of evaluating the touched set for nothing).
                if w.ranges.len() == 1 {
                    let advanced = self.advanced_count(advanced_version).await?;
                    if advanced >= w.touched {
                        return Ok(advanced);
                    }
                    counted = Some(advanced);
                }
            }
            // 0 (nothing advanced): every touched user
            self.recompute_users(w, range, version, advanced_version.unwrap_or(0))
                .execute()
                .await
                .map_err(at("recompute_users"))?;
        }
        match (advanced_version, counted) {
            (None, _) => Ok(0),
            (Some(_), Some(advanced)) => Ok(advanced),
            (Some(advanced_version), None) => self.advanced_count(advanced_version).await,
        }
    }

    /// About how many users are touched in `[from_s, to_s)` at `now`
    /// (`touched_count.sql`), and the ranges of users that split them into statements of
    /// `max_users_per_statement` (`user_key_ranges.sql`; one range when they fit in one).
    pub(super) async fn touched_users(
        &self,
        window: (u32, u32),
        now: i64,
    ) -> Result<(u64, Vec<UserRange>)> {
        let touched = bind_touched_users(self.client.query(&self.touched_count), window, now)
            .fetch_one::<u64>()
            .await
            .map_err(at("touched"))?;
        let per_statement = self.config.cycle.max_users_per_statement;
        let ranges = if touched <= per_statement {
            vec![UserRange::all()]
        } else {
            let q = self.client.query(&self.user_key_ranges).bind(per_statement);
            UserRange::fetch(bind_touched_users(q, window, now), "user_key_ranges").await?
        };
        Ok((touched, ranges))
    }

    /// The users written with `advanced_version` (`advanced_count.sql`).
    async fn advanced_count(&self, advanced_version: u64) -> Result<u64> {
        self.client
            .query(sql::ADVANCED_COUNT)
            .bind(advanced_version)
            .fetch_one::<u64>()
            .await
            .map_err(at("advanced_count"))
    }

    /// A users statement with the binds of its row derivation (rules U to N3) bound.
    fn users_statement(
        &self,
        text: &str,
        w: &UsersWindow,
        version: u64,
    ) -> clickhouse::query::Query {
        let limits = self.config.rules.limits();
        let (stall, idle) = (limits.stall_after_ms, limits.no_session_after_ms);
        self.client
            .query(text)
            .bind(w.now)
            .bind(stall)
            .bind(w.now)
            .bind(idle)
            .bind(stall)
            .bind(w.now)
            .bind(stall)
            .bind(idle)
            .bind(w.now)
            .bind(idle)
            .bind(w.now)
            .bind(version)
    }

    /// `recompute_users.sql` for one range, leaving out the users written with
    /// `advanced_version`.
    fn recompute_users(
        &self,
        w: &UsersWindow,
        range: &UserRange,
        version: u64,
        advanced_version: u64,
    ) -> clickhouse::query::Query {
        let mut q = self.users_statement(&self.recompute_users, w, version);
        for _ in 0..2 {
            q = range.bind(w.bind_touched(q).bind(advanced_version));
        }
        q
    }

    /// `advance_users.sql` for one range.
    fn advance_users(
        &self,
        w: &UsersWindow,
        range: &UserRange,
        version: u64,
    ) -> clickhouse::query::Query {
        // S1: the sessions step's rows (one server, sql::advance_users_query), or the raw
        // events.
        let rows = w
            .session_rows
            .zip(self.advance_users.from_session_rows.as_deref());
        let text = rows.map_or(&*self.advance_users.raw, |(_, text)| text);
        let q = self.users_statement(text, w, version);
        let q = range.bind(w.bind_touched(q));
        let q = range.bind(w.bind_touched(q));
        let q = match rows {
            Some((sessions_version, _)) => {
                range.bind(q.bind(sessions_version).bind(w.from_s).bind(w.to_s))
            }
            None => self.bind_lookback(
                bind_touched_sessions(q, (w.from_s, w.to_s), range),
                (w.from_s, w.to_s),
                range,
            ),
        };
        range.bind(w.bind_touched(q))
    }
}
