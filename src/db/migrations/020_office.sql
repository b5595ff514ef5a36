-- Administrative forms 办公审批: expense claims, leave requests and purchase requests, records
-- of the engine that go through their approval flow (draft → in_approval → approved, or back
-- to draft when returned). Each starts with a one-step flow approved by the administrators,
-- as contracts do; the company redesigns it under Approval flows.
CREATE TABLE expenses (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    category      TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL DEFAULT 'CNY',
    spent_on      TEXT NOT NULL,
    customer_id   INTEGER REFERENCES customers(id),
    notes         TEXT,
    status        TEXT NOT NULL DEFAULT 'draft',
    owner_id      INTEGER REFERENCES users(id),
    department_id INTEGER REFERENCES departments(id),
    extra         TEXT NOT NULL DEFAULT '{}',
    version       INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    deleted_by    INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX expenses_owner ON expenses(owner_id, deleted_at, updated_at);
CREATE INDEX expenses_department ON expenses(department_id, deleted_at, updated_at);
CREATE INDEX expenses_updated ON expenses(updated_at, deleted_at);
CREATE INDEX expenses_created ON expenses(created_at, deleted_at);
CREATE INDEX expenses_deleted ON expenses(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX expenses_title ON expenses(title, deleted_at);
CREATE INDEX expenses_category ON expenses(category, deleted_at);
CREATE INDEX expenses_amount ON expenses(amount, deleted_at);
CREATE INDEX expenses_spent_on ON expenses(spent_on, deleted_at);
CREATE INDEX expenses_status ON expenses(status, deleted_at);
CREATE INDEX expenses_customer ON expenses(customer_id);
CREATE VIRTUAL TABLE expenses_fts USING fts5(title, notes, custom, tokenize = 'trigram');
CREATE VIRTUAL TABLE expenses_bigrams USING fts5(title, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);

CREATE TABLE leaves (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    starts_on     TEXT NOT NULL,
    ends_on       TEXT NOT NULL,
    days          INTEGER NOT NULL,
    reason        TEXT,
    status        TEXT NOT NULL DEFAULT 'draft',
    owner_id      INTEGER REFERENCES users(id),
    department_id INTEGER REFERENCES departments(id),
    extra         TEXT NOT NULL DEFAULT '{}',
    version       INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    deleted_by    INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX leaves_owner ON leaves(owner_id, deleted_at, updated_at);
CREATE INDEX leaves_department ON leaves(department_id, deleted_at, updated_at);
CREATE INDEX leaves_updated ON leaves(updated_at, deleted_at);
CREATE INDEX leaves_created ON leaves(created_at, deleted_at);
CREATE INDEX leaves_deleted ON leaves(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX leaves_title ON leaves(title, deleted_at);
CREATE INDEX leaves_kind ON leaves(kind, deleted_at);
CREATE INDEX leaves_ends_on ON leaves(ends_on, deleted_at);
CREATE INDEX leaves_status ON leaves(status, deleted_at);
CREATE INDEX leaves_starts_on ON leaves(starts_on, deleted_at);
CREATE VIRTUAL TABLE leaves_fts USING fts5(title, reason, custom, tokenize = 'trigram');
CREATE VIRTUAL TABLE leaves_bigrams USING fts5(title, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);

CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    supplier      TEXT,
    amount        INTEGER NOT NULL,
    currency      TEXT NOT NULL DEFAULT 'CNY',
    needed_by     TEXT,
    notes         TEXT,
    status        TEXT NOT NULL DEFAULT 'draft',
    owner_id      INTEGER REFERENCES users(id),
    department_id INTEGER REFERENCES departments(id),
    extra         TEXT NOT NULL DEFAULT '{}',
    version       INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    deleted_by    INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX purchases_owner ON purchases(owner_id, deleted_at, updated_at);
CREATE INDEX purchases_department ON purchases(department_id, deleted_at, updated_at);
CREATE INDEX purchases_updated ON purchases(updated_at, deleted_at);
CREATE INDEX purchases_created ON purchases(created_at, deleted_at);
CREATE INDEX purchases_deleted ON purchases(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX purchases_title ON purchases(title, deleted_at);
CREATE INDEX purchases_supplier ON purchases(supplier, deleted_at);
CREATE INDEX purchases_amount ON purchases(amount, deleted_at);
CREATE INDEX purchases_needed_by ON purchases(needed_by, deleted_at);
CREATE INDEX purchases_status ON purchases(status, deleted_at);
CREATE VIRTUAL TABLE purchases_fts USING fts5(title, supplier, notes, custom, tokenize = 'trigram');
CREATE VIRTUAL TABLE purchases_bigrams USING fts5(title, supplier, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);

INSERT INTO picklist_options (entity, field, value, label_zh, label_en, position) VALUES
 ('expenses', 'category', 'travel', '差旅', 'Travel', 1),
 ('expenses', 'category', 'transport', '交通', 'Local transport', 2),
 ('expenses', 'category', 'meals', '业务招待', 'Client meals', 3),
 ('expenses', 'category', 'office', '办公用品', 'Office supplies', 4),
 ('expenses', 'category', 'other', '其他', 'Other', 5),
 ('expenses', 'status', 'draft', '草稿', 'Draft', 1),
 ('expenses', 'status', 'in_approval', '审批中', 'In approval', 2),
 ('expenses', 'status', 'approved', '已批准', 'Approved', 3),
 ('leaves', 'kind', 'annual', '年假', 'Annual leave', 1),
 ('leaves', 'kind', 'sick', '病假', 'Sick leave', 2),
 ('leaves', 'kind', 'personal', '事假', 'Personal leave', 3),
 ('leaves', 'kind', 'other', '其他', 'Other', 4),
 ('leaves', 'status', 'draft', '草稿', 'Draft', 1),
 ('leaves', 'status', 'in_approval', '审批中', 'In approval', 2),
 ('leaves', 'status', 'approved', '已批准', 'Approved', 3),
 ('purchases', 'status', 'draft', '草稿', 'Draft', 1),
 ('purchases', 'status', 'in_approval', '审批中', 'In approval', 2),
 ('purchases', 'status', 'approved', '已批准', 'Approved', 3);

INSERT INTO approval_flows (entity, steps, created_at, updated_at)
SELECT form.entity,
       json_array(json_object('approver', json_object('kind', 'role', 'role_id', r.id), 'mode', 'any')),
       CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER)
FROM roles r, (SELECT 'expenses' AS entity UNION ALL SELECT 'leaves' UNION ALL SELECT 'purchases') form
WHERE r.builtin = 'administrator';
