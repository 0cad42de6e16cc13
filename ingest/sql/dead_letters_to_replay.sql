-- Dead letters received in [from_ms, to_ms), optionally only one error kind ('' = all),
-- oldest origin first, except those that kept only part of their payload (they cannot be
-- replayed). Used by `ingest replay-dead-letters`.
-- params: from_ms Int64, to_ms Int64 = 4102444800000, error_kind String, error_kind String
-- fields: topic, partition, offset, message_key, payload, payload_bytes, payload_sha256, payload_truncated, message_timestamp_ms, error_kind, error_message, received_at_ms
SELECT ?fields
FROM dead_letters FINAL
WHERE received_at_ms >= ? AND received_at_ms < ? AND (? = '' OR error_kind = ?)
  AND payload_truncated = 0
ORDER BY topic, partition, offset
