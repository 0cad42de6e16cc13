-- About how many sessions have events ingested in [from_s, to_s) (to size the shards of
-- recompute_sessions.sql; `uniq` is approximate and needs little memory, which the exact
-- count over a first backfill would not).
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000
SELECT uniq(tenant_id, user_id, session_id)
FROM ingest_touches
WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?) AND source = 'session';
