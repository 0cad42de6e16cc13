-- Moves the watermark, after every write of the cycle succeeded.
-- params: name String = 'main', watermark_s UInt32 = 1767225600, cycle_at_ms Int64 = 0, version UInt64 = 1
INSERT INTO aggregator_progress (name, watermark, cycle_at_ms, version)
SELECT ?, toDateTime(?), ?, ?;
