-- Tables and views written by `aggregator` (see docs/status-rules.md and the "Aggregator"
-- section of ARCHITECTURE.md). The aggregator recomputes a user's row from the raw event
-- tables whenever the user has new events (by `ingested_at`), or when time alone changes
-- the row (`changes_at_ms`). Every table is a ReplacingMergeTree whose version is the
-- aggregator's cycle time: read with FINAL (or through the views below).

-- The current state of every user: the monitor cards, the user table behind each card,
-- the users list. One row per (tenant_id, user_id); the highest `version` is current.
CREATE TABLE IF NOT EXISTS user_state
(
    tenant_id String,
    user_id String,
    -- the current profile (a moved user is only here)
    profile_id String,
    display_name String,
    mail_account String,
    crm_user_name String,
    -- 1 when the latest user-state event is a deletion
    deleted UInt8,
    -- 1 when the current profile's latest state event is a deletion
    profile_deleted UInt8,
    -- the user's own setting: Enabled, DisabledByAdmin, Suspended, DisabledDueToError
    sync_setting String,
    -- Enabled or Disabled (profile sync disabled or profile deleted)
    profile_status String,
    -- Enabled, Disabled, DisabledDueToError, Suspended
    effective_status String,
    -- NeverSynced, InProgress, Stalled, LastSyncFailed, LastSyncSucceeded
    sync_state String,
    -- 1 when the user should sync (effective Enabled, not deleted) and had no session for
    -- the configured period
    no_recent_session UInt8,
    crm_token_active UInt8,
    mail_token_authorized UInt8,
    last_token_error String,
    -- the latest session by start time ('' / 0 when none)
    last_session_id String,
    last_session_started_at_ms Int64,
    -- 0 while the latest session has not ended
    last_session_ended_at_ms Int64,
    last_session_duration_ms Int64,
    -- status of the latest session ('' while it runs)
    last_session_status String,
    -- status of the latest ended session that was not Skipped ('' when none)
    last_outcome String,
    ever_succeeded UInt8,
    -- from the latest Error session ('' when none)
    last_error_category String,
    last_error_source String,
    last_error_message String,
    -- Error sessions started after the latest successful session started
    consecutive_failures UInt64,
    -- the earliest user-state event
    first_seen_ms Int64,
    -- the newest session or user-state event taken into account
    last_event_at_ms Int64,
    -- when time alone changes this row next (stall, no recent session); 0 for never
    changes_at_ms Int64,
    -- when the aggregator computed this row, ms since the Unix epoch
    computed_at_ms Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, user_id);

-- The aggregator's progress: everything ingested before `watermark` is reflected.
CREATE TABLE IF NOT EXISTS aggregator_progress
(
    name String,
    watermark DateTime,
    cycle_at_ms Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

-- Ended sessions per tenant, profile, bucket of their end time and status. The profile is
-- the one the session ran in. `granularity` is 'hour' or 'day' (UTC).
CREATE TABLE IF NOT EXISTS session_counts
(
    tenant_id String,
    profile_id String,
    granularity String,
    bucket DateTime,
    status String,
    sessions UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, granularity, bucket, profile_id, status);

-- Issues per tenant, profile, bucket of their time, error code, object type and direction.
CREATE TABLE IF NOT EXISTS issue_counts
(
    tenant_id String,
    profile_id String,
    granularity String,
    bucket DateTime,
    error_code UInt8,
    object_type String,
    direction String,
    issues UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, granularity, bucket, profile_id, error_code, object_type, direction);

-- Snapshots of the users per status: the latest snapshot taken within each hour / day.
-- Read through `user_status_series` (a combination that dropped to zero is not in the
-- latest snapshot, so older snapshots are filtered out there).
CREATE TABLE IF NOT EXISTS user_status_counts
(
    tenant_id String,
    profile_id String,
    granularity String,
    bucket DateTime,
    effective_status String,
    sync_state String,
    users UInt64,
    snapshot_version UInt64
)
ENGINE = ReplacingMergeTree(snapshot_version)
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, granularity, bucket, profile_id, effective_status, sync_state);

-- The users the monitor shows and counts: current rows, deleted users and users of
-- deleted profiles left out.
CREATE VIEW IF NOT EXISTS monitor_users AS
SELECT
    tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, sync_setting,
    profile_status, effective_status, sync_state, no_recent_session, crm_token_active,
    mail_token_authorized, last_token_error, last_session_id, last_session_started_at_ms,
    last_session_ended_at_ms, last_session_duration_ms, last_session_status, last_outcome,
    ever_succeeded, last_error_category, last_error_source, last_error_message,
    consecutive_failures, first_seen_ms, last_event_at_ms, computed_at_ms
FROM user_state FINAL
WHERE deleted = 0 AND profile_deleted = 0;

CREATE VIEW IF NOT EXISTS user_status_series AS
SELECT tenant_id, profile_id, granularity, bucket, effective_status, sync_state, users
FROM user_status_counts FINAL
WHERE (granularity, bucket, snapshot_version) IN
(
    SELECT granularity, bucket, max(snapshot_version)
    FROM user_status_counts
    GROUP BY granularity, bucket
);

-- "Statistics as of": per tenant, the aggregator's watermark in ms (everything ingested
-- before it is reflected; 0 before the first cycle) and the newest event time reflected.
CREATE VIEW IF NOT EXISTS tenant_freshness AS
SELECT
    tenant_id,
    toInt64(ifNull((SELECT max(toInt64(watermark)) FROM aggregator_progress), 0)) * 1000 AS as_of_ms,
    f_newest_event_at_ms AS newest_event_at_ms,
    f_computed_at_ms AS computed_at_ms
FROM
(
    SELECT
        tenant_id,
        max(last_event_at_ms) AS f_newest_event_at_ms,
        max(computed_at_ms) AS f_computed_at_ms
    FROM user_state FINAL
    GROUP BY tenant_id
);
