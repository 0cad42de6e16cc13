-- Profiles of one tenant the principal may see (not deleted), with sync status and user
-- counts (the users the monitor counts, rule C1). The API wraps it with filters, sort and paging.
-- params: tenant_id String = 'acme', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT profile_id, name, status, users, updated_at_ms
FROM profile_status
WHERE tenant_id = ? AND deleted = 0 AND (? = 1 OR has(?, profile_id));
