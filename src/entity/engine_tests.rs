//! The engine over a test descriptor with one field of every kind: every operator on every
//! kind (and the ones a kind refuses), sort, paging bounds, unknown names, search of 1, 2 and
//! 3+ characters, and injection attempts in every parameter. Records are written through
//! `store::create` and read through `routes::list_page`, as the API does.

use super::descriptor::{Entity, Field, Kind, Visibility};
use super::registry;
use super::routes::{list_page, Slice};
use super::store::{self, Caller};
use crate::access::Rights;
use crate::audit::Actor;
use crate::db::migrations;
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;

const PROBES: Entity = Entity {
    name: "probes",
    fields: &[
        Field::new("text", Kind::Text { max: 50 })
            .searchable()
            .sortable(),
        Field::new("long_text", Kind::LongText).searchable(),
        Field::new("number", Kind::Integer).sortable(),
        Field::new("money", Kind::Money).sortable(),
        Field::new("day", Kind::Date).sortable(),
        Field::new("moment", Kind::DateTime).sortable(),
        Field::new("flag", Kind::Bool).sortable(),
        Field::new("pick", Kind::Picklist).sortable(),
        Field::new("picks", Kind::MultiPicklist),
        Field::new("person", Kind::User),
        Field::new("team", Kind::Department),
        Field::new("customer", Kind::Reference("customers")),
        Field::new("phone", Kind::Phone),
        Field::new("email", Kind::Email),
        Field::new("url", Kind::Url),
        Field::new("tags", Kind::Tags),
    ],
    visibility: Visibility::Owned,
    title: "text",
    subtitle: "phone",
    list_columns: &["text"],
    default_sort: "-updated_at",
    after_write: None,
    check: None,
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};

fn database() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::app::install();
    migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
    conn.execute_batch(
        "INSERT INTO departments (id, name, path, created_at, updated_at)
             VALUES (1, 'Sales', '/1/', 0, 0), (2, 'Service', '/2/', 0, 0);
         INSERT INTO users (id, username, display_name, password_hash, department_id, created_at, updated_at)
             VALUES (1, 'one', 'One', '', 1, 0, 0), (2, 'two', 'Two', '', 2, 0, 0);
         INSERT INTO customers (id, name, owner_id, created_at, updated_at) VALUES (1, 'Acme', 1, 0, 0);
         INSERT INTO picklist_options (entity, field, value, label_zh, label_en, position) VALUES
             ('probes', 'pick', 'a', '甲', 'A', 1), ('probes', 'pick', 'b', '乙', 'B', 2),
             ('probes', 'picks', 'a', '甲', 'A', 1), ('probes', 'picks', 'b', '乙', 'B', 2);
         CREATE TABLE probes (
             id INTEGER PRIMARY KEY, text TEXT, long_text TEXT, number INTEGER, money INTEGER,
             day TEXT, moment INTEGER, flag INTEGER NOT NULL DEFAULT 0, pick TEXT,
             picks TEXT NOT NULL DEFAULT '[]', person INTEGER, team INTEGER, customer INTEGER,
             phone TEXT, email TEXT, url TEXT, tags TEXT NOT NULL DEFAULT '[]',
             owner_id INTEGER, department_id INTEGER, extra TEXT NOT NULL DEFAULT '{}',
             version INTEGER NOT NULL DEFAULT 1, created_by INTEGER, created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL, deleted_at INTEGER, deleted_by INTEGER) STRICT;
         CREATE VIRTUAL TABLE probes_fts USING fts5(text, long_text, custom, tokenize = 'trigram');
         CREATE VIRTUAL TABLE probes_bigrams USING fts5(text, custom,
             tokenize = 'unicode61 remove_diacritics 0', detail = column, content = '',
             contentless_delete = 1);",
    )
    .unwrap();
    let rights = Rights::system_for(1);
    let actor = Actor::system();
    let caller = Caller {
        rights: &rights,
        actor: &actor,
    };
    for body in [
        json!({"text": "Alpha 华为技术", "long_text": "first note", "number": 1, "money": 100,
               "day": "2026-01-01", "moment": "2026-01-01T00:00:00Z", "flag": true, "pick": "a",
               "picks": ["a", "b"], "person": 1, "team": 1, "customer": 1, "phone": "021-1111",
               "email": "a@x.com", "url": "https://a.com", "tags": ["x"]}),
        json!({"text": "Beta 腾讯", "long_text": "second", "number": 2, "money": 200,
               "day": "2026-02-01", "moment": "2026-02-01T00:00:00Z", "flag": false, "pick": "b",
               "picks": ["b"], "person": 2, "team": 2, "phone": "010-2222", "email": "b@y.com",
               "url": "https://b.com", "tags": ["y", "x"]}),
        json!({"text": "Gamma"}),
    ] {
        let Value::Object(body) = body else {
            unreachable!()
        };
        store::create(&conn, &PROBES, &caller, &body).unwrap();
    }
    conn
}

