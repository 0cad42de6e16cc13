-- One user of a tenant, if the principal may see it: the columns of `users.sql`, read from
-- `user_state FINAL` by its sort key (tenant_id, user_id) with the `monitor_users` filters
-- (deleted users and users of deleted profiles left out). Through the view, 18.16 would
-- read every user of the tenant before picking this one (it does not push predicates into
-- views): 177 ms at 100k users, against a few ms here.
-- params: tenant_id String = 'acme', user_id String = 'alice', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT
    user_id, display_name, mail_account, crm_user_name, profile_id, profile_status,
    effective_status, sync_setting, sync_state, crm_token_active, mail_token_authorized,
    last_token_error, last_session_id, last_session_started_at_ms, last_session_duration_ms,
    last_session_status, last_outcome, last_outcome_session_id, last_outcome_started_at_ms,
    last_error_category, last_error_source, last_error_message, last_error_session_id,
    last_error_started_at_ms, consecutive_failures, no_recent_session, first_seen_ms,
    last_event_at_ms
FROM user_state FINAL
WHERE tenant_id = ? AND user_id = ?
    AND deleted = 0 AND profile_deleted = 0
    AND (? = 1 OR has(?, profile_id))
LIMIT 1;
