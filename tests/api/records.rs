//! The generic record API on customers, contacts and follow-ups: validation, concurrency,
//! history, recycle bin, search, export, reminders.

use crate::helpers::*;
use serde_json::{json, Value};

fn create(browser: &Browser, entity: &str, body: Value) -> Value {
    let answer = browser.post(&format!("/api/v1/{entity}"), body);
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

#[test]
fn customers_are_created_read_updated_and_validated() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = create(
        &admin,
        "customers",
        json!({"name": "  华为技术有限公司 ", "level": "A", "tags": ["重点", "vip"],
               "phone": "+86 755 2878 0808", "website": "huawei.com"}),
    );
    assert_eq!(customer["name"], "华为技术有限公司");
    assert_eq!(customer["website"], "https://huawei.com");
    assert_eq!(customer["version"], 1);
    assert_eq!(customer["owner_id"], 1);
    assert_eq!(customer["stage"], "prospect", "the column default applies");
    assert!(customer["created_at"].as_str().unwrap().contains('T'));
    let id = customer["id"].as_i64().unwrap();

    let bad = admin.post(
        "/api/v1/customers",
        json!({"level": "Z", "email": "nope", "website": "javascript:alert(1)",
               "colour": "red", "id": 99, "department_id": 3, "created_at": "2020-01-01T00:00:00Z"}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    let fields = &bad.body["error"]["field_codes"];
    assert_eq!(fields["name"], "required");
    assert_eq!(fields["level"], "one_of");
    assert_eq!(fields["email"], "invalid_email");
    assert_eq!(fields["website"], "invalid_url");
    assert_eq!(fields["colour"], "unknown_field");
    for key in ["id", "department_id", "created_at"] {
        assert_eq!(fields[key], "not_editable", "{key}");
    }
    assert!(
        bad.body["error"]["fields"]["level"]
            .as_str()
            .unwrap()
            .contains("A 重点客户（A）、B 普通客户（B）"),
        "the labels in the reader's language, with the value to send: {}",
        bad.text
    );
    let to = |language: &str| admin.patch("/api/v1/auth/me", json!({ "language": language }));
    assert_eq!(to("en").status, 200);
    let in_english = admin.post("/api/v1/customers", json!({"name": "x", "level": "Z"}));
    assert_eq!(to("zh-CN").status, 200);
    assert!(
        in_english.body["error"]["fields"]["level"]
            .as_str()
            .unwrap_or_default()
            .contains("A (key) (A), B (regular) (B)"),
        "{}",
        in_english.text
    );

    let path = format!("/api/v1/customers/{id}");
    let updated = admin.patch(
        &path,
        json!({"version": 1, "stage": "active", "phone": null}),
    );
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["phone"], Value::Null);

    let stale = admin.patch(&path, json!({"version": 1, "stage": "lost"}));
    assert_eq!(stale.status, 409);
    assert_eq!(stale.error_code(), "version_conflict");
    assert_eq!(stale.body["error"]["current"]["stage"], "active");
    let missing_version = admin.patch(&path, json!({"stage": "lost"}));
    assert_eq!(missing_version.status, 422);

    let history = admin.get(&format!("{path}/history"));
    assert_eq!(history.status, 200);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items[0]["action"], "updated");
    let changes = items[0]["changes"].as_array().unwrap();
    assert!(changes.contains(&json!({"field": "stage", "old": "prospect", "new": "active"})));
    assert_eq!(items[1]["action"], "created");

    assert_eq!(admin.get("/api/v1/customers/999").status, 404);
    assert_eq!(admin.get("/api/v1/widgets").status, 404);
}

