//! Approval flows (issue #21): a flow designed per entity, conditions that add a step, the
//! department head n levels up, any-one and all-must, rejection, withdrawal, resubmission,
//! transfer, the lock on a record under approval, a flow edited while instances run, bad flows
//! refused, and scope on every route and notification.

use crate::helpers::*;
use serde_json::{json, Value};

/// A company with a sales division (head: `director`), its east team under it (head: `lead`),
/// two reps in the team, a finance officer who sees every contract, and an outsider in another
/// division.
struct Office {
    app: TestApp,
    admin: Browser,
    rep: Browser,
    director_id: i64,
    lead_id: i64,
    finance_id: i64,
    peer_id: i64,
    outsider_id: i64,
    sales_role: i64,
    contracts: std::cell::Cell<u32>,
}

impl Office {
    fn new() -> Office {
        let app = spawn_app();
        let admin = app.setup_admin();
        let sales = create_department(&admin, "销售事业部", None)["id"]
            .as_i64()
            .unwrap();
        let east = create_department(&admin, "华东组", Some(sales))["id"]
            .as_i64()
            .unwrap();
        let other = create_department(&admin, "服务部", None)["id"]
            .as_i64()
            .unwrap();
        let modules = ["contracts", "customers"];
        let rep_role = create_role(
            &admin,
            "销售",
            &modules,
            &["view", "create", "edit", "delete"],
            "own",
        );
        let sales_role = create_role(
            &admin,
            "销售主管",
            &modules,
            &["view", "edit"],
            "department_tree",
        );
        let finance = create_role(&admin, "财务", &modules, &["view"], "all");
        let user = |name: &str, department: i64, role: i64| {
            create_user_with_roles(&admin, name, Some(department), &[role])["id"]
                .as_i64()
                .unwrap()
        };
        let director_id = user("director", sales, sales_role);
        let lead_id = user("lead", east, sales_role);
        user("rep", east, rep_role);
        let peer_id = user("peer", east, rep_role);
        let finance_id = user("finance", other, finance);
        let outsider_id = user("outsider", other, rep_role);
        for (department, head) in [(sales, director_id), (east, lead_id)] {
            let current = admin.get(&format!("/api/v1/departments/{department}")).body;
            let named = admin.patch(
                &format!("/api/v1/departments/{department}"),
                json!({"head_id": head, "version": current["version"]}),
            );
            assert_eq!(named.body["head_id"], head, "{}", named.text);
        }
        let rep = app.signed_in("rep");
        Office {
            app,
            admin,
            rep,
            director_id,
            lead_id,
            finance_id,
            peer_id,
            outsider_id,
            sales_role,
            contracts: std::cell::Cell::new(0),
        }
    }

    fn as_user(&self, name: &str) -> Browser {
        self.app.signed_in(name)
    }

    fn design(&self, steps: Value) -> Value {
        let current = self.admin.get("/api/v1/approval-flows/contracts").body;
        let saved = self.admin.put(
            "/api/v1/approval-flows/contracts",
            json!({"steps": steps, "version": current["version"]}),
        );
        assert_eq!(saved.status, 200, "{}", saved.text);
        saved.body
    }

    /// A draft contract of the rep's, for `amount` (in 分).
    fn contract(&self, amount: i64) -> i64 {
        let n = self.contracts.get() + 1;
        self.contracts.set(n);
        let customer = self
            .rep
            .post("/api/v1/customers", json!({"name": format!("客户{n}")}));
        assert_eq!(customer.status, 201, "{}", customer.text);
        let contract = self.rep.post(
            "/api/v1/contracts",
            json!({"name": "年度服务", "customer_id": customer.body["id"], "amount": amount}),
        );
        assert_eq!(contract.status, 201, "{}", contract.text);
        contract.body["id"].as_i64().unwrap()
    }

    fn submit(&self, contract: i64) -> i64 {
        let submitted = self.rep.post(
            &format!("/api/v1/contracts/{contract}/approval"),
            json!({"comment": "请审批"}),
        );
        assert_eq!(submitted.status, 201, "{}", submitted.text);
        submitted.body["id"].as_i64().unwrap()
    }

