-- Users a cycle advanced from their stored row: the rows advance_users.sql wrote with the
-- cycle's advancing version (recompute_users.sql writes with another).
-- params: version UInt64 = 1
SELECT count() FROM user_state WHERE version = ?;