#[test]
fn lists_filter_sort_and_refuse_unknown_names() {
    let app = spawn_app();
    let admin = app.setup_admin();
    for (name, level, tags) in [
        ("Alpha", "A", json!(["vip"])),
        ("Beta", "B", json!([])),
        ("Gamma", "A", json!(["vip", "north"])),
    ] {
        create(
            &admin,
            "customers",
            json!({"name": name, "level": level, "tags": tags}),
        );
    }
    let names = |query: &str| -> Vec<String> {
        let answer = admin.get(&format!("/api/v1/customers?{query}"));
        assert_eq!(answer.status, 200, "{query}: {}", answer.text);
        answer.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("sort=name"), ["Alpha", "Beta", "Gamma"]);
    assert_eq!(names("sort=-level,name"), ["Beta", "Alpha", "Gamma"]);
    assert_eq!(names("filter[level]=A&sort=name"), ["Alpha", "Gamma"]);
    assert_eq!(names("filter[level][ne]=A"), ["Beta"]);
    assert_eq!(names("filter[level][in]=B,C"), ["Beta"]);
    assert_eq!(names("filter[tags][contains]=north"), ["Gamma"]);
    assert_eq!(names("filter[tags][empty]=true"), ["Beta"]);
    assert_eq!(
        names("filter[tags][in]=north,south&sort=name"),
        ["Gamma"],
        "any of the tags"
    );
    assert_eq!(
        names("filter[tags][in]=vip,north&sort=name"),
        ["Alpha", "Gamma"]
    );
    assert_eq!(names("filter[name][contains]=amm"), ["Gamma"]);
    assert_eq!(
        names("filter[created_at][gte]=2000-01-01&sort=name&per_page=2&page=2"),
        ["Gamma"]
    );
    let page = admin.get("/api/v1/customers?per_page=2");
    assert_eq!(
        (page.body["total"].as_i64(), page.body["per_page"].as_i64()),
        (Some(3), Some(2))
    );
    for bad in [
        "filter[colour]=red",
        "filter[name][like]=x",
        "sort=notes",
        "sort=password_hash",
        "filter[created_at][gt]=yesterday",
        "per_page=500",
        "bogus=1",
    ] {
        let answer = admin.get(&format!("/api/v1/customers?{bad}"));
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.error_code(), "invalid_query", "{bad}");
    }
}

