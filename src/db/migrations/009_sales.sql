-- Sales (销售管理): leads, pipelines and opportunities, products, contracts with payment plans,
-- payments and invoices, tasks and targets. Record tables follow 004's pattern (bookkeeping
-- columns, `extra` for custom fields, indexes that carry deleted_at after their lead column, one
-- trigram full-text table per entity).

INSERT INTO picklist_options (entity, field, value, label_zh, label_en, position) VALUES
 ('leads', 'status', 'new', '新线索', 'New', 1),
 ('leads', 'status', 'contacted', '已联系', 'Contacted', 2),
 ('leads', 'status', 'qualified', '已确认', 'Qualified', 3),
 ('leads', 'status', 'converted', '已转化', 'Converted', 4),
 ('leads', 'status', 'disqualified', '无效', 'Disqualified', 5),
 ('leads', 'source', 'website', '官网表单', 'Website form', 1),
 ('leads', 'source', 'referral', '客户介绍', 'Referral', 2),
 ('leads', 'source', 'exhibition', '展会', 'Exhibition', 3),
 ('leads', 'source', 'cold_call', '电话开发', 'Cold call', 4),
 ('leads', 'source', 'advertising', '广告', 'Advertising', 5),
 ('leads', 'source', 'other', '其他', 'Other', 6),
 ('leads', 'industry', 'manufacturing', '制造业', 'Manufacturing', 1),
 ('leads', 'industry', 'it', 'IT/互联网', 'IT / Internet', 2),
 ('leads', 'industry', 'finance', '金融', 'Finance', 3),
 ('leads', 'industry', 'retail', '零售', 'Retail', 4),
 ('leads', 'industry', 'education', '教育', 'Education', 5),
 ('leads', 'industry', 'healthcare', '医疗', 'Healthcare', 6),
 ('leads', 'industry', 'government', '政府/事业单位', 'Government', 7),
 ('leads', 'industry', 'other', '其他', 'Other', 8),
 ('opportunities', 'source', 'referral', '客户介绍', 'Referral', 1),
 ('opportunities', 'source', 'website', '官网', 'Website', 2),
 ('opportunities', 'source', 'exhibition', '展会', 'Exhibition', 3),
 ('opportunities', 'source', 'cold_call', '电话开发', 'Cold call', 4),
 ('opportunities', 'source', 'existing_customer', '老客户', 'Existing customer', 5),
 ('opportunities', 'source', 'other', '其他', 'Other', 6),
 ('products', 'category', 'software', '软件', 'Software', 1),
 ('products', 'category', 'hardware', '硬件', 'Hardware', 2),
 ('products', 'category', 'service', '服务', 'Service', 3),
 ('products', 'category', 'subscription', '订阅', 'Subscription', 4),
 ('products', 'category', 'other', '其他', 'Other', 5),
 ('products', 'unit', 'piece', '个', 'piece', 1),
 ('products', 'unit', 'set', '套', 'set', 2),
 ('products', 'unit', 'unit', '台', 'unit', 3),
 ('products', 'unit', 'licence', '授权', 'licence', 4),
 ('products', 'unit', 'year', '年', 'year', 5),
 ('products', 'unit', 'month', '月', 'month', 6),
 ('products', 'unit', 'hour', '小时', 'hour', 7),
 ('products', 'unit', 'day', '人天', 'person-day', 8),
 ('contracts', 'status', 'draft', '草稿', 'Draft', 1),
 ('contracts', 'status', 'in_approval', '审批中', 'In approval', 2),
 ('contracts', 'status', 'active', '执行中', 'Active', 3),
 ('contracts', 'status', 'completed', '已完成', 'Completed', 4),
 ('contracts', 'status', 'terminated', '已终止', 'Terminated', 5),
 ('payments', 'method', 'bank_transfer', '银行转账', 'Bank transfer', 1),
 ('payments', 'method', 'cash', '现金', 'Cash', 2),
 ('payments', 'method', 'acceptance_bill', '承兑汇票', 'Bank acceptance bill', 3),
 ('payments', 'method', 'alipay', '支付宝', 'Alipay', 4),
 ('payments', 'method', 'wechat_pay', '微信支付', 'WeChat Pay', 5),
 ('payments', 'method', 'other', '其他', 'Other', 6),
 ('invoices', 'type', 'vat_special', '增值税专用发票', 'VAT special invoice', 1),
 ('invoices', 'type', 'vat_normal', '增值税普通发票', 'VAT ordinary invoice', 2),
 ('invoices', 'type', 'electronic', '电子发票', 'Electronic invoice', 3),
 ('invoices', 'type', 'receipt', '收据', 'Receipt', 4),
 ('invoices', 'status', 'requested', '待开票', 'Requested', 1),
 ('invoices', 'status', 'issued', '已开票', 'Issued', 2),
 ('invoices', 'status', 'sent', '已寄出', 'Sent', 3),
 ('invoices', 'status', 'void', '已作废', 'Void', 4),
 ('tasks', 'priority', 'low', '低', 'Low', 1),
 ('tasks', 'priority', 'normal', '普通', 'Normal', 2),
 ('tasks', 'priority', 'high', '高', 'High', 3),
 ('tasks', 'priority', 'urgent', '紧急', 'Urgent', 4),
 ('tasks', 'status', 'open', '未开始', 'Open', 1),
 ('tasks', 'status', 'in_progress', '进行中', 'In progress', 2),
 ('tasks', 'status', 'done', '已完成', 'Done', 3),
 ('tasks', 'status', 'cancelled', '已取消', 'Cancelled', 4);

