-- Import batches (导入批次): what one file created and changed, so the batch can be undone.
CREATE TABLE import_batches (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    file_name  TEXT NOT NULL,
    rows       INTEGER NOT NULL,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    undone_at  INTEGER
) STRICT;
CREATE INDEX import_batches_user ON import_batches(user_id, id);

-- One row per record a batch touched: its version right after the import (an undo leaves a
-- record alone that someone changed since) and, for updates, the previous values.
CREATE TABLE import_records (
    batch_id  INTEGER NOT NULL REFERENCES import_batches(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('created', 'updated')),
    version   INTEGER NOT NULL,
    before    TEXT,
    PRIMARY KEY (batch_id, record_id)
) STRICT, WITHOUT ROWID;

-- The duplicate check (at create, update and import) finds a phone by its digits and an email
-- in any case through these, instead of reading every customer.
CREATE INDEX customers_phone_digits ON customers(
    replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), '#', ''));
CREATE INDEX customers_email_nocase ON customers(email COLLATE NOCASE);
