//! Access control, proven by a generated matrix: every entity × every data scope × every route,
//! a caller inside the scope succeeds and a caller outside sees nothing (404 or absent); every
//! action a role lacks is refused with 403. Denied writes leave the row byte-for-byte unchanged.

use crate::helpers::*;
use crate::records::urlencode;
use serde_json::{json, Value};

static NEXT_INSTALMENT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);

/// The ids of the records created so far for the matrix, by entity.
type Ids = std::collections::HashMap<&'static str, i64>;

/// One line per entity: how to create one of its records (under the customer and contract made
/// before it), and a list that shows it (`{customer}`, `{contract}` and `{id}` are filled in).
struct Case {
    entity: &'static str,
    body: fn(ids: &Ids, token: &str) -> Value,
    related: &'static str,
    /// A field the list's chart may group by.
    group_by: &'static str,
}

const CASES: &[Case] = &[
    Case {
        entity: "customers",
        body: |_, token| json!({"name": format!("Customer {token}")}),
        related: "contacts?filter[customer_id]={customer}",
        group_by: "owner_id",
    },
    Case {
        entity: "contacts",
        body: |ids, token| json!({"customer_id": ids["customers"], "name": format!("Contact {token}")}),
        related: "contacts?filter[customer_id]={customer}",
        group_by: "decision_maker",
    },
    Case {
        entity: "followups",
        body: |ids, token| {
            json!({"entity": "customers", "record_id": ids["customers"], "method": "visit",
                   "content": format!("Visited {token}")})
        },
        related: "followups?filter[entity]=customers&filter[record_id]={customer}",
        group_by: "method",
    },
    Case {
        entity: "leads",
        body: |_, token| json!({"name": format!("Lead {token}"), "source": "website"}),
        related: "leads?filter[id]={id}",
        group_by: "source",
    },
    Case {
        entity: "opportunities",
        body: |ids, token| json!({"name": format!("Deal {token}"), "customer_id": ids["customers"], "amount": 500}),
        related: "opportunities?filter[customer_id]={customer}",
        group_by: "stage_id",
    },
    Case {
        entity: "products",
        body: |_, token| json!({"name": format!("Product {token}"), "category": "service"}),
        related: "products?filter[id]={id}",
        group_by: "category",
    },
    Case {
        entity: "contracts",
        body: |ids, token| {
            json!({"name": format!("Contract {token}"), "customer_id": ids["customers"],
                   "amount": 1000})
        },
        related: "contracts?filter[customer_id]={customer}",
        group_by: "status",
    },
    Case {
        entity: "payment_plans",
        body: |ids, token| {
            // An instalment number is used once per contract.
            let instalment = NEXT_INSTALMENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            json!({"contract_id": ids["contracts"], "instalment": instalment, "due_date": "2030-01-31",
                   "amount": 100, "notes": format!("Plan {token}")})
        },
        related: "payment_plans?filter[contract_id]={contract}",
        group_by: "overdue",
    },
    Case {
        entity: "payments",
        body: |ids, token| {
            json!({"contract_id": ids["contracts"], "amount": 100, "received_at": "2030-01-02",
                   "method": "cash", "notes": format!("Paid {token}")})
        },
        related: "payments?filter[contract_id]={contract}",
        group_by: "method",
    },
    Case {
        entity: "invoices",
        body: |ids, token| {
            json!({"contract_id": ids["contracts"], "type": "receipt", "amount": 100,
                   "number": format!("INV-{token}")})
        },
        related: "invoices?filter[contract_id]={contract}",
        group_by: "type",
    },
    Case {
        entity: "tasks",
        body: |ids, token| {
            json!({"title": format!("Task {token}"), "entity": "customers",
                   "record_id": ids["customers"]})
        },
        related: "tasks?filter[entity]=customers&filter[record_id]={customer}",
        group_by: "priority",
    },
];

