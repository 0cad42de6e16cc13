-- The start of the user's latest successful session (the bound of rule S5), so that a cycle
-- can advance a user's row from the stored one and the sessions touched since
-- (aggregator/sql/advance_users.sql) instead of reading the user's whole history.
-- 0 when the user never succeeded. Rows written before this migration have -1 (unknown):
-- such a user is recomputed from all their events the next time they are touched, which
-- writes the value.
ALTER TABLE user_state ADD COLUMN last_success_started_at_ms Int64 DEFAULT -1 AFTER ever_succeeded;