/// The ids a list request returns, in order, or its error code.
type Listed = Result<Vec<i64>, &'static str>;

fn list(conn: &Connection, params: &[(&str, &str)]) -> Listed {
    let rights = Rights::system_for(1);
    let module = rights.module("probes").unwrap();
    let params: HashMap<String, String> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let page = list_page(
        conn,
        None,
        &PROBES,
        (&rights, &module),
        params,
        Slice::Active,
        |reader, r| reader.record(r),
    )
    .map_err(|e| e.code)?;
    Ok(page
        .items
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect())
}

fn filtered(conn: &Connection, key: &str, value: &str) -> Listed {
    list(conn, &[(key, value), ("sort", "id")])
}

#[test]
fn every_operator_on_every_kind() {
    let conn = database();
    let ok = |ids: &[i64]| -> Listed { Ok(ids.to_vec()) };
    let refused: Listed = Err("invalid_query");
    let cases: Vec<(&str, &str, Listed)> = vec![
        ("filter[text]", "Beta 腾讯", ok(&[2])),
        ("filter[text][ne]", "Beta 腾讯", ok(&[1, 3])),
        ("filter[text][lt]", "Beta", ok(&[1])),
        ("filter[text][lte]", "Beta 腾讯", ok(&[1, 2])),
        ("filter[text][gt]", "Beta 腾讯", ok(&[3])),
        ("filter[text][gte]", "Beta", ok(&[2, 3])),
        ("filter[text][in]", "Alpha 华为技术,Gamma", ok(&[1, 3])),
        ("filter[text][contains]", "腾", ok(&[2])),
        ("filter[text][empty]", "true", ok(&[])),
        ("filter[text][empty]", "false", ok(&[1, 2, 3])),
        ("filter[text][empty]", "maybe", refused.clone()),
        ("filter[long_text][contains]", "note", ok(&[1])),
        ("filter[long_text][empty]", "true", ok(&[3])),
        ("filter[number]", "1", ok(&[1])),
        ("filter[number][ne]", "1", ok(&[2, 3])),
        ("filter[number][lt]", "2", ok(&[1])),
        ("filter[number][lte]", "2", ok(&[1, 2])),
        ("filter[number][gt]", "1", ok(&[2])),
        ("filter[number][gte]", "1", ok(&[1, 2])),
        ("filter[number][in]", "1,2", ok(&[1, 2])),
        ("filter[number][empty]", "true", ok(&[3])),
        ("filter[number][contains]", "1", refused.clone()),
        ("filter[number]", "one", refused.clone()),
        ("filter[number][in]", "1,x", refused.clone()),
        ("filter[money][gt]", "150", ok(&[2])),
        ("filter[money][in]", "100", ok(&[1])),
        ("filter[day]", "2026-01-01", ok(&[1])),
        ("filter[day][gt]", "2026-01-01", ok(&[2])),
        ("filter[day][lte]", "2026-02-01", ok(&[1, 2])),
        ("filter[day][in]", "2026-01-01,2026-02-01", ok(&[1, 2])),
        ("filter[day][empty]", "true", ok(&[3])),
        ("filter[day]", "2026-13-01", refused.clone()),
        ("filter[day][contains]", "2026", refused.clone()),
        ("filter[moment]", "2026-01-01T00:00:00Z", ok(&[1])),
        ("filter[moment][lt]", "2026-01-15T00:00:00+08:00", ok(&[1])),
        ("filter[moment][gte]", "2026-01-15", ok(&[2])),
        ("filter[moment][empty]", "true", ok(&[3])),
        ("filter[moment]", "yesterday", refused.clone()),
        ("filter[flag]", "true", ok(&[1])),
        ("filter[flag]", "false", ok(&[2, 3])),
        ("filter[flag][ne]", "true", ok(&[2, 3])),
        ("filter[flag]", "maybe", refused.clone()),
        ("filter[flag][contains]", "t", refused.clone()),
        ("filter[pick]", "a", ok(&[1])),
        ("filter[pick][ne]", "a", ok(&[2, 3])),
        ("filter[pick][in]", "a,b", ok(&[1, 2])),
        ("filter[pick][empty]", "true", ok(&[3])),
        ("filter[pick][contains]", "a", refused.clone()),
        ("filter[picks]", "a", ok(&[1])),
        ("filter[picks][contains]", "b", ok(&[1, 2])),
        ("filter[picks][ne]", "a", ok(&[2, 3])),
        ("filter[picks][empty]", "true", ok(&[3])),
        ("filter[picks][lt]", "b", refused.clone()),
        ("filter[picks][in]", "a,b", ok(&[1, 2])),
        ("filter[person]", "1", ok(&[1])),
        ("filter[person][in]", "1,2", ok(&[1, 2])),
        ("filter[person][ne]", "1", ok(&[2, 3])),
        ("filter[person]", "one", refused.clone()),
        ("filter[team]", "2", ok(&[2])),
        ("filter[customer]", "1", ok(&[1])),
        ("filter[customer][empty]", "true", ok(&[2, 3])),
        ("filter[phone][contains]", "1111", ok(&[1])),
        ("filter[email][contains]", "@y.", ok(&[2])),
        ("filter[url][contains]", "a.com", ok(&[1])),
        ("filter[tags][contains]", "x", ok(&[1, 2])),
        ("filter[tags]", "y", ok(&[2])),
        ("filter[tags][ne]", "x", ok(&[3])),
        ("filter[tags][empty]", "true", ok(&[3])),
        ("filter[tags][gt]", "x", refused.clone()),
        ("filter[id][in]", "1,3", ok(&[1, 3])),
        ("filter[owner_id]", "1", ok(&[1, 2, 3])),
        ("filter[number][like]", "1", refused.clone()),
        ("filter[nothing]", "1", refused.clone()),
        ("filter[number", "1", refused.clone()),
        ("colour", "red", refused.clone()),
    ];
    for (key, value, expected) in cases {
        assert_eq!(filtered(&conn, key, value), expected, "{key}={value}");
    }
}