const MODULES: &[&str] = &[
    "customers",
    "contacts",
    "followups",
    "leads",
    "opportunities",
    "products",
    "contracts",
    "payment_plans",
    "payments",
    "invoices",
    "tasks",
];
const ALL_ACTIONS: &[&str] = &["view", "create", "edit", "delete", "export", "import"];
/// Every column of a row, as text: the "byte-for-byte unchanged" witness.
fn snapshot(app: &TestApp, table: &str, id: i64) -> String {
    let conn = app.sql();
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table} WHERE id = ?1"))
        .unwrap();
    let columns = stmt.column_count();
    stmt.query_row([id], |r| {
        Ok((0..columns)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
}

struct Org {
    app: TestApp,
    admin: Browser,
    /// department name → id
    team_a1: i64,
    div_a: i64,
    div_b: i64,
    roles: std::collections::HashMap<String, i64>,
}

/// Group → Division A → Team A1, and Group → Division B; one role per scope with every action.
fn organisation() -> Org {
    let app = spawn_app();
    let admin = app.setup_admin();
    let group = create_department(&admin, "Group", None)["id"]
        .as_i64()
        .unwrap();
    let div_a = create_department(&admin, "Division A", Some(group))["id"]
        .as_i64()
        .unwrap();
    let team_a1 = create_department(&admin, "Team A1", Some(div_a))["id"]
        .as_i64()
        .unwrap();
    let div_b = create_department(&admin, "Division B", Some(group))["id"]
        .as_i64()
        .unwrap();
    let mut roles = std::collections::HashMap::new();
    for scope in ["own", "department", "department_tree", "all"] {
        let id = create_role(
            &admin,
            &format!("scope {scope}"),
            MODULES,
            ALL_ACTIONS,
            scope,
        );
        roles.insert(scope.to_string(), id);
    }
    Org {
        app,
        admin,
        team_a1,
        div_a,
        div_b,
        roles,
    }
}

impl Org {
    fn user(&self, name: &str, department: i64, role: &str) -> Browser {
        create_user_with_roles(&self.admin, name, Some(department), &[self.roles[role]]);
        self.app.signed_in(name)
    }
}

/// The records one owner creates for the matrix: one of every entity.
fn records(owner: &Browser, token: &str) -> (Ids, Vec<i64>) {
    let mut made = Ids::new();
    let mut ids = Vec::new();
    for case in CASES {
        let answer = owner.post(
            &format!("/api/v1/{}", case.entity),
            (case.body)(&made, token),
        );
        assert_eq!(answer.status, 201, "{}: {}", case.entity, answer.text);
        let id = answer.body["id"].as_i64().unwrap();
        made.insert(case.entity, id);
        ids.push(id);
    }
    (made, ids)
}

/// Checks every route of every entity for `viewer`, expecting the records to be visible or not.
fn check_routes(
    org: &Org,
    viewer: &Browser,
    who: &str,
    token: &str,
    made: &Ids,
    ids: &[i64],
    inside: bool,
) {
    for (case, id) in CASES.iter().zip(ids) {
        let e = case.entity;
        let label = format!("{who} on {e}");
        let base = format!("/api/v1/{e}");
        let get = viewer.get(&format!("{base}/{id}"));
        assert_eq!(get.status, if inside { 200 } else { 404 }, "get: {label}");
        let listed = viewer.get(&format!("{base}?filter[id]={id}"));
        assert_eq!(listed.status, 200, "{label}");
        assert_eq!(
            listed.body["total"],
            if inside { 1 } else { 0 },
            "list: {label}"
        );
        let searched = viewer.get(&format!("{base}?q={}", urlencode(token)));
        let hit = searched.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == *id);
        assert_eq!(hit, inside, "search: {label}");
        let global = viewer.get(&format!("/api/v1/search?q={}", urlencode(token)));
        let hit = global.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["entity"] == e && r["id"] == *id);
        assert_eq!(hit, inside, "global search: {label}");
        let history = viewer.get(&format!("{base}/{id}/history"));
        assert_eq!(
            history.status,
            if inside { 200 } else { 404 },
            "history: {label}"
        );
        let comments = viewer.get(&format!("{base}/{id}/comments"));
        assert_eq!(
            comments.status,
            if inside { 200 } else { 404 },
            "comments: {label}"
        );
        let commented = viewer.post(&format!("{base}/{id}/comments"), json!({"body": "seen"}));
        assert_eq!(
            commented.status,
            if inside { 201 } else { 404 },
            "comment: {label}: {}",
            commented.text
        );
        let export = viewer.get(&format!("{base}/export?q={}", urlencode(token)));
        assert_eq!(export.status, 200, "export: {label}");
        assert_eq!(export.text.contains(token), inside, "export: {label}");
        let summary = viewer.get(&format!(
            "{base}/summary?group_by={}&filter[id]={id}",
            case.group_by
        ));
        assert_eq!(summary.status, 200, "summary: {label}: {}", summary.text);
        let counted: i64 = summary.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["count"].as_i64().unwrap())
            .sum();
        assert_eq!(counted, i64::from(inside), "summary: {label}");
        if e == "customers" {
            let name = format!("Customer {token}");
            let csv = format!("name,notes\n{name},imported over it\n");
            let form = file_form("c.csv", csv)
                .text(
                    "mapping",
                    json!({"name": "name", "notes": "notes"}).to_string(),
                )
                .text("upsert_key", "name");
            let upsert = viewer.upload("/api/v1/customers/import?dry_run=true", form);
            assert_eq!(upsert.status, 200, "import: {label}: {}", upsert.text);
            assert_eq!(
                upsert.body["would_update"],
                i64::from(inside),
                "an import matches only visible records: {label}: {}",
                upsert.text
            );
            let duplicates = viewer.get(&format!(
                "/api/v1/customers/duplicates?name={}",
                urlencode(&name)
            ));
            assert_eq!(
                duplicates.text.contains(&format!("\"id\":{id}")),
                inside,
                "duplicates: {label}: {}",
                duplicates.text
            );
        }
        let related = viewer.get(&format!(
            "/api/v1/{}",
            case.related
                .replace("{customer}", &made["customers"].to_string())
                .replace("{contract}", &made["contracts"].to_string())
                .replace("{id}", &id.to_string())
        ));
        assert_eq!(related.status, 200, "related: {label}");
        assert_eq!(
            related.body["total"].as_i64().unwrap() > 0,
            inside,
            "related: {label}"
        );

        let before = snapshot(&org.app, e, *id);
        let version = org.admin.get(&format!("{base}/{id}")).body["version"].clone();
        let update = viewer.patch(&format!("{base}/{id}"), json!({"version": version}));
        let delete = viewer.delete(&format!("{base}/{id}"));
        if inside {
            assert_eq!(update.status, 200, "update: {label}: {}", update.text);
            assert_eq!(delete.status, 204, "delete: {label}");
            let restore = viewer.post(&format!("/api/v1/recycle-bin/{e}/{id}/restore"), json!({}));
            assert_eq!(restore.status, 200, "restore: {label}");
            let bulk = viewer.post(
                &format!("{base}/bulk"),
                json!({"ids": [id], "action": "delete"}),
            );
            assert_eq!(bulk.body["results"][0]["status"], "ok", "bulk: {label}");
            let restore = viewer.post(&format!("/api/v1/recycle-bin/{e}/{id}/restore"), json!({}));
            assert_eq!(restore.status, 200, "restore after bulk: {label}");
        } else {
            assert_eq!(update.status, 404, "update: {label}");
            assert_eq!(delete.status, 404, "delete: {label}");
            let bulk = viewer.post(
                &format!("{base}/bulk"),
                json!({"ids": [id], "action": "delete"}),
            );
            assert_eq!(bulk.status, 200, "bulk: {label}: {}", bulk.text);
            assert_eq!(
                bulk.body["results"][0]["status"], "not_found",
                "bulk: {label}"
            );
            if e == "customers" {
                let release = viewer.post(&format!("{base}/{id}/release"), json!({}));
                assert_eq!(release.status, 404, "release: {label}");
                let claim = viewer.post(&format!("/api/v1/pool/customers/{id}/claim"), json!({}));
                assert_eq!(claim.status, 404, "claim of an owned record: {label}");
            }
            let restore = viewer.post(&format!("/api/v1/recycle-bin/{e}/{id}/restore"), json!({}));
            assert_eq!(restore.status, 404, "restore: {label}");
            assert_eq!(
                snapshot(&org.app, e, *id),
                before,
                "denied writes change nothing: {label}"
            );
        }
    }
}

