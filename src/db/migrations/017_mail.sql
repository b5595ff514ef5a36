-- Email through the company's own SMTP server. Each person may give an address, choose which
-- kinds of notification also reach them by email, and an hour (their own time) for a daily
-- digest of what is due.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_kinds TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN digest_hour INTEGER;
ALTER TABLE users ADD COLUMN digest_sent_on TEXT;

-- Outgoing mail waits here until the SMTP server has taken it, so an outage loses nothing: a
-- failed attempt is tried again later, each wait twice the last (from 30 s up to an hour),
-- until a day has passed. A notification's mail is written when it is sent (`notification_id`),
-- in its reader's language and only if they may still open its record; a digest or a test
-- mail carries its text.
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('notification', 'digest')),
    notification_id INTEGER REFERENCES notifications(id) ON DELETE CASCADE,
    subject         TEXT,
    body            TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    sent_at         INTEGER,
    failed_at       INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX mail_queue_due ON mail_queue(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
