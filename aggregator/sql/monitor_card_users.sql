-- The user table behind one card: last status, user, mail account, last sync start,
-- duration, token active, authorized; newest sessions first, one page.
-- params: tenant_id String = 'acme', sync_state String = 'Stalled', limit UInt64 = 50, offset UInt64 = 0
SELECT
    user_id, display_name, mail_account, profile_id, effective_status, last_session_status,
    last_session_started_at_ms, last_session_duration_ms, crm_token_active,
    mail_token_authorized, last_error_message
FROM monitor_users
WHERE tenant_id = ? AND sync_state = ?
ORDER BY last_session_started_at_ms DESC, user_id
LIMIT ? OFFSET ?;
