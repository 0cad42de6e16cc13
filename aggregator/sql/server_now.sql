-- The server's clock (the clock `ingested_at` is written with), seconds since the epoch.
SELECT toUInt32(now());
