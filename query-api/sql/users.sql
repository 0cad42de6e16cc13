-- Users of one tenant the principal may see, with effective and profile status (rows of
-- `monitor_users`: deleted users and users of deleted profiles left out).
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT
    user_id, display_name, mail_account, crm_user_name, profile_id, profile_status,
    effective_status, sync_setting, sync_state, crm_token_active, mail_token_authorized,
    last_token_error, last_session_id, last_session_started_at_ms, last_session_duration_ms,
    last_session_status, last_outcome, last_outcome_session_id, last_outcome_started_at_ms,
    last_error_category, last_error_source, last_error_message, last_error_session_id,
    last_error_started_at_ms, consecutive_failures, no_recent_session, first_seen_ms,
    last_event_at_ms
FROM monitor_users
WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id));