#[test]
fn every_scope_admits_exactly_its_records_on_every_route() {
    let org = organisation();
    let owner = org.user("owner", org.team_a1, "own");
    let token = "MatrixToken42";
    let (made, ids) = records(&owner, token);
    let matrix = [
        ("owner", org.team_a1, "own", true),
        ("peer", org.team_a1, "own", false),
        ("teammate", org.team_a1, "department", true),
        ("division_peer", org.div_a, "department", false),
        ("division_head", org.div_a, "department_tree", true),
        ("other_division_head", org.div_b, "department_tree", false),
        ("boss", org.div_b, "all", true),
    ];
    for (name, department, scope, inside) in matrix {
        let viewer = if name == "owner" {
            org.app.signed_in("owner")
        } else {
            org.user(name, department, scope)
        };
        check_routes(
            &org,
            &viewer,
            &format!("{name} ({scope})"),
            token,
            &made,
            &ids,
            inside,
        );
        if name != "owner" {
            check_mentions(&owner, &viewer, &ids, inside, name);
            check_approvals(&org, (&owner, &viewer), &ids, inside, name);
        }
    }
}

/// For each record whose entity takes part in approvals, a flow names the viewer and the
/// administrator, and the owner submits it: the viewer is asked, can open the approval, finds it
/// waiting and may decide exactly when they may open the record; otherwise only the
/// administrator is asked and the viewer gets 404 everywhere. The approval then ends rejected.
fn check_approvals(
    org: &Org,
    (owner, viewer): (&Browser, &Browser),
    ids: &[i64],
    inside: bool,
    who: &str,
) {
    let me = |b: &Browser| b.get("/api/v1/auth/me").body["id"].as_i64().unwrap();
    let (viewer_id, admin_id) = (me(viewer), me(&org.admin));
    for (case, id) in CASES.iter().zip(ids) {
        let e = case.entity;
        let flow = org.admin.get(&format!("/api/v1/approval-flows/{e}"));
        if flow.status == 404 {
            continue;
        }
        let designed = org.admin.put(
            &format!("/api/v1/approval-flows/{e}"),
            json!({"version": flow.body["version"],
                   "steps": [{"approver": {"kind": "users", "user_ids": [viewer_id, admin_id]}}]}),
        );
        assert_eq!(designed.status, 200, "{}", designed.text);
        let submitted = owner.post(&format!("/api/v1/{e}/{id}/approval"), json!({}));
        assert_eq!(submitted.status, 201, "submit {e}: {}", submitted.text);
        let instance = submitted.body["id"].as_i64().unwrap();
        let asked: Vec<i64> = submitted.body["steps"][0]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["approver_id"].as_i64().unwrap())
            .collect();
        assert_eq!(asked.contains(&viewer_id), inside, "{who} asked on {e}");
        let label = format!("{who} on the approval of {e}");
        let status = if inside { 200 } else { 404 };
        assert_eq!(
            viewer.get(&format!("/api/v1/approvals/{instance}")).status,
            status,
            "{label}"
        );
        assert_eq!(
            viewer.get(&format!("/api/v1/{e}/{id}/approval")).status,
            status,
            "{label}"
        );
        let waiting = viewer.get("/api/v1/approvals?box=waiting").body;
        let listed = waiting["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == instance);
        assert_eq!(listed, inside, "waiting box: {label}");
        let inbox = viewer.get("/api/v1/reminders").body;
        let in_inbox = inbox["approvals_waiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["instance_id"] == instance);
        assert_eq!(in_inbox, inside, "inbox: {label}");
        let rejected = viewer.post(
            &format!("/api/v1/approvals/{instance}/reject"),
            json!({"comment": "no"}),
        );
        assert_eq!(
            rejected.status, status,
            "reject: {label}: {}",
            rejected.text
        );
        if !inside {
            let ended = org.admin.post(
                &format!("/api/v1/approvals/{instance}/reject"),
                json!({"comment": "no"}),
            );
            assert_eq!(ended.status, 200, "{}", ended.text);
        }
    }
}

/// The owner mentions the viewer in a comment on each record: accepted and notified exactly
/// when the viewer may open the record, refused (and nobody told) otherwise.
fn check_mentions(owner: &Browser, viewer: &Browser, ids: &[i64], inside: bool, who: &str) {
    let viewer_id = viewer.get("/api/v1/auth/me").body["id"].as_i64().unwrap();
    for (case, id) in CASES.iter().zip(ids) {
        let e = case.entity;
        let mention = owner.post(
            &format!("/api/v1/{e}/{id}/comments"),
            json!({"body": format!("look, {who}"), "mentions": [viewer_id]}),
        );
        assert_eq!(
            mention.status,
            if inside { 201 } else { 422 },
            "mention of {who} on {e}: {}",
            mention.text
        );
    }
    let told = viewer.get("/api/v1/notifications?per_page=200");
    let about: Vec<(String, i64)> = told.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["entity"].as_str().unwrap().to_string(),
                n["record_id"].as_i64().unwrap(),
            )
        })
        .collect();
    for (case, id) in CASES.iter().zip(ids) {
        assert_eq!(
            about.contains(&(case.entity.to_string(), *id)),
            inside,
            "{who} told about {}: {about:?}",
            case.entity
        );
    }
}

