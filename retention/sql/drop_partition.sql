-- Drops one monthly partition (its id is YYYYMM, validated by the caller and bound as a
-- string; dropping a partition that is not there does nothing).
-- params: table Identifier = dead_letters, partition_id String = '197001'
ALTER TABLE ? DROP PARTITION ID ?;
