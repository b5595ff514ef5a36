//! Custom fields (自定义字段): administrators add fields that then behave like built-in ones in
//! forms (meta), validation, lists, filters, sort, search, history, export and import; they
//! relabel, reorder and hide fields; bad definitions are refused.

use crate::helpers::*;
use serde_json::{json, Value};

fn add_field(admin: &Browser, body: Value) -> Value {
    let answer = admin.post("/api/v1/settings/fields/customers", body.clone());
    assert_eq!(answer.status, 201, "{body}: {}", answer.text);
    answer.body
}

/// Budget (money, indexed), contract number (text, searchable), VIP (bool), grade (picklist).
fn define(admin: &Browser) {
    add_field(
        admin,
        json!({"key": "budget", "type": "money", "label_zh": "预算", "label_en": "Budget",
               "indexed": true}),
    );
    add_field(
        admin,
        json!({"key": "contract_no", "type": "text", "label_zh": "合同编号",
               "label_en": "Contract no.", "max_length": 20, "searchable": true}),
    );
    add_field(
        admin,
        json!({"key": "vip", "type": "bool", "label_zh": "贵宾", "label_en": "VIP"}),
    );
    add_field(
        admin,
        json!({"key": "grade", "type": "picklist", "label_zh": "信用等级", "label_en": "Credit grade"}),
    );
    let options = admin.put(
        "/api/v1/settings/picklists/customers/cf_grade",
        json!({"options": [
            {"value": "AAA", "label_zh": "优", "label_en": "Excellent"},
            {"value": "BB", "label_zh": "良", "label_en": "Good"}]}),
    );
    assert_eq!(options.status, 200, "{}", options.text);
}

fn create(admin: &Browser, body: Value) -> Value {
    let answer = admin.post("/api/v1/customers", body);
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

fn names(answer: &Answer) -> Vec<String> {
    answer.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.text))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn meta_field(browser: &Browser, name: &str) -> Value {
    let meta = browser.get("/api/v1/meta");
    let customers = meta.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "customers")
        .unwrap()
        .clone();
    customers["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn custom_fields_work_like_built_in_ones() {
    let app = spawn_app();
    let admin = app.setup_admin();
    define(&admin);

    let budget = meta_field(&admin, "cf_budget");
    assert_eq!(budget["type"], "money");
    assert_eq!(budget["custom"], true);
    assert_eq!(budget["sortable"], true);
    assert_eq!(budget["label"], "预算", "the administrator's language");
    let grade = meta_field(&admin, "cf_grade");
    assert_eq!(grade["options"][0]["value"], "AAA");

    let big = create(
        &admin,
        json!({"name": "大客户", "cf_budget": 5_000_000, "cf_contract_no": "HT-2026-0815",
               "cf_vip": true, "cf_grade": "AAA"}),
    );
    assert_eq!(big["cf_budget"], 5_000_000);
    assert_eq!(big["cf_vip"], true);
    assert_eq!(big["cf_grade"], "AAA");
    create(
        &admin,
        json!({"name": "小客户", "cf_budget": 20_000, "cf_grade": "BB"}),
    );
    create(&admin, json!({"name": "无预算"}));

    let bad = admin.post(
        "/api/v1/customers",
        json!({"name": "坏", "cf_budget": "lots", "cf_grade": "Z", "cf_contract_no": "x".repeat(21),
               "cf_nothing": 1}),
    );
    assert_eq!(bad.status, 422);
    let codes = &bad.body["error"]["field_codes"];
    assert_eq!(codes["cf_budget"], "integer");
    assert_eq!(codes["cf_grade"], "one_of");
    assert_eq!(codes["cf_contract_no"], "too_long");
    assert_eq!(codes["cf_nothing"], "unknown_field");

    let sorted = admin.get("/api/v1/customers?sort=-cf_budget");
    assert_eq!(names(&sorted), ["大客户", "小客户", "无预算"]);
    let rich = admin.get("/api/v1/customers?filter[cf_budget][gte]=100000");
    assert_eq!(names(&rich), ["大客户"]);
    assert_eq!(
        names(&admin.get("/api/v1/customers?filter[cf_vip]=true")),
        ["大客户"]
    );
    assert_eq!(
        names(&admin.get("/api/v1/customers?filter[cf_grade][in]=BB")),
        ["小客户"]
    );
    assert_eq!(
        names(&admin.get("/api/v1/customers?filter[cf_budget][empty]=true")),
        ["无预算"]
    );
    assert_eq!(
        admin
            .get("/api/v1/customers?filter[cf_budget][gte]=lots")
            .error_code(),
        "invalid_query"
    );
    for q in ["2026-0815", "HT"] {
        let found = admin.get(&format!("/api/v1/customers?q={q}"));
        assert_eq!(names(&found), ["大客户"], "q={q}");
    }
    let global = admin.get("/api/v1/search?q=HT-2026");
    assert_eq!(
        global.body["items"][0]["title"], "大客户",
        "{}",
        global.text
    );

    let id = big["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{id}");
    let updated = admin.patch(
        &path,
        json!({"version": 1, "cf_budget": 6_000_000, "cf_vip": null}),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["cf_budget"], 6_000_000);
    assert_eq!(updated.body["cf_vip"], false);
    assert_eq!(
        updated.body["cf_contract_no"], "HT-2026-0815",
        "untouched values stay"
    );
    let history = admin.get(&format!("{path}/history"));
    let changes = history.body["items"][0]["changes"].to_string();
    assert!(
        changes.contains("cf_budget") && changes.contains("6000000"),
        "{changes}"
    );

    let chart = admin.get("/api/v1/customers/summary?group_by=cf_grade&sum=cf_budget");
    assert_eq!(chart.status, 200, "{}", chart.text);
    assert_eq!(chart.body["groups"][0]["label"], "优");
    assert_eq!(chart.body["groups"][0]["sum"], 6_000_000);

    let csv = text(&admin.client_bytes("/api/v1/customers/export?format=csv&sort=name"));
    assert!(csv.lines().next().unwrap().contains("预算"), "{csv}");
    assert!(csv.contains("HT-2026-0815"), "{csv}");
}

