-- Current users of one tenant per profile, effective status and sync state (the summary
-- counts), limited to the profiles the principal may see, optionally one profile.
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = [''], profile_id String = '', profile_id String = ''
SELECT
    profile_id,
    effective_status,
    sync_state,
    count() AS users,
    countIf(no_recent_session = 1) AS no_recent_session_users
FROM monitor_users
WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id)) AND (? = '' OR profile_id = ?)
GROUP BY profile_id, effective_status, sync_state
ORDER BY profile_id, effective_status, sync_state;
