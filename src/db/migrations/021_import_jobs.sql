-- An import is a job applied in chunks (so other people's saves go on between them): what it
-- has done so far, how it ended, and its report once it has.
ALTER TABLE import_batches ADD COLUMN state TEXT NOT NULL DEFAULT 'done'
    CHECK (state IN ('running', 'done', 'failed', 'cancelled'));
ALTER TABLE import_batches ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN processed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN finished_at INTEGER;
ALTER TABLE import_batches ADD COLUMN report TEXT;
UPDATE import_batches SET processed = rows, finished_at = created_at;
CREATE INDEX import_batches_running ON import_batches(state) WHERE state = 'running';