#[test]
fn every_missing_action_is_forbidden() {
    let org = organisation();
    let owner = org.user("owner", org.team_a1, "all");
    let (made, ids) = records(&owner, "ActionToken");
    for missing in ["view", "create", "edit", "delete", "export", "import"] {
        let actions: Vec<&str> = ALL_ACTIONS
            .iter()
            .copied()
            .filter(|a| *a != missing)
            .collect();
        let role = create_role(
            &org.admin,
            &format!("no {missing}"),
            MODULES,
            &actions,
            "all",
        );
        let name = format!("no_{missing}");
        create_user_with_roles(&org.admin, &name, Some(org.team_a1), &[role]);
        let user = org.app.signed_in(&name);
        for (case, id) in CASES.iter().zip(&ids) {
            let base = format!("/api/v1/{}", case.entity);
            let label = format!("{name} on {}", case.entity);
            let before = snapshot(&org.app, case.entity, *id);
            let version = org.admin.get(&format!("{base}/{id}")).body["version"].clone();
            let denied_write = match missing {
                "edit" => Some(user.patch(&format!("{base}/{id}"), json!({"version": version}))),
                "delete" => Some(user.delete(&format!("{base}/{id}"))),
                _ => None,
            };
            if let Some(answer) = denied_write {
                assert_eq!(answer.status, 403, "{label}");
                assert_eq!(snapshot(&org.app, case.entity, *id), before, "{label}");
            }
            let attempts = [
                ("view", user.get(&format!("{base}/{id}"))),
                ("view", user.get(&base)),
                ("view", user.get(&format!("{base}/{id}/history"))),
                ("view", user.get(&format!("{base}/{id}/comments"))),
                (
                    "view",
                    user.post(&format!("{base}/{id}/comments"), json!({"body": "no"})),
                ),
                (
                    "create",
                    user.post(&base, (case.body)(&made, &format!("Forbidden {missing}"))),
                ),
                (
                    "edit",
                    user.patch(&format!("{base}/{id}"), json!({"version": version})),
                ),
                ("delete", user.delete(&format!("{base}/{id}"))),
                (
                    "bulk delete",
                    user.post(
                        &format!("{base}/bulk"),
                        json!({"ids": [id], "action": "delete"}),
                    ),
                ),
                (
                    "view",
                    user.get(&format!("{base}/summary?group_by={}", case.group_by)),
                ),
                (
                    "import",
                    user.upload(
                        &format!("{base}/import/preview"),
                        file_form("x.csv", "name\nx\n"),
                    ),
                ),
                (
                    "delete",
                    user.get(&format!("/api/v1/recycle-bin/{}", case.entity)),
                ),
                ("export", user.get(&format!("{base}/export"))),
            ];
            for (action, answer) in attempts {
                // An export is a read and a bulk action works on a list: both need view as well.
                let refused = action == missing
                    || (action == "export" && missing == "view")
                    || (action == "bulk delete" && ["view", "delete"].contains(&missing));
                if refused {
                    assert_eq!(answer.status, 403, "{action}: {label}: {}", answer.text);
                    assert_eq!(answer.error_code(), "forbidden", "{label}");
                } else {
                    assert!(answer.status < 300, "{action}: {label}: {}", answer.text);
                }
            }
            if missing != "delete" {
                let restore = format!("/api/v1/recycle-bin/{}/{id}/restore", case.entity);
                assert_eq!(org.admin.post(&restore, json!({})).status, 200, "{label}");
            }
        }
        if missing == "view" {
            let global = user.get("/api/v1/search?q=ActionToken");
            assert_eq!(
                global.body["items"],
                json!([]),
                "search shows nothing without view"
            );
        }
    }
}

