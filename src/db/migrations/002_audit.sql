-- Operation log (操作日志): who did what, when, from where.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username  TEXT,
    action    TEXT NOT NULL,
    entity    TEXT,
    record_id INTEGER,
    ip        TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_user_at ON audit_log(user_id, at);
CREATE INDEX audit_log_action_at ON audit_log(action, at);