    fn status(&self, contract: i64) -> Value {
        self.admin
            .get(&format!("/api/v1/contracts/{contract}"))
            .body["status"]
            .clone()
    }
}

fn decide(browser: &Browser, instance: i64, what: &str, body: Value) -> Answer {
    browser.post(&format!("/api/v1/approvals/{instance}/{what}"), body)
}

fn approved_by(browser: &Browser, instance: i64) -> Value {
    let answer = decide(browser, instance, "approve", json!({}));
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

fn waiting_ids(browser: &Browser) -> Vec<i64> {
    let answer = browser.get("/api/v1/approvals?box=waiting");
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

fn notification_kinds(browser: &Browser) -> Vec<String> {
    browser.get("/api/v1/notifications").body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

fn field_code(answer: &Answer, field: &str) -> String {
    assert_eq!(answer.status, 422, "{}", answer.text);
    answer.body["error"]["field_codes"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no error on {field}: {}", answer.text))
        .to_string()
}

/// Step one: the submitter's team head; step two, only above 100,000 yuan: finance.
fn two_step_flow(office: &Office) -> Value {
    json!([
        {"name": "主管审批", "approver": {"kind": "head", "levels": 1}},
        {"name": "财务审批", "approver": {"kind": "users", "user_ids": [office.finance_id]},
         "condition": {"field": "amount", "op": "gt", "value": 10_000_000}},
    ])
}

#[test]
fn a_large_contract_takes_two_steps_and_a_small_one_takes_one() {
    let office = Office::new();
    office.design(two_step_flow(&office));
    let (lead, finance) = (office.as_user("lead"), office.as_user("finance"));

    let large = office.contract(20_000_000);
    let instance = office.submit(large);
    assert_eq!(office.status(large), "in_approval");
    let shown = office
        .rep
        .get(&format!("/api/v1/contracts/{large}/approval"))
        .body;
    assert_eq!(shown["instance"]["steps"].as_array().unwrap().len(), 2);
    assert_eq!(shown["instance"]["can_withdraw"], true);
    assert_eq!(shown["can_submit"], false, "already under approval");

    let record = office.rep.get(&format!("/api/v1/contracts/{large}")).body;
    let edit = office.rep.patch(
        &format!("/api/v1/contracts/{large}"),
        json!({"version": record["version"], "name": "改名"}),
    );
    assert_eq!(edit.status, 409, "{}", edit.text);
    assert_eq!(edit.error_code(), "under_approval");
    assert!(!edit.body["error"]["message"].as_str().unwrap().is_empty());
    let removal = office.rep.delete(&format!("/api/v1/contracts/{large}"));
    assert_eq!(removal.error_code(), "under_approval");
    assert_eq!(
        office.rep.get(&format!("/api/v1/contracts/{large}")).body["name"],
        "年度服务"
    );

    assert_eq!(waiting_ids(&lead), vec![instance]);
    assert!(
        waiting_ids(&finance).is_empty(),
        "the second step waits its turn"
    );
    assert_eq!(lead.get("/api/v1/approvals?box=waiting").body["waiting"], 1);
    assert!(notification_kinds(&lead).contains(&"approval_waiting".to_string()));
    assert!(notification_kinds(&finance).is_empty());
    let early = decide(&finance, instance, "approve", json!({}));
    assert_eq!(early.status, 403);
    assert_eq!(early.error_code(), "not_your_turn");

    let after_first = approved_by(&lead, instance);
    assert_eq!(after_first["status"], "pending");
    assert_eq!(after_first["current_step"], 1);
    assert_eq!(after_first["steps"][0]["status"], "approved");
    assert_eq!(waiting_ids(&finance), vec![instance]);
    assert!(notification_kinds(&finance).contains(&"approval_waiting".to_string()));
    assert_eq!(office.status(large), "in_approval");

    let done = approved_by(&finance, instance);
    assert_eq!(done["status"], "approved");
    assert_eq!(office.status(large), "active");
    assert!(notification_kinds(&office.rep).contains(&"approval_approved".to_string()));
    assert_eq!(
        lead.get("/api/v1/approvals?box=done").body["items"][0]["id"],
        instance
    );
    assert_eq!(
        office.rep.get("/api/v1/approvals?box=submitted").body["total"],
        1
    );

    let history = office
        .rep
        .get(&format!("/api/v1/contracts/{large}/history"))
        .body;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "approval_submitted",
        "approval_step_approved",
        "approval_approved",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let audited: i64 = office
        .app
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'approval_%' AND record_id = ?1",
            [large],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 4, "submitted, two steps approved, approved");

    let small = office.contract(5_000_000);
    let instance = office.submit(small);
    let only_step = approved_by(&lead, instance);
    assert_eq!(only_step["steps"].as_array().unwrap().len(), 1);
    assert_eq!(office.status(small), "active");
}

#[test]
fn a_rejected_or_withdrawn_contract_goes_back_to_draft_and_may_be_resubmitted() {
    let office = Office::new();
    office.design(json!([{"approver": {"kind": "head", "levels": 2}}]));
    let director = office.as_user("director");
    let contract = office.contract(1_000_000);
    let instance = office.submit(contract);
    let shown = office
        .rep
        .get(&format!("/api/v1/approvals/{instance}"))
        .body;
    assert_eq!(
        shown["steps"][0]["tasks"][0]["approver_id"], office.director_id,
        "two levels up from the east team is the division's head"
    );

    let no_reason = decide(&director, instance, "reject", json!({"comment": "  "}));
    assert_eq!(field_code(&no_reason, "comment"), "required");
    assert_eq!(office.status(contract), "in_approval");
    let rejected = decide(
        &director,
        instance,
        "reject",
        json!({"comment": "折扣太大"}),
    );
    assert_eq!(rejected.body["status"], "rejected", "{}", rejected.text);
    assert_eq!(office.status(contract), "draft");
    let told = office.rep.get("/api/v1/notifications").body;
    let rejection = told["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "approval_rejected")
        .expect("the submitter is told");
    assert!(rejection["message"].as_str().unwrap().contains("折扣太大"));
    let again = decide(&director, instance, "approve", json!({}));
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "approval_finished");

    let record = office
        .rep
        .get(&format!("/api/v1/contracts/{contract}"))
        .body;
    let corrected = office.rep.patch(
        &format!("/api/v1/contracts/{contract}"),
        json!({"version": record["version"], "amount": 900_000}),
    );
    assert_eq!(
        corrected.status, 200,
        "unlocked after the rejection: {}",
        corrected.text
    );
    let second = office.submit(contract);
    assert_ne!(second, instance);
    let stranger = decide(&office.as_user("peer"), second, "withdraw", json!({}));
    assert_eq!(
        stranger.status, 404,
        "a peer with own scope cannot see it: {}",
        stranger.text
    );
    let by_approver = decide(&director, second, "withdraw", json!({}));
    assert_eq!(by_approver.error_code(), "not_submitter");
    let withdrawn = decide(&office.rep, second, "withdraw", json!({}));
    assert_eq!(withdrawn.body["status"], "withdrawn", "{}", withdrawn.text);
    assert_eq!(office.status(contract), "draft");
    assert!(waiting_ids(&director).is_empty());
    let third = office.submit(contract);
    approved_by(&director, third);
    assert_eq!(office.status(contract), "active");
    let twice = office
        .rep
        .post(&format!("/api/v1/contracts/{contract}/approval"), json!({}));
    assert_eq!(twice.status, 409);
    assert_eq!(twice.error_code(), "not_submittable");
}

#[test]
fn all_must_approve_and_a_turn_can_be_handed_on() {
    let office = Office::new();
    office.design(json!([{
        "approver": {"kind": "users", "user_ids": [office.lead_id, office.director_id]},
        "mode": "all",
    }]));
    let (lead, director) = (office.as_user("lead"), office.as_user("director"));
    let contract = office.contract(3_000_000);
    let instance = office.submit(contract);
    let after_lead = approved_by(&lead, instance);
    assert_eq!(
        after_lead["status"], "pending",
        "the director must approve too"
    );

    let to_outsider = decide(
        &director,
        instance,
        "transfer",
        json!({"user_id": office.outsider_id}),
    );
    assert_eq!(field_code(&to_outsider, "user_id"), "approver_cannot_see");
    let to_submitter = decide(
        &director,
        instance,
        "transfer",
        json!({"user_id": office.app_rep_id()}),
    );
    assert_eq!(field_code(&to_submitter, "user_id"), "already_involved");
    let nobody = decide(&director, instance, "transfer", json!({}));
    assert_eq!(field_code(&nobody, "user_id"), "required");
    let unknown = decide(&director, instance, "jump", json!({}));
    assert_eq!(unknown.status, 404);

    let finance = office.as_user("finance");
    let handed = decide(
        &director,
        instance,
        "transfer",
        json!({"user_id": office.finance_id, "comment": "出差中，请财务代审"}),
    );
    assert_eq!(handed.status, 200, "{}", handed.text);
    assert!(waiting_ids(&director).is_empty());
    assert_eq!(waiting_ids(&finance), vec![instance]);
    let done = approved_by(&finance, instance);
    assert_eq!(done["status"], "approved");
    let statuses: Vec<&str> = done["steps"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["approved", "transferred", "approved"]);
    assert_eq!(office.status(contract), "active");
}

#[test]
fn an_administrator_hands_on_a_turn_stuck_with_someone_away() {
    let office = Office::new();
    office.design(json!([{"approver": {"kind": "users", "user_ids": [office.lead_id]}}]));
    let contract = office.contract(3_000_000);
    let instance = office.submit(contract);
    let director = office.as_user("director");
    let not_admin = decide(
        &director,
        instance,
        "transfer",
        json!({"from_user_id": office.lead_id, "user_id": office.finance_id}),
    );
    assert_eq!(not_admin.status, 403, "only an administrator reassigns");
    let not_waiting = decide(
        &office.admin,
        instance,
        "transfer",
        json!({"from_user_id": office.finance_id, "user_id": office.director_id}),
    );
    assert_eq!(field_code(&not_waiting, "from_user_id"), "not_waiting");
    let shown = office
        .admin
        .get(&format!("/api/v1/approvals/{instance}"))
        .body;
    assert_eq!(shown["can_reassign"], true);
    let handed = decide(
        &office.admin,
        instance,
        "transfer",
        json!({"from_user_id": office.lead_id, "user_id": office.director_id, "comment": "组长休假"}),
    );
    assert_eq!(handed.status, 200, "{}", handed.text);
    assert!(waiting_ids(&office.as_user("lead")).is_empty());
    assert_eq!(waiting_ids(&director), vec![instance]);
    let done = approved_by(&director, instance);
    assert_eq!(done["status"], "approved");
    assert_eq!(office.status(contract), "active");
}

impl Office {
    fn app_rep_id(&self) -> i64 {
        self.rep.get("/api/v1/auth/me").body["id"].as_i64().unwrap()
    }
}

#[test]
fn a_flow_edited_mid_way_leaves_running_instances_as_they_were() {
    let office = Office::new();
    office.design(json!([{"approver": {"kind": "head", "levels": 1}}]));
    let lead = office.as_user("lead");
    let running = office.contract(2_000_000);
    let instance = office.submit(running);
    office.design(two_step_flow(&office));
    office.design(json!([
        {"approver": {"kind": "head", "levels": 1}},
        {"approver": {"kind": "users", "user_ids": [office.finance_id]}},
    ]));
    let done = approved_by(&lead, instance);
    assert_eq!(done["status"], "approved", "the snapshot had one step");
    assert_eq!(office.status(running), "active");

    let later = office.contract(2_000_000);
    let second = office.submit(later);
    let after_lead = approved_by(&lead, second);
    assert_eq!(
        after_lead["status"], "pending",
        "new submissions follow the new flow"
    );
    assert_eq!(office.status(later), "in_approval");
}

#[test]
fn bad_flows_are_refused_and_change_nothing() {
    let office = Office::new();
    let put = |body: Value| office.admin.put("/api/v1/approval-flows/contracts", body);
    let current = office.admin.get("/api/v1/approval-flows/contracts").body;
    assert_eq!(current["required"], true);
    let version = current["version"].clone();
    let cases = [
        (
            json!([{"approver": {"kind": "role", "role_id": 999}}]),
            "steps.0.approver",
            "not_found",
        ),
        (
            json!([{"approver": {"kind": "head", "levels": 9}}]),
            "steps.0.approver",
            "between",
        ),
        (
            json!([{"approver": {"kind": "users", "user_ids": [999]}}]),
            "steps.0.approver",
            "unknown_user",
        ),
        (
            json!([{"approver": {"kind": "head", "levels": 1},
                 "condition": {"field": "nope", "op": "gt", "value": 1}}]),
            "steps.0.condition",
            "unknown_field",
        ),
        (
            json!([{"approver": {"kind": "head", "levels": 1},
                 "condition": {"field": "status", "op": "gt", "value": "draft"}}]),
            "steps.0.condition",
            "invalid_condition",
        ),
        (
            json!([{"approver": {"kind": "head", "levels": 1},
                 "condition": {"field": "amount", "op": "gt", "value": "much"}}]),
            "steps.0.condition",
            "invalid_condition",
        ),
        (json!([]), "steps", "required"),
        (
            json!([{"approver": {"kind": "everyone"}}]),
            "steps",
            "invalid",
        ),
    ];
    for (steps, field, code) in cases {
        let refused = put(json!({"steps": steps, "version": version}));
        assert_eq!(field_code(&refused, field), code, "{steps}");
    }
    let stale = put(json!({"steps": [{"approver": {"kind": "head", "levels": 1}}], "version": 0}));
    assert_eq!(stale.status, 409);
    assert_eq!(stale.error_code(), "version_conflict");
    assert_eq!(
        office.admin.get("/api/v1/approval-flows/contracts").body,
        current
    );
    let removal = office.admin.delete("/api/v1/approval-flows/contracts");
    assert_eq!(removal.error_code(), "flow_required");
    let as_rep = office.rep.get("/api/v1/approval-flows");
    assert_eq!(as_rep.status, 403);
    assert_eq!(
        office.admin.get("/api/v1/approval-flows/customers").status,
        404
    );

    let temporary = create_role(&office.admin, "临时审批", &["contracts"], &["view"], "all");
    office.design(json!([{"approver": {"kind": "role", "role_id": temporary}}]));
    assert_eq!(
        office
            .admin
            .delete(&format!("/api/v1/roles/{temporary}"))
            .status,
        204
    );
    let contract = office.contract(1_000_000);
    let gone = office
        .rep
        .post(&format!("/api/v1/contracts/{contract}/approval"), json!({}));
    assert_eq!(field_code(&gone, "flow"), "flow_role_gone");
    assert_eq!(office.status(contract), "draft", "nothing written");
    let instances: i64 = office
        .app
        .sql()
        .query_row("SELECT count(*) FROM approval_instances", [], |r| r.get(0))
        .unwrap();
    assert_eq!(instances, 0);

    office.design(json!([{"approver": {"kind": "users", "user_ids": [office.outsider_id]}}]));
    let unseen = office
        .rep
        .post(&format!("/api/v1/contracts/{contract}/approval"), json!({}));
    assert_eq!(
        field_code(&unseen, "flow"),
        "no_approver",
        "an approver who cannot open the record is never asked"
    );
    office.design(json!([{"approver": {"kind": "role", "role_id": office.sales_role}}]));
    let record = office
        .rep
        .get(&format!("/api/v1/contracts/{contract}"))
        .body;
    let by_hand = office.rep.patch(
        &format!("/api/v1/contracts/{contract}"),
        json!({"version": record["version"], "status": "active"}),
    );
    assert_eq!(field_code(&by_hand, "status"), "set_by_approval");
    let extra = office.rep.post(
        &format!("/api/v1/contracts/{contract}/approval"),
        json!({"urgent": true}),
    );
    assert_eq!(field_code(&extra, "urgent"), "not_editable");
}

#[test]
fn nobody_learns_of_an_approval_outside_their_scope() {
    let office = Office::new();
    office.design(json!([{"approver": {"kind": "role", "role_id": office.sales_role}}]));
    let contract = office.contract(4_000_000);
    let instance = office.submit(contract);
    let shown = office
        .admin
        .get(&format!("/api/v1/approvals/{instance}"))
        .body;
    let approvers: Vec<i64> = shown["steps"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["approver_id"].as_i64().unwrap())
        .collect();
    assert_eq!(approvers, vec![office.director_id, office.lead_id]);
    for name in ["outsider", "peer"] {
        let browser = office.as_user(name);
        assert_eq!(
            browser.get(&format!("/api/v1/approvals/{instance}")).status,
            404,
            "{name}"
        );
        assert_eq!(
            decide(&browser, instance, "approve", json!({})).status,
            404,
            "{name}"
        );
        assert_eq!(
            browser
                .get(&format!("/api/v1/contracts/{contract}/approval"))
                .status,
            404
        );
        for list in ["waiting", "done", "submitted"] {
            assert_eq!(
                browser.get(&format!("/api/v1/approvals?box={list}")).body["total"],
                0
            );
        }
        assert!(notification_kinds(&browser).is_empty(), "{name}");
    }
    let peer = office.peer_id;
    let peer_tasks: i64 = office
        .app
        .sql()
        .query_row(
            "SELECT count(*) FROM approval_tasks WHERE approver_id = ?1",
            [peer],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(peer_tasks, 0);
    assert_eq!(office.rep.get("/api/v1/approvals?box=nonsense").status, 400);
}

#[test]
fn the_inbox_gathers_what_waits_for_each_person() {
    let office = Office::new();
    office.design(json!([{"approver": {"kind": "head", "levels": 1}}]));
    let contract = office.contract(2_000_000);
    office.submit(contract);
    let inbox = |browser: &Browser| {
        let answer = browser.get("/api/v1/reminders");
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body
    };
    let lead = inbox(&office.as_user("lead"));
    assert_eq!(lead["counts"]["approvals_waiting"], 1);
    assert_eq!(lead["approvals_waiting"][0]["id"], contract);
    assert_eq!(lead["approvals_waiting"][0]["submitter"], "rep");
    assert!(lead["counts"]["now"].as_i64().unwrap() >= 1);
    let peer = inbox(&office.as_user("peer"));
    assert_eq!(peer["counts"]["approvals_waiting"], 0);
    assert_eq!(peer["approvals_waiting"], json!([]));

    assert_eq!(inbox(&office.rep)["pool_returning"], json!([]));
    let rules = office
        .admin
        .put("/api/v1/settings/pool", json!({"days_without_followup": 5}));
    assert_eq!(rules.status, 200, "{}", rules.text);
    let rep = inbox(&office.rep);
    let returning = rep["pool_returning"].as_array().unwrap();
    assert_eq!(returning.len(), 1, "the rep's one customer, in five days");
    assert!(returning[0]["returns_at"].as_str().is_some());
    assert!(inbox(&office.as_user("peer"))["pool_returning"]
        .as_array()
        .unwrap()
        .is_empty());

    let task = office.admin.post(
        "/api/v1/tasks",
        json!({"title": "催回款", "due_at": "2020-01-01T09:00:00Z"}),
    );
    assert_eq!(task.status, 201, "{}", task.text);
    let admin = inbox(&office.admin);
    assert_eq!(admin["tasks_due"][0]["title"], "催回款");
    assert_eq!(admin["tasks_due"][0]["when"], "overdue");
    assert_eq!(
        inbox(&office.rep)["tasks_due"],
        json!([]),
        "no right to tasks"
    );
}