#[test]
fn search_finds_chinese_and_latin_text_of_any_length() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = create(
        &admin,
        "customers",
        json!({"name": "上海张江科技有限公司", "region": "浦东"}),
    );
    create(
        &admin,
        "customers",
        json!({"name": "Acme Trading", "email": "sales@acme.example"}),
    );
    create(
        &admin,
        "contacts",
        json!({"customer_id": customer["id"], "name": "王伟", "mobile": "13800138000"}),
    );
    let found = |entity: &str, q: &str| -> i64 {
        let answer = admin.get(&format!("/api/v1/{entity}?q={}", urlencode(q)));
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["total"].as_i64().unwrap()
    };
    assert_eq!(found("customers", "张江科技"), 1, "trigram path");
    assert_eq!(
        found("customers", "张江"),
        1,
        "two characters use the fallback"
    );
    assert_eq!(found("customers", "浦"), 1, "one character");
    assert_eq!(found("customers", "acme"), 1, "case-insensitive");
    assert_eq!(
        found("customers", "sales@acme"),
        1,
        "other searchable fields"
    );
    assert_eq!(found("customers", "上海 科技"), 1, "every word must match");
    assert_eq!(found("customers", "北京"), 0);
    assert_eq!(
        found("customers", "\"*"),
        0,
        "FTS syntax is quoted, not an error"
    );
    assert_eq!(found("contacts", "王伟"), 1);
    for (q, why) in [
        ("\"上海", "a stray quote"),
        ("上海 AND", "a trailing AND"),
        ("“张江科技”", "Chinese quotes"),
        ("张江科技 有限公司", "two words"),
    ] {
        assert_eq!(found("customers", q), 1, "{why}: {q}");
    }
    assert_eq!(
        found("customers", "\"张江科技 有限公司\""),
        0,
        "a quoted phrase keeps its space"
    );

    let global = admin.get(&format!("/api/v1/search?q={}", urlencode("王伟")));
    assert_eq!(global.status, 200);
    let items = global.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["entity"], "contacts");
    assert_eq!(items[0]["title"], "王伟");

    let renamed = admin.patch(
        &format!("/api/v1/customers/{}", customer["id"]),
        json!({"version": 1, "name": "深圳前海贸易"}),
    );
    assert_eq!(renamed.status, 200);
    assert_eq!(
        found("customers", "张江科技"),
        0,
        "the index follows the write"
    );
    assert_eq!(found("customers", "前海贸易"), 1);
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn deleted_records_go_to_the_recycle_bin_with_their_children() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = create(&admin, "customers", json!({"name": "Recycled Ltd"}));
    let id = customer["id"].as_i64().unwrap();
    let contact = create(
        &admin,
        "contacts",
        json!({"customer_id": id, "name": "Li Lei"}),
    );
    let path = format!("/api/v1/customers/{id}");
    assert_eq!(admin.delete(&path).status, 204);
    assert_eq!(admin.get(&path).status, 404);
    assert_eq!(admin.get("/api/v1/customers").body["total"], 0);
    assert_eq!(
        admin
            .get(&format!("/api/v1/contacts/{}", contact["id"]))
            .status,
        404,
        "a contact follows its customer into the bin"
    );
    let bin = admin.get("/api/v1/recycle-bin/customers");
    assert_eq!(bin.body["total"], 1);
    assert!(bin.body["items"][0]["deleted_at"].is_string());
    assert_eq!(admin.delete(&path).status, 404, "deleting twice");

    let restored = admin.post(
        &format!("/api/v1/recycle-bin/customers/{id}/restore"),
        json!({}),
    );
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(
        admin
            .get(&format!("/api/v1/contacts/{}", contact["id"]))
            .status,
        200
    );
    let actions: Vec<Value> = admin.get(&format!("{path}/history")).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [json!("restored"), json!("deleted"), json!("created")]
    );
    let audit = admin.get("/api/v1/audit-log?action=record_deleted");
    assert_eq!(audit.body["total"], 1);
    for query in [
        "filter[action]=record_deleted".to_string(),
        "filter[action][in]=record_deleted,nothing_like_it".to_string(),
        "filter[action]=record_deleted&filter[at][gte]=2020-01-01&filter[at][lte]=2099-12-31"
            .to_string(),
    ] {
        let same = admin.get(&format!("/api/v1/audit-log?{query}"));
        assert_eq!(
            same.body["total"], 1,
            "the list filter language: {query}: {}",
            same.text
        );
    }
    assert_eq!(
        admin.get("/api/v1/audit-log?filter[colour]=red").status,
        400
    );
}