#[test]
fn owners_and_departments_cannot_be_forced_by_the_body() {
    let org = organisation();
    let rep = org.user("rep", org.team_a1, "department");
    let teammate = create_user_with_roles(
        &org.admin,
        "teammate",
        Some(org.team_a1),
        &[org.roles["own"]],
    );
    let stranger =
        create_user_with_roles(&org.admin, "stranger", Some(org.div_b), &[org.roles["own"]]);

    let forced = rep.post(
        "/api/v1/customers",
        json!({"name": "Forced", "owner_id": stranger["id"], "department_id": org.div_b,
               "id": 777, "version": 9, "created_at": "2000-01-01T00:00:00Z"}),
    );
    assert_eq!(forced.status, 422, "{}", forced.text);
    let codes = &forced.body["error"]["field_codes"];
    assert_eq!(codes["owner_id"], "not_assignable");
    for key in ["department_id", "id", "version", "created_at"] {
        assert_eq!(codes[key], "not_editable", "{key}");
    }
    let count: i64 = org
        .app
        .sql()
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0, "a refused create writes nothing");

    let handed = rep.post(
        "/api/v1/customers",
        json!({"name": "Handed", "owner_id": teammate["id"]}),
    );
    assert_eq!(handed.status, 201, "{}", handed.text);
    assert_eq!(handed.body["owner_id"], teammate["id"]);
    assert_eq!(
        handed.body["department_id"], org.team_a1,
        "the department follows the owner"
    );
    let id = handed.body["id"].as_i64().unwrap();
    let before = snapshot(&org.app, "customers", id);
    let moved = rep.patch(
        &format!("/api/v1/customers/{id}"),
        json!({"version": 1, "owner_id": stranger["id"]}),
    );
    assert_eq!(moved.status, 422);
    assert_eq!(snapshot(&org.app, "customers", id), before);

    assert_eq!(
        rep.post(
            "/api/v1/users",
            json!({"username": "x", "password": "long-enough-1"})
        )
        .status,
        403
    );
    assert_eq!(rep.get("/api/v1/roles").status, 403);
    let me = rep.get("/api/v1/auth/me").body;
    assert_eq!(me["permissions"]["customers"]["scope"], "department");
    let raise = rep.patch(
        "/api/v1/auth/me",
        json!({"role_ids": [1], "version": me["version"]}),
    );
    assert_eq!(raise.status, 422);
    assert_eq!(rep.get("/api/v1/auth/me").body["is_admin"], false);
}

