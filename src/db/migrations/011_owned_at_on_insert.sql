-- A new customer's `owned_at` is now written by the insert itself (`store::create` sets it for
-- every pooled entity). The insert trigger made every customer INSERT open a statement
-- savepoint, and FTS5 writes its pending index terms to disk at every savepoint, so a
-- transaction of many writes left a tiny index segment per customer to merge. Owner changes
-- keep their trigger: they are rare and no insert path is involved.
DROP TRIGGER customers_owned_on_insert;
