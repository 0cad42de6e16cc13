-- Revokes a token: a new version of its row with revoked = 1.
-- params: version UInt64 = 2, token_id String = 'tok'
INSERT INTO $SECRETS_DATABASE.api_tokens (token_id, token_hash, tenant_id, role, all_profiles, profiles, label, created_at_ms, revoked, version)
SELECT token_id, token_hash, tenant_id, role, all_profiles, profiles, label, created_at_ms, 1, ?
FROM $SECRETS_DATABASE.api_tokens FINAL
WHERE token_id = ?;
