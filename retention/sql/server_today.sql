-- The server's date (its time zone decides the months: the tables are partitioned by
-- toYYYYMM of a DateTime column, in the server's time zone).
-- check: no-compare
SELECT toString(today());
