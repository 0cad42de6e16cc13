-- The current state of one admin request of a tenant (idempotency by request id): the row
-- with the highest version.
-- params: tenant_id String = 'acme', request_id String = 'req-1'
SELECT
    profile_id, user_id, command_id, action, issued_by, issued_at_ms, result, detail,
    new_mail_account, new_crm_user_name, version
FROM admin_actions FINAL
WHERE tenant_id = ? AND request_id = ?
ORDER BY version DESC
LIMIT 1;
