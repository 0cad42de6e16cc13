-- Current users whose last session started in a month before `cutoff` (YYYYMM): if the
-- aggregator recomputes them after those months of session_events are dropped, they lose
-- their last session (docs/ops/retention.md, "Derived tables").
-- params: cutoff UInt32 = 197001
SELECT count()
FROM user_state FINAL
WHERE deleted = 0
    AND last_session_started_at_ms > 0
    AND toYYYYMM(toDateTime(intDiv(last_session_started_at_ms, 1000))) < ?;
