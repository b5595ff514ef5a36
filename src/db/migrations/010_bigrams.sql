-- One- and two-character search (see src/entity/bigrams.rs): the character pairs of each
-- record's short searchable texts, one column each plus `custom` (the searchable custom
-- fields' text, as in the trigram index), in a contentless full-text table per entity whose
-- rowid is the record's id. kehu_bigrams() is registered on every connection Kehu opens.
CREATE VIRTUAL TABLE customers_bigrams USING fts5(name, tags, region, address, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE contacts_bigrams USING fts5(name, title, wechat, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE followups_bigrams USING fts5(custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE leads_bigrams USING fts5(name, company, wechat, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE opportunities_bigrams USING fts5(name, competitor, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE products_bigrams USING fts5(name, code, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE contracts_bigrams USING fts5(number, name, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE payment_plans_bigrams USING fts5(custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE payments_bigrams USING fts5(custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE invoices_bigrams USING fts5(number, title, tax_number, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
CREATE VIRTUAL TABLE tasks_bigrams USING fts5(title, custom, tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '', contentless_delete = 1);
INSERT INTO customers_bigrams (rowid, name, tags, region, address, custom)
    SELECT t.id, kehu_bigrams(t.name), kehu_bigrams(t.tags), kehu_bigrams(t.region), kehu_bigrams(t.address), kehu_bigrams(f.custom)
    FROM customers t LEFT JOIN customers_fts f ON f.rowid = t.id;
INSERT INTO contacts_bigrams (rowid, name, title, wechat, custom)
    SELECT t.id, kehu_bigrams(t.name), kehu_bigrams(t.title), kehu_bigrams(t.wechat), kehu_bigrams(f.custom)
    FROM contacts t LEFT JOIN contacts_fts f ON f.rowid = t.id;
INSERT INTO followups_bigrams (rowid, custom)
    SELECT t.id, kehu_bigrams(f.custom)
    FROM followups t LEFT JOIN followups_fts f ON f.rowid = t.id WHERE f.custom IS NOT NULL;
INSERT INTO leads_bigrams (rowid, name, company, wechat, custom)
    SELECT t.id, kehu_bigrams(t.name), kehu_bigrams(t.company), kehu_bigrams(t.wechat), kehu_bigrams(f.custom)
    FROM leads t LEFT JOIN leads_fts f ON f.rowid = t.id;
INSERT INTO opportunities_bigrams (rowid, name, competitor, custom)
    SELECT t.id, kehu_bigrams(t.name), kehu_bigrams(t.competitor), kehu_bigrams(f.custom)
    FROM opportunities t LEFT JOIN opportunities_fts f ON f.rowid = t.id;
INSERT INTO products_bigrams (rowid, name, code, custom)
    SELECT t.id, kehu_bigrams(t.name), kehu_bigrams(t.code), kehu_bigrams(f.custom)
    FROM products t LEFT JOIN products_fts f ON f.rowid = t.id;
INSERT INTO contracts_bigrams (rowid, number, name, custom)
    SELECT t.id, kehu_bigrams(t.number), kehu_bigrams(t.name), kehu_bigrams(f.custom)
    FROM contracts t LEFT JOIN contracts_fts f ON f.rowid = t.id;
INSERT INTO payment_plans_bigrams (rowid, custom)
    SELECT t.id, kehu_bigrams(f.custom)
    FROM payment_plans t LEFT JOIN payment_plans_fts f ON f.rowid = t.id WHERE f.custom IS NOT NULL;
INSERT INTO payments_bigrams (rowid, custom)
    SELECT t.id, kehu_bigrams(f.custom)
    FROM payments t LEFT JOIN payments_fts f ON f.rowid = t.id WHERE f.custom IS NOT NULL;
INSERT INTO invoices_bigrams (rowid, number, title, tax_number, custom)
    SELECT t.id, kehu_bigrams(t.number), kehu_bigrams(t.title), kehu_bigrams(t.tax_number), kehu_bigrams(f.custom)
    FROM invoices t LEFT JOIN invoices_fts f ON f.rowid = t.id;
INSERT INTO tasks_bigrams (rowid, title, custom)
    SELECT t.id, kehu_bigrams(t.title), kehu_bigrams(f.custom)
    FROM tasks t LEFT JOIN tasks_fts f ON f.rowid = t.id;
