//! One aggregation cycle, all of it SQL run on ClickHouse (no event crosses into memory):
//!
//! 1. read the server's clock and the watermark `W` (everything ingested before `W` is
//!    reflected); the window is `[W - overlap, now - settle)`;
//! 2. recompute the sessions with events ingested in the window into `session_state`
//!    (`sql/recompute_sessions.sql`, split by ranges of users when many; the window of this
//!    step has its own watermark, so a database that predates the table is backfilled in
//!    its first cycle, and it always holds the users' window); the events of the window
//!    are found in `ingest_touches` (sorted by ingestion time, written by materialized
//!    views as events are stored), so this reads the window, not the history; a view
//!    copies the live rows into `session_state_by_cycle`, sorted by the cycle's version;
//! 3. count the touched users (new session or user-state events in the window, users of
//!    profiles with new profile-state events, users whose `changes_at_ms` has passed);
//! 4. write each one's new row into `user_state` (split by ranges of users when many): advanced
//!    from the stored row and the sessions touched in the window when the row allows it
//!    (`sql/advance_users.sql`; on one server it takes those sessions from the rows step 2
//!    wrote, see [`sql::advance_users_query`]), else recomputed from all their events
//!    (`sql/recompute_users.sql`, which skips the advanced users); the recomputed rows get
//!    a higher version than the advanced ones;
//! 5. recompute the session and issue series of the touched (tenant, day)s; take the
//!    users-per-status snapshot when it is due;
//! 6. only then move the watermarks.
//!
//! A crash anywhere before 6 repeats the cycle from the same watermark after a restart, and
//! every step is idempotent (ReplacingMergeTree, full recomputation per key; advancing a
//! row that already holds the touched sessions changes nothing: the stored latest session
//! is replaced by its new row, and any other touched session fails the advancing test and
//! is recomputed), so the tables converge to the same values.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clickhouse::Client;

use crate::config::AggregatorConfig;
use crate::error::{at, Result};
use crate::metrics::{Metrics, ResultLabel};

mod ranges;
mod sessions;
pub mod sql;
mod users;

pub use ranges::UserRange;

/// Name of the aggregator's row in `aggregator_progress`.
pub const PROGRESS_NAME: &str = "main";

/// Name of the `session_state` step's row in `aggregator_progress` (its own, so that a
/// database migrated to the table after its first cycles gets every session backfilled).
pub const SESSIONS_PROGRESS_NAME: &str = "session_state";

/// Name of the session series' row in `aggregator_progress` (its own, so that a database
/// whose counts were made before each session was counted once, under its decided end, gets
/// every day recounted once).
pub const COUNTS_PROGRESS_NAME: &str = "session_counts";

/// (tenant, day)s per statement of the session series: their lists are bound into the
/// statement's text (ClickHouse parses at most 256 KiB of it), and a chunk bounds what one
/// statement groups (a first cycle recomputes every day).
pub const SESSION_COUNT_DAYS_PER_STATEMENT: usize = 200;

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Window start, s since the epoch (server clock).
    pub from_s: u32,
    /// Window end = the new watermark, s.
    pub to_s: u32,
    /// Users recomputed.
    pub touched: u64,
    /// Of them, those advanced from their stored row (`advance_users.sql`); the others
    /// were recomputed from all their events.
    pub advanced: u64,
    /// Statements they were split into (ranges of users, [`UserRange`]).
    pub shards: u64,
    /// Start of the sessions step's window, s (0: every stored session).
    pub sessions_from_s: u32,
    /// Sessions recomputed (approximate: ClickHouse's `uniq`).
    pub sessions: u64,
    /// Statements they were split into (ranges of users, [`UserRange`]).
    pub session_shards: u64,
    /// Start of the session series' window, s (0: every day recounted).
    pub counts_from_s: u32,
    /// (tenant, day)s of the session series recounted.
    pub count_days: u64,
    /// Time the users step took (count and recompute), ms.
    pub users_ms: u64,
    /// Time the sessions step took, ms.
    pub sessions_ms: u64,
    /// Whether the users-per-status snapshot was taken.
    pub snapshot: bool,
}

