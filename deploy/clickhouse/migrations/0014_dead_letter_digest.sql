-- Dead letters keep at most `dead_letters.max_payload_bytes` of a payload (an oversized
-- message must still dead-letter); what was kept is said by these columns. Rows from
-- before this migration kept their whole payload: their size is the payload's length.
ALTER TABLE dead_letters ADD COLUMN payload_bytes UInt64 DEFAULT length(payload) AFTER payload;
-- hex SHA-256 of the whole original payload ('' on rows from before this migration)
ALTER TABLE dead_letters ADD COLUMN payload_sha256 String DEFAULT '' AFTER payload_bytes;
-- 1 when `payload` is only the first bytes of the original (it cannot be replayed)
ALTER TABLE dead_letters ADD COLUMN payload_truncated UInt8 DEFAULT 0 AFTER payload_sha256;
