-- The principal behind a bearer token: looked up by the token's SHA-256, revoked tokens left out.
-- params: token_hash String = 'abc'
SELECT token_id, tenant_id, role, all_profiles, profiles
FROM $SECRETS_DATABASE.api_tokens FINAL
WHERE token_hash = ? AND revoked = 0
LIMIT 1;