/// The aggregator's loop state. Nothing here is needed to restart: the watermark and the
/// versions live in ClickHouse.
pub struct Aggregator {
    client: Client,
    config: AggregatorConfig,
    metrics: Arc<Metrics>,
    last_version: u64,
    last_snapshot_ms: i64,
    last_watermark_s: u32,
    /// The query files holding `GLOBAL IN`, for this topology ([`sql::for_topology`]).
    touched_count: std::borrow::Cow<'static, str>,
    user_key_ranges: std::borrow::Cow<'static, str>,
    recompute_all_sessions: Option<String>,
    recompute_users: std::borrow::Cow<'static, str>,
    advance_users: sql::AdvanceUsers,
    issue_counts: std::borrow::Cow<'static, str>,
}

/// On a cluster, a cycle reads each shard from a replica at most `overlap - settle` seconds
/// behind (`max_replica_delay_for_distributed_queries`), and fails rather than read a
/// staler one (`fallback_to_stale_replicas_for_distributed_queries = 0`): rows a lagging
/// replica has not fetched yet could carry an `ingested_at` the watermark has passed by
/// more than the overlap, and would never be aggregated. A failed cycle is retried from the
/// same watermark. Its writes go without `insert_quorum`: they are derived and recomputed,
/// and a cycle should not stop while a shard has a replica down.
fn read_fresh(client: Client, config: &AggregatorConfig) -> Client {
    if !config.clickhouse.is_cluster() {
        return client;
    }
    let max_delay = config
        .cycle
        .overlap_secs
        .saturating_sub(config.cycle.settle_secs)
        .max(1);
    client
        .with_setting(
            "max_replica_delay_for_distributed_queries",
            max_delay.to_string(),
        )
        .with_setting("fallback_to_stale_replicas_for_distributed_queries", "0")
        .with_setting("insert_quorum", "0")
}

/// Where a cycle's `GROUP BY` starts spilling to disk (`max_bytes_before_external_group_by`),
/// for the server's per-query `max_memory_usage` (0: none): half of it, as ClickHouse
/// advises, and at most [`GROUP_BY_SPILL_MAX_BYTES`]. A first cycle groups every session
/// of the history (the session series groups each day's ended sessions by session: 40 M of
/// them needed over 8 GiB, and the cycle failed at every retry); spilled, 1.9 GiB.
pub fn group_by_spill_bytes(memory_limit: u64) -> u64 {
    match memory_limit {
        0 => GROUP_BY_SPILL_MAX_BYTES,
        limit => (limit / 2).min(GROUP_BY_SPILL_MAX_BYTES),
    }
}

/// The largest `GROUP BY` a cycle keeps in memory, bytes.
pub const GROUP_BY_SPILL_MAX_BYTES: u64 = 2_000_000_000;

