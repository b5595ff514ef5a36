-- Comments on any record of any entity, and the notifications that reach people.

-- `mentions` is the JSON array of the user ids a comment @-mentions; `body` keeps the text as
-- written ("@王芳 please call them"). A removed comment leaves its row (its history line says
-- who removed it and what it said), so `deleted_at` hides it instead of a DELETE.
CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    record_id  INTEGER NOT NULL,
    author_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    body       TEXT NOT NULL,
    mentions   TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    edited_at  INTEGER,
    deleted_at INTEGER
) STRICT;
CREATE INDEX comments_record ON comments(entity, record_id, id) WHERE deleted_at IS NULL;

-- One row per recipient. `params` holds what the message is built from (the record's title,
-- a comment's excerpt) in no language, so each reader sees it in their own. The stream of a
-- person's notifications is read by id: an SSE client resumes after the last id it saw.
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    entity     TEXT,
    record_id  INTEGER,
    actor_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    params     TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    read_at    INTEGER
) STRICT;
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, id) WHERE read_at IS NULL;
