-- Bearer tokens of the query API (`query-api token create|list|revoke`). Only the SHA-256
-- of a token is stored; the token itself is printed once when it is created. One row per
-- state of a token: the highest `version` is current (a revocation is a new version).
CREATE TABLE IF NOT EXISTS api_tokens
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