/// Binds the sessions touched in `[from_s, to_s)` of the users of `range`, as
/// `advance_users.sql`'s raw read of them takes them: by the hash of their ids (PREWHERE),
/// then by their ids (WHERE).
fn bind_touched_sessions(
    q: clickhouse::query::Query,
    (from_s, to_s): (u32, u32),
    range: &UserRange,
) -> clickhouse::query::Query {
    let q = range.bind(q.bind(from_s).bind(to_s));
    range.bind(q.bind(from_s).bind(to_s))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Wall clock, ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Aggregator {
    /// An aggregator over a migrated database.
    pub async fn new(config: AggregatorConfig, metrics: Arc<Metrics>) -> Result<Self> {
        let client = read_fresh(config.clickhouse.client(), &config);
        let memory_limit = client
            .query(sql::MEMORY_LIMIT)
            .fetch_one::<u64>()
            .await
            .map_err(at("memory_limit"))?;
        let client = client.with_setting(
            "max_bytes_before_external_group_by",
            group_by_spill_bytes(memory_limit).to_string(),
        );
        let last_version = client
            .query(sql::MAX_VERSION)
            .fetch_one::<u64>()
            .await
            .map_err(at("max_version"))?;
        let cluster = config.clickhouse.is_cluster();
        let database = cluster.then_some(config.clickhouse.database.as_str());
        Ok(Self {
            touched_count: sql::for_topology(sql::TOUCHED_COUNT, cluster),
            user_key_ranges: sql::for_topology(sql::USER_KEY_RANGES, cluster),
            recompute_all_sessions: sql::recompute_all_sessions(),
            recompute_users: sql::users_query(sql::RECOMPUTE_USERS, database),
            advance_users: sql::advance_users_query(database),
            issue_counts: sql::for_topology(sql::ISSUE_COUNTS, cluster),
            client,
            config,
            metrics,
            last_version,
            last_snapshot_ms: 0,
            last_watermark_s: 0,
        })
    }

    /// Reads the highest version written again (after taking over from another instance,
    /// whose clock may be ahead of this one's).
    pub async fn resume(&mut self) -> Result<()> {
        let written = self
            .client
            .query(sql::MAX_VERSION)
            .fetch_one::<u64>()
            .await
            .map_err(at("max_version"))?;
        self.last_version = self.last_version.max(written);
        Ok(())
    }

    /// A version greater than every one written before (wall clock ms, or +1).
    fn next_version(&mut self) -> u64 {
        let now = u64::try_from(now_ms()).unwrap_or(0);
        self.last_version = now.max(self.last_version + 1);
        self.last_version
    }

    /// Runs one cycle and records its metrics.
    pub async fn cycle(&mut self) -> Result<CycleReport> {
        let started = Instant::now();
        let result = self.cycle_inner().await;
        self.metrics
            .cycle_seconds
            .observe(started.elapsed().as_secs_f64());
        let label = ResultLabel {
            result: if result.is_ok() { "ok" } else { "error" },
        };
        self.metrics.cycles.get_or_create(&label).inc();
        if let Ok(report) = &result {
            self.metrics.users_recomputed.inc_by(report.touched);
            self.metrics.users_advanced.inc_by(report.advanced);
            self.metrics.sessions_recomputed.inc_by(report.sessions);
            self.metrics
                .last_cycle_users
                .set(i64::try_from(report.touched).unwrap_or(i64::MAX));
            self.metrics.watermark_seconds.set(i64::from(report.to_s));
            self.last_watermark_s = report.to_s;
        } else if self.last_watermark_s > 0 {
            // Failing cycles: the lag keeps growing with the wall clock.
            let lag = (now_ms() / 1_000).saturating_sub(i64::from(self.last_watermark_s));
            self.metrics.lag_seconds.set(lag as f64);
        }
        result
    }

    /// The watermark of `name`, s; `None` before its first cycle.
    async fn watermark(&self, name: &str) -> Result<Option<u32>> {
        Ok(self
            .client
            .query(sql::PROGRESS_READ)
            .bind(name)
            .fetch_optional::<(u32, u64)>()
            .await
            .map_err(at("progress_read"))?
            .map(|(w, _)| w))
    }

    /// Whether the users step may read the sessions step's rows: on one server, while the
    /// view that fills `session_state_by_cycle` is there (checked every cycle: without it
    /// the rows would be missing, and users advanced as if their sessions had none).
    async fn session_rows_view(&self) -> Result<bool> {
        if self.advance_users.from_session_rows.is_none() {
            return Ok(false);
        }
        let views = self
            .client
            .query(sql::SESSION_ROWS_VIEW)
            .fetch_one::<u64>()
            .await
            .map_err(at("session_rows_view"))?;
        if views == 0 {
            tracing::warn!(
                "the view session_state_by_cycle_rows is missing (migration 0019): the users \
                 step reads the touched sessions from the raw events"
            );
        }
        Ok(views > 0)
    }

    async fn write_progress(&self, name: &str, to_s: u32, now: i64, version: u64) -> Result<()> {
        self.client
            .query(sql::PROGRESS_WRITE)
            .bind(name)
            .bind(to_s)
            .bind(now)
            .bind(version)
            .execute()
            .await
            .map_err(at("progress_write"))
    }

    async fn cycle_inner(&mut self) -> Result<CycleReport> {
        let c = &self.client;
        let server_now = c
            .query(sql::SERVER_NOW)
            .fetch_one::<u32>()
            .await
            .map_err(at("server_now"))?;
        let watermark = self.watermark(PROGRESS_NAME).await?;
        let sessions_watermark = self.watermark(SESSIONS_PROGRESS_NAME).await?;
        let counts_watermark = self.watermark(COUNTS_PROGRESS_NAME).await?;
        let cycle = self.config.cycle.clone();
        let from_s = watermark.map_or(0, |w| w.saturating_sub(cycle.overlap_secs));
        let to_s = server_now
            .saturating_sub(cycle.settle_secs)
            .max(watermark.unwrap_or(0));
        let now = now_ms();
        // Advanced rows get a lower version than recomputed ones: should both be written
        // for a user, the recomputed row wins.
        let advanced_version = self.next_version();
        let version = self.next_version();
        // The sessions first: on one server the users step advances from the rows this
        // step writes (sql::advance_users_query), so its window holds the users' one.
        let sessions_started = Instant::now();
        let sessions_from_s = sessions_watermark
            .map_or(0, |w| w.saturating_sub(cycle.overlap_secs))
            .min(from_s);
        let touched_sessions = self.touched_sessions(sessions_from_s, to_s).await?;
        self.recompute_sessions((sessions_from_s, to_s), version, &touched_sessions)
            .await?;
        let sessions = touched_sessions.sessions;
        let session_shards = u64::try_from(touched_sessions.ranges.len()).unwrap_or(u64::MAX);
        let sessions_ms = elapsed_ms(sessions_started);
        let users_started = Instant::now();
        let (touched, ranges) = self.touched_users((from_s, to_s), now).await?;
        let shards = u64::try_from(ranges.len()).unwrap_or(u64::MAX);
        // A first cycle (or one after the watermark was reset: a rebuild) recomputes every
        // touched user from all their events: advancing would read every session of the
        // history once more, to advance nobody.
        let advance = cycle.advance_users && watermark.is_some();
        let window = users::UsersWindow {
            from_s,
            to_s,
            now,
            ranges,
            touched,
            // Checked only for a cycle that advances someone.
            session_rows: if advance && touched > 0 {
                self.session_rows_view().await?.then_some(version)
            } else {
                None
            },
        };
        let advanced = if touched > 0 {
            self.write_users(&window, advance.then_some(advanced_version), version)
                .await?
        } else {
            0
        };
        let users_ms = elapsed_ms(users_started);
        let counts_from_s = counts_watermark.map_or(0, |w| w.saturating_sub(cycle.overlap_secs));
        // The series' window is the sessions' one but after an upgrade or a reset of one of
        // the two watermarks: count again only then.
        let count_ranges = if counts_from_s == sessions_from_s {
            touched_sessions.ranges
        } else {
            self.touched_sessions(counts_from_s, to_s).await?.ranges
        };
        let count_days = self
            .session_counts((counts_from_s, to_s), version, &count_ranges)
            .await?;
        let c = &self.client;
        c.query(&self.issue_counts)
            .bind(version)
            .bind(from_s)
            .bind(to_s)
            .bind(from_s)
            .bind(to_s)
            .execute()
            .await
            .map_err(at("issue_counts"))?;
        // Taken whether or not anything changed, so every hour and day has a value.
        let snapshot_due = now.saturating_sub(self.last_snapshot_ms)
            >= i64::try_from(cycle.snapshot_interval_ms).unwrap_or(i64::MAX);
        if snapshot_due {
            c.query(sql::USER_STATUS_SNAPSHOT)
                .bind(server_now)
                .bind(server_now)
                .bind(version)
                .execute()
                .await
                .map_err(at("snapshot"))?;
            self.last_snapshot_ms = now;
        }
        self.write_progress(SESSIONS_PROGRESS_NAME, to_s, now, version)
            .await?;
        self.write_progress(COUNTS_PROGRESS_NAME, to_s, now, version)
            .await?;
        self.write_progress(PROGRESS_NAME, to_s, now, version)
            .await?;
        self.metrics
            .lag_seconds
            .set(f64::from(server_now.saturating_sub(to_s)));
        tracing::debug!(
            from_s,
            to_s,
            touched,
            advanced,
            shards,
            sessions_from_s,
            sessions,
            session_shards,
            counts_from_s,
            count_days,
            users_ms,
            sessions_ms,
            snapshot = snapshot_due,
            "cycle done"
        );
        Ok(CycleReport {
            from_s,
            to_s,
            touched,
            advanced,
            shards,
            sessions_from_s,
            sessions,
            session_shards,
            counts_from_s,
            count_days,
            users_ms,
            sessions_ms,
            snapshot: snapshot_due,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{group_by_spill_bytes, sql, GROUP_BY_SPILL_MAX_BYTES};

    #[test]
    fn group_by_spills_at_half_the_memory_limit_and_at_most_the_cap() {
        assert_eq!(group_by_spill_bytes(0), GROUP_BY_SPILL_MAX_BYTES);
        assert_eq!(group_by_spill_bytes(1_000_000_000), 500_000_000);
        assert_eq!(group_by_spill_bytes(8 << 30), GROUP_BY_SPILL_MAX_BYTES);
    }

    /// The part of `advance_users.sql` that derives the row from the user's state events,
    /// the sessions' facts and the profile is `recompute_users.sql`'s, word for word.
    #[test]
    fn advance_users_derives_the_row_as_recompute_users_does() {
        let split = |text: &'static str| {
            let body = &text[text.find("INSERT INTO user_state").unwrap()..];
            let sessions = body
                .find("    -- S2-S5")
                .or(body.find("        -- S5."))
                .unwrap();
            let sessions = body[..sessions].rfind("    ANY ").unwrap();
            let after = body.find("    ) AS s USING (tenant_id, user_id)").unwrap();
            (body[..sessions].to_owned(), body[after..].to_owned())
        };
        let (full_head, full_tail) = split(sql::RECOMPUTE_USERS);
        let (advance_head, advance_tail) = split(sql::ADVANCE_USERS);
        assert_eq!(full_tail, advance_tail);
        // The touched users' set in the row part: recompute_users leaves out the advanced.
        let strip = |text: &str| {
            let start = text.find("WHERE (tenant_id, user_id) GLOBAL IN (").unwrap();
            let end = text[start..]
                .find("-- the statement's range of users")
                .unwrap();
            text[..start].to_owned() + &text[start + end..]
        };
        assert_eq!(strip(&full_head), strip(&advance_head));
    }

    /// On one server `advance_users.sql` reads the touched sessions from the sessions
    /// step's rows, with that file's binds in place of the raw read's; on a cluster it
    /// stays as written.
    #[test]
    fn one_server_advances_from_the_sessions_steps_rows() {
        let binds = |text: &str| text.matches('?').count();
        let one = sql::advance_users_query(None);
        assert_eq!(one.raw, sql::users_query(sql::ADVANCE_USERS, None));
        let one = one.from_session_rows.unwrap();
        assert!(!one.contains("session_events"), "{one}");
        assert!(one.contains("FROM session_state_by_cycle"));
        assert!(one.contains("                ) AS touched\n"));
        let raw = sql::RAW_TOUCHED_SESSIONS_BINDS;
        assert_eq!(
            binds(&one),
            binds(sql::ADVANCE_USERS) - raw + binds(sql::TOUCHED_SESSION_ROWS)
        );
        let cluster = sql::advance_users_query(Some("db"));
        assert!(cluster.from_session_rows.is_none());
        let cluster = cluster.raw;
        assert_eq!(cluster, sql::users_query(sql::ADVANCE_USERS, Some("db")));
        assert!(cluster.contains("FROM session_events"));
        assert!(!cluster.contains("session_state_by_cycle"));
    }

    /// A window from 0 reads every session of the range from `session_events`, binding
    /// only the computed time, the version and the range.
    #[test]
    fn every_session_is_read_by_the_range_alone() {
        let all = sql::recompute_all_sessions().unwrap();
        assert!(!all.contains("ingest_touches"), "{all}");
        assert!(all.contains("FROM session_events\n        -- every session of the"));
        assert!(all.contains("        GROUP BY tenant_id, user_id, session_id\n"));
        assert_eq!(all.matches('?').count(), 2 + 7);
        let touched = sql::RECOMPUTE_SESSIONS;
        // The window and range twice (PREWHERE and WHERE), then the lookback's time.
        assert_eq!(touched.matches('?').count(), 2 + 2 * (2 + 7) + (2 + 2 + 7));
        assert!(touched.contains("AND occurred_at >= toDateTime(("));
    }

    #[test]
    fn one_server_and_cluster_recompute_users_by_the_primary_key() {
        for text in [
            sql::users_query(sql::RECOMPUTE_USERS, None),
            sql::users_query(sql::RECOMPUTE_USERS, Some("db")),
            sql::advance_users_query(None)
                .from_session_rows
                .unwrap()
                .into(),
            sql::advance_users_query(None).raw,
            sql::advance_users_query(Some("db")).raw,
        ] {
            assert!(
                !text.contains("GLOBAL IN"),
                "GLOBAL IN left in recompute_users"
            );
            assert!(text.contains("(tenant_id, user_id) IN ("));
        }
        let cluster = sql::users_query(sql::RECOMPUTE_USERS, Some("db"));
        assert!(cluster.contains("FROM db.profile_state_events"));
        assert!(!cluster.contains("FROM profile_state_events"));
        assert!(sql::users_query(sql::RECOMPUTE_USERS, None).contains("FROM profile_state_events"));
        assert!(sql::for_topology(sql::ISSUE_COUNTS, true).contains("GLOBAL IN"));
        assert!(!sql::for_topology(sql::ISSUE_COUNTS, false).contains("GLOBAL IN"));
    }
}
