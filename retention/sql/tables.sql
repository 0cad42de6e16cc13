-- The tables of the database (to check that every table retention manages exists).
-- check: no-compare
-- params: database String
SELECT name
FROM system.tables
WHERE database = ?
ORDER BY name;
