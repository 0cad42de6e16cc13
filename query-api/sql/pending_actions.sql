-- The admin actions on one user published since a time, newest first (at most 20), for
-- `GET /users/{user_id}/actions/pending`: the API compares each with what the engine
-- reported since it was issued (`user_reports.sql`). The current row of each request
-- (`FINAL` before the filter on its result, which changes between versions).
-- Binds: `query_api::query::params::UserSince`.
-- params: tenant_id String = 'acme', user_id String = 'alice', since_ms Int64 = 0
SELECT request_id, action, issued_at_ms, new_mail_account, new_crm_user_name
FROM (
    SELECT request_id, action, issued_at_ms, result, new_mail_account, new_crm_user_name
    FROM admin_actions FINAL
    WHERE tenant_id = ? AND user_id = ?
)
WHERE result = 'published' AND issued_at_ms >= ?
ORDER BY issued_at_ms DESC, request_id
LIMIT 20;
