-- Announcements 公告: a notice from a manager or an administrator to people, departments or
-- roles. The audience is resolved to people when it is sent, one receipt row each, so the
-- sender sees exactly who has read it and who has not (seed 000: no disputes later).
CREATE TABLE announcements (
    id         INTEGER PRIMARY KEY,
    author_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    audience   TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX announcements_author ON announcements(author_id, id);

CREATE TABLE announcement_receipts (
    announcement_id INTEGER NOT NULL REFERENCES announcements(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    read_at         INTEGER,
    PRIMARY KEY (announcement_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX announcement_receipts_user ON announcement_receipts(user_id, announcement_id);
