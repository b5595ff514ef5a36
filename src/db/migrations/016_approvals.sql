-- Approval flows 审批流程. A department may have a head (负责人), whom a flow's step can name
-- ("the submitter's department head, n levels up").
ALTER TABLE departments ADD COLUMN head_id INTEGER REFERENCES users(id) ON DELETE SET NULL;

-- One flow per entity, as an administrator designed it. `steps` is a JSON array of
-- {"name"?, "approver": {"kind": "role"|"head"|"users", …}, "mode": "any"|"all",
-- "condition"?: {"field", "op", "value"}}; see `entity::approvals::flows`.
CREATE TABLE approval_flows (
    entity     TEXT PRIMARY KEY,
    steps      TEXT NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1,
    updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- A record's way through its flow. `steps` is the snapshot taken at submission: the steps whose
-- conditions held, each with the approvers it resolved to, so a flow edited later does not
-- change an instance already running. At most one pending instance per record: that one locks it.
CREATE TABLE approval_instances (
    id           INTEGER PRIMARY KEY,
    entity       TEXT NOT NULL,
    record_id    INTEGER NOT NULL,
    flow_version INTEGER NOT NULL,
    steps        TEXT NOT NULL,
    current_step INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    submitter_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    comment      TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX approval_instances_pending ON approval_instances(entity, record_id)
    WHERE status = 'pending';
CREATE INDEX approval_instances_record ON approval_instances(entity, record_id, id);
CREATE INDEX approval_instances_submitter ON approval_instances(submitter_id, id);

-- One row per approver per step. Rows of later steps wait as `queued` until their step starts.
CREATE TABLE approval_tasks (
    id             INTEGER PRIMARY KEY,
    instance_id    INTEGER NOT NULL REFERENCES approval_instances(id) ON DELETE CASCADE,
    step           INTEGER NOT NULL,
    approver_id    INTEGER NOT NULL REFERENCES users(id),
    status         TEXT NOT NULL CHECK (status IN
                       ('queued', 'waiting', 'approved', 'rejected', 'transferred', 'skipped')),
    comment        TEXT,
    transferred_to INTEGER REFERENCES users(id),
    acted_at       INTEGER,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX approval_tasks_instance ON approval_tasks(instance_id, step, id);
CREATE INDEX approval_tasks_approver ON approval_tasks(approver_id, status, instance_id);

-- Contracts reach `active` only through their flow: every company starts with one step that
-- any administrator approves, which the administrator can then redesign.
INSERT INTO approval_flows (entity, steps, created_at, updated_at)
SELECT 'contracts',
       json_array(json_object('approver', json_object('kind', 'role', 'role_id', id), 'mode', 'any')),
       CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)
FROM roles WHERE builtin = 'administrator';