#[test]
fn followups_keep_the_customer_due_date_and_feed_reminders() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = create(&admin, "customers", json!({"name": "Due Soon Co"}));
    let id = customer["id"].as_i64().unwrap();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let followup = create(
        &admin,
        "followups",
        json!({"entity": "customers", "record_id": id, "method": "phone",
               "content": "Called about the renewal", "next_at": yesterday}),
    );
    assert!(followup["followed_at"].is_string(), "defaults to now");
    assert_eq!(followup["display"]["record_id"], "Due Soon Co");
    let customer = admin.get(&format!("/api/v1/customers/{id}")).body;
    assert!(customer["last_followup_at"].is_string());
    assert!(customer["next_followup_at"].is_string());
    let reminders = admin.get("/api/v1/reminders").body;
    assert_eq!(reminders["overdue"][0]["id"], id);
    assert_eq!(
        reminders["overdue"][0]["last_content"],
        "Called about the renewal"
    );

    let timeline = admin.get(&format!(
        "/api/v1/followups?filter[entity]=customers&filter[record_id]={id}"
    ));
    assert_eq!(timeline.body["total"], 1);

    for (body, field, code) in [
        (
            json!({"entity": "customers", "record_id": 999, "method": "phone", "content": "x"}),
            "record_id",
            "not_found",
        ),
        (
            json!({"entity": "users", "record_id": 1, "method": "phone", "content": "x"}),
            "entity",
            "one_of",
        ),
        (
            json!({"entity": "customers", "record_id": id, "method": "fax", "content": "x"}),
            "method",
            "one_of",
        ),
        (
            json!({"entity": "customers", "record_id": id, "method": "phone", "content": "x", "next_at": "tomorrow"}),
            "next_at",
            "invalid_datetime",
        ),
    ] {
        let answer = admin.post("/api/v1/followups", body);
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert_eq!(
            answer.body["error"]["field_codes"][field], code,
            "{}",
            answer.text
        );
    }
    let moved = admin.patch(
        &format!("/api/v1/followups/{}", followup["id"]),
        json!({"version": 1, "record_id": 5}),
    );
    assert_eq!(
        moved.body["error"]["field_codes"]["record_id"],
        "not_editable"
    );

    assert_eq!(
        admin
            .delete(&format!("/api/v1/followups/{}", followup["id"]))
            .status,
        204
    );
    let customer = admin.get(&format!("/api/v1/customers/{id}")).body;
    assert_eq!(
        customer["next_followup_at"],
        Value::Null,
        "a deleted follow-up plans nothing"
    );
    assert_eq!(admin.get("/api/v1/reminders").body["overdue"], json!([]));
}

#[test]
fn the_inbox_lists_fifty_follow_ups_a_bucket_and_counts_them_all() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let windows = admin.get("/api/v1/reminders").body["windows"].clone();
    let at = |key: &str, hours: i64| {
        let start = chrono::DateTime::parse_from_rfc3339(windows[key].as_str().unwrap()).unwrap();
        (start + chrono::Duration::hours(hours)).to_rfc3339()
    };
    let plan = [
        ("overdue", 53, at("today_start", -30)),
        ("today", 2, at("today_start", 1)),
        ("upcoming", 51, at("tomorrow", 30)),
    ];
    for (bucket, how_many, next_at) in &plan {
        for n in 0..*how_many {
            let customer = create(
                &admin,
                "customers",
                json!({"name": format!("{bucket} {n}")}),
            );
            create(
                &admin,
                "followups",
                json!({"entity": "customers", "record_id": customer["id"], "method": "phone",
                       "content": format!("{bucket} call {n}"), "next_at": next_at}),
            );
        }
    }
    let inbox = admin.get("/api/v1/reminders").body;
    for (bucket, how_many, _) in &plan {
        let listed = inbox[bucket].as_array().unwrap();
        assert_eq!(listed.len(), (*how_many).min(50), "{bucket}");
        assert_eq!(inbox["counts"][bucket], *how_many, "{bucket}");
        assert!(listed[0]["last_content"]
            .as_str()
            .unwrap()
            .starts_with(bucket));
    }
    assert_eq!(inbox["counts"]["now"], 53 + 2, "due now: overdue and today");

    let me = admin.get("/api/v1/auth/me").body["id"].clone();
    let overdue_list = admin.get(&format!(
        "/api/v1/customers?filter[owner_id]={me}&filter[next_followup_at][lt]={}&sort=next_followup_at",
        windows["today_start"].as_str().unwrap().replace('+', "%2B")
    ));
    assert_eq!(overdue_list.status, 200, "{}", overdue_list.text);
    assert_eq!(overdue_list.body["total"], 53, "the inbox's 'see all' list");
}

