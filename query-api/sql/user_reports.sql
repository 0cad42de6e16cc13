-- What the engine reported about one user since a time, newest first (at most 500): its
-- user-state events (`state`: change, sync setting, mail account, CRM user name) and the
-- starts of its sessions (`session`: trigger), for the pending admin actions
-- (`pending_actions.sql`). Both on the tables' sort keys (tenant, user).
-- Binds: `query_api::query::params::UserSince`, twice.
-- params: tenant_id String = 'acme', user_id String = 'alice', since_ms Int64 = 0
-- params: tenant_id String = 'acme', user_id String = 'alice', since_ms Int64 = 0
SELECT kind, occurred_at_ms, change, sync_setting, mail_account, crm_user_name, trigger
FROM (
    SELECT
        'state' AS kind, occurred_at_ms, change, sync_setting, mail_account, crm_user_name,
        '' AS trigger
    FROM user_state_events
    WHERE tenant_id = ? AND user_id = ? AND occurred_at_ms >= ?
    UNION ALL
    SELECT
        'session' AS kind, occurred_at_ms, '' AS change, '' AS sync_setting,
        '' AS mail_account, '' AS crm_user_name, trigger
    FROM session_events
    WHERE tenant_id = ? AND user_id = ? AND occurred_at_ms >= ?
        AND event_kind = 'session_started'
)
ORDER BY occurred_at_ms DESC
LIMIT 500;
