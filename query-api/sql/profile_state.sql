-- The latest state change of a profile (`Created`, `Updated` or `Deleted`; rule P2: by
-- occurred_at_ms, then event_id), no row when the profile has no state event. One key range
-- of `profile_state_events` (3 ms), where the `profile_status` view merges every profile
-- and counts every user of the tenant first (18.16 does not push predicates into views).
-- params: tenant_id String = 'acme', profile_id String = 'acme-sales'
SELECT argMax(change, (occurred_at_ms, event_id)) AS latest_change
FROM profile_state_events
WHERE tenant_id = ? AND profile_id = ?
GROUP BY tenant_id, profile_id;
