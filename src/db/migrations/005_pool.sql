-- The public pool (公海): customers without an owner. `owned_at` is when the current owner got
-- the customer and `last_won_at` when a deal with it was last won; together with
-- `last_followup_at` they decide when the pool rules take a customer back. Triggers keep
-- `owned_at` and `pooled_at` true on every path that changes an owner (create, edit, transfer,
-- bulk assign, claim, release, the rules themselves), using the write's own `updated_at` as
-- the time so no path can forget them.
ALTER TABLE customers ADD COLUMN owned_at INTEGER;
ALTER TABLE customers ADD COLUMN pooled_at INTEGER;
ALTER TABLE customers ADD COLUMN last_won_at INTEGER;
UPDATE customers SET owned_at = created_at WHERE owner_id IS NOT NULL;
UPDATE customers SET pooled_at = updated_at WHERE owner_id IS NULL;

CREATE TRIGGER customers_owned_on_insert AFTER INSERT ON customers
BEGIN
    UPDATE customers
       SET owned_at = CASE WHEN NEW.owner_id IS NULL THEN NULL ELSE NEW.created_at END,
           pooled_at = CASE WHEN NEW.owner_id IS NULL THEN NEW.created_at ELSE NULL END
     WHERE id = NEW.id;
END;

CREATE TRIGGER customers_owned_on_owner_change AFTER UPDATE OF owner_id ON customers
WHEN NEW.owner_id IS NOT OLD.owner_id
BEGIN
    UPDATE customers
       SET owned_at = CASE WHEN NEW.owner_id IS NULL THEN NULL ELSE NEW.updated_at END,
           pooled_at = CASE WHEN NEW.owner_id IS NULL THEN NEW.updated_at ELSE NULL END
     WHERE id = NEW.id;
END;

-- Every move into or out of the pool, with who, from whom and why; the claim cooldown reads it.
CREATE TABLE pool_events (
    id                INTEGER PRIMARY KEY,
    entity            TEXT NOT NULL,
    record_id         INTEGER NOT NULL,
    action            TEXT NOT NULL CHECK (action IN ('released', 'returned', 'claimed')),
    user_id           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    previous_owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    reason            TEXT,
    at                INTEGER NOT NULL
) STRICT;
CREATE INDEX pool_events_record ON pool_events(entity, record_id, at);
CREATE INDEX pool_events_at ON pool_events(at);
