-- The entity engine's shared tables and the first entities: customers, contacts, follow-ups.
-- Every entity table carries the same bookkeeping columns: version (optimistic concurrency),
-- created/updated times, deleted_at (the recycle bin) and `extra` (administrator-defined custom
-- fields as JSON). Owned entities also carry owner_id and department_id, the two columns the
-- access predicate reads; both are indexed.

-- Picklist options (数据字典), editable by administrators; seeded with the defaults.
CREATE TABLE picklist_options (
    entity   TEXT NOT NULL,
    field    TEXT NOT NULL,
    value    TEXT NOT NULL,
    label_zh TEXT NOT NULL,
    label_en TEXT NOT NULL,
    position INTEGER NOT NULL,
    active   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (entity, field, value)
) STRICT, WITHOUT ROWID;

INSERT INTO picklist_options (entity, field, value, label_zh, label_en, position) VALUES
 ('customers', 'kind', 'company', '企业', 'Company', 1),
 ('customers', 'kind', 'individual', '个人', 'Individual', 2),
 ('customers', 'level', 'A', 'A 重点客户', 'A (key)', 1),
 ('customers', 'level', 'B', 'B 普通客户', 'B (regular)', 2),
 ('customers', 'level', 'C', 'C 一般客户', 'C (minor)', 3),
 ('customers', 'stage', 'prospect', '潜在客户', 'Prospect', 1),
 ('customers', 'stage', 'new', '新客户', 'New', 2),
 ('customers', 'stage', 'active', '稳定客户', 'Active', 3),
 ('customers', 'stage', 'declining', '退化客户', 'Declining', 4),
 ('customers', 'stage', 'lost', '流失客户', 'Lost', 5),
 ('customers', 'industry', 'manufacturing', '制造业', 'Manufacturing', 1),
 ('customers', 'industry', 'it', 'IT/互联网', 'IT / Internet', 2),
 ('customers', 'industry', 'finance', '金融', 'Finance', 3),
 ('customers', 'industry', 'retail', '零售', 'Retail', 4),
 ('customers', 'industry', 'education', '教育', 'Education', 5),
 ('customers', 'industry', 'healthcare', '医疗', 'Healthcare', 6),
 ('customers', 'industry', 'government', '政府/事业单位', 'Government', 7),
 ('customers', 'industry', 'other', '其他', 'Other', 8),
 ('customers', 'size', 'micro', '1–9 人', '1–9 staff', 1),
 ('customers', 'size', 'small', '10–99 人', '10–99 staff', 2),
 ('customers', 'size', 'medium', '100–999 人', '100–999 staff', 3),
 ('customers', 'size', 'large', '1000 人以上', '1000+ staff', 4),
 ('customers', 'source', 'referral', '客户介绍', 'Referral', 1),
 ('customers', 'source', 'website', '官网', 'Website', 2),
 ('customers', 'source', 'exhibition', '展会', 'Exhibition', 3),
 ('customers', 'source', 'cold_call', '电话开发', 'Cold call', 4),
 ('customers', 'source', 'advertising', '广告', 'Advertising', 5),
 ('customers', 'source', 'other', '其他', 'Other', 6),
 ('followups', 'method', 'phone', '电话', 'Phone', 1),
 ('followups', 'method', 'visit', '拜访', 'Visit', 2),
 ('followups', 'method', 'email', '邮件', 'Email', 3),
 ('followups', 'method', 'wechat', '微信', 'WeChat', 4),
 ('followups', 'method', 'meeting', '会议', 'Meeting', 5),
 ('followups', 'method', 'other', '其他', 'Other', 6);

