-- Where the statements of a sessions step that has more sessions than one statement takes
-- (a first cycle, a rebuild, a long catch-up) split them: the first (tenant_id, user_id)
-- of every statement after the first, in key order. The users with sessions touched in
-- [from_s, to_s), sorted by key, are cut each time their running count of touches (about
-- one per session and insert) passes another multiple of `per_statement`; a user is never
-- split. Each statement then takes one range of users (cycle::UserRange), whose
-- events are one contiguous stretch of session_events (sorted by tenant_id, user_id, ...):
-- its primary-key analysis reads that stretch only. Hash shards spread every statement
-- over the whole table, and a first cycle read all of it once per statement: a cost that
-- grew with the square of the history kept.
-- params: per_statement UInt64 = 1, from_s UInt32 = 0, to_s UInt32 = 4000000000
SELECT tupleElement(key, 1) AS tenant_id, tupleElement(key, 2) AS user_id
FROM
(
    SELECT arrayJoin(arrayFilter((k, d) -> d != 0, keys, arrayDifference(statement_of))) AS key
    FROM
    (
        SELECT
            arrayMap(x -> tupleElement(x, 1), users) AS keys,
            -- the statement of a user: the one its first touch falls in
            arrayMap((n, total) -> intDiv(total - n, ?), counts, arrayCumSum(counts))
                AS statement_of
        FROM
        (
            SELECT users, arrayMap(x -> tupleElement(x, 2), users) AS counts
            FROM
            (
                SELECT arraySort(groupArray(((tenant_id, user_id), n))) AS users
                FROM
                (
                    SELECT tenant_id, user_id, count() AS n
                    FROM ingest_touches
                    WHERE ingested_at >= toDateTime(?) AND ingested_at < toDateTime(?)
                        AND source = 'session'
                    GROUP BY tenant_id, user_id
                )
            )
        )
    )
);
