//! Automation rules (issue #21): bad rules refused, a new customer assigned round a department
//! with its owner told and a task made, conditions, a refused action undone and logged while
//! the write stands, a rule whose author left taken over, two rules that undo each other stopped at the depth cap, time rules that
//! fire once per date, a rule calling a webhook on a real receiver, and nobody told about a
//! record they may not open.

use crate::helpers::*;
use crate::webhooks::Receiver;
use serde_json::{json, Value};

fn rule(admin: &Browser, body: Value) -> i64 {
    let made = admin.post("/api/v1/automation-rules", body);
    assert_eq!(made.status, 201, "{}", made.text);
    made.body["id"].as_i64().unwrap()
}

fn runs(admin: &Browser, rule: i64) -> Vec<Value> {
    let answer = admin.get(&format!(
        "/api/v1/automation-rules/{rule}/runs?per_page=100"
    ));
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().unwrap().clone()
}

fn id(answer: &Answer) -> i64 {
    assert!(answer.status < 300, "{}", answer.text);
    answer.body["id"].as_i64().unwrap()
}

#[test]
fn bad_rules_are_refused_and_change_nothing() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let notify = json!([{"kind": "notify", "owner": true, "message": "看一下"}]);
    for (body, field, code) in [
        (
            json!({"name": "x", "entity": "planets", "trigger": {"on": "created"}, "actions": notify}),
            "entity",
            "one_of",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "exploded"}, "actions": notify}),
            "trigger",
            "invalid",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "updated", "field": "mood"}, "actions": notify}),
            "trigger.field",
            "unknown_field",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "updated", "field": "level", "to": "Z"}, "actions": notify}),
            "trigger.to",
            "one_of",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "date_approaches", "field": "name", "days": 3}, "actions": notify}),
            "trigger.field",
            "not_a_date",
        ),
        (
            json!({"name": "x", "entity": "contracts", "trigger": {"on": "no_followup", "days": 7}, "actions": notify}),
            "trigger.on",
            "no_followups",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "no_followup", "days": 0}, "actions": notify}),
            "trigger.days",
            "between",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"}, "actions": []}),
            "actions",
            "required",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "actions": [{"kind": "notify", "message": "谁？"}]}),
            "actions.0",
            "no_recipient",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "actions": [{"kind": "notify", "user_ids": [999], "message": "hi"}]}),
            "actions.0.user_ids",
            "unknown_user",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "actions": [{"kind": "assign", "user_id": 1, "department_id": 1}]}),
            "actions.0",
            "one_assignee",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "actions": [{"kind": "set_field", "field": "level", "value": "Z"}]}),
            "actions.0.value",
            "one_of",
        ),
        (
            json!({"name": "x", "entity": "contracts", "trigger": {"on": "created"},
                   "actions": [{"kind": "set_field", "field": "status", "value": "active"}]}),
            "actions.0.field",
            "set_by_approval",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "actions": [{"kind": "webhook", "webhook_id": 5}]}),
            "actions.0.webhook_id",
            "not_found",
        ),
        (
            json!({"name": "x", "entity": "payments", "trigger": {"on": "created"},
                   "actions": [{"kind": "task", "title": "催款"}]}),
            "actions.0",
            "no_tasks",
        ),
        (
            json!({"name": "x", "entity": "customers", "trigger": {"on": "created"},
                   "conditions": [{"field": "level", "op": "gt", "value": "A"}], "actions": notify}),
            "conditions.0",
            "invalid_condition",
        ),
        (
            json!({"entity": "customers", "trigger": {"on": "created"}, "actions": notify}),
            "name",
            "required",
        ),
    ] {
        let refused = admin.post("/api/v1/automation-rules", body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["field_codes"][field], code,
            "{body}: {}",
            refused.text
        );
    }
    assert_eq!(
        admin.get("/api/v1/automation-rules").body["items"],
        json!([])
    );

    let made = rule(
        &admin,
        json!({"name": "新客户提醒", "entity": "customers", "trigger": {"on": "created"}, "actions": notify}),
    );
    let current = admin.get(&format!("/api/v1/automation-rules/{made}")).body;
    let stale = admin.patch(
        &format!("/api/v1/automation-rules/{made}"),
        json!({"version": current["version"].as_i64().unwrap() + 1, "active": false}),
    );
    assert_eq!(stale.status, 409);
    let broken = admin.patch(
        &format!("/api/v1/automation-rules/{made}"),
        json!({"version": current["version"], "entity": "contracts", "name": "改名"}),
    );
    assert_eq!(broken.status, 200, "a design that fits contracts too");
    let unfit = admin.patch(
        &format!("/api/v1/automation-rules/{made}"),
        json!({"version": broken.body["version"], "trigger": {"on": "no_followup", "days": 3}, "name": "再改"}),
    );
    assert_eq!(unfit.status, 422);
    let kept = admin.get(&format!("/api/v1/automation-rules/{made}")).body;
    assert_eq!(kept["name"], "改名", "a refused change changes nothing");
    assert_eq!(kept["trigger"], json!({"on": "created"}));

    let rep = create_user(&admin, "rep", None, false);
    let rep = app.signed_in(rep["username"].as_str().unwrap());
    assert_eq!(rep.get("/api/v1/automation-rules").status, 403);
    assert_eq!(
        rep.post("/api/v1/automation-rules", json!({})).status,
        403,
        "rules are the administrators'"
    );
}

