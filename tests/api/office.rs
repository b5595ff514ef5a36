//! Administrative forms (issue #21): leave requests, expense claims and purchase requests are
//! records of the engine that go through their approval flow, take the company's own fields,
//! refuse bad input, and are seen by their owner, their owner's manager and their approvers,
//! not by colleagues.

use crate::helpers::*;
use serde_json::{json, Value};

struct Office {
    app: TestApp,
    admin: Browser,
    clerk: Browser,
    colleague: Browser,
    manager: Browser,
}

fn office() -> Office {
    let app = spawn_app();
    let admin = app.setup_admin();
    let team = create_department(&admin, "行政部", None)["id"]
        .as_i64()
        .unwrap();
    let forms = ["expenses", "leaves", "purchases", "customers"];
    let own = create_role(
        &admin,
        "员工",
        &forms,
        &["view", "create", "edit", "delete"],
        "own",
    );
    let lead = create_role(&admin, "部门经理", &forms, &["view"], "department");
    for (name, role) in [("clerk", own), ("colleague", own), ("manager", lead)] {
        create_user_with_roles(&admin, name, Some(team), &[role]);
    }
    Office {
        clerk: app.signed_in("clerk"),
        colleague: app.signed_in("colleague"),
        manager: app.signed_in("manager"),
        admin,
        app,
    }
}

fn refused(answer: &Answer, field: &str, code: &str) {
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(
        answer.body["error"]["field_codes"][field], code,
        "{}",
        answer.text
    );
}

#[test]
fn a_leave_request_goes_through_its_flow_and_is_seen_only_by_who_should() {
    let o = office();
    let leave = json!({"title": "年假", "kind": "annual", "starts_on": "2026-12-21",
                       "ends_on": "2026-12-23", "days": 3, "reason": "回老家"});
    let mut backwards = leave.clone();
    backwards["ends_on"] = json!("2026-12-20");
    refused(
        &o.clerk.post("/api/v1/leaves", backwards),
        "ends_on",
        "before_start",
    );
    let mut no_days = leave.clone();
    no_days["days"] = json!(0);
    refused(&o.clerk.post("/api/v1/leaves", no_days), "days", "positive");
    let mut approved = leave.clone();
    approved["status"] = json!("approved");
    refused(
        &o.clerk.post("/api/v1/leaves", approved),
        "status",
        "set_by_approval",
    );
    refused(
        &o.clerk.post("/api/v1/leaves", json!({"title": "病假"})),
        "kind",
        "required",
    );
    assert_eq!(
        o.admin.get("/api/v1/leaves").body["total"],
        0,
        "nothing kept"
    );

    let made = o.clerk.post("/api/v1/leaves", leave);
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.body["status"], "draft");
    let id = made.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/leaves/{id}");
    assert_eq!(o.colleague.get(&path).status, 404, "a colleague's leave");
    assert_eq!(o.manager.get(&path).status, 200, "the team's manager");

    let submitted = o
        .clerk
        .post(&format!("{path}/approval"), json!({"comment": "请批准"}));
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    assert_eq!(o.clerk.get(&path).body["status"], "in_approval");
    let edit = o.clerk.patch(
        &path,
        json!({"version": o.clerk.get(&path).body["version"], "days": 2}),
    );
    assert_eq!(edit.status, 409);
    assert_eq!(edit.error_code(), "under_approval");

    let waiting = o.admin.get("/api/v1/approvals?box=waiting").body;
    assert_eq!(waiting["items"][0]["entity"], "leaves", "{waiting}");
    let approval = submitted.body["id"].as_i64().unwrap();
    let done = o.admin.post(
        &format!("/api/v1/approvals/{approval}/approve"),
        json!({"comment": "同意"}),
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(o.clerk.get(&path).body["status"], "approved");
    let told = o.clerk.get("/api/v1/notifications").body;
    assert!(
        told.to_string().contains("approval_approved"),
        "the clerk hears back: {told}"
    );
}

#[test]
fn an_expense_claim_takes_the_companys_own_fields_and_a_returned_one_is_a_draft_again() {
    let o = office();
    let field = o.admin.post(
        "/api/v1/settings/fields/expenses",
        json!({"key": "receipts", "type": "integer", "label_zh": "发票张数", "label_en": "Receipts"}),
    );
    assert_eq!(field.status, 201, "{}", field.text);
    let claim = json!({"title": "拜访杭州客户", "category": "travel", "amount": 0,
                       "spent_on": "2026-12-01"});
    refused(
        &o.clerk.post("/api/v1/expenses", claim.clone()),
        "amount",
        "positive",
    );
    let mut odd = claim.clone();
    odd["category"] = json!("spa");
    odd["amount"] = json!(38_000);
    refused(&o.clerk.post("/api/v1/expenses", odd), "category", "one_of");
    let mut good = claim;
    good["amount"] = json!(38_000);
    good["cf_receipts"] = json!(3);
    let made = o.clerk.post("/api/v1/expenses", good);
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.body["cf_receipts"], 3);
    let id = made.body["id"].as_i64().unwrap();
    let submitted = o
        .clerk
        .post(&format!("/api/v1/expenses/{id}/approval"), json!({}));
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let returned = o.admin.post(
        &format!("/api/v1/approvals/{}/reject", submitted.body["id"]),
        json!({"comment": "缺少发票"}),
    );
    assert_eq!(returned.status, 200, "{}", returned.text);
    let record = o.clerk.get(&format!("/api/v1/expenses/{id}")).body;
    assert_eq!(record["status"], "draft", "returned to its author");
    let fixed = o.clerk.patch(
        &format!("/api/v1/expenses/{id}"),
        json!({"version": record["version"], "cf_receipts": 4}),
    );
    assert_eq!(fixed.status, 200, "a returned claim can be corrected");
}

#[test]
fn the_forms_are_described_for_outside_tools() {
    let o = office();
    let meta = o.admin.get("/api/v1/meta").body;
    let names: Vec<&str> = meta["entities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for form in ["expenses", "leaves", "purchases"] {
        assert!(names.contains(&form), "{names:?}");
    }
    let flows = o.admin.get("/api/v1/approval-flows").body;
    let with_flow: Vec<&Value> = flows["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["required"] == true)
        .collect();
    assert!(
        with_flow.iter().any(|f| f["entity"] == "purchases"),
        "a form's status follows its flow: {flows}"
    );
    let purchase = o.clerk.post(
        "/api/v1/purchases",
        json!({"title": "投影仪", "supplier": "京东", "amount": 450_000}),
    );
    assert_eq!(purchase.status, 201, "{}", purchase.text);
    let found = o.clerk.get("/api/v1/search?q=投影仪").body;
    assert!(found.to_string().contains("投影仪"), "{found}");
    let _ = &o.app;
}
