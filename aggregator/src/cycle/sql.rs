//! The query files, embedded (each is checked on 18.16 and current ClickHouse by
//! `deploy/clickhouse/portability/run.sh`), and their text for the topology.

/// Server clock.
pub const SERVER_NOW: &str = include_str!("../../sql/server_now.sql");
/// Read the watermark.
pub const PROGRESS_READ: &str = include_str!("../../sql/progress_read.sql");
/// Move the watermark.
pub const PROGRESS_WRITE: &str = include_str!("../../sql/progress_write.sql");
/// Highest version written.
pub const MAX_VERSION: &str = include_str!("../../sql/max_version.sql");
/// The server's per-query memory limit for this user, bytes (0: none).
pub const MEMORY_LIMIT: &str = include_str!("../../sql/memory_limit.sql");
/// Users to recompute.
pub const TOUCHED_COUNT: &str = include_str!("../../sql/touched_count.sql");
/// Where the statements of a large users step split the users.
pub const USER_KEY_RANGES: &str = include_str!("../../sql/user_key_ranges.sql");
/// Recompute users.
pub const RECOMPUTE_USERS: &str = include_str!("../../sql/recompute_users.sql");
/// Advance users from their stored rows.
pub const ADVANCE_USERS: &str = include_str!("../../sql/advance_users.sql");
/// On one server, `advance_users.sql`'s touched sessions, from the rows the cycle's
/// sessions step wrote ([`advance_users_query`]).
pub const TOUCHED_SESSION_ROWS: &str = include_str!("../../sql/touched_session_rows.sql");
/// Users a cycle advanced (written with its advancing version).
pub const ADVANCED_COUNT: &str = include_str!("../../sql/advanced_count.sql");
/// Whether the view filling `session_state_by_cycle` is there.
pub const SESSION_ROWS_VIEW: &str = include_str!("../../sql/session_rows_view.sql");
/// Sessions to recompute (approximate count).
pub const TOUCHED_SESSIONS: &str = include_str!("../../sql/touched_sessions.sql");
/// Where the statements of a large sessions step split the users.
pub const SESSION_KEY_RANGES: &str = include_str!("../../sql/session_key_ranges.sql");
/// Recompute sessions.
pub const RECOMPUTE_SESSIONS: &str = include_str!("../../sql/recompute_sessions.sql");
/// The (tenant, day)s of the session series to recompute.
pub const SESSION_COUNT_DAYS: &str = include_str!("../../sql/session_count_days.sql");
/// The same for a window from 0: every end of a range of users, by the key.
pub const SESSION_COUNT_DAYS_ALL: &str = include_str!("../../sql/session_count_days_all.sql");
/// Session series of given (tenant, day)s.
pub const SESSION_COUNTS: &str = include_str!("../../sql/session_counts.sql");
/// Issue series.
pub const ISSUE_COUNTS: &str = include_str!("../../sql/issue_counts.sql");
/// Users-per-status snapshot.
pub const USER_STATUS_SNAPSHOT: &str = include_str!("../../sql/user_status_snapshot.sql");
/// Monitor cards of a tenant.
pub const MONITOR_CARDS: &str = include_str!("../../sql/monitor_cards.sql");
/// The user table behind a card.
pub const MONITOR_CARD_USERS: &str = include_str!("../../sql/monitor_card_users.sql");

/// A query file for the topology: as written (`GLOBAL IN`) on a cluster, `IN` on one
/// server. ClickHouse 18.16 turns a `GLOBAL IN` set into a temporary table that its
/// primary-key analysis does not use, so every row of the table it filters is read: on
/// one server 8.1 M rows to find a thousand users' 81 k, a steady cycle that grew with
/// the history kept. Here the files keep `GLOBAL IN` on a cluster, where it is needed
/// and cheap (sets over small tables or the window's touches).
pub fn for_topology(sql: &'static str, cluster: bool) -> std::borrow::Cow<'static, str> {
    if cluster {
        std::borrow::Cow::Borrowed(sql)
    } else {
        std::borrow::Cow::Owned(sql.replace("GLOBAL IN", "IN"))
    }
}

/// `recompute_users.sql` or `advance_users.sql` for the topology: `IN` everywhere. On a
/// cluster each shard then builds the touched users' set itself:
/// `distributed_product_mode = 'local'` (set on the cluster client) turns the set's
/// `Distributed` tables (`ingest_touches`, `user_state`) into the shard's local ones,
/// and every user-keyed table is sharded by the same key, so a shard's set is exactly
/// its own touched users, and its index is used (a `GLOBAL IN` set reached the shards
/// as a temporary table and they read every row: 2.0 M of 2.0 M per shard on the local
/// 2x2 cluster, against 0.74 M with `IN`). `profile_state_events` is replicated on every
/// node, not `Distributed`: it is named with its database, which the query forwarded to
/// a shard does not carry.
pub fn users_query(
    text: &'static str,
    cluster_database: Option<&str>,
) -> std::borrow::Cow<'static, str> {
    match cluster_database {
        None => for_topology(text, false),
        Some(database) => std::borrow::Cow::Owned(store::cluster::qualify_tables(
            &text.replace("GLOBAL IN", "IN"),
            database,
            &["profile_state_events"],
        )),
    }
}