#[test]
fn new_customers_go_round_a_department_with_their_owner_told_and_a_task() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let team = id(&admin.post(
        "/api/v1/departments",
        json!({"name": "电销组", "parent_id": null}),
    ));
    let role = create_role(
        &admin,
        "电销",
        &["customers", "tasks"],
        &["view", "create", "edit"],
        "own",
    );
    let reps: Vec<i64> = ["a1", "a2", "a3"]
        .iter()
        .map(|name| {
            create_user_with_roles(&admin, name, Some(team), &[role])["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        admin
            .post(&format!("/api/v1/users/{}/freeze", reps[1]), json!({}))
            .status,
        200
    );
    let made = rule(
        &admin,
        json!({"name": "新客户轮流分配", "entity": "customers", "trigger": {"on": "created"},
        "conditions": [{"field": "source", "op": "eq", "value": "website"}],
        "actions": [
            {"kind": "assign", "department_id": team},
            {"kind": "notify", "owner": true, "message": "官网来的新客户，请今天联系"},
            {"kind": "task", "title": "首次电话联系", "due_in_days": 1}
        ]}),
    );
    let mut owners = Vec::new();
    for n in 0..3 {
        let customer = admin.post(
            "/api/v1/customers",
            json!({"name": format!("官网客户{n}"), "source": "website"}),
        );
        assert_eq!(customer.status, 201, "{}", customer.text);
        owners.push(customer.body["owner_id"].as_i64().unwrap());
        assert_eq!(
            customer.body["department_id"], team,
            "the answer is the record as the rule left it"
        );
    }
    assert_eq!(
        owners,
        vec![reps[0], reps[2], reps[0]],
        "in turn, past the frozen colleague"
    );
    let fair = admin.post(
        "/api/v1/customers",
        json!({"name": "展会客户", "source": "exhibition"}),
    );
    assert_eq!(
        fair.body["owner_id"], 1,
        "the condition keeps the rule off other sources"
    );

    let a1 = app.signed_in("a1");
    let told = a1.get("/api/v1/notifications").body;
    let items = told["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{told}");
    let message = items[0]["message"].as_str().unwrap();
    assert!(
        message.contains("官网来的新客户") && message.contains("官网客户2"),
        "the rule's message about the record: {told}"
    );
    let tasks = a1.get("/api/v1/tasks").body;
    assert_eq!(tasks["total"], 2, "{tasks}");
    assert_eq!(tasks["items"][0]["title"], "首次电话联系");
    assert_eq!(tasks["items"][0]["entity"], "customers");

    let log = runs(&admin, made);
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r["status"] == "done"), "{log:?}");
    assert_eq!(log[0]["actions"][0]["kind"], "assign");
    assert_eq!(log[0]["event"], "created");
    let history = admin
        .get(&format!(
            "/api/v1/customers/{}/history",
            log[0]["record_id"]
        ))
        .body;
    assert!(
        history.to_string().contains("新客户轮流分配"),
        "the history names the rule: {history}"
    );
    let listed = admin.get("/api/v1/automation-rules").body;
    assert_eq!(listed["items"][0]["runs"]["done"], 3);
}

