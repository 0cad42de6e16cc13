-- Sync issues of one tenant (optionally one user or one profile) the principal may see,
-- in [from_ms, to_ms) of their time: the rows of the `issues` view (`issue_events FINAL`),
-- read from the table with the filters applied before the merge (18.16 does not push
-- predicates into views). The tenant and the user are on the sort key (tenant_id, user_id,
-- occurred_at, issue_id); the user as a range, [u, u] for one, ['', ID_MAX] for any
-- (`query_api::query::params::id_range`), which the key index uses and "empty or equal" is not
-- on 18.16 (that read the whole tenant for one user's issues). The other filters are not on the
-- key: ClickHouse applies a WHERE of a FINAL query after the merge, so they stay exact.
-- With the names the seeds list beside each issue: the user's current display name (from
-- `user_state FINAL`, the same user key range) and the profile's current name (its latest
-- profile-state event; the profile is the one the issue happened in). One JOIN per SELECT
-- (18.16 takes no more), `ANY LEFT JOIN`: an issue without a known name keeps '' there.
-- Binds: `query_api::query::params::Issues`.
-- params: tenant_id String = 'acme', user_from String = '', user_to String = '\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF', profile_id String = '', profile_id String = ''
-- params: all_profiles UInt8 = 1, profiles Array(String) = [''], from_ms Int64 = 0, to_ms Int64 = 9223372036854775807
-- params: tenant_id String = 'acme', user_from String = '', user_to String = '\xF4\x8F\xBF\xBF\xF4\x8F\xBF\xBF', tenant_id String = 'acme'
SELECT
    issue_id, session_id, user_id, display_name, profile_id, profile_name, occurred_at_ms,
    object_type, direction, mail_system, crm_system, object_name, operation, error_code,
    description, error_source, target_object_id
FROM
(
    SELECT
        issue_id, session_id, user_id, display_name, profile_id, occurred_at_ms, object_type,
        direction, mail_system, crm_system, object_name, operation, error_code, description,
        error_source, target_object_id
    FROM
    (
        SELECT
            issue_id, session_id, user_id, profile_id, occurred_at_ms, object_type, direction,
            mail_system, crm_system, object_name, operation, error_code, description,
            error_source, target_object_id
        FROM issue_events FINAL
        WHERE tenant_id = ? AND user_id >= ? AND user_id <= ? AND (? = '' OR profile_id = ?)
            AND (? = 1 OR has(?, profile_id))
            AND occurred_at_ms >= ? AND occurred_at_ms < ?
    ) AS i
    ANY LEFT JOIN
    (
        SELECT user_id, display_name
        FROM user_state FINAL
        WHERE tenant_id = ? AND user_id >= ? AND user_id <= ?
    ) AS u USING (user_id)
) AS iu
ANY LEFT JOIN
(
    SELECT profile_id, argMax(name, (occurred_at_ms, event_id)) AS profile_name
    FROM profile_state_events
    WHERE tenant_id = ?
    GROUP BY profile_id
) AS p USING (profile_id);