CREATE TABLE leads (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    company           TEXT,
    title             TEXT,
    phone             TEXT,
    mobile            TEXT,
    email             TEXT,
    wechat            TEXT,
    source            TEXT,
    industry          TEXT,
    region            TEXT,
    address           TEXT,
    status            TEXT NOT NULL DEFAULT 'new',
    notes             TEXT,
    disqualify_reason TEXT,
    converted_at      INTEGER,
    customer_id       INTEGER REFERENCES customers(id),
    contact_id        INTEGER REFERENCES contacts(id),
    opportunity_id    INTEGER,
    last_followup_at  INTEGER,
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
CREATE INDEX leads_owner ON leads(owner_id, deleted_at, updated_at);
CREATE INDEX leads_department ON leads(department_id, deleted_at, updated_at);
CREATE INDEX leads_updated ON leads(updated_at, deleted_at);
CREATE INDEX leads_created ON leads(created_at, deleted_at);
CREATE INDEX leads_name ON leads(name, deleted_at);
CREATE INDEX leads_company ON leads(company, deleted_at);
CREATE INDEX leads_status ON leads(status, deleted_at);
CREATE INDEX leads_customer ON leads(customer_id, deleted_at);
CREATE INDEX leads_deleted ON leads(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE leads_fts USING fts5(name, company, phone, mobile, email, wechat, custom, tokenize = 'trigram');

-- A company's sales processes (销售流程). Stage `kind` says whether an opportunity in it is still
-- open, won or lost; `probability` is the default win probability of an opportunity in it.
CREATE TABLE pipelines (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    position INTEGER NOT NULL
) STRICT;
CREATE TABLE pipeline_stages (
    id          INTEGER PRIMARY KEY,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id),
    name        TEXT NOT NULL,
    probability INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('open', 'won', 'lost'))
) STRICT;
CREATE INDEX pipeline_stages_pipeline ON pipeline_stages(pipeline_id, position);

