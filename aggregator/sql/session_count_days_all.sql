-- session_count_days.sql for a window that holds every session (it starts at 0: a first
-- cycle, a rebuild): the (tenant, day)s holding an end of any session of one range of
-- users (cycle::UserRange), read from session_events by the key alone. The touched set of
-- session_count_days.sql would scan every row of ingest_touches once per range, a cost
-- that grew with the square of the history; every end of the range is a superset of the
-- touched ones, as the sessions step recomputes every session of the range from 0.
-- params: from_tenant String = '', from_tenant String = '', from_user String = ''
-- params: to_end UInt8 = 1, until_tenant String = '', until_tenant String = '', until_user String = ''
SELECT tenant_id, toString(toDate(occurred_at)) AS day
FROM session_events
WHERE (tenant_id > ? OR (tenant_id = ? AND user_id >= ?))
    AND (? OR tenant_id < ? OR (tenant_id = ? AND user_id < ?))
    AND event_kind = 'session_ended'
GROUP BY tenant_id, day
ORDER BY day, tenant_id;
