-- Where the statements of a users step that has more touched users than one statement
-- takes (a first cycle, a rebuild, a long catch-up, a profile event over many users) split
-- them: the first (tenant_id, user_id) of every statement after the first, every
-- `per_statement` touched users in key order (the set of touched_count.sql). Each statement
-- then takes one range of users (cycle::UserRange), whose events are one contiguous stretch
-- of each raw table: its primary-key analysis reads that stretch only, where a hash shard
-- of the users had every statement read across the whole table.
-- GLOBAL IN: as in touched_count.sql (the aggregator sends IN on one server).
-- params: per_statement UInt64 = 1
-- params: from_s UInt32 = 0, to_s UInt32 = 4000000000, from_s UInt32 = 0, to_s UInt32 = 4000000000, now_ms Int64 = 4102444800000, now_ms Int64 = 4102444800000
SELECT tupleElement(key, 1) AS tenant_id, tupleElement(key, 2) AS user_id
FROM
(
    SELECT arrayJoin(arrayFilter((k, i) -> i > 1 AND (i - 1) % ? = 0, keys, arrayEnumerate(keys)))
        AS key
    FROM
    (
        SELECT arraySort(groupUniqArray((tenant_id, user_id))) AS keys
        FROM (
        SELECT tenant_id, user_id FROM ingest_touches
        WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
            AND source IN ('session', 'user_state')
        UNION ALL
        SELECT tenant_id, user_id FROM user_state FINAL
        WHERE (tenant_id, profile_id) GLOBAL IN
        (
            SELECT tenant_id, profile_id FROM profile_state_events
            WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
        )
        UNION ALL
        SELECT tenant_id, user_id FROM user_state FINAL
        -- FINAL over the candidates only (their rows found by the key), not every user
        WHERE (tenant_id, user_id) IN (SELECT tenant_id, user_id FROM user_state
            WHERE changes_at_ms > 0 AND changes_at_ms <= ?)
            AND changes_at_ms > 0 AND changes_at_ms <= ?
        )
    )
);
