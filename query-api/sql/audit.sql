-- The audit trail of admin actions of one tenant, limited to the profiles the principal may
-- see: the current state of each request (who, when, what, result). The API wraps it with
-- filters, sort and paging.
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT
    request_id, command_id, user_id, profile_id, action, issued_by, issued_at_ms, result,
    detail, new_mail_account, new_crm_user_name, version
FROM admin_actions FINAL
WHERE tenant_id = ? AND (? = 1 OR has(?, profile_id));