#[test]
fn role_and_department_changes_apply_on_the_next_request() {
    let org = organisation();
    let owner = org.user("owner", org.team_a1, "own");
    let (_, ids) = records(&owner, "NextRequest");
    let watcher = org.user("watcher", org.team_a1, "own");
    let path = format!("/api/v1/customers/{}", ids[0]);
    assert_eq!(watcher.get(&path).status, 404);
    // The list and its count too: both are kept between requests until what they read changes.
    let listed = |browser: &Browser| {
        let list = browser.get("/api/v1/customers?per_page=200").body;
        let seen = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == ids[0]);
        (seen, list["total"].as_i64().unwrap())
    };
    assert_eq!(listed(&watcher), (false, 0));

    let user = org.admin.get("/api/v1/users?q=watcher").body["items"][0].clone();
    let promoted = org.admin.patch(
        &format!("/api/v1/users/{}", user["id"]),
        json!({"version": user["version"], "role_ids": [org.roles["department"]]}),
    );
    assert_eq!(promoted.status, 200);
    assert_eq!(watcher.get(&path).status, 200, "no new sign-in needed");
    let (seen, total) = listed(&watcher);
    assert!(seen && total > 0, "{total}");

    let moved = org.admin.patch(
        &format!("/api/v1/users/{}", user["id"]),
        json!({"version": promoted.body["version"], "department_id": org.div_b}),
    );
    assert_eq!(moved.status, 200);
    assert_eq!(
        watcher.get(&path).status,
        404,
        "a move takes the department's records away"
    );
    assert_eq!(listed(&watcher), (false, 0));

    let role_path = format!("/api/v1/roles/{}", org.roles["department"]);
    let role = org.admin.get(&role_path).body;
    let widened = org.admin.patch(
        &role_path,
        json!({"version": role["version"], "permissions": {"customers": {"actions": ["view"], "scope": "all"}}}),
    );
    assert_eq!(widened.status, 200, "{}", widened.text);
    assert_eq!(watcher.get(&path).status, 200);
    assert!(listed(&watcher).0);
    assert_eq!(
        watcher.get(&format!("/api/v1/contacts/{}", ids[1])).status,
        403,
        "the edited role no longer grants contacts"
    );
}

#[test]
fn hidden_fields_vanish_and_read_only_fields_refuse_writes() {
    let org = organisation();
    let permissions = json!({
        "customers": {"actions": ["view", "create", "edit", "export"], "scope": "all",
                      "fields": {"phone": "hidden", "email": "read_only"}}
    });
    let role = org.admin.post(
        "/api/v1/roles",
        json!({"name": "clerk", "permissions": permissions}),
    );
    assert_eq!(role.status, 201, "{}", role.text);
    let customer = org.admin.post(
        "/api/v1/customers",
        json!({"name": "Secretive", "phone": "13912345678", "email": "a@secret.example"}),
    );
    let id = customer.body["id"].as_i64().unwrap();
    org.admin.patch(
        &format!("/api/v1/customers/{id}"),
        json!({"version": 1, "phone": "13987654321"}),
    );
    create_user_with_roles(
        &org.admin,
        "clerk",
        Some(org.team_a1),
        &[role.body["id"].as_i64().unwrap()],
    );
    let clerk = org.app.signed_in("clerk");

    let record = clerk.get(&format!("/api/v1/customers/{id}")).body;
    assert!(record.get("phone").is_none(), "{record}");
    assert_eq!(record["email"], "a@secret.example");
    let list = clerk.get("/api/v1/customers").body;
    assert!(list["items"][0].get("phone").is_none());
    assert_eq!(
        clerk.get("/api/v1/customers?q=13912345678").body["total"],
        0
    );
    assert_eq!(clerk.get("/api/v1/customers?q=139").body["total"], 0);
    assert_eq!(
        clerk
            .get("/api/v1/customers?filter[phone]=13912345678")
            .status,
        400
    );
    assert_eq!(clerk.get("/api/v1/customers?sort=phone").status, 400);
    let export = clerk.get("/api/v1/customers/export");
    assert!(!export.text.contains("1391234"), "{}", export.text);
    let history = clerk.get(&format!("/api/v1/customers/{id}/history")).body;
    assert!(!history.to_string().contains("1398765"), "{history}");
    let meta = clerk.get("/api/v1/meta").body;
    let fields = meta["entities"][0]["fields"].as_array().unwrap();
    assert!(!fields.iter().any(|f| f["name"] == "phone"));
    assert!(fields
        .iter()
        .any(|f| f["name"] == "email" && f["read_only"] == true));

    let before = snapshot(&org.app, "customers", id);
    for body in [
        json!({"version": 2, "email": "b@x.example"}),
        json!({"version": 2, "phone": "110"}),
    ] {
        let answer = clerk.patch(&format!("/api/v1/customers/{id}"), body);
        assert_eq!(answer.status, 422, "{}", answer.text);
    }
    assert_eq!(snapshot(&org.app, "customers", id), before);
    let fine = clerk.patch(
        &format!("/api/v1/customers/{id}"),
        json!({"version": 2, "level": "B"}),
    );
    assert_eq!(fine.status, 200, "{}", fine.text);
    assert!(fine.body.get("phone").is_none());
}

