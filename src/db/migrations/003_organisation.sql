-- The organisation: a department tree (group → division → team) and API tokens.
-- `path` is the materialised path of ids, '/1/4/9/', so "this department and everything under
-- it" is one indexed prefix range, with no recursion per row.
CREATE TABLE departments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    parent_id  INTEGER REFERENCES departments(id),
    path       TEXT NOT NULL DEFAULT '',
    version    INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX departments_sibling_name ON departments(coalesce(parent_id, 0), name);
CREATE INDEX departments_parent ON departments(parent_id);
CREATE INDEX departments_path ON departments(path);

ALTER TABLE users ADD COLUMN department_id INTEGER REFERENCES departments(id);
CREATE INDEX users_department ON users(department_id);

-- Tokens for integrations. Like sessions, only a hash is stored; `prefix` lets a person tell
-- their tokens apart in a list.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
