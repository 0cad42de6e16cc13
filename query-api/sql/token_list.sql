-- Every token, current state, newest first (never the hash).
SELECT token_id, tenant_id, role, all_profiles, profiles, label, created_at_ms, revoked
FROM $SECRETS_DATABASE.api_tokens FINAL
ORDER BY created_at_ms DESC, token_id;
