-- The server's clock (the clock `ingested_at` is written with), seconds since the epoch.
-- check: no-compare (the two engines answer a moment apart)
SELECT toUInt32(now());
