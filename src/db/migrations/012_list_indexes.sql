-- A list over more rows than it counts reads its page in the order of the sort's index and
-- tests each row against the caller's scope. With the owner and the department in the sort
-- indexes, that test reads no row of the table (a department head's list read some four hundred
-- rows of the table per page). The commonest filters, a level or a stage, find their rows in
-- the default order (latest change first) instead of testing the newest rows of every level,
-- and each of the two indexes carries the other field and the scope columns: "level A and
-- active" is counted and paged from the level index alone.
DROP INDEX customers_updated;
CREATE INDEX customers_updated ON customers(updated_at, deleted_at, owner_id, department_id);
DROP INDEX customers_created;
CREATE INDEX customers_created ON customers(created_at, deleted_at, owner_id, department_id);
DROP INDEX customers_name;
CREATE INDEX customers_name ON customers(name, deleted_at, owner_id, department_id);
DROP INDEX customers_level;
CREATE INDEX customers_level
    ON customers(level, deleted_at, updated_at, stage, owner_id, department_id);
DROP INDEX customers_stage;
CREATE INDEX customers_stage
    ON customers(stage, deleted_at, updated_at, level, owner_id, department_id);
-- The planner's statistics for the rebuilt indexes (the others keep theirs).
ANALYZE customers_updated;
ANALYZE customers_created;
ANALYZE customers_name;
ANALYZE customers_level;
ANALYZE customers_stage;