#[test]
fn custom_values_are_imported_by_their_label() {
    let app = spawn_app();
    let admin = app.setup_admin();
    define(&admin);
    let csv = "客户名称,预算,合同编号,信用等级\n宁波港贸易,1200.50,HT-9,优\n";
    let preview = admin.upload("/api/v1/customers/import/preview", file_form("c.csv", csv));
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["mapping"]["预算"], "cf_budget");
    assert_eq!(preview.body["mapping"]["信用等级"], "cf_grade");
    let mapping = preview.body["mapping"].clone();
    let form = file_form("c.csv", csv).text("mapping", mapping.to_string());
    let done = admin.upload("/api/v1/customers/import?dry_run=false", form);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["error_count"], 0, "{}", done.text);
    let found = admin.get("/api/v1/customers?filter[cf_contract_no]=HT-9");
    assert_eq!(
        found.body["items"][0]["cf_budget"], 120_050,
        "{}",
        found.text
    );
    assert_eq!(found.body["items"][0]["cf_grade"], "AAA");
}

#[test]
fn administrators_relabel_reorder_and_hide_fields() {
    let app = spawn_app();
    let admin = app.setup_admin();
    define(&admin);

    let relabel = admin.patch(
        "/api/v1/settings/fields/customers/region",
        json!({"label_zh": "销售区域", "label_en": "Sales region"}),
    );
    assert_eq!(relabel.status, 200, "{}", relabel.text);
    assert_eq!(meta_field(&admin, "region")["label"], "销售区域");
    let reset = admin.patch(
        "/api/v1/settings/fields/customers/region",
        json!({"label_zh": null, "label_en": null}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(meta_field(&admin, "region")["label"], "地区");

    let hide = admin.patch(
        "/api/v1/settings/fields/customers/notes",
        json!({"hidden": true}),
    );
    assert_eq!(hide.status, 200);
    assert_eq!(meta_field(&admin, "notes")["hidden"], true);
    let refused = admin.patch(
        "/api/v1/settings/fields/customers/name",
        json!({"hidden": true}),
    );
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.body["error"]["field_codes"]["hidden"],
        "cannot_hide"
    );

    let all = admin.get("/api/v1/settings/fields");
    let customers = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "customers")
        .unwrap()
        .clone();
    let mut order: Vec<String> = customers["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(order.last().unwrap(), "cf_grade", "custom fields come last");
    order.retain(|n| n != "cf_budget");
    order.insert(1, "cf_budget".into());
    let moved = admin.put(
        "/api/v1/settings/fields/customers/order",
        json!({"names": order}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["fields"][1]["name"], "cf_budget");
    let meta = admin.get("/api/v1/meta");
    assert_eq!(meta.body["entities"][0]["fields"][1]["name"], "cf_budget");

    let partial = admin.put(
        "/api/v1/settings/fields/customers/order",
        json!({"names": ["name"]}),
    );
    assert_eq!(
        partial.body["error"]["field_codes"]["names"],
        "every_field_once"
    );

    let searchable_later = admin.post("/api/v1/customers", json!({"name": "甲", "cf_grade": "BB"}));
    assert_eq!(searchable_later.status, 201);
    assert_eq!(
        names(&admin.get("/api/v1/customers?q=BB")),
        Vec::<String>::new()
    );
    assert_eq!(admin.get("/api/v1/customers?q=BB").body["total"], 0);
    let now_searchable = admin.patch(
        "/api/v1/settings/fields/customers/cf_grade",
        json!({"searchable": true}),
    );
    assert_eq!(now_searchable.status, 200, "{}", now_searchable.text);
    assert_eq!(
        names(&admin.get("/api/v1/customers?q=BB")),
        ["甲"],
        "records written before the change are found"
    );
    assert_eq!(
        admin.get("/api/v1/customers?q=BB").body["total"],
        1,
        "and counted: only the search index changed"
    );
}

#[test]
fn bad_field_definitions_are_refused_and_only_administrators_define_fields() {
    let app = spawn_app();
    let admin = app.setup_admin();
    add_field(
        &admin,
        json!({"key": "budget", "type": "money", "label_zh": "预算", "label_en": "Budget"}),
    );
    for (body, field, code) in [
        (
            json!({"key": "Budget!", "type": "money", "label_zh": "a", "label_en": "a"}),
            "key",
            "field_key",
        ),
        (
            json!({"key": "budget", "type": "money", "label_zh": "a", "label_en": "a"}),
            "key",
            "taken",
        ),
        (
            json!({"key": "owner", "type": "user", "label_zh": "a", "label_en": "a"}),
            "type",
            "one_of",
        ),
        (
            json!({"key": "x", "type": "text", "label_zh": "", "label_en": "a"}),
            "label_zh",
            "required",
        ),
        (
            json!({"key": "x", "type": "text", "label_zh": "a", "label_en": "a", "max_length": 0}),
            "max_length",
            "between",
        ),
        (
            json!({"key": "x", "type": "text", "label_zh": "a", "label_en": "a", "indexed": "yes"}),
            "indexed",
            "boolean",
        ),
        (
            json!({"key": "x'; DROP TABLE customers; --", "type": "text", "label_zh": "a",
                   "label_en": "a"}),
            "key",
            "field_key",
        ),
    ] {
        let answer = admin.post("/api/v1/settings/fields/customers", body.clone());
        assert_eq!(answer.status, 422, "{body}");
        assert_eq!(answer.body["error"]["field_codes"][field], code, "{body}");
    }
    assert_eq!(
        admin
            .post(
                "/api/v1/settings/fields/nothing",
                json!({"key": "a", "type": "text", "label_zh": "a", "label_en": "a"})
            )
            .status,
        404
    );
    assert_eq!(
        admin
            .patch(
                "/api/v1/settings/fields/customers/cf_none",
                json!({"hidden": true})
            )
            .status,
        404
    );
    let builtin_flag = admin.patch(
        "/api/v1/settings/fields/customers/region",
        json!({"searchable": false}),
    );
    assert_eq!(
        builtin_flag.body["error"]["field_codes"]["searchable"],
        "not_editable"
    );

    let role = create_role(
        &admin,
        "reps",
        &["customers"],
        &["view", "create", "edit"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let rep = app.signed_in("rep");
    assert_eq!(
        rep.post(
            "/api/v1/settings/fields/customers",
            json!({"key": "a", "type": "text", "label_zh": "a", "label_en": "a"})
        )
        .status,
        403
    );
    assert_eq!(rep.get("/api/v1/settings/fields").status, 403);
    let created = rep.post(
        "/api/v1/customers",
        json!({"name": "rep's", "cf_budget": 1}),
    );
    assert_eq!(
        created.status, 201,
        "a rep writes custom values: {}",
        created.text
    );
}