-- Every list reads `deleted_at IS NULL`, so record indexes carry deleted_at right after their
-- lead column: a page's keys, in order, and the count per owner or department are then read
-- from the index alone, without touching the table.
CREATE TABLE customers (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL DEFAULT 'company',
    industry          TEXT,
    size              TEXT,
    level             TEXT,
    stage             TEXT NOT NULL DEFAULT 'prospect',
    source            TEXT,
    tags              TEXT NOT NULL DEFAULT '[]',
    phone             TEXT,
    email             TEXT,
    website           TEXT,
    region            TEXT,
    address           TEXT,
    notes             TEXT,
    last_followup_at  INTEGER,
    next_followup_at  INTEGER,
    owner_id          INTEGER REFERENCES users(id),
    department_id     INTEGER REFERENCES departments(id),
    extra             TEXT NOT NULL DEFAULT '{}',
    version           INTEGER NOT NULL DEFAULT 1,
    created_by        INTEGER REFERENCES users(id),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    deleted_at        INTEGER,
    deleted_by        INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX customers_owner ON customers(owner_id, deleted_at, updated_at);
CREATE INDEX customers_department ON customers(department_id, deleted_at, updated_at);
CREATE INDEX customers_updated ON customers(updated_at, deleted_at);
CREATE INDEX customers_created ON customers(created_at, deleted_at);
CREATE INDEX customers_name ON customers(name, deleted_at);
CREATE INDEX customers_level ON customers(level, deleted_at);
CREATE INDEX customers_stage ON customers(stage, deleted_at);
CREATE INDEX customers_phone ON customers(phone, deleted_at);
CREATE INDEX customers_email ON customers(email, deleted_at);
CREATE INDEX customers_next_followup ON customers(next_followup_at, deleted_at);
CREATE INDEX customers_owner_next_followup ON customers(owner_id, deleted_at, next_followup_at);
CREATE INDEX customers_last_followup ON customers(last_followup_at, deleted_at);
CREATE INDEX customers_deleted ON customers(deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE contacts (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    name          TEXT NOT NULL,
    title         TEXT,
    phone         TEXT,
    mobile        TEXT,
    email         TEXT,
    wechat        TEXT,
    decision_maker INTEGER NOT NULL DEFAULT 0,
    notes         TEXT,
    extra         TEXT NOT NULL DEFAULT '{}',
    version       INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    deleted_by    INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX contacts_customer ON contacts(customer_id, deleted_at, updated_at);
CREATE INDEX contacts_updated ON contacts(updated_at, deleted_at);
CREATE INDEX contacts_created ON contacts(created_at, deleted_at);
CREATE INDEX contacts_name ON contacts(name, deleted_at);
CREATE INDEX contacts_mobile ON contacts(mobile, deleted_at);
CREATE INDEX contacts_email ON contacts(email, deleted_at);
CREATE INDEX contacts_deleted ON contacts(deleted_at) WHERE deleted_at IS NOT NULL;

-- Follow-ups (跟进记录) hang off any record: `entity` names the table of `record_id`.
CREATE TABLE followups (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    method      TEXT NOT NULL,
    content     TEXT NOT NULL,
    followed_at INTEGER NOT NULL,
    next_at     INTEGER,
    extra       TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    deleted_by  INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX followups_record ON followups(entity, deleted_at, record_id, followed_at);
CREATE INDEX followups_followed ON followups(followed_at, deleted_at);
CREATE INDEX followups_next ON followups(next_at, deleted_at);
CREATE INDEX followups_created ON followups(created_at, deleted_at);
CREATE INDEX followups_updated ON followups(updated_at, deleted_at);
CREATE INDEX followups_created_by ON followups(created_by, deleted_at);
CREATE INDEX followups_deleted ON followups(deleted_at) WHERE deleted_at IS NOT NULL;

-- Full-text search: one trigram index per entity over its searchable fields, rowid = record id,
-- kept in the same transaction as the write.
CREATE VIRTUAL TABLE customers_fts USING fts5(name, phone, email, website, region, address, tags, tokenize = 'trigram');
CREATE VIRTUAL TABLE contacts_fts USING fts5(name, title, phone, mobile, email, wechat, tokenize = 'trigram');
CREATE VIRTUAL TABLE followups_fts USING fts5(content, tokenize = 'trigram');

-- Field-level change history (one row per change of one record).
CREATE TABLE record_history (
    id        INTEGER PRIMARY KEY,
    entity    TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username  TEXT,
    action    TEXT NOT NULL,
    changes   TEXT NOT NULL DEFAULT '[]'
) STRICT;
CREATE INDEX record_history_record ON record_history(entity, record_id, id);
