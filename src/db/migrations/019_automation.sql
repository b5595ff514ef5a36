-- Automation rules: when a record of an entity is created or changed, or a time condition
-- holds for it, and the rule's conditions hold, the rule's actions run (assign an owner,
-- notify people, create a task, set a field, call a webhook). Every run is logged per rule.
CREATE TABLE automation_rules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    entity      TEXT NOT NULL,
    trigger     TEXT NOT NULL,
    conditions  TEXT NOT NULL DEFAULT '[]',
    actions     TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    -- The last colleague a round-robin assignment gave a record to.
    last_assignee INTEGER,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX automation_rules_entity ON automation_rules(entity) WHERE active = 1;

CREATE TABLE automation_runs (
    id         INTEGER PRIMARY KEY,
    rule_id    INTEGER NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
    record_id  INTEGER NOT NULL,
    event      TEXT NOT NULL,
    -- done, failed (nothing the rule did was kept) or depth_limit (a chain of rules stopped).
    status     TEXT NOT NULL,
    actions    TEXT NOT NULL DEFAULT '[]',
    error      TEXT,
    depth      INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX automation_runs_rule ON automation_runs(rule_id, id);

-- A time rule fires once per record and moment: the date it counts down to, or the last
-- follow-up it counts idle days from. A new date or a new follow-up lets it fire again.
CREATE TABLE automation_fired (
    rule_id   INTEGER NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
    record_id INTEGER NOT NULL,
    moment    TEXT NOT NULL,
    PRIMARY KEY (rule_id, record_id, moment)
) STRICT, WITHOUT ROWID;
