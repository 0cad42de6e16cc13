-- Every profile's current state and status (rules P1-P4 of docs/status-rules.md: the
-- latest profile-state event by (occurred_at_ms, event_id) decides; disabled or deleted is
-- Disabled), with the users the monitor counts in it (deleted users left out, a moved user
-- only in its current profile).
CREATE VIEW IF NOT EXISTS profile_status AS
SELECT
    tenant_id,
    profile_id,
    p_name AS name,
    if(p_change = 'Deleted' OR p_sync_enabled = 0, 'Disabled', 'Enabled') AS status,
    toUInt8(p_change = 'Deleted') AS deleted,
    p_updated_at_ms AS updated_at_ms,
    c_users AS users
FROM
(
    SELECT
        tenant_id,
        profile_id,
        argMax(name, (occurred_at_ms, event_id)) AS p_name,
        argMax(change, (occurred_at_ms, event_id)) AS p_change,
        argMax(sync_enabled, (occurred_at_ms, event_id)) AS p_sync_enabled,
        max(occurred_at_ms) AS p_updated_at_ms
    FROM profile_state_events
    GROUP BY tenant_id, profile_id
) AS p
ANY LEFT JOIN
(
    SELECT tenant_id, profile_id, count() AS c_users
    FROM monitor_users
    GROUP BY tenant_id, profile_id
) AS c USING (tenant_id, profile_id);
