-- "Statistics as of" for one tenant.
-- params: tenant_id String = 'acme'
SELECT as_of_ms, newest_event_at_ms, computed_at_ms
FROM tenant_freshness
WHERE tenant_id = ?;