#[test]
fn a_refused_action_is_undone_and_logged_while_the_write_stands() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let rep = create_user(&admin, "rep", None, false)["id"]
        .as_i64()
        .unwrap();
    let made = rule(
        &admin,
        json!({"name": "A 级客户交给 rep", "entity": "customers",
        "trigger": {"on": "updated", "field": "level", "to": "A"},
        "actions": [
            {"kind": "set_field", "field": "stage", "value": "declining"},
            {"kind": "assign", "user_id": rep}
        ]}),
    );
    admin.post(&format!("/api/v1/users/{rep}/freeze"), json!({}));
    let customer = admin.post("/api/v1/customers", json!({"name": "大客户"}));
    let customer_id = id(&customer);
    let changed = admin.patch(
        &format!("/api/v1/customers/{customer_id}"),
        json!({"version": customer.body["version"], "level": "A"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["level"], "A", "the write stands");
    assert_eq!(
        changed.body["stage"], customer.body["stage"],
        "the rule's first action went with its refused second: {}",
        changed.text
    );
    assert_eq!(changed.body["owner_id"], 1);
    let log = runs(&admin, made);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "failed");
    assert!(
        log[0]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("owner_id"),
        "the refusal in words: {:?}",
        log[0]
    );
    let failed = admin.get(&format!(
        "/api/v1/automation-rules/{made}/runs?status=failed"
    ));
    assert_eq!(failed.body["total"], 1);
    assert_eq!(
        admin
            .get(&format!("/api/v1/automation-rules/{made}/runs?status=odd"))
            .status,
        400
    );
}

#[test]
fn a_rule_whose_author_left_stops_until_an_administrator_takes_it_over() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let author = create_user(&admin, "deputy", None, true)["id"]
        .as_i64()
        .unwrap();
    let deputy = app.signed_in("deputy");
    let made = rule(
        &deputy,
        json!({"name": "新客户标记", "entity": "customers", "trigger": {"on": "created"},
               "actions": [{"kind": "set_field", "field": "level", "value": "B"}]}),
    );
    let frozen = admin.post(&format!("/api/v1/users/{author}/freeze"), json!({}));
    assert!(frozen.status < 300, "{}", frozen.text);
    let seen = admin.get(&format!("/api/v1/automation-rules/{made}")).body;
    assert_eq!(seen["author"], json!({"name": "deputy", "active": false}));

    let first = admin.post("/api/v1/customers", json!({"name": "第一家"}));
    assert_eq!(first.status, 201, "the write stands: {}", first.text);
    assert_eq!(first.body["level"], Value::Null);
    let log = runs(&admin, made);
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(
        log[0]["error"]["code"], "rule_author_inactive",
        "{:?}",
        log[0]
    );

    let odd = admin.patch(
        &format!("/api/v1/automation-rules/{made}"),
        json!({"version": seen["version"], "take_over": "yes"}),
    );
    assert_eq!(odd.status, 422, "{}", odd.text);
    assert_eq!(odd.body["error"]["field_codes"]["take_over"], "boolean");
    let taken = admin.patch(
        &format!("/api/v1/automation-rules/{made}"),
        json!({"version": seen["version"], "take_over": true}),
    );
    assert_eq!(taken.status, 200, "{}", taken.text);
    assert_eq!(taken.body["created_by"], 1);
    assert_eq!(taken.body["author"]["active"], true);
    let second = admin.post("/api/v1/customers", json!({"name": "第二家"}));
    assert_eq!(
        second.body["level"], "B",
        "the rule runs again: {}",
        second.text
    );
}

