-- SQLite's update hook, from which the writer learns which tables a commit changed (and so
-- which answers the memo must forget, which live streams to wake), is not called for WITHOUT
-- ROWID tables. For the two whose changes matter to the memo, a trigger changes a one-row mark
-- table instead, which the hook reports as the table it stands for (`changed_sessions` →
-- `sessions`). A session's `last_seen_at` touches are left out: they change nobody's rights.
CREATE TABLE changed_sessions (id INTEGER PRIMARY KEY, count INTEGER NOT NULL) STRICT;
INSERT INTO changed_sessions VALUES (1, 0);
CREATE TRIGGER sessions_inserted AFTER INSERT ON sessions
BEGIN UPDATE changed_sessions SET count = count + 1; END;
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions
BEGIN UPDATE changed_sessions SET count = count + 1; END;

CREATE TABLE changed_user_roles (id INTEGER PRIMARY KEY, count INTEGER NOT NULL) STRICT;
INSERT INTO changed_user_roles VALUES (1, 0);
CREATE TRIGGER user_roles_inserted AFTER INSERT ON user_roles
BEGIN UPDATE changed_user_roles SET count = count + 1; END;
CREATE TRIGGER user_roles_deleted AFTER DELETE ON user_roles
BEGIN UPDATE changed_user_roles SET count = count + 1; END;
CREATE TRIGGER user_roles_updated AFTER UPDATE ON user_roles
BEGIN UPDATE changed_user_roles SET count = count + 1; END;