/// Where `advance_users.sql` reads the touched sessions' raw events (S1): from the
/// line of this comment to the subquery's alias.
const RAW_TOUCHED_SESSIONS: (&str, &str) = (
    "                    -- S1 for the touched sessions: their rows as they are now.\n",
    "                ) AS touched\n",
);

/// The binds of that read ([`super::bind_touched_sessions`]).
pub const RAW_TOUCHED_SESSIONS_BINDS: usize = 18 + 11;

/// `advance_users.sql` as a cycle sends it.
pub struct AdvanceUsers {
    /// The statement with the raw read of the touched sessions
    /// ([`super::bind_touched_sessions`]'s binds).
    pub raw: std::borrow::Cow<'static, str>,
    /// On one server, the statement with `touched_session_rows.sql` in its place (binds:
    /// the sessions step's version, then the window and shard), sent while the view that
    /// fills `session_state_by_cycle` is there (`session_rows_view.sql`).
    pub from_session_rows: Option<String>,
}

/// `advance_users.sql` for the topology ([`users_query`]). On one server its touched
/// sessions (S1) are `touched_session_rows.sql`: the rows the cycle's sessions step
/// has just written, one key range of `session_state_by_cycle`, in place of a key
/// lookup per session in `session_events` (a cost that grows with the history kept).
/// On a cluster the raw read stays: the rows were written through one replica of each
/// shard a moment before, and the read may go to the other, which may not have fetched
/// them yet (a touched session missing there would be advanced wrongly, not retried).
pub fn advance_users_query(cluster_database: Option<&str>) -> AdvanceUsers {
    let raw = users_query(ADVANCE_USERS, cluster_database);
    let from_session_rows = match cluster_database {
        None => with_session_rows(&raw),
        Some(_) => None,
    };
    AdvanceUsers {
        raw,
        from_session_rows,
    }
}

/// `text` with its raw S1 replaced by `touched_session_rows.sql`.
fn with_session_rows(text: &str) -> Option<String> {
    let (begin, end) = RAW_TOUCHED_SESSIONS;
    let start = text.find(begin)?;
    let stop = start + text[start..].find(end)?;
    let rows: String = TOUCHED_SESSION_ROWS
        .lines()
        .filter(|line| !line.starts_with("--"))
        .map(|line| format!("                    {line}\n"))
        .collect();
    Some(format!("{}{rows}{}", &text[..start], &text[stop..]))
}

/// Where `recompute_sessions.sql` finds the touched sessions (their hash in PREWHERE, their
/// ids in WHERE, both from `ingest_touches`): from the line of this comment to the
/// `GROUP BY`.
const TOUCHED_SESSIONS_READ: (&str, &str) = (
    "        -- The sessions by a 64-bit hash of their ids in PREWHERE",
    "        GROUP BY tenant_id, user_id, session_id\n",
);

/// Every session of one range of users, read straight from `session_events`.
const ALL_SESSIONS_READ: &str =
    "        -- every session of the statement's range of users (cycle::UserRange)
        WHERE (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
            AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
";

/// `recompute_sessions.sql` for a window that holds every session (a first cycle, a
/// rebuild: it starts at 0): the statement's range of users read straight from
/// `session_events` by its key (binds: the computed time, the version, the range). The
/// touched sessions' sets would each scan every row of `ingest_touches` once per
/// statement, a cost that grew with the square of the history; every session of the
/// range is a superset of them (rows ingested after the window are recomputed again by
/// the next cycle, which is harmless).
/// `None` only if the file lost the lines it is cut at (a unit test checks they are there).
pub fn recompute_all_sessions() -> Option<String> {
    let (begin, end) = TOUCHED_SESSIONS_READ;
    let text = RECOMPUTE_SESSIONS;
    let start = text.find(begin)?;
    let stop = start + text[start..].find(end)?;
    Some(format!(
        "{}{ALL_SESSIONS_READ}{}",
        &text[..start],
        &text[stop..]
    ))
}
