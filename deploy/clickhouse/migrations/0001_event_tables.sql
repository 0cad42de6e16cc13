-- Raw event tables written by `ingest`. One row per event (per log line for logs).
-- Redeliveries are harmless: every table is a ReplacingMergeTree whose sort key ends in the
-- event's identity, so merges drop copies, and the views in 0002 read without them.
-- Times: `*_ms` columns are Int64 milliseconds since the Unix epoch (UTC); the DateTime
-- columns beside them are the same instant in seconds, for partitioning and convenience.

CREATE TABLE IF NOT EXISTS session_events
(
    tenant_id String,
    profile_id String,
    user_id String,
    session_id String,
    -- session_queued, session_started or session_ended
    event_kind String,
    event_id String,
    occurred_at_ms Int64,
    occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)),
    engine_id String,
    engine_version String,
    -- session_started: Schedule, ForcedByUser, ForcedByAdmin, Adaptive
    trigger String,
    -- session_started: its occurred_at_ms; session_ended: the reported start; else 0
    started_at_ms Int64,
    -- session_ended only, else 0 / empty
    ended_at_ms Int64,
    status String,
    scope_items Int64,
    changes Int64,
    total_changes Int64,
    failures Int64,
    issues Int64,
    conflicts Int64,
    objects_type Array(String),
    objects_synchronized Array(Int64),
    objects_mail_to_crm_created Array(Int64),
    objects_mail_to_crm_updated Array(Int64),
    objects_mail_to_crm_deleted Array(Int64),
    objects_crm_to_mail_created Array(Int64),
    objects_crm_to_mail_updated Array(Int64),
    objects_crm_to_mail_deleted Array(Int64),
    error_category String,
    error_source String,
    message String,
    exception String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, user_id, session_id, event_kind, event_id);

CREATE TABLE IF NOT EXISTS issue_events
(
    tenant_id String,
    profile_id String,
    user_id String,
    session_id String,
    issue_id String,
    event_id String,
    occurred_at_ms Int64,
    occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)),
    engine_id String,
    engine_version String,
    object_type String,
    direction String,
    mail_system String,
    crm_system String,
    object_name String,
    operation String,
    error_code UInt8,
    description String,
    error_source String,
    target_object_id String,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, user_id, occurred_at, issue_id);

CREATE TABLE IF NOT EXISTS log_lines
(
    tenant_id String,
    profile_id String,
    user_id String,
    session_id String,
    sequence Int32,
    line_no UInt32,
    event_id String,
    chunk_at_ms Int64,
    at_ms Int64,
    level String,
    text String,
    chunk_at DateTime DEFAULT toDateTime(intDiv(chunk_at_ms, 1000)),
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(chunk_at)
ORDER BY (tenant_id, user_id, session_id, sequence, line_no);

CREATE TABLE IF NOT EXISTS user_state_events
(
    tenant_id String,
    profile_id String,
    user_id String,
    event_id String,
    occurred_at_ms Int64,
    occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)),
    engine_id String,
    engine_version String,
    -- Created, Updated or Deleted
    change String,
    display_name String,
    mail_account String,
    crm_user_name String,
    mail_system String,
    crm_system String,
    -- Enabled, DisabledByAdmin, Suspended, DisabledDueToError
    sync_setting String,
    crm_token_active UInt8,
    mail_token_authorized UInt8,
    last_token_error String,
    saved_searches_name Array(String),
    saved_searches_object_type Array(String),
    saved_searches_conflict_resolution Array(String),
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, user_id, occurred_at_ms, event_id);

CREATE TABLE IF NOT EXISTS profile_state_events
(
    tenant_id String,
    profile_id String,
    event_id String,
    occurred_at_ms Int64,
    occurred_at DateTime DEFAULT toDateTime(intDiv(occurred_at_ms, 1000)),
    engine_id String,
    engine_version String,
    change String,
    name String,
    sync_enabled UInt8,
    ingested_at DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, profile_id, occurred_at_ms, event_id);

-- Audit trail of admin actions, written by query-api; one row per state of a request
-- (the highest `version` is the current one).
CREATE TABLE IF NOT EXISTS admin_actions
(
    tenant_id String,
    profile_id String,
    user_id String,
    request_id String,
    command_id String,
    -- Suspend, Disable, Enable, ForceSync, Pause, Resume, DeleteFromMonitor, UpdateCredentials
    action String,
    issued_by String,
    issued_at_ms Int64,
    issued_at DateTime DEFAULT toDateTime(intDiv(issued_at_ms, 1000)),
    -- accepted, published, failed
    result String,
    detail String,
    new_mail_account String,
    new_crm_user_name String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(issued_at)
ORDER BY (tenant_id, request_id);

-- Messages that could not be decoded or broke the contract, with where they came from.
CREATE TABLE IF NOT EXISTS dead_letters
(
    topic String,
    partition Int32,
    offset Int64,
    message_key String,
    payload String,
    message_timestamp_ms Int64,
    -- short stable reason (truncated, bad_magic_byte, unknown_schema_id, contract_violation, ...)
    error_kind String,
    error_message String,
    received_at_ms Int64,
    received_at DateTime DEFAULT toDateTime(intDiv(received_at_ms, 1000))
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (topic, partition, offset);
