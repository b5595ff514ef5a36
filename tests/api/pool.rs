//! The public pool (release, claim, cap, cooldown, rules) and bulk actions on a selection.

use crate::helpers::*;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;

fn customer(browser: &Browser, name: &str) -> i64 {
    let answer = browser.post("/api/v1/customers", json!({ "name": name }));
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["id"].as_i64().unwrap()
}

fn names(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

/// Two reps in one sales team, each seeing only their own customers, and an admin.
fn team(app: &TestApp) -> (Browser, Browser, Browser) {
    let admin = app.setup_admin();
    let team = create_department(&admin, "华东销售", None)["id"].as_i64();
    let role = create_role(
        &admin,
        "销售",
        &["customers", "contacts", "followups"],
        &["view", "create", "edit", "delete", "export"],
        "own",
    );
    create_user_with_roles(&admin, "rep1", team, &[role]);
    create_user_with_roles(&admin, "rep2", team, &[role]);
    (admin, app.signed_in("rep1"), app.signed_in("rep2"))
}

fn history_actions(browser: &Browser, id: i64) -> Vec<String> {
    let answer = browser.get(&format!("/api/v1/customers/{id}/history"));
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn released_customers_leave_the_list_and_can_be_claimed_by_another_rep() {
    let app = spawn_app();
    let (admin, rep1, rep2) = team(&app);
    let id = customer(&rep1, "上海申达贸易");
    assert_eq!(
        rep2.post(&format!("/api/v1/customers/{id}/release"), json!({}))
            .status,
        404,
        "a rep cannot release what they cannot see"
    );
    let long = "长".repeat(501);
    let bad = rep1.post(
        &format!("/api/v1/customers/{id}/release"),
        json!({"reason": long}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    let released = rep1.post(
        &format!("/api/v1/customers/{id}/release"),
        json!({"reason": "客户暂无需求"}),
    );
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.body["owner_id"], Value::Null);
    assert_eq!(released.body["department_id"], Value::Null);
    assert!(released.body["pooled_at"].is_string());

    assert!(names(&rep1.get("/api/v1/customers")).is_empty());
    assert!(
        names(&admin.get("/api/v1/customers")).is_empty(),
        "the pool is not in the list"
    );
    assert_eq!(names(&rep2.get("/api/v1/pool/customers")), ["上海申达贸易"]);
    assert_eq!(
        names(&rep2.get("/api/v1/pool/customers?q=申达")),
        ["上海申达贸易"],
        "the pool takes the list's query"
    );
    assert_eq!(rep2.get("/api/v1/pool/customers?sort=colour").status, 400);
    assert_eq!(
        rep1.post(&format!("/api/v1/customers/{id}/release"), json!({}))
            .status,
        404,
        "a pooled customer is not released twice"
    );

    let claimed = rep2.post(&format!("/api/v1/pool/customers/{id}/claim"), json!({}));
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    assert_eq!(claimed.body["owner_id"], rep2_id(&admin));
    assert!(claimed.body["department_id"].is_i64());
    assert_eq!(claimed.body["pooled_at"], Value::Null);
    assert_eq!(names(&rep2.get("/api/v1/customers")), ["上海申达贸易"]);
    assert!(names(&rep2.get("/api/v1/pool/customers")).is_empty());
    assert_eq!(
        rep1.post(&format!("/api/v1/pool/customers/{id}/claim"), json!({}))
            .status,
        404,
        "a claimed customer is no longer in the pool"
    );
    assert_eq!(
        history_actions(&rep2, id)[..3],
        ["claimed", "released", "created"]
    );
    let events: Vec<(String, Option<String>)> = app
        .sql()
        .prepare("SELECT action, reason FROM pool_events ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        events,
        [
            ("released".into(), Some("客户暂无需求".into())),
            ("claimed".into(), None)
        ]
    );
}

fn rep2_id(admin: &Browser) -> Value {
    let users = admin.get("/api/v1/users?q=rep2");
    users.body["items"][0]["id"].clone()
}

#[test]
fn claims_respect_the_cap_and_the_cooldown() {
    let app = spawn_app();
    let (admin, rep1, rep2) = team(&app);
    let settings = admin.put(
        "/api/v1/settings/pool",
        json!({"max_customers_per_user": 2, "reclaim_cooldown_days": 7}),
    );
    assert_eq!(settings.status, 200, "{}", settings.text);
    let mine = customer(&rep1, "已有客户");
    let first = customer(&rep2, "第一家");
    let second = customer(&rep2, "第二家");
    for id in [first, second] {
        let answer = rep2.post(&format!("/api/v1/customers/{id}/release"), json!({}));
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let cooling = rep2.post(&format!("/api/v1/pool/customers/{first}/claim"), json!({}));
    assert_eq!(cooling.status, 409, "{}", cooling.text);
    assert_eq!(cooling.error_code(), "claim_cooldown");

    assert_eq!(
        rep1.post(&format!("/api/v1/pool/customers/{first}/claim"), json!({}))
            .status,
        200
    );
    let full = rep1.post(&format!("/api/v1/pool/customers/{second}/claim"), json!({}));
    assert_eq!(full.status, 409, "{}", full.text);
    assert_eq!(full.error_code(), "claim_limit_reached");
    assert!(full.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains('2'));
    let one = admin.put(
        "/api/v1/settings/pool",
        json!({"max_customers_per_user": 1}),
    );
    assert_eq!(one.status, 200, "{}", one.text);
    let english = rep1.patch("/api/v1/auth/me", json!({"language": "en"}));
    assert_eq!(english.status, 200, "{}", english.text);
    let in_english = rep1.request(
        reqwest::Method::POST,
        &format!("/api/v1/pool/customers/{second}/claim"),
        Some(json!({})),
    );
    assert_eq!(in_english.error_code(), "claim_limit_reached");
    assert!(
        in_english.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You already hold 1 customer,"),
        "one customer, not 1 customers: {}",
        in_english.text
    );
    admin.put(
        "/api/v1/settings/pool",
        json!({"max_customers_per_user": 2}),
    );
    let me = rep1.get("/api/v1/settings/pool");
    assert_eq!(me.body["held_by_me"], 2);
    assert_eq!(me.body["max_customers_per_user"], 2);

    let deleted = rep1.delete(&format!("/api/v1/customers/{mine}"));
    assert_eq!(deleted.status, 204);
    assert_eq!(
        rep1.post(&format!("/api/v1/pool/customers/{second}/claim"), json!({}))
            .status,
        200,
        "records in the recycle bin do not count against the cap"
    );
}

#[test]
fn pool_settings_are_validated_and_for_administrators() {
    let app = spawn_app();
    let (admin, rep1, _) = team(&app);
    let bad = admin.put(
        "/api/v1/settings/pool",
        json!({"days_without_followup": -1, "days_without_won": "30", "colour": 1}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    let fields = &bad.body["error"]["field_codes"];
    assert_eq!(fields["days_without_followup"], "between");
    assert_eq!(fields["days_without_won"], "between");
    assert_eq!(fields["colour"], "unknown_field");
    let unchanged = admin.get("/api/v1/settings/pool");
    assert_eq!(unchanged.body["days_without_followup"], 0);
    assert_eq!(
        rep1.put("/api/v1/settings/pool", json!({"days_without_followup": 5}))
            .status,
        403
    );
    assert_eq!(
        rep1.post("/api/v1/settings/pool/apply", json!({})).status,
        403
    );
}

/// The rules on a clock the test controls: the customers' times are moved into the past.
#[test]
fn rules_return_neglected_customers_and_record_each_return() {
    let app = spawn_app();
    let (admin, rep1, _) = team(&app);
    let neglected = customer(&rep1, "久未跟进");
    let followed = customer(&rep1, "刚跟进过");
    let fresh = customer(&rep1, "新分配");
    let answer = admin.put(
        "/api/v1/settings/pool",
        json!({"days_without_followup": 15, "days_without_won": 0}),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let now = chrono::Utc::now().timestamp_millis();
    let sql = app.sql();
    let back = |id: i64, owned_days: i64, followed_days: Option<i64>| {
        sql.execute(
            "UPDATE customers SET owned_at = ?1, last_followup_at = ?2 WHERE id = ?3",
            rusqlite::params![
                now - owned_days * DAY_MS,
                followed_days.map(|d| now - d * DAY_MS),
                id
            ],
        )
        .unwrap();
    };
    back(neglected, 40, Some(16));
    back(followed, 40, Some(3));
    back(fresh, 2, None);

    let applied = admin.post("/api/v1/settings/pool/apply", json!({}));
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.body["returned"], 1);
    assert_eq!(names(&rep1.get("/api/v1/pool/customers")), ["久未跟进"]);
    let mut mine = names(&rep1.get("/api/v1/customers"));
    mine.sort();
    assert_eq!(mine, ["刚跟进过", "新分配"]);
    assert_eq!(history_actions(&admin, neglected)[0], "returned");
    let reason: String = sql
        .query_row(
            "SELECT reason FROM pool_events WHERE action = 'returned' AND record_id = ?1",
            [neglected],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reason, "no_followup");
    assert_eq!(
        admin.post("/api/v1/settings/pool/apply", json!({})).body["returned"],
        0,
        "a returned customer is not returned again"
    );
}

fn statuses(answer: &Answer) -> Vec<(i64, String)> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn row(app: &TestApp, id: i64) -> (Option<i64>, String, i64, Option<i64>) {
    app.sql()
        .query_row(
            "SELECT owner_id, tags, version, deleted_at FROM customers WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

#[test]
fn bulk_actions_change_what_the_caller_may_change_and_nothing_else() {
    let app = spawn_app();
    let (admin, rep1, rep2) = team(&app);
    let a = customer(&rep1, "甲公司");
    let b = customer(&rep1, "乙公司");
    let theirs = customer(&rep2, "丙公司");
    let before = row(&app, theirs);
    let path = "/api/v1/customers/bulk";

    let tagged = rep1.post(
        path,
        json!({"ids": [a, b, theirs, 999_999, a], "action": "tag", "tag": "展会"}),
    );
    assert_eq!(
        statuses(&tagged),
        [
            (a, "ok".to_string()),
            (b, "ok".to_string()),
            (theirs, "not_found".to_string()),
            (999_999, "not_found".to_string())
        ],
        "duplicate ids are done once"
    );
    assert_eq!(row(&app, a).1, r#"["展会"]"#);
    assert_eq!(
        row(&app, theirs),
        before,
        "outside the scope nothing changes"
    );
    let again = rep1.post(path, json!({"ids": [a], "action": "tag", "tag": "展会"}));
    assert_eq!(statuses(&again), [(a, "ok".to_string())]);
    assert_eq!(row(&app, a).1, r#"["展会"]"#, "a tag is added once");

    let rep2_id = rep2_id(&admin).as_i64().unwrap();
    let refused = rep1.post(
        path,
        json!({"ids": [a], "action": "assign", "owner_id": rep2_id}),
    );
    assert_eq!(
        refused.status, 422,
        "an own-scope rep cannot hand records to a colleague"
    );
    assert_eq!(
        refused.body["error"]["field_codes"]["owner_id"],
        "not_assignable"
    );
    let assigned = admin.post(
        path,
        json!({"ids": [a, theirs], "action": "assign", "owner_id": rep2_id}),
    );
    assert_eq!(
        statuses(&assigned),
        [(a, "ok".to_string()), (theirs, "ok".to_string())]
    );
    assert_eq!(row(&app, a).0, Some(rep2_id));
    assert_eq!(
        row(&app, theirs),
        before,
        "already theirs: no write, no new version"
    );

    let released = rep2.post(path, json!({"ids": [a, b], "action": "release"}));
    assert_eq!(
        statuses(&released),
        [(a, "ok".to_string()), (b, "not_found".to_string())]
    );
    assert_eq!(row(&app, a).0, None);

    let deleted = rep1.post(path, json!({"ids": [b, theirs], "action": "delete"}));
    assert_eq!(
        statuses(&deleted),
        [(b, "ok".to_string()), (theirs, "not_found".to_string())]
    );
    assert!(row(&app, b).3.is_some());
    assert!(row(&app, theirs).3.is_none());

    let log = admin.get("/api/v1/audit-log?action=bulk_action");
    assert_eq!(log.body["total"], 5, "{}", log.text);
}

#[test]
fn bulk_requests_are_validated_and_need_the_right() {
    let app = spawn_app();
    let (admin, _, _) = team(&app);
    let viewer_role = create_role(&admin, "只读", &["customers"], &["view"], "all");
    create_user_with_roles(&admin, "viewer", None, &[viewer_role]);
    let viewer = app.signed_in("viewer");
    let id = customer(&admin, "丁公司");
    let path = "/api/v1/customers/bulk";
    for (body, field, code) in [
        (
            json!({"ids": [], "action": "delete"}),
            "ids",
            "count_between",
        ),
        (
            json!({"ids": ["1"], "action": "delete"}),
            "ids",
            "invalid_id",
        ),
        (
            json!({"ids": [id], "action": "explode"}),
            "action",
            "one_of",
        ),
        (
            json!({"ids": [id], "action": "assign"}),
            "owner_id",
            "required",
        ),
        (
            json!({"ids": [id], "action": "tag", "tag": " "}),
            "tag",
            "required",
        ),
        (
            json!({"ids": [id], "action": "tag", "tag": "长".repeat(31)}),
            "tag",
            "invalid_tags",
        ),
        (
            json!({"ids": [id], "action": "delete", "where": "1=1"}),
            "where",
            "not_editable",
        ),
    ] {
        let answer = admin.post(path, body.clone());
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.body["error"]["field_codes"][field], code, "{body}");
    }
    let too_many: Vec<i64> = (1..=1001).collect();
    let answer = admin.post(path, json!({"ids": too_many, "action": "delete"}));
    assert_eq!(answer.body["error"]["field_codes"]["ids"], "count_between");
    let release_followups = admin.post(
        "/api/v1/followups/bulk",
        json!({"ids": [1], "action": "release"}),
    );
    assert_eq!(release_followups.status, 422, "follow-ups have no pool");

    let forbidden = viewer.post(path, json!({"ids": [id], "action": "delete"}));
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    assert!(row(&app, id).3.is_none());
}
