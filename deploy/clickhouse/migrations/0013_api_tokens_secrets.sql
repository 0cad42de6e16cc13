-- Moves the API tokens out of the database analysts read, into the database
-- `<database>_secrets` (written `$SECRETS_DATABASE` here; the migrator puts in its name),
-- which the analyst users of deploy/clickhouse/users.xml.in are not allowed to read.
-- Safe to run again after a crash at any point: the copy is idempotent (same rows, same
-- ReplacingMergeTree key and version), and a missing source table is recreated empty.
CREATE DATABASE IF NOT EXISTS $SECRETS_DATABASE;

CREATE TABLE IF NOT EXISTS $SECRETS_DATABASE.api_tokens
(
    token_id String,
    -- hex SHA-256 of the whole token text
    token_hash String,
    tenant_id String,
    -- viewer or admin
    role String,
    -- 1: every profile of the tenant; 0: only `profiles`
    all_profiles UInt8,
    profiles Array(String),
    label String,
    created_at_ms Int64,
    revoked UInt8,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY token_id;

CREATE TABLE IF NOT EXISTS api_tokens AS $SECRETS_DATABASE.api_tokens;

INSERT INTO $SECRETS_DATABASE.api_tokens
SELECT token_id, token_hash, tenant_id, role, all_profiles, profiles, label, created_at_ms, revoked, version
FROM api_tokens;

DROP TABLE IF EXISTS api_tokens;