#[test]
fn a_leavers_records_are_transferred_in_one_step() {
    let org = organisation();
    let leaver = org.user("leaver", org.team_a1, "own");
    let (_, first) = records(&leaver, "LeaverOne");
    let (_, second) = records(&leaver, "LeaverTwo");
    let heir = create_user_with_roles(&org.admin, "heir", Some(org.div_b), &[org.roles["own"]]);
    let leaver_id = org.admin.get("/api/v1/users?q=leaver").body["items"][0]["id"].clone();

    let refused = org.admin.post(
        &format!("/api/v1/users/{leaver_id}/transfer"),
        json!({"to_user_id": leaver_id}),
    );
    assert_eq!(refused.status, 422);
    let frozen = create_user_with_roles(&org.admin, "gone", Some(org.div_b), &[]);
    org.admin
        .post(&format!("/api/v1/users/{}/freeze", frozen["id"]), json!({}));
    let to_frozen = org.admin.post(
        &format!("/api/v1/users/{leaver_id}/transfer"),
        json!({"to_user_id": frozen["id"]}),
    );
    assert_eq!(to_frozen.status, 422);
    assert_eq!(leaver.get("/api/v1/customers").body["total"], 2);

    let done = org.admin.post(
        &format!("/api/v1/users/{leaver_id}/transfer"),
        json!({"to_user_id": heir["id"]}),
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["transferred"]["customers"], 2);
    assert_eq!(leaver.get("/api/v1/customers").body["total"], 0);
    let heir_view = org.app.signed_in("heir");
    for id in [first[0], second[0]] {
        let record = heir_view.get(&format!("/api/v1/customers/{id}"));
        assert_eq!(record.status, 200);
        assert_eq!(record.body["owner_id"], heir["id"]);
        assert_eq!(record.body["department_id"], org.div_b);
        let history = heir_view
            .get(&format!("/api/v1/customers/{id}/history"))
            .body;
        assert_eq!(history["items"][0]["action"], "transferred");
    }
    assert_eq!(
        heir_view
            .get(&format!("/api/v1/contacts/{}", first[1]))
            .status,
        200,
        "children follow their customer"
    );
    let audit = org
        .admin
        .get("/api/v1/audit-log?action=records_transferred");
    assert_eq!(audit.body["total"], 1);
}

#[test]
fn api_tokens_carry_their_owners_scope() {
    let org = organisation();
    let owner = org.user("owner", org.team_a1, "own");
    let (_, ids) = records(&owner, "TokenScope");
    let peer = org.user("peer", org.team_a1, "own");
    let token = peer
        .post("/api/v1/tokens", json!({"name": "integration"}))
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let client = reqwest::blocking::Client::new();
    let status = client
        .get(org.app.url(&format!("/api/v1/customers/{}", ids[0])))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 404);
    let own = client
        .post(org.app.url("/api/v1/customers"))
        .bearer_auth(&token)
        .json(&json!({"name": "From the website"}))
        .send()
        .unwrap();
    assert_eq!(own.status(), 201);
}

#[test]
fn roles_are_validated_and_the_builtin_one_is_fixed() {
    let org = organisation();
    for (permissions, key) in [
        (
            json!({"widgets": {"actions": ["view"]}}),
            "permissions.widgets",
        ),
        (
            json!({"customers": {"actions": ["fly"]}}),
            "permissions.customers",
        ),
        (
            json!({"customers": {"actions": ["view"], "scope": "galaxy"}}),
            "permissions.customers",
        ),
        (
            json!({"customers": {"actions": [], "fields": {"nope": "hidden"}}}),
            "permissions.customers.fields.nope",
        ),
        (json!([]), "permissions"),
    ] {
        let answer = org.admin.post(
            "/api/v1/roles",
            json!({"name": "bad", "permissions": permissions}),
        );
        assert_eq!(answer.status, 422, "{}", answer.text);
        assert!(
            answer.body["error"]["field_codes"].get(key).is_some(),
            "{key}: {}",
            answer.text
        );
    }
    let taken = org.admin.post(
        "/api/v1/roles",
        json!({"name": "scope own", "permissions": {}}),
    );
    assert_eq!(taken.body["error"]["field_codes"]["name"], "taken");
    let builtin = org
        .admin
        .patch("/api/v1/roles/1", json!({"version": 1, "name": "root"}));
    assert_eq!(builtin.error_code(), "builtin_role");
    assert_eq!(
        org.admin
            .request(reqwest::Method::DELETE, "/api/v1/roles/1", None)
            .error_code(),
        "builtin_role"
    );
    create_user_with_roles(&org.admin, "holder", Some(org.div_a), &[org.roles["own"]]);
    let in_use = org
        .admin
        .delete(&format!("/api/v1/roles/{}", org.roles["own"]));
    assert_eq!(in_use.error_code(), "role_in_use");
    assert_eq!(
        org.admin
            .delete(&format!("/api/v1/roles/{}", org.roles["all"]))
            .status,
        204
    );
    let audit = org.admin.get("/api/v1/audit-log?entity=roles").body;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"role_created") && actions.contains(&"role_deleted"),
        "{actions:?}"
    );
}

