-- Where the aggregator is: everything ingested before `watermark` is reflected.
-- params: name String = 'main'
SELECT toUInt32(watermark), version
FROM aggregator_progress FINAL
WHERE name = ?;
