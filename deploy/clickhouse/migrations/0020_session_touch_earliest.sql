-- The earliest day a touched session's new events carry, so that a cycle reads a touched
-- session's events from the partitions and parts that can hold them, not from every part of
-- `session_events` (issue 17).
--
-- A cycle looks each touched session up by key in `session_events`, and ClickHouse reads a
-- granule of every column it needs in every part whose key range holds the session, parts
-- of months long past included: the cost grew with the months kept. Each part knows the
-- least and greatest `occurred_at` of its rows (the partition key's min-max index) and is
-- skipped when a condition on `occurred_at` rules it out. The aggregator reads the touched
-- sessions' events from `cycle.session_lookback_days` (default 7) before the earliest of
-- these days over the statement's touches (aggregator/sql/recompute_sessions.sql,
-- docs/status-rules.md): a session's events occur around its start, which every started
-- and ended event reports.
--
-- A second row per (insert, session) beside the 'session' row, with source 'session_time'
-- and in `day` the day of the least, over the insert's events of the session, of
-- `occurred_at` and the start the event reports (`started_at_ms`, when set). Every reader of
-- `ingest_touches` names the sources it reads, so the new rows change nothing for them. A
-- statement whose 'session' rows outnumber its 'session_time' rows (touches written before
-- this view, or by a rewrite's step 5) reads without the bound.
--
-- One view writes both rows, in one block, in place of `ingest_touches_sessions` (created
-- before the old one is dropped, so that no insert in between goes untouched; an insert seen
-- by both writes its 'session' rows twice, which only repeats a recomputation). Two views
-- writing the same replicated table from one insert conflict under `insert_quorum` ("Another
-- quorum insert has been already started"), and the insert's retry is deduplicated at
-- `session_events`, so the views that had not run yet never get its rows: the cluster
-- fault test lost sessions that way. A new column would have needed every view writing
-- `ingest_touches` created again: 18.16 refuses an insert through a view whose rows lack a
-- column of its target table.
CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_touches_sessions_timed TO ingest_touches AS
SELECT
    ingested_at,
    tupleElement(arrayJoin([
        ('session', toUInt8(max(event_kind = 'session_ended')), toDate(ingested_at)),
        ('session_time', toUInt8(0), toDate(toDateTime(intDiv(min(if(started_at_ms > 0
            AND started_at_ms < occurred_at_ms, started_at_ms, occurred_at_ms)), 1000))))
    ]) AS touch, 1) AS source,
    tenant_id,
    user_id,
    session_id,
    tupleElement(touch, 2) AS ended,
    tupleElement(touch, 3) AS day
FROM session_events
GROUP BY ingested_at, tenant_id, user_id, session_id;

DROP TABLE IF EXISTS ingest_touches_sessions;

-- An insert in flight while the views were swapped may have reached neither (the rewrite
-- test lost one batch's touches that way): every session with rows ingested in the last
-- hour is touched again, stamped now (a one-off read of `ingested_at`, as 0015's). The
-- touch has no 'session_time' row, so the next cycle reads those sessions whole.
INSERT INTO ingest_touches (ingested_at, source, tenant_id, user_id, session_id, ended, day)
SELECT now(), 'session', tenant_id, user_id, session_id,
    toUInt8(max(event_kind = 'session_ended')), today()
FROM session_events
WHERE ingested_at >= now() - 3600
GROUP BY tenant_id, user_id, session_id;
