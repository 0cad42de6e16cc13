-- 1 when a user of the tenant is one the principal may see (the `monitor_users` filters:
-- deleted users and users of deleted profiles left out), else 0: the check of the routes
-- under /users/{id}/ that list something else than the user. It reads `user_state FINAL`
-- by its sort key and only the columns it tests: 4 ms at 100k users, where the user's whole
-- row (`user_one.sql`) takes 12-16 ms (a granule of every column of every part).
-- params: tenant_id String = 'acme', user_id String = 'alice', all_profiles UInt8 = 1, profiles Array(String) = ['']
SELECT toUInt64(count()) AS found
FROM
(
    SELECT profile_id
    FROM user_state FINAL
    WHERE tenant_id = ? AND user_id = ?
        AND deleted = 0 AND profile_deleted = 0
        AND (? = 1 OR has(?, profile_id))
);