-- An existing company gets the default process in its own language (setup seeds new ones).
INSERT INTO pipelines (id, name, position)
SELECT 1, CASE WHEN lang = 'en' THEN 'Standard sales process' ELSE '标准销售流程' END, 1
FROM (SELECT (SELECT value FROM settings WHERE key = 'company.default_language') AS lang)
WHERE EXISTS (SELECT 1 FROM users);
INSERT INTO pipeline_stages (pipeline_id, name, probability, position, kind)
SELECT 1, CASE WHEN s.lang = 'en' THEN s.en ELSE s.zh END, s.probability, s.position, s.kind
FROM (SELECT (SELECT value FROM settings WHERE key = 'company.default_language') AS lang,
             column1 AS zh, column2 AS en, column3 AS probability, column4 AS position,
             column5 AS kind
      FROM (VALUES ('验证客户', 'Qualification', 10, 1, 'open'),
                   ('需求分析', 'Needs analysis', 25, 2, 'open'),
                   ('方案报价', 'Proposal', 50, 3, 'open'),
                   ('商务谈判', 'Negotiation', 75, 4, 'open'),
                   ('赢单', 'Won', 100, 5, 'won'),
                   ('输单', 'Lost', 0, 6, 'lost'))) s
WHERE EXISTS (SELECT 1 FROM pipelines WHERE id = 1);