#[test]
fn exports_are_files_with_neutralised_formulas() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create(
        &admin,
        "customers",
        json!({"name": "=HYPERLINK(\"http://evil\")", "level": "A"}),
    );
    create(
        &admin,
        "customers",
        json!({"name": "安全客户", "level": "B"}),
    );
    let csv = admin.get("/api/v1/customers/export?format=csv&sort=name");
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("content-disposition").unwrap().contains(".csv"));
    assert!(csv.text.contains("'=HYPERLINK"), "{}", csv.text);
    assert!(csv.text.contains("安全客户"));
    let filtered = admin.get("/api/v1/customers/export?filter[level]=B");
    assert!(!filtered.text.contains("HYPERLINK"));
    let xlsx = admin.get("/api/v1/customers/export?format=xlsx");
    assert_eq!(xlsx.status, 200);
    assert!(xlsx
        .header("content-type")
        .unwrap()
        .contains("spreadsheetml"));
    assert_eq!(admin.get("/api/v1/customers/export?format=pdf").status, 400);
    let audit = admin.get("/api/v1/audit-log?action=export");
    assert_eq!(audit.body["total"], 3);
}

#[test]
fn metadata_describes_fields_in_the_callers_language() {
    let app = spawn_app();
    let mut admin = app.setup_admin();
    admin.language = Some("zh-CN");
    let meta = admin.get("/api/v1/meta");
    assert_eq!(meta.status, 200);
    let customers = meta.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "customers")
        .unwrap()
        .clone();
    assert_eq!(customers["label"], "客户");
    let level = customers["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "level")
        .unwrap();
    assert_eq!(level["type"], "picklist");
    assert_eq!(level["options"][0]["label"], "A 重点客户");
    assert_eq!(customers["permissions"]["scope"], "all");
}

#[test]
fn duplicates_are_refused_unless_confirmed_and_named_only_when_visible() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let original = create(
        &admin,
        "customers",
        json!({"name": "重复测试有限公司", "phone": "021-5080 1234", "email": "Info@Dup.example"}),
    );
    let same_phone = admin.post(
        "/api/v1/customers",
        json!({"name": "Other", "phone": "02150801234"}),
    );
    assert_eq!(same_phone.status, 409, "{}", same_phone.text);
    assert_eq!(same_phone.error_code(), "duplicate");
    assert_eq!(same_phone.body["error"]["current"]["id"], original["id"]);
    assert_eq!(
        same_phone.body["error"]["current"]["matched_on"],
        json!(["phone"])
    );
    assert!(same_phone.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("重复测试有限公司"));
    let same_email = admin.post(
        "/api/v1/customers",
        json!({"name": "Other", "email": "info@dup.EXAMPLE"}),
    );
    assert_eq!(same_email.status, 409);
    let confirmed = admin.post(
        "/api/v1/customers",
        json!({"name": "重复测试有限公司", "confirm_duplicate": true}),
    );
    assert_eq!(confirmed.status, 201, "{}", confirmed.text);
    let renamed = admin.patch(
        &format!("/api/v1/customers/{}", confirmed.body["id"]),
        json!({"version": 1, "notes": "no key change"}),
    );
    assert_eq!(
        renamed.status, 200,
        "an update that leaves name, phone and email alone passes"
    );

    let found = admin.get(&format!(
        "/api/v1/customers/duplicates?phone={}",
        urlencode("+86 21 5080-1234")
    ));
    assert_eq!(found.status, 200);
    assert_eq!(
        found.body["items"],
        json!([]),
        "a different number (country code) is not a match"
    );
    let found = admin.get(&format!(
        "/api/v1/customers/duplicates?name={}",
        urlencode("重复测试有限公司")
    ));
    assert_eq!(found.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        admin.get("/api/v1/customers/duplicates?colour=red").status,
        400
    );

    let role = create_role(
        &admin,
        "own only",
        &["customers"],
        &["view", "create"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let rep = app.signed_in("rep");
    let hidden = rep.post(
        "/api/v1/customers",
        json!({"name": "Mine", "email": "info@dup.example"}),
    );
    assert_eq!(hidden.status, 409);
    assert!(
        hidden.body["error"].get("current").is_none(),
        "{}",
        hidden.text
    );
    assert!(
        !hidden.text.contains("重复测试"),
        "the hidden record is not named"
    );
    let seen = rep.get("/api/v1/customers/duplicates?email=info@dup.example");
    assert_eq!(seen.body["items"], json!([]));
    let count: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2, "refused creates wrote nothing");
}

