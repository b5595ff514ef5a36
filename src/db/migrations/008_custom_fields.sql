-- Administrators' field settings (自定义字段): a row per built-in field they relabelled, moved or
-- hid, and a row per custom field they added. Custom values live in the record's `extra` JSON
-- under the field's name, which always starts with `cf_` so it can never collide with a
-- built-in field added later. `position` orders forms and the column chooser.
CREATE TABLE field_settings (
    entity     TEXT NOT NULL,
    name       TEXT NOT NULL,
    custom     INTEGER NOT NULL DEFAULT 0,
    kind       TEXT,
    max_length INTEGER,
    label_zh   TEXT,
    label_en   TEXT,
    position   INTEGER NOT NULL,
    hidden     INTEGER NOT NULL DEFAULT 0,
    required   INTEGER NOT NULL DEFAULT 0,
    searchable INTEGER NOT NULL DEFAULT 0,
    indexed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entity, name)
) STRICT, WITHOUT ROWID;

-- Searchable custom fields share one column of the entity's full-text table; FTS5 tables cannot
-- gain a column, so they are rebuilt with it.
DROP TABLE customers_fts;
DROP TABLE contacts_fts;
DROP TABLE followups_fts;
CREATE VIRTUAL TABLE customers_fts USING fts5(name, phone, email, website, region, address, tags, custom, tokenize = 'trigram');
CREATE VIRTUAL TABLE contacts_fts USING fts5(name, title, phone, mobile, email, wechat, custom, tokenize = 'trigram');
CREATE VIRTUAL TABLE followups_fts USING fts5(content, custom, tokenize = 'trigram');
INSERT INTO customers_fts (rowid, name, phone, email, website, region, address, tags)
    SELECT id, name, phone, email, website, region, address, tags FROM customers;
INSERT INTO contacts_fts (rowid, name, title, phone, mobile, email, wechat)
    SELECT id, name, title, phone, mobile, email, wechat FROM contacts;
INSERT INTO followups_fts (rowid, content) SELECT id, content FROM followups;