#[test]
fn sort_and_paging() {
    let conn = database();
    let sorted = |sort: &str| list(&conn, &[("sort", sort)]);
    assert_eq!(sorted("text"), Ok(vec![1, 2, 3]));
    assert_eq!(sorted("-text"), Ok(vec![3, 2, 1]));
    assert_eq!(sorted("number"), Ok(vec![3, 1, 2]), "no value sorts first");
    assert_eq!(sorted("-money"), Ok(vec![2, 1, 3]));
    assert_eq!(sorted("-day"), Ok(vec![2, 1, 3]));
    assert_eq!(sorted("moment"), Ok(vec![3, 1, 2]));
    assert_eq!(sorted("flag,-number"), Ok(vec![2, 3, 1]), "keys in order");
    assert_eq!(sorted("pick, text"), Ok(vec![3, 1, 2]));
    assert_eq!(sorted("-id"), Ok(vec![3, 2, 1]));
    for bad in [
        "long_text",
        "nothing",
        "text;DROP TABLE probes",
        "-",
        "text desc",
    ] {
        assert_eq!(sorted(bad), Err("invalid_query"), "{bad}");
    }
    let page = |page: &str, per_page: &str| {
        list(
            &conn,
            &[("sort", "id"), ("page", page), ("per_page", per_page)],
        )
    };
    assert_eq!(page("2", "1"), Ok(vec![2]));
    assert_eq!(page("2", "2"), Ok(vec![3]));
    assert_eq!(page("99", "2"), Ok(vec![]));
    assert_eq!(page("1", "200"), Ok(vec![1, 2, 3]));
    for (p, n) in [
        ("0", "1"),
        ("-1", "1"),
        ("x", "1"),
        ("1", "0"),
        ("1", "201"),
        ("1", "1e3"),
    ] {
        assert_eq!(page(p, n), Err("invalid_query"), "page={p} per_page={n}");
    }
}