/// The (id, name) of each record on a list page, and whether its total is exact.
fn ids_and_names(browser: &Browser, path: &str) -> (Vec<(i64, String)>, Value) {
    let answer = browser.get(path);
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    let items = answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (items, answer.body["total_exact"].clone())
}

/// A word matching more than a thousand records (a common two-character trade name) is read
/// through the full-text index or through the caller's own records, whichever is narrower;
/// either way only records in scope come back, newest first unless a sort is asked for.
#[test]
fn a_broad_search_keeps_to_the_scope_and_lists_the_newest_first() {
    let org = organisation();
    // One rep imports 1,100 customers of their own; another has two matches.
    let importer = org.user("busy_rep", org.team_a1, "own");
    let rows: String = (1..=1_100)
        .map(|n| format!("华信贸易 {n:04},A\n"))
        .collect();
    let form = file_form("客户.csv", format!("客户名称,级别\n{rows}")).text(
        "mapping",
        json!({"客户名称": "name", "级别": "level"}).to_string(),
    );
    let imported = importer.upload("/api/v1/customers/import?dry_run=false", form);
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.body["created"], 1_100);
    let rep = org.user("broad_rep", org.team_a1, "own");
    let mine: Vec<i64> = ["华信电子", "华信物流", "远洋航运"]
        .iter()
        .map(|name| {
            let made = rep.post("/api/v1/customers", json!({ "name": name }));
            assert_eq!(made.status, 201, "{}", made.text);
            made.body["id"].as_i64().unwrap()
        })
        .collect();
    let q = urlencode("华信");

    // Everyone's: more than the count cap, newest first, page 2 going on from page 1.
    let (first, exact) = ids_and_names(&org.admin, &format!("/api/v1/customers?q={q}&per_page=50"));
    assert_eq!(exact, Value::Bool(false));
    assert_eq!(first[0].0, mine[1], "the newest match first");
    let (second, _) = ids_and_names(
        &org.admin,
        &format!("/api/v1/customers?q={q}&per_page=50&page=2"),
    );
    let ids: Vec<i64> = first.iter().chain(&second).map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), 100);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert!(first.iter().chain(&second).all(|(_, n)| n.contains("华信")));
    // An asked-for sort still holds over the cap.
    let (by_name, _) = ids_and_names(
        &org.admin,
        &format!("/api/v1/customers?q={q}&per_page=50&sort=name"),
    );
    assert_eq!(by_name[0].1, "华信物流");
    assert_eq!(by_name[2].1, "华信贸易 0001");
    assert!(by_name.windows(2).all(|w| w[0].1 <= w[1].1));

    // The rep's: their two matches alone, counted exactly, in either order.
    let (theirs, exact) = ids_and_names(&rep, &format!("/api/v1/customers?q={q}"));
    assert_eq!(exact, Value::Bool(true));
    assert_eq!(
        theirs,
        vec![(mine[1], "华信物流".into()), (mine[0], "华信电子".into())]
    );
    let answer = rep.get(&format!("/api/v1/customers?q={q}&sort=name"));
    assert_eq!(answer.body["total"], 2);
    assert_eq!(answer.body["items"][1]["name"], "华信电子");
    // A filter beside the broad search: the admin's view of the rep's records.
    let rep_id = rep.get("/api/v1/auth/me").body["id"].clone();
    let answer = org.admin.get(&format!(
        "/api/v1/customers?q={q}&filter[owner_id]={rep_id}"
    ));
    assert_eq!(answer.body["total"], 2, "{}", answer.text);
    assert_eq!(answer.body["total_exact"], true);

    // Over the cap in their own records, with statistics that call them few: the planner's
    // sort, and still only theirs, in order.
    org.app.sql().execute_batch("ANALYZE").unwrap();
    let importer_id = importer.get("/api/v1/auth/me").body["id"].clone();
    let answer = importer.get("/api/v1/customers?sort=-name&per_page=100");
    assert_eq!(answer.body["total_exact"], false);
    let items = answer.body["items"].as_array().unwrap();
    assert_eq!(items[0]["name"], "华信贸易 1100");
    assert!(items.iter().all(|c| c["owner_id"] == importer_id));
    assert!(items
        .windows(2)
        .all(|w| w[0]["name"].as_str() > w[1]["name"].as_str()));

    // A filter over the cap whose index holds the default order (level, then latest change):
    // read in that order, newest first, page 2 going on from page 1, and nothing else.
    let filtered = |page: i64| {
        let answer = org.admin.get(&format!(
            "/api/v1/customers?filter[level]=A&per_page=50&page={page}"
        ));
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.body["total_exact"], false);
        answer.body["items"].as_array().unwrap().clone()
    };
    let pages: Vec<Value> = filtered(1).into_iter().chain(filtered(2)).collect();
    assert_eq!(pages.len(), 100);
    assert!(pages.iter().all(|c| c["level"] == "A"));
    assert_eq!(pages[0]["name"], "华信贸易 1100", "the last imported first");
    let ids: Vec<i64> = pages.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
}