CREATE TABLE opportunities (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    customer_id     INTEGER REFERENCES customers(id),
    contact_id      INTEGER REFERENCES contacts(id),
    pipeline_id     INTEGER NOT NULL REFERENCES pipelines(id),
    stage_id        INTEGER NOT NULL REFERENCES pipeline_stages(id),
    probability     INTEGER NOT NULL,
    amount          INTEGER NOT NULL DEFAULT 0,
    currency        TEXT NOT NULL DEFAULT 'CNY',
    expected_close  TEXT,
    source          TEXT,
    competitor      TEXT,
    lines           TEXT NOT NULL DEFAULT '[]',
    win_loss_reason TEXT,
    closed_at       INTEGER,
    -- The furthest open or won stage position ever entered, for the funnel's "reached".
    furthest_position INTEGER NOT NULL DEFAULT 0,
    notes           TEXT,
    owner_id        INTEGER REFERENCES users(id),
    department_id   INTEGER REFERENCES departments(id),
    extra           TEXT NOT NULL DEFAULT '{}',
    version         INTEGER NOT NULL DEFAULT 1,
    created_by      INTEGER REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    deleted_at      INTEGER,
    deleted_by      INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX opportunities_owner ON opportunities(owner_id, deleted_at, updated_at);
CREATE INDEX opportunities_department ON opportunities(department_id, deleted_at, updated_at);
CREATE INDEX opportunities_updated ON opportunities(updated_at, deleted_at);
CREATE INDEX opportunities_created ON opportunities(created_at, deleted_at);
CREATE INDEX opportunities_name ON opportunities(name, deleted_at);
CREATE INDEX opportunities_amount ON opportunities(amount, deleted_at);
CREATE INDEX opportunities_expected_close ON opportunities(expected_close, deleted_at);
CREATE INDEX opportunities_customer ON opportunities(customer_id, deleted_at);
-- The board and the funnel count and sum a pipeline's stages from this index alone.
CREATE INDEX opportunities_stage ON opportunities(pipeline_id, deleted_at, stage_id, amount, furthest_position);
CREATE INDEX opportunities_stage_sort ON opportunities(stage_id, deleted_at, updated_at);
CREATE INDEX opportunities_deleted ON opportunities(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE opportunities_fts USING fts5(name, competitor, custom, tokenize = 'trigram');

-- Every stage an opportunity entered, and when: time spent per stage, the funnel's "reached"
-- and the won amount of a month come from here.
CREATE TABLE opportunity_stages (
    id             INTEGER PRIMARY KEY,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities(id),
    stage_id       INTEGER NOT NULL REFERENCES pipeline_stages(id),
    entered_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX opportunity_stages_opportunity ON opportunity_stages(opportunity_id, entered_at);
CREATE INDEX opportunity_stages_entered ON opportunity_stages(stage_id, entered_at);

CREATE TABLE products (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    code          TEXT,
    category      TEXT,
    unit          TEXT,
    price         INTEGER NOT NULL DEFAULT 0,
    currency      TEXT NOT NULL DEFAULT 'CNY',
    active        INTEGER NOT NULL DEFAULT 1,
    description   TEXT,
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
CREATE INDEX products_owner ON products(owner_id, deleted_at, updated_at);
CREATE INDEX products_department ON products(department_id, deleted_at, updated_at);
CREATE INDEX products_updated ON products(updated_at, deleted_at);
CREATE INDEX products_created ON products(created_at, deleted_at);
CREATE INDEX products_name ON products(name, deleted_at);
CREATE INDEX products_code ON products(code, deleted_at);
CREATE INDEX products_price ON products(price, deleted_at);
CREATE INDEX products_deleted ON products(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE products_fts USING fts5(name, code, description, custom, tokenize = 'trigram');

CREATE TABLE contracts (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL,
    name           TEXT NOT NULL,
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    opportunity_id INTEGER REFERENCES opportunities(id),
    contact_id     INTEGER REFERENCES contacts(id),
    lines          TEXT NOT NULL DEFAULT '[]',
    amount         INTEGER NOT NULL DEFAULT 0,
    currency       TEXT NOT NULL DEFAULT 'CNY',
    received       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'draft',
    signed_on      TEXT,
    starts_on      TEXT,
    ends_on        TEXT,
    delivery_on    TEXT,
    payment_terms  TEXT,
    notes          TEXT,
    owner_id       INTEGER REFERENCES users(id),
    department_id  INTEGER REFERENCES departments(id),
    extra          TEXT NOT NULL DEFAULT '{}',
    version        INTEGER NOT NULL DEFAULT 1,
    created_by     INTEGER REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    deleted_by     INTEGER REFERENCES users(id)
) STRICT;
CREATE UNIQUE INDEX contracts_number ON contracts(number);
CREATE INDEX contracts_owner ON contracts(owner_id, deleted_at, updated_at);
CREATE INDEX contracts_department ON contracts(department_id, deleted_at, updated_at);
CREATE INDEX contracts_updated ON contracts(updated_at, deleted_at);
CREATE INDEX contracts_created ON contracts(created_at, deleted_at);
CREATE INDEX contracts_name ON contracts(name, deleted_at);
CREATE INDEX contracts_amount ON contracts(amount, deleted_at);
CREATE INDEX contracts_status ON contracts(status, deleted_at);
CREATE INDEX contracts_signed ON contracts(signed_on, deleted_at);
CREATE INDEX contracts_ends ON contracts(ends_on, deleted_at);
CREATE INDEX contracts_customer ON contracts(customer_id, deleted_at);
CREATE INDEX contracts_opportunity ON contracts(opportunity_id, deleted_at);
CREATE INDEX contracts_deleted ON contracts(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE contracts_fts USING fts5(number, name, custom, tokenize = 'trigram');

-- Per period sequences behind generated numbers (contract numbers).
CREATE TABLE number_sequences (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO settings (key, value) VALUES ('contracts.number_pattern', 'HT-{YYYY}{MM}{DD}-{SEQ:4}')
    ON CONFLICT (key) DO NOTHING;

CREATE TABLE payment_plans (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    instalment  INTEGER NOT NULL,
    due_date    TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    paid        INTEGER NOT NULL DEFAULT 0,
    notes       TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    deleted_by  INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX payment_plans_contract ON payment_plans(contract_id, deleted_at, due_date);
CREATE INDEX payment_plans_due ON payment_plans(due_date, deleted_at);
CREATE INDEX payment_plans_updated ON payment_plans(updated_at, deleted_at);
CREATE INDEX payment_plans_created ON payment_plans(created_at, deleted_at);
CREATE INDEX payment_plans_amount ON payment_plans(amount, deleted_at);
CREATE INDEX payment_plans_deleted ON payment_plans(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE payment_plans_fts USING fts5(notes, custom, tokenize = 'trigram');

CREATE TABLE payments (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    plan_id     INTEGER REFERENCES payment_plans(id),
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL DEFAULT 'CNY',
    received_at TEXT NOT NULL,
    method      TEXT,
    notes       TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    deleted_by  INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX payments_contract ON payments(contract_id, deleted_at, received_at);
CREATE INDEX payments_plan ON payments(plan_id, deleted_at);
CREATE INDEX payments_received ON payments(received_at, deleted_at);
CREATE INDEX payments_updated ON payments(updated_at, deleted_at);
CREATE INDEX payments_created ON payments(created_at, deleted_at);
CREATE INDEX payments_amount ON payments(amount, deleted_at);
CREATE INDEX payments_deleted ON payments(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE payments_fts USING fts5(notes, custom, tokenize = 'trigram');

CREATE TABLE invoices (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    type        TEXT NOT NULL,
    number      TEXT,
    title       TEXT,
    tax_number  TEXT,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL DEFAULT 'CNY',
    issued_on   TEXT,
    status      TEXT NOT NULL DEFAULT 'requested',
    notes       TEXT,
    extra       TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    deleted_by  INTEGER REFERENCES users(id)
) STRICT;
CREATE INDEX invoices_contract ON invoices(contract_id, deleted_at, issued_on);
CREATE INDEX invoices_number ON invoices(number, deleted_at);
CREATE INDEX invoices_issued ON invoices(issued_on, deleted_at);
CREATE INDEX invoices_updated ON invoices(updated_at, deleted_at);
CREATE INDEX invoices_created ON invoices(created_at, deleted_at);
CREATE INDEX invoices_amount ON invoices(amount, deleted_at);
CREATE INDEX invoices_deleted ON invoices(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE invoices_fts USING fts5(number, title, tax_number, custom, tokenize = 'trigram');

-- Tasks are owned by their assignee (`owner_id` is the API's `assignee_id`), so the assignee
-- always sees them and a manager's scope covers their team's; `created_by` assigned them.
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    description   TEXT,
    priority      TEXT NOT NULL DEFAULT 'normal',
    status        TEXT NOT NULL DEFAULT 'open',
    due_at        INTEGER,
    completed_at  INTEGER,
    entity        TEXT,
    record_id     INTEGER,
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
CREATE INDEX tasks_owner ON tasks(owner_id, deleted_at, updated_at);
CREATE INDEX tasks_owner_due ON tasks(owner_id, deleted_at, due_at);
CREATE INDEX tasks_department ON tasks(department_id, deleted_at, updated_at);
CREATE INDEX tasks_updated ON tasks(updated_at, deleted_at);
CREATE INDEX tasks_created ON tasks(created_at, deleted_at);
CREATE INDEX tasks_created_by ON tasks(created_by, deleted_at);
CREATE INDEX tasks_title ON tasks(title, deleted_at);
CREATE INDEX tasks_due ON tasks(due_at, deleted_at);
CREATE INDEX tasks_priority ON tasks(priority, deleted_at);
CREATE INDEX tasks_status ON tasks(status, deleted_at);
CREATE INDEX tasks_record ON tasks(entity, record_id, deleted_at);
CREATE INDEX tasks_deleted ON tasks(deleted_at) WHERE deleted_at IS NOT NULL;
CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description, custom, tokenize = 'trigram');

-- Monthly targets (业绩目标) of a user or of a department (exactly one of the two).
CREATE TABLE targets (
    year            INTEGER NOT NULL,
    month           INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    user_id         INTEGER REFERENCES users(id),
    department_id   INTEGER REFERENCES departments(id),
    won_amount      INTEGER NOT NULL DEFAULT 0,
    received_amount INTEGER NOT NULL DEFAULT 0,
    new_customers   INTEGER NOT NULL DEFAULT 0,
    followups       INTEGER NOT NULL DEFAULT 0,
    CHECK ((user_id IS NULL) <> (department_id IS NULL))
) STRICT;
CREATE UNIQUE INDEX targets_user ON targets(year, month, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX targets_department ON targets(year, month, department_id)
    WHERE department_id IS NOT NULL;

-- Files attached to a record (contract scans), kept in the database so a backup holds them.
CREATE TABLE attachments (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    record_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_record ON attachments(entity, record_id);