#[test]
fn search_of_every_length_and_injection_is_inert() {
    let conn = database();
    let q = |text: &str| list(&conn, &[("q", text), ("sort", "id")]);
    assert_eq!(q("腾"), Ok(vec![2]), "one character");
    assert_eq!(q("华为"), Ok(vec![1]), "two characters");
    assert_eq!(
        q("为技术"),
        Ok(vec![1]),
        "three characters: the trigram index"
    );
    assert_eq!(q("note"), Ok(vec![1]), "long text is searched");
    assert_eq!(q("alpha 华为"), Ok(vec![1]), "every word must match");
    assert_eq!(q("alpha 腾讯"), Ok(vec![]));
    for attack in [
        "' OR '1'='1",
        "\" OR \"\"=\"",
        "a\" OR text:*",
        "NEAR(a b)",
        "%",
        "_",
        "\\",
        "'; DROP TABLE probes; --",
        "*",
    ] {
        assert_eq!(q(attack), Ok(vec![]), "q={attack}");
        assert_eq!(
            filtered(&conn, "filter[text]", attack),
            Ok(vec![]),
            "value {attack}"
        );
        assert_eq!(
            filtered(&conn, &format!("filter[{attack}]"), "1"),
            Err("invalid_query"),
            "key {attack}"
        );
    }
    let count: i64 = conn
        .query_row("SELECT count(*) FROM probes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 3, "nothing was dropped or changed");
}

/// A related record tested on its own (a reference being checked, a record opened) probes its
/// parent's primary key; building the set of every visible parent, as a list does, would read
/// all of a department tree's customers to answer for one contact.
#[test]
fn one_related_record_is_tested_by_its_parent_key() {
    let conn = database();
    conn.execute_batch(
        r#"INSERT INTO roles (id, name, permissions, created_at, updated_at) VALUES (9, 'team',
               '{"customers": {"actions": ["view"], "scope": "department_tree"},
                 "contacts": {"actions": ["view"], "scope": "department_tree"}}', 0, 0);
           INSERT INTO user_roles (user_id, role_id) VALUES (2, 9);
           INSERT INTO customers (id, name, owner_id, department_id, created_at, updated_at)
               VALUES (2, 'Service client', 1, 2, 0, 0);
           INSERT INTO contacts (id, customer_id, name, created_at, updated_at)
               VALUES (1, 1, 'Of Acme', 0, 0), (2, 2, 'Of the client', 0, 0);"#,
    )
    .unwrap();
    let rights = Rights::load(&conn, 2).unwrap();
    let seen = |id| store::is_visible(&conn, &rights, "contacts", id).unwrap();
    assert!(!seen(1), "Acme is outside the Service department");
    assert!(seen(2));
    let contacts = registry::find("contacts").unwrap();
    let plan = |condition: String| -> String {
        let sql =
            format!("EXPLAIN QUERY PLAN SELECT 1 FROM contacts t WHERE t.id = 1 AND {condition}");
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    };
    let one = plan(store::visible_one(&rights, contacts, "t"));
    assert!(
        one.lines()
            .all(|step| step.contains("USING INTEGER PRIMARY KEY")),
        "{one}"
    );
    let many = plan(store::visible(&rights, contacts, "t"));
    assert!(
        many.contains("LIST SUBQUERY"),
        "a list keeps the set: {many}"
    );
}
