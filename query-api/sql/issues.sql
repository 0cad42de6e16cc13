-- Sync issues of one tenant (optionally one user or one profile) the principal may see,
-- in [from_ms, to_ms) of their time.
-- params: tenant_id String = 'acme', user_id String = '', user_id String = '', profile_id String = '', profile_id String = ''
-- params: all_profiles UInt8 = 1, profiles Array(String) = [''], from_ms Int64 = 0, to_ms Int64 = 9223372036854775807
SELECT
    issue_id, session_id, user_id, profile_id, occurred_at_ms, object_type, direction,
    mail_system, crm_system, object_name, operation, error_code, description, error_source,
    target_object_id
FROM issues
WHERE tenant_id = ? AND (? = '' OR user_id = ?) AND (? = '' OR profile_id = ?)
    AND (? = 1 OR has(?, profile_id))
    AND occurred_at_ms >= ? AND occurred_at_ms < ?;
