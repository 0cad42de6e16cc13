-- The highest row version written so far (versions only grow, across restarts too): over
-- both tables the cycles write (a cycle may write session rows and no user row).
SELECT max(v)
FROM
(
    SELECT max(version) AS v FROM user_state
    UNION ALL
    SELECT max(version) AS v FROM session_state
);