#[test]
fn rules_that_undo_each_other_stop_at_the_depth_cap() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let flip = |from: &str, to: &str| {
        rule(
            &admin,
            json!({"name": format!("{from}→{to}"), "entity": "customers",
                   "trigger": {"on": "updated", "field": "level", "to": from},
                   "actions": [{"kind": "set_field", "field": "level", "value": to}]}),
        )
    };
    let (a_to_b, b_to_a) = (flip("A", "B"), flip("B", "A"));
    let depth_max = admin.get("/api/v1/automation-rules").body["depth_max"]
        .as_i64()
        .unwrap();
    let customer = admin.post("/api/v1/customers", json!({"name": "来回"}));
    let changed = admin.patch(
        &format!("/api/v1/customers/{}", id(&customer)),
        json!({"version": customer.body["version"], "level": "A"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    let (first, second) = (runs(&admin, a_to_b), runs(&admin, b_to_a));
    let all: Vec<&Value> = first.iter().chain(second.iter()).collect();
    let done = all.iter().filter(|r| r["status"] == "done").count() as i64;
    let stopped: Vec<&&Value> = all
        .iter()
        .filter(|r| r["status"] == "depth_limit")
        .collect();
    assert_eq!(done, depth_max, "{all:?}");
    assert_eq!(stopped.len(), 1, "{all:?}");
    assert_eq!(stopped[0]["depth"], depth_max);
    let level = if depth_max % 2 == 0 { "A" } else { "B" };
    assert_eq!(
        changed.body["level"], level,
        "the record as the chain left it"
    );
    let version = changed.body["version"].as_i64().unwrap();
    assert_eq!(
        version,
        customer.body["version"].as_i64().unwrap() + 1 + depth_max
    );
}

#[test]
fn time_rules_fire_once_per_date_and_only_tell_who_may_see() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let east = create_department(&admin, "华东", None)["id"]
        .as_i64()
        .unwrap();
    let west = create_department(&admin, "华西", None)["id"]
        .as_i64()
        .unwrap();
    let role = create_role(
        &admin,
        "销售",
        &["customers", "contracts", "tasks"],
        &["view", "create", "edit"],
        "own",
    );
    let rep = create_user_with_roles(&admin, "rep", Some(east), &[role])["id"]
        .as_i64()
        .unwrap();
    let other = create_user_with_roles(&admin, "other", Some(west), &[role])["id"]
        .as_i64()
        .unwrap();
    let expiring = rule(
        &admin,
        json!({"name": "合同到期提醒", "entity": "contracts",
               "trigger": {"on": "date_approaches", "field": "ends_on", "days": 30},
               "actions": [{"kind": "notify", "owner": true, "user_ids": [other], "message": "合同快到期了，谈续约"}]}),
    );
    let rep_browser = app.signed_in("rep");
    let customer = id(&rep_browser.post("/api/v1/customers", json!({"name": "续约客户"})));
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    let soon = rep_browser.post(
        "/api/v1/contracts",
        json!({"name": "快到期", "customer_id": customer, "amount": 100, "ends_on": day(10)}),
    );
    let later = id(&rep_browser.post(
        "/api/v1/contracts",
        json!({"name": "还早", "customer_id": customer, "amount": 100, "ends_on": day(90)}),
    ));
    let run = |rule: i64| {
        let answer = admin.post(&format!("/api/v1/automation-rules/{rule}/run"), json!({}));
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["fired"].as_i64().unwrap()
    };
    assert_eq!(run(expiring), 1);
    assert_eq!(run(expiring), 0, "once per date");
    let told = rep_browser.get("/api/v1/notifications").body;
    assert_eq!(told["items"].as_array().unwrap().len(), 1, "{told}");
    let outsider = app.signed_in("other").get("/api/v1/notifications").body;
    assert_eq!(
        outsider["items"],
        json!([]),
        "not told about a contract outside their scope"
    );
    let log = runs(&admin, expiring);
    assert_eq!(log[0]["actions"][0]["notified"], json!([rep]));
    assert_eq!(log[0]["event"], "date_approaches");
    let soon_id = id(&soon);
    let moved = rep_browser.patch(
        &format!("/api/v1/contracts/{soon_id}"),
        json!({"version": soon.body["version"], "ends_on": day(20)}),
    );
    assert_eq!(moved.status, 200);
    assert_eq!(run(expiring), 1, "a new date fires again");
    assert!(runs(&admin, expiring)
        .iter()
        .all(|r| r["record_id"] != later));

    let idle = rule(
        &admin,
        json!({"name": "七天没跟进", "entity": "customers",
               "trigger": {"on": "no_followup", "days": 7},
               "actions": [{"kind": "task", "title": "回访一下", "due_in_days": 0}]}),
    );
    assert_eq!(run(idle), 0, "a customer made today is not idle");
    let eight_days_ago = chrono::Utc::now().timestamp_millis() - 8 * 86_400_000;
    app.sql()
        .execute(
            "UPDATE customers SET created_at = ?1 WHERE id = ?2",
            rusqlite::params![eight_days_ago, customer],
        )
        .unwrap();
    assert_eq!(run(idle), 1);
    assert_eq!(run(idle), 0);
    let tasks = rep_browser.get("/api/v1/tasks").body;
    assert_eq!(tasks["items"][0]["title"], "回访一下", "{tasks}");
    let written = admin.post(&format!("/api/v1/automation-rules/{idle}/run"), json!({}));
    assert_eq!(written.status, 200);
    let on_write = rule(
        &admin,
        json!({"name": "写入时", "entity": "customers", "trigger": {"on": "created"},
               "actions": [{"kind": "notify", "owner": true, "message": "x"}]}),
    );
    let refused = admin.post(
        &format!("/api/v1/automation-rules/{on_write}/run"),
        json!({}),
    );
    assert_eq!(refused.status, 409);
    assert_eq!(refused.error_code(), "not_timed");
    let _ = rep;
}

#[test]
fn a_rule_calls_a_webhook_signed_like_its_other_events() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let receiver = Receiver::start(200);
    let hook = admin.post(
        "/api/v1/webhooks",
        json!({"name": "ERP", "url": receiver.url, "entity": "customers", "events": ["deleted"]}),
    );
    let hook = id(&hook);
    rule(
        &admin,
        json!({"name": "流失客户推送 ERP", "entity": "customers",
               "trigger": {"on": "updated", "field": "stage", "to": "lost"},
               "actions": [{"kind": "webhook", "webhook_id": hook}]}),
    );
    let customer = admin.post("/api/v1/customers", json!({"name": "要走的客户"}));
    admin.patch(
        &format!("/api/v1/customers/{}", id(&customer)),
        json!({"version": customer.body["version"], "stage": "lost"}),
    );
    let got = receiver.wait_for(1);
    assert_eq!(got[0].headers["x-kehu-event"], "automation");
    let payload: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(payload["rule"]["name"], "流失客户推送 ERP");
    assert_eq!(payload["record"]["stage"], "lost");
    assert!(got[0].headers["x-kehu-signature"].starts_with("sha256="));
}

