-- Whether the view that copies session_state's live rows into session_state_by_cycle
-- (migration 0019) is there: on one server the users step advances from those rows only
-- then. Without it the rows would be missing, and the touched users would be advanced as
-- if their touched sessions had none (cycle::sql::advance_users_query); an operator who
-- dropped it (a hand-made rewrite of session_state, say) gets the raw read instead.
SELECT count()
FROM system.tables
WHERE database = currentDatabase() AND name = 'session_state_by_cycle_rows';
