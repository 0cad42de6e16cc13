-- The highest row version written so far (versions only grow, across restarts too).
SELECT max(version) FROM user_state;
