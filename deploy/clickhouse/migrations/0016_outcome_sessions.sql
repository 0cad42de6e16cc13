-- The sessions behind a user's last outcome (rule S3) and last error (rule S4), so a row
-- can say when the failed sync ran and whether the error shown is that failure's or an
-- earlier one (a Canceled outcome has no error of its own). Rows written before this
-- migration have '' / 0 until the user is recomputed.
ALTER TABLE user_state ADD COLUMN last_outcome_session_id String DEFAULT '' AFTER last_outcome;
ALTER TABLE user_state ADD COLUMN last_outcome_started_at_ms Int64 DEFAULT 0 AFTER last_outcome_session_id;
ALTER TABLE user_state ADD COLUMN last_error_session_id String DEFAULT '' AFTER last_error_message;
ALTER TABLE user_state ADD COLUMN last_error_started_at_ms Int64 DEFAULT 0 AFTER last_error_session_id;

-- monitor_users (0003) with the new columns.
DROP TABLE IF EXISTS monitor_users;

CREATE VIEW IF NOT EXISTS monitor_users AS
SELECT
    tenant_id, user_id, profile_id, display_name, mail_account, crm_user_name, sync_setting,
    profile_status, effective_status, sync_state, no_recent_session, crm_token_active,
    mail_token_authorized, last_token_error, last_session_id, last_session_started_at_ms,
    last_session_ended_at_ms, last_session_duration_ms, last_session_status, last_outcome,
    last_outcome_session_id, last_outcome_started_at_ms, ever_succeeded, last_error_category,
    last_error_source, last_error_message, last_error_session_id, last_error_started_at_ms,
    consecutive_failures, first_seen_ms, last_event_at_ms, computed_at_ms
FROM user_state FINAL
WHERE deleted = 0 AND profile_deleted = 0;