#[test]
fn saved_views_belong_to_their_owner_and_always_open() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create_user(&admin, "colleague", None, true);
    let colleague = app.signed_in("colleague");
    let body = json!({"entity": "customers", "name": "A 级重点",
        "query": {"filter[level]": "A", "sort": "-updated_at", "q": "华"},
        "columns": ["name", "level", "owner_id"]});
    let saved = admin.post("/api/v1/views", body.clone());
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert_eq!(saved.body["query"]["filter[level]"], "A");
    let id = saved.body["id"].as_i64().unwrap();
    let again = admin.post("/api/v1/views", body.clone());
    assert_eq!(again.body["error"]["field_codes"]["name"], "taken");

    let mine = admin.get("/api/v1/views?entity=customers");
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine.body["items"][0]["columns"][1], "level");
    let theirs = colleague.get("/api/v1/views?entity=customers");
    assert!(theirs.body["items"].as_array().unwrap().is_empty());
    assert_eq!(colleague.delete(&format!("/api/v1/views/{id}")).status, 404);

    for (bad, field) in [
        (
            json!({"entity": "customers", "name": "x", "query": {"filter[colour]": "red"}}),
            "query",
        ),
        (
            json!({"entity": "customers", "name": "x", "query": {"sort": "nope"}}),
            "query",
        ),
        (
            json!({"entity": "customers", "name": "x", "query": {"q": 5}}),
            "query",
        ),
        (
            json!({"entity": "customers", "name": "x", "columns": ["name", "secret"]}),
            "columns",
        ),
        (json!({"entity": "planets", "name": "x"}), "entity"),
        (json!({"entity": "customers", "name": " "}), "name"),
        (
            json!({"entity": "customers", "name": "x", "owner": 2}),
            "owner",
        ),
    ] {
        let answer = admin.post("/api/v1/views", bad.clone());
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text);
        assert!(
            answer.body["error"]["fields"][field].is_string(),
            "{bad}: {}",
            answer.text
        );
    }
    assert_eq!(admin.delete(&format!("/api/v1/views/{id}")).status, 204);
    assert!(admin.get("/api/v1/views").body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn administrators_edit_picklists_and_records_follow_at_once() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create_user(&admin, "rep", None, false);
    let rep = app.signed_in("rep");
    let lists = admin.get("/api/v1/settings/picklists");
    assert_eq!(lists.status, 200, "{}", lists.text);
    let level = lists.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["entity"] == "customers" && i["field"] == "level")
        .unwrap()
        .clone();
    assert_eq!(level["options"].as_array().unwrap().len(), 3);
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "老客户", "level": "C"}))
            .status,
        201
    );

    let path = "/api/v1/settings/picklists/customers/level";
    let options = json!({"options": [
        {"value": "S", "label_zh": "S 战略客户", "label_en": "S (strategic)"},
        {"value": "A", "label_zh": "A 重点客户", "label_en": "A (key)"},
        {"value": "C", "label_zh": "C 一般客户", "label_en": "C (minor)", "active": false},
    ]});
    let saved = admin.put(path, options);
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["options"][0]["value"], "S");

    let created = admin.post(
        "/api/v1/customers",
        json!({"name": "战略伙伴", "level": "S"}),
    );
    assert_eq!(
        created.status, 201,
        "a new option is usable at once: {}",
        created.text
    );
    let retired = admin.post(
        "/api/v1/customers",
        json!({"name": "新的小客户", "level": "C"}),
    );
    assert_eq!(retired.status, 422, "a retired option is no longer offered");
    let meta = admin.get("/api/v1/meta");
    let customers = meta.body["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "customers")
        .unwrap()
        .clone();
    let level = customers["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "level")
        .unwrap()
        .clone();
    assert_eq!(level["options"][0]["label"], "S 战略客户");
    assert_eq!(
        level["options"][2]["active"], false,
        "a retired option keeps its label for old records"
    );

    let removing = admin.put(
        path,
        json!({"options": [{"value": "S", "label_zh": "S", "label_en": "S"}]}),
    );
    assert_eq!(removing.status, 422, "{}", removing.text);
    assert_eq!(removing.body["error"]["field_codes"]["options"], "in_use");
    for (body, field, code) in [
        (json!({"options": []}), "options", "count_between"),
        (
            json!({"options": [{"value": "S", "label_zh": "S", "label_en": "S"}, {"value": "S", "label_zh": "T", "label_en": "T"}]}),
            "options.1.value",
            "taken",
        ),
        (
            json!({"options": [{"value": "S", "label_zh": "", "label_en": "S"}]}),
            "options.0.label_zh",
            "required",
        ),
        (
            json!({"options": [{"value": "S", "label_zh": "S", "label_en": "S", "active": false}]}),
            "options",
            "one_active",
        ),
    ] {
        let answer = admin.put(path, body.clone());
        assert_eq!(answer.status, 422, "{body}");
        assert_eq!(
            answer.body["error"]["field_codes"][field], code,
            "{body}: {}",
            answer.text
        );
    }
    assert_eq!(rep.put(path, json!({"options": []})).status, 403);
    assert_eq!(
        admin
            .put(
                "/api/v1/settings/picklists/customers/name",
                json!({"options": []})
            )
            .status,
        404
    );
    assert_eq!(
        admin
            .put(
                "/api/v1/settings/picklists/planets/level",
                json!({"options": []})
            )
            .status,
        404
    );
}

/// The list's chart: counts per value of a field, over what the list shows, within the
/// caller's scope; labels in the caller's language; bad group keys refused.
#[test]
fn list_summaries_count_per_value_within_scope() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let role = create_role(&admin, "reps", &["customers"], &["view", "create"], "own");
    create_user_with_roles(&admin, "rep", None, &[role]);
    let rep = app.signed_in("rep");
    for (who, name, level, tags) in [
        (&admin, "甲", "A", json!(["华东"])),
        (&admin, "乙", "A", json!(["华东", "重点"])),
        (&admin, "丙", "B", json!([])),
        (&rep, "丁", "B", json!(["重点"])),
    ] {
        create(
            who,
            "customers",
            json!({"name": name, "level": level, "tags": tags}),
        );
    }
    let by_level = admin.get("/api/v1/customers/summary?group_by=level");
    assert_eq!(by_level.status, 200, "{}", by_level.text);
    assert_eq!(by_level.body["groups"][0]["value"], "A");
    assert_eq!(by_level.body["groups"][0]["count"], 2);
    assert_eq!(by_level.body["groups"][0]["label"], "A 重点客户");
    assert_eq!(by_level.body["groups"][1]["count"], 2);
    let filtered = admin.get("/api/v1/customers/summary?group_by=level&q=甲");
    assert_eq!(filtered.body["groups"].as_array().unwrap().len(), 1);
    let tags = admin.get("/api/v1/customers/summary?group_by=tags");
    let counts: Vec<(String, i64)> = tags.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["value"].as_str().unwrap().to_string(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("华东".to_string(), 2), ("重点".to_string(), 2)]);
    let owners = admin.get("/api/v1/customers/summary?group_by=owner_id");
    assert_eq!(owners.body["groups"][0]["count"], 3);
    assert!(
        owners.body["groups"][0]["label"].is_string(),
        "{}",
        owners.text
    );

    let mine = rep.get("/api/v1/customers/summary?group_by=level");
    assert_eq!(
        mine.body["groups"].as_array().unwrap().len(),
        1,
        "{}",
        mine.text
    );
    assert_eq!(mine.body["groups"][0]["count"], 1);

    for bad in [
        "group_by=name",
        "group_by=nothing",
        "group_by=level&sum=name",
        "",
    ] {
        let answer = admin.get(&format!("/api/v1/customers/summary?{bad}"));
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.error_code(), "invalid_query", "{bad}");
    }
}
