-- 1 when the profile exists in the tenant (a state event, or a counted user in it).
-- params: tenant_id String = 'acme', profile_id String = 'acme-sales', tenant_id String = 'acme', profile_id String = 'acme-sales'
SELECT toUInt64(count()) AS found
FROM
(
    SELECT profile_id FROM profile_status WHERE tenant_id = ? AND profile_id = ? AND deleted = 0
    UNION ALL
    SELECT profile_id FROM monitor_users WHERE tenant_id = ? AND profile_id = ?
);
