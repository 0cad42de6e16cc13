-- 1 when a profile has a user the monitor counts (as in `monitor_users`), else 0: how a
-- profile without any state event is known. It reads the tenant's `user_state FINAL`
-- (its sort key has no profile), so it is asked only when `profile_state.sql` finds nothing.
-- params: tenant_id String = 'acme', profile_id String = 'acme-sales'
SELECT toUInt64(count() > 0) AS found
FROM
(
    SELECT profile_id
    FROM user_state FINAL
    WHERE tenant_id = ? AND profile_id = ? AND deleted = 0 AND profile_deleted = 0
);