#[test]
fn a_contract_the_flow_activates_sets_off_the_rules_watching_its_status() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let role = create_role(
        &admin,
        "销售",
        &["customers", "contracts", "tasks"],
        &["view", "create", "edit"],
        "own",
    );
    create_user_with_roles(&admin, "rep", None, &[role]);
    let made = rule(
        &admin,
        json!({"name": "合同生效后安排交付", "entity": "contracts",
               "trigger": {"on": "updated", "field": "status", "to": "active"},
               "actions": [{"kind": "task", "title": "安排交付", "due_in_days": 3}]}),
    );
    let rep = app.signed_in("rep");
    let customer = id(&rep.post("/api/v1/customers", json!({"name": "签约客户"})));
    let contract = id(&rep.post(
        "/api/v1/contracts",
        json!({"name": "年度服务", "customer_id": customer, "amount": 100}),
    ));
    let submitted = rep.post(
        &format!("/api/v1/contracts/{contract}/approval"),
        json!({"comment": "请审批"}),
    );
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    assert!(runs(&admin, made).is_empty(), "in approval is not active");
    let approved = admin.post(
        &format!("/api/v1/approvals/{}/approve", submitted.body["id"]),
        json!({}),
    );
    assert_eq!(approved.status, 200, "{}", approved.text);
    let log = runs(&admin, made);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["status"], "done", "{log:?}");
    let tasks = rep.get("/api/v1/tasks").body;
    assert_eq!(tasks["items"][0]["title"], "安排交付", "{tasks}");
}
