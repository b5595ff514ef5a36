//! Sales (issue #6): pipelines, opportunities with line items, the board, funnel and forecast,
//! lead conversion, contracts with numbers, approval and payments, invoices, tasks and targets.
//! Every rule is tested with the bad input it refuses, and every refused write is checked to
//! leave nothing behind.

use crate::helpers::*;
use serde_json::{json, Value};

fn created(answer: &Answer, what: &str) -> Value {
    assert_eq!(answer.status, 201, "{what}: {}", answer.text);
    answer.body.clone()
}

fn id(record: &Value) -> i64 {
    record["id"].as_i64().expect("id")
}

fn count(app: &TestApp, table: &str) -> i64 {
    app.sql()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

/// The default pipeline's stages: (id, name, probability, kind).
fn stages(browser: &Browser) -> Vec<(i64, String, i64, String)> {
    let answer = browser.get("/api/v1/pipelines");
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_i64().unwrap(),
                s["name"].as_str().unwrap().to_string(),
                s["probability"].as_i64().unwrap(),
                s["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn field_error<'a>(answer: &'a Answer, field: &str) -> &'a Value {
    assert_eq!(answer.status, 422, "{}", answer.text);
    let error = &answer.body["error"]["fields"][field];
    assert!(!error.is_null(), "no error on {field}: {}", answer.text);
    error
}

/// The code of a field's error (the message is translated; the code is stable).
fn field_code<'a>(answer: &'a Answer, field: &str) -> &'a Value {
    field_error(answer, field);
    &answer.body["error"]["field_codes"][field]
}

fn product(admin: &Browser, name: &str, price: i64) -> i64 {
    id(&created(
        &admin.post(
            "/api/v1/products",
            json!({"name": name, "price": price, "unit": "set"}),
        ),
        "product",
    ))
}

#[test]
fn a_company_starts_with_a_pipeline_and_administrators_shape_it() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let default = stages(&admin);
    assert_eq!(default.len(), 6);
    assert_eq!(default[0].1, "验证客户");
    assert_eq!((default[4].2, default[4].3.as_str()), (100, "won"));
    assert_eq!(default[5].3, "lost");

    let bad = admin.post(
        "/api/v1/pipelines",
        json!({"name": "", "stages": [{"name": "x", "probability": 120, "kind": "maybe"}]}),
    );
    field_error(&bad, "name");
    field_error(&bad, "stages.0.probability");
    field_error(&bad, "stages.0.kind");
    let only_closed = admin.post(
        "/api/v1/pipelines",
        json!({"name": "项目制", "stages": [{"name": "赢", "probability": 100, "kind": "won"}]}),
    );
    field_error(&only_closed, "stages");

    let project = created(
        &admin.post(
            "/api/v1/pipelines",
            json!({"name": "项目制", "stages": [
                {"name": "立项", "probability": 20},
                {"name": "招投标", "probability": 60},
                {"name": "中标", "probability": 100, "kind": "won"}]}),
        ),
        "pipeline",
    );
    let pipeline = id(&project);
    let bidding = project["stages"][1]["id"].as_i64().unwrap();
    let opportunity = created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "政务云", "pipeline_id": pipeline, "stage_id": bidding}),
        ),
        "opportunity",
    );
    assert_eq!(opportunity["probability"], 60);
    let removing_used = admin.put(
        &format!("/api/v1/pipelines/{pipeline}"),
        json!({"name": "项目制", "stages": [{"id": project["stages"][0]["id"], "name": "立项", "probability": 30}]}),
    );
    assert_eq!(removing_used.status, 409, "{}", removing_used.text);
    assert_eq!(removing_used.error_code(), "stage_in_use");
    let renamed = admin.put(
        &format!("/api/v1/pipelines/{pipeline}"),
        json!({"name": "项目制销售", "stages": [
            {"id": project["stages"][0]["id"], "name": "立项", "probability": 30},
            {"id": bidding, "name": "投标", "probability": 65},
            {"id": project["stages"][2]["id"], "name": "中标", "probability": 100, "kind": "won"},
            {"name": "丢标", "probability": 0, "kind": "lost"}]}),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["stages"].as_array().unwrap().len(), 4);
    assert_eq!(renamed.body["stages"][1]["name"], "投标");

    let rep = {
        let role = create_role(&admin, "rep", &["opportunities"], &["view"], "own");
        create_user_with_roles(&admin, "rep", None, &[role]);
        app.signed_in("rep")
    };
    let refused = rep.post(
        "/api/v1/pipelines",
        json!({"name": "私有", "stages": [{"name": "a", "probability": 1}]}),
    );
    assert_eq!(refused.status, 403);
}

#[test]
fn opportunities_follow_their_stage_and_remember_every_move() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let stages = stages(&admin);
    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "华东机电"})),
        "customer",
    ));
    let opportunity = created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "产线升级", "customer_id": customer, "amount": 50_000_000}),
        ),
        "opportunity",
    );
    let oid = id(&opportunity);
    assert_eq!(
        opportunity["stage_id"], stages[0].0,
        "the first stage by default"
    );
    assert_eq!(opportunity["probability"], 10);
    assert_eq!(opportunity["currency"], "CNY");
    assert!(opportunity["display"]["stage_id"].as_str() == Some(stages[0].1.as_str()));

    let moved = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": opportunity["version"], "stage_id": stages[2].0}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(
        moved.body["probability"], 50,
        "probability follows the stage"
    );
    let tuned = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": moved.body["version"], "probability": 60}),
    );
    assert_eq!(tuned.body["probability"], 60, "{}", tuned.text);
    let renamed = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": tuned.body["version"], "name": "产线升级二期"}),
    );
    assert_eq!(
        renamed.body["probability"], 60,
        "kept while the stage stays"
    );

    for (body, field, code) in [
        (json!({"stage_id": 99_999}), "stage_id", "not_found"),
        (json!({"probability": 101}), "probability", "between"),
        (
            json!({"expected_close": "2026-13-01"}),
            "expected_close",
            "invalid_date",
        ),
        (json!({"currency": "yuan"}), "currency", "invalid_currency"),
        (json!({"amount": -5}), "amount", "not_negative"),
    ] {
        let mut body = body;
        body["version"] = renamed.body["version"].clone();
        let answer = admin.patch(&format!("/api/v1/opportunities/{oid}"), body);
        assert_eq!(field_code(&answer, field), code, "{}", answer.text);
    }

    let won = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": renamed.body["version"], "stage_id": stages[4].0}),
    );
    assert_eq!(won.status, 200, "{}", won.text);
    assert_eq!(won.body["probability"], 100);
    assert!(won.body["closed_at"].is_string(), "{}", won.text);
    let last_won: Option<i64> = app
        .sql()
        .query_row(
            "SELECT last_won_at FROM customers WHERE id = ?1",
            [customer],
            |r| r.get(0),
        )
        .unwrap();
    assert!(last_won.is_some(), "a won deal counts for the pool rules");

    let history = admin.get(&format!("/api/v1/opportunities/{oid}/stages"));
    assert_eq!(history.status, 200, "{}", history.text);
    let items = history.body["items"].as_array().unwrap();
    let visited: Vec<i64> = items
        .iter()
        .map(|i| i["stage_id"].as_i64().unwrap())
        .collect();
    assert_eq!(visited, vec![stages[0].0, stages[2].0, stages[4].0]);
    assert!(items[0]["left_at"].is_string() && items[2]["left_at"].is_null());
    assert!(items.iter().all(|i| i["seconds"].as_i64().unwrap() >= 0));
    assert_eq!(admin.get("/api/v1/opportunities/999999/stages").status, 404);
}

#[test]
fn line_items_price_exactly_and_the_amount_cannot_diverge() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let licence = product(&admin, "CRM 授权", 1999);
    let service = product(&admin, "实施服务", 35);
    let lines = json!([
        {"product_id": licence, "quantity": 3, "discount_bp": 1500},
        {"product_id": service, "quantity": 1, "unit_price": 35, "discount_bp": 5000},
        {"product_id": licence, "quantity": 1, "unit_price": 25, "discount_bp": 5000}
    ]);
    let opportunity = created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "年度采购", "lines": lines}),
        ),
        "opportunity",
    );
    // 3 × 19.99 at 15 % off = 50.9745 → 5097 fen; 0.35 at 50 % = 17.5 → 18; 0.25 at 50 % = 12.5 → 12.
    let totals: Vec<i64> = opportunity["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["total"].as_i64().unwrap())
        .collect();
    assert_eq!(totals, vec![5097, 18, 12]);
    assert_eq!(opportunity["amount"], 5097 + 18 + 12);
    assert_eq!(
        opportunity["lines"][0]["unit_price"], 1999,
        "the list price by default"
    );
    assert_eq!(opportunity["lines"][0]["product_name"], "CRM 授权");
    let oid = id(&opportunity);

    let mismatch = admin.post(
        "/api/v1/opportunities",
        json!({"name": "错账", "amount": 5000, "lines": [{"product_id": licence, "quantity": 3}]}),
    );
    assert_eq!(field_code(&mismatch, "amount"), "amount_mismatch");
    let diverging = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": opportunity["version"], "amount": 1}),
    );
    assert_eq!(field_code(&diverging, "amount"), "amount_mismatch");
    let agreeing = admin.patch(
        &format!("/api/v1/opportunities/{oid}"),
        json!({"version": opportunity["version"], "amount": 5127, "notes": "核对无误"}),
    );
    assert_eq!(agreeing.status, 200, "{}", agreeing.text);

    for (line, field) in [
        (
            json!({"product_id": 424_242, "quantity": 1}),
            "lines.0.product_id",
        ),
        (
            json!({"product_id": licence, "quantity": 0}),
            "lines.0.quantity",
        ),
        (json!({"product_id": licence}), "lines.0.quantity"),
        (
            json!({"product_id": licence, "quantity": 1, "discount_bp": 10_001}),
            "lines.0.discount_bp",
        ),
        (
            json!({"product_id": licence, "quantity": 1, "unit_price": -1}),
            "lines.0.unit_price",
        ),
        (
            json!({"product_id": licence, "quantity": 1, "colour": "red"}),
            "lines.0.colour",
        ),
    ] {
        let answer = admin.post(
            "/api/v1/opportunities",
            json!({"name": "坏明细", "lines": [line]}),
        );
        field_error(&answer, field);
    }
    let not_a_list = admin.post(
        "/api/v1/opportunities",
        json!({"name": "坏", "lines": "3 个"}),
    );
    field_error(&not_a_list, "lines");
    assert_eq!(
        count(&app, "opportunities"),
        1,
        "refused writes leave nothing"
    );

    let retired = admin.patch(
        &format!("/api/v1/products/{licence}"),
        json!({"version": 1, "active": false}),
    );
    assert_eq!(retired.status, 200, "{}", retired.text);
    let new_sale = admin.post(
        "/api/v1/opportunities",
        json!({"name": "停售", "lines": [{"product_id": licence, "quantity": 1}]}),
    );
    assert_eq!(field_code(&new_sale, "lines.0.product_id"), "inactive");
}

#[test]
fn board_funnel_and_forecast_count_only_the_viewers_scope() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let stages = stages(&admin);
    let sales = create_department(&admin, "销售一部", None)["id"]
        .as_i64()
        .unwrap();
    let role = create_role(
        &admin,
        "sales rep",
        &["customers", "opportunities", "products"],
        &["view", "create", "edit"],
        "own",
    );
    let rep_user = create_user_with_roles(&admin, "rep", Some(sales), &[role]);
    let rep = app.signed_in("rep");
    // The rep: 101 at 50 % (→ 50, half to even) and 103 at 50 % (→ 52) in March; 1000 won.
    for (name, amount, stage, close) in [
        ("甲", 101, 2, "2027-03-05"),
        ("乙", 103, 2, "2027-03-20"),
        ("丙", 1000, 4, "2027-03-25"),
    ] {
        let made = created(
            &rep.post(
                "/api/v1/opportunities",
                json!({"name": name, "amount": amount, "expected_close": close}),
            ),
            name,
        );
        let moved = rep.patch(
            &format!("/api/v1/opportunities/{}", id(&made)),
            json!({"version": made["version"], "stage_id": stages[stage].0}),
        );
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    // The administrator's own deals, outside the rep's scope.
    for name in ["丁", "戊"] {
        created(
            &admin.post(
                "/api/v1/opportunities",
                json!({"name": name, "amount": 7, "expected_close": "2027-04-01"}),
            ),
            name,
        );
    }

    let board = rep.get("/api/v1/opportunities/board?per_column=1");
    assert_eq!(board.status, 200, "{}", board.text);
    let columns = board.body["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 6);
    assert_eq!(columns[0]["count"], 0, "the administrator's deals stay out");
    assert_eq!(
        (columns[2]["count"].as_i64(), columns[2]["amount"].as_i64()),
        (Some(2), Some(204))
    );
    assert_eq!(
        columns[2]["items"].as_array().unwrap().len(),
        1,
        "items are capped"
    );
    assert_eq!(columns[4]["amount"], 1000);
    let everyone = admin.get("/api/v1/opportunities/board");
    assert_eq!(everyone.body["columns"][0]["count"], 2);
    let again = rep.get("/api/v1/opportunities/board");
    assert_eq!(
        again.body["columns"][0]["count"], 0,
        "remembered totals stay within the scope they were counted in"
    );
    let funnel_everyone = admin.get("/api/v1/opportunities/funnel");
    assert_eq!(funnel_everyone.body["stages"][0]["count"], 2);
    let searched = admin.get(&format!(
        "/api/v1/opportunities/board?q={}",
        crate::records::urlencode("甲")
    ));
    assert_eq!(searched.body["columns"][2]["count"], 1, "{}", searched.text);
    assert_eq!(
        rep.get("/api/v1/opportunities/board?per_column=0").status,
        400
    );
    assert_eq!(
        rep.get("/api/v1/opportunities/board?pipeline_id=777")
            .status,
        404
    );
    assert_eq!(
        rep.get("/api/v1/opportunities/board?filter[nope]=1").status,
        400
    );

    let funnel = rep.get("/api/v1/opportunities/funnel");
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    let rows = funnel.body["stages"].as_array().unwrap();
    let reached: Vec<i64> = rows
        .iter()
        .map(|r| r["reached"].as_i64().unwrap())
        .collect();
    assert_eq!(reached, vec![3, 3, 3, 1, 1, 0], "{}", funnel.text);
    assert_eq!(rows[2]["count"], 2);
    let future = rep.get("/api/v1/opportunities/funnel?from=2099-01-01");
    assert!(future.body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["count"] == 0));
    assert_eq!(
        rep.get("/api/v1/opportunities/funnel?from=yesterday")
            .status,
        400
    );

    // The board and the funnel are remembered between requests; a write shows at once.
    let late = created(
        &rep.post(
            "/api/v1/opportunities",
            json!({"name": "己", "amount": 5, "stage_id": stages[2].0}),
        ),
        "己",
    );
    let board = rep.get("/api/v1/opportunities/board");
    assert_eq!(board.body["columns"][2]["count"], 3, "{}", board.text);
    let funnel = rep.get("/api/v1/opportunities/funnel");
    assert_eq!(funnel.body["stages"][0]["reached"], 4, "{}", funnel.text);
    let deleted = admin.delete(&format!("/api/v1/opportunities/{}", id(&late)));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let board = rep.get("/api/v1/opportunities/board");
    assert_eq!(board.body["columns"][2]["count"], 2, "{}", board.text);
    let funnel = rep.get("/api/v1/opportunities/funnel");
    assert_eq!(funnel.body["stages"][0]["reached"], 3, "{}", funnel.text);
    // A commit by another process (`kehu import` beside the server) shows within seconds.
    app.sql()
        .execute(
            "UPDATE opportunities SET amount = amount + 1000 WHERE name = '甲'",
            [],
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let board = rep.get("/api/v1/opportunities/board");
        if board.body["columns"][2]["amount"] == 1204 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", board.text);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    app.sql()
        .execute(
            "UPDATE opportunities SET amount = amount - 1000 WHERE name = '甲'",
            [],
        )
        .unwrap();

    let forecast = rep.get("/api/v1/forecast?group_by=owner");
    assert_eq!(forecast.status, 200, "{}", forecast.text);
    assert_eq!(
        forecast.body["rows"],
        json!([{"group_id": rep_user["id"], "group_name": "rep", "month": "2027-03",
                "amount": 204, "weighted": 102}]),
        "open deals only, each weighted and rounded half to even"
    );
    let by_department =
        admin.get("/api/v1/forecast?group_by=department&from=2027-04-01&to=2027-04-30");
    assert_eq!(
        by_department.body["rows"][0]["month"], "2027-04",
        "{}",
        by_department.text
    );
    assert_eq!(by_department.body["rows"].as_array().unwrap().len(), 1);
    assert_eq!(rep.get("/api/v1/forecast?group_by=colour").status, 400);
}

#[test]
fn board_cards_and_list_records_leave_out_what_a_role_hides() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let stages = stages(&admin);
    let permissions = json!({
        "opportunities": {"actions": ["view"], "scope": "all",
                          "fields": {"notes": "hidden", "competitor": "hidden"}}
    });
    let role = admin.post(
        "/api/v1/roles",
        json!({"name": "observer", "permissions": permissions}),
    );
    assert_eq!(role.status, 201, "{}", role.text);
    create_user_with_roles(&admin, "observer", None, &[id(&role.body)]);
    let observer = app.signed_in("observer");
    created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "保密", "amount": 9, "notes": "底价 80", "competitor": "某友商"}),
        ),
        "保密",
    );

    let card = |who: &Browser| {
        let board = who.get("/api/v1/opportunities/board");
        assert_eq!(board.status, 200, "{}", board.text);
        assert_eq!(board.body["columns"][0]["stage_id"], stages[0].0);
        board.body["columns"][0]["items"][0].clone()
    };
    assert_eq!(card(&admin)["notes"], "底价 80");
    let hidden = card(&observer);
    assert_eq!(hidden["name"], "保密", "{hidden}");
    assert!(hidden.get("notes").is_none(), "{hidden}");
    assert!(hidden.get("competitor").is_none(), "{hidden}");
    let listed = observer.get("/api/v1/opportunities");
    assert_eq!(listed.body["total"], 1, "{}", listed.text);
    assert!(!listed.text.contains("底价") && !listed.text.contains("某友商"));
    assert_eq!(listed.body["items"][0]["amount"], 9);
}

#[test]
fn a_lead_converts_in_one_transaction_or_not_at_all() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let lead = created(
        &admin.post(
            "/api/v1/leads",
            json!({"name": "李娜", "company": "苏州精工", "mobile": "13800001111",
                   "email": "lina@jinggong.cn", "source": "exhibition", "title": "采购经理"}),
        ),
        "lead",
    );
    let lid = id(&lead);
    assert_eq!(lead["status"], "new");
    let closing_by_hand = admin.patch(
        &format!("/api/v1/leads/{lid}"),
        json!({"version": lead["version"], "status": "converted"}),
    );
    assert_eq!(field_code(&closing_by_hand, "status"), "use_action");

    let (customers, contacts) = (count(&app, "customers"), count(&app, "contacts"));
    let broken = admin.post(
        &format!("/api/v1/leads/{lid}/convert"),
        json!({"create_opportunity": true, "opportunity": {"name": "精工采购", "amount": "很多"}}),
    );
    field_error(&broken, "opportunity.amount");
    assert_eq!(
        (
            count(&app, "customers"),
            count(&app, "contacts"),
            count(&app, "opportunities")
        ),
        (customers, contacts, 0),
        "a failed conversion leaves nothing behind"
    );
    assert_eq!(
        admin.get(&format!("/api/v1/leads/{lid}")).body["status"],
        "new"
    );
    let unknown = admin.post(
        &format!("/api/v1/leads/{lid}/convert"),
        json!({"colour": 1}),
    );
    assert_eq!(unknown.status, 422);

    let converted = admin.post(
        &format!("/api/v1/leads/{lid}/convert"),
        json!({"create_opportunity": true, "opportunity": {"name": "精工采购", "amount": 12_000_000, "expected_close": "2027-01-31"}}),
    );
    assert_eq!(converted.status, 200, "{}", converted.text);
    let body = &converted.body;
    assert_eq!(body["customer"]["name"], "苏州精工");
    assert_eq!(body["customer"]["source"], "exhibition");
    assert_eq!(body["contact"]["name"], "李娜");
    assert_eq!(body["contact"]["customer_id"], body["customer"]["id"]);
    assert_eq!(body["opportunity"]["customer_id"], body["customer"]["id"]);
    assert_eq!(body["opportunity"]["amount"], 12_000_000);
    let after = admin.get(&format!("/api/v1/leads/{lid}")).body;
    assert_eq!(after["status"], "converted");
    assert!(after["converted_at"].is_string());
    assert_eq!(after["customer_id"], body["customer"]["id"]);
    assert_eq!(after["opportunity_id"], body["opportunity"]["id"]);
    let history = admin.get(&format!("/api/v1/leads/{lid}/history"));
    assert_eq!(history.body["items"][0]["action"], "converted");
    let again = admin.post(&format!("/api/v1/leads/{lid}/convert"), json!({}));
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "already_converted");

    // A second lead from the same company meets the customer duplicate check, then lands on
    // the existing customer.
    let twin = id(&created(
        &admin.post(
            "/api/v1/leads",
            json!({"name": "张伟", "company": "苏州精工"}),
        ),
        "lead",
    ));
    let duplicate = admin.post(&format!("/api/v1/leads/{twin}/convert"), json!({}));
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.error_code(), "duplicate");
    let onto_existing = admin.post(
        &format!("/api/v1/leads/{twin}/convert"),
        json!({"customer_id": body["customer"]["id"]}),
    );
    assert_eq!(onto_existing.status, 200, "{}", onto_existing.text);
    assert_eq!(onto_existing.body["customer"]["id"], body["customer"]["id"]);
    assert!(onto_existing.body["opportunity"].is_null());

    let third = id(&created(
        &admin.post("/api/v1/leads", json!({"name": "无效线索"})),
        "lead",
    ));
    let no_reason = admin.post(&format!("/api/v1/leads/{third}/disqualify"), json!({}));
    field_error(&no_reason, "reason");
    let disqualified = admin.post(
        &format!("/api/v1/leads/{third}/disqualify"),
        json!({"reason": "空号"}),
    );
    assert_eq!(disqualified.status, 200, "{}", disqualified.text);
    assert_eq!(disqualified.body["status"], "disqualified");
    assert_eq!(disqualified.body["disqualify_reason"], "空号");
    assert_eq!(
        admin
            .post(&format!("/api/v1/leads/{third}/convert"), json!({}))
            .status,
        409
    );
}

#[test]
fn leads_are_dealt_round_robin_within_a_department() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let team = create_department(&admin, "电销组", None)["id"]
        .as_i64()
        .unwrap();
    let members: Vec<i64> = ["a1", "a2", "a3"]
        .iter()
        .map(|n| {
            create_user_with_roles(&admin, n, Some(team), &[])["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let leads: Vec<i64> = (0..5)
        .map(|i| {
            id(&created(
                &admin.post("/api/v1/leads", json!({"name": format!("线索{i}")})),
                "lead",
            ))
        })
        .collect();
    let first = admin.post(
        "/api/v1/leads/assign",
        json!({"ids": &leads[..4], "department_id": team}),
    );
    assert_eq!(first.status, 200, "{}", first.text);
    let owners: Vec<i64> = first.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["owner_id"].as_i64().unwrap())
        .collect();
    assert_eq!(owners, vec![members[0], members[1], members[2], members[0]]);
    let next = admin.post(
        "/api/v1/leads/assign",
        json!({"ids": [leads[4], 999_999], "department_id": team}),
    );
    assert_eq!(
        next.body["results"][0]["owner_id"], members[1],
        "the rotation continues"
    );
    assert_eq!(next.body["results"][1]["status"], "not_found");
    assert_eq!(next.body["done"], 1, "only the visible lead counts as done");
    let empty = create_department(&admin, "空部门", None)["id"]
        .as_i64()
        .unwrap();
    let nobody = admin.post(
        "/api/v1/leads/assign",
        json!({"ids": [leads[0]], "department_id": empty}),
    );
    field_error(&nobody, "department_id");
}

#[test]
fn contracts_number_themselves_and_need_approval() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "宁波港务"})),
        "customer",
    ));
    let first = created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "码头系统", "customer_id": customer, "amount": 100_000}),
        ),
        "contract",
    );
    let number = first["number"].as_str().unwrap();
    assert!(
        number.starts_with("HT-") && number.ends_with("-0001"),
        "{number}"
    );
    assert_eq!(first["status"], "draft");
    assert_eq!(
        (first["received"].as_i64(), first["outstanding"].as_i64()),
        (Some(0), Some(100_000))
    );
    let second = created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "二期", "customer_id": customer}),
        ),
        "contract",
    );
    assert!(second["number"].as_str().unwrap().ends_with("-0002"));
    let taken = admin.post(
        "/api/v1/contracts",
        json!({"name": "重号", "customer_id": customer, "number": number}),
    );
    assert_eq!(field_code(&taken, "number"), "taken");
    let missing_customer = admin.post("/api/v1/contracts", json!({"name": "无客户"}));
    field_error(&missing_customer, "customer_id");
    let backwards = admin.post(
        "/api/v1/contracts",
        json!({"name": "倒序", "customer_id": customer, "starts_on": "2027-02-01", "ends_on": "2027-01-01"}),
    );
    field_error(&backwards, "ends_on");

    let pattern = admin.put(
        "/api/v1/settings/contracts",
        json!({"number_pattern": "NB{YY}-{SEQ:3}"}),
    );
    assert_eq!(pattern.status, 200, "{}", pattern.text);
    let bad_pattern = admin.put(
        "/api/v1/settings/contracts",
        json!({"number_pattern": "NB-{WHO}"}),
    );
    field_error(&bad_pattern, "number_pattern");
    let third = created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "三期", "customer_id": customer}),
        ),
        "contract",
    );
    let third_number = third["number"].as_str().unwrap();
    assert!(
        third_number.starts_with("NB") && third_number.ends_with("-001"),
        "{third_number}"
    );

    let cid = id(&first);
    let skipping = admin.patch(
        &format!("/api/v1/contracts/{cid}"),
        json!({"version": first["version"], "status": "completed"}),
    );
    assert_eq!(field_code(&skipping, "status"), "status_move");

    let sales = create_department(&admin, "大客户部", None)["id"]
        .as_i64()
        .unwrap();
    let rep_role = create_role(
        &admin,
        "rep",
        &["contracts", "customers"],
        &["view", "create", "edit"],
        "own",
    );
    create_user_with_roles(&admin, "rep", Some(sales), &[rep_role]);
    let rep = app.signed_in("rep");
    let rep_customer = id(&created(
        &rep.post("/api/v1/customers", json!({"name": "温州鞋业"})),
        "customer",
    ));
    let own = created(
        &rep.post(
            "/api/v1/contracts",
            json!({"name": "鞋业ERP", "customer_id": rep_customer, "amount": 5000}),
        ),
        "contract",
    );
    let by_hand = rep.patch(
        &format!("/api/v1/contracts/{}", id(&own)),
        json!({"version": own["version"], "status": "in_approval"}),
    );
    assert_eq!(field_code(&by_hand, "status"), "set_by_approval");
    let submitted = rep.post(
        &format!("/api/v1/contracts/{}/approval", id(&own)),
        json!({}),
    );
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let contract = rep.get(&format!("/api/v1/contracts/{}", id(&own))).body;
    assert_eq!(contract["status"], "in_approval");
    let self_approval = rep.patch(
        &format!("/api/v1/contracts/{}", id(&own)),
        json!({"version": contract["version"], "status": "active"}),
    );
    assert_eq!(self_approval.status, 409, "the record is locked");
    assert_eq!(self_approval.error_code(), "under_approval");
    let instance = submitted.body["id"].as_i64().unwrap();
    let rep_turn = rep.post(&format!("/api/v1/approvals/{instance}/approve"), json!({}));
    assert_eq!(rep_turn.status, 403, "{}", rep_turn.text);
    assert_eq!(rep_turn.error_code(), "not_your_turn");
    let approved = admin.post(&format!("/api/v1/approvals/{instance}/approve"), json!({}));
    assert_eq!(approved.body["status"], "approved", "{}", approved.text);
    let contract = rep.get(&format!("/api/v1/contracts/{}", id(&own))).body;
    assert_eq!(contract["status"], "active");
    let created_active = rep.post(
        "/api/v1/contracts",
        json!({"name": "直接生效", "customer_id": rep_customer, "status": "active"}),
    );
    assert_eq!(field_code(&created_active, "status"), "set_by_approval");
}

/// "Overdue" turns at the company's midnight: an instalment due yesterday on Kiritimati
/// (UTC+14) is overdue for a company there and not yet for one on Pago Pago (UTC-11), whose
/// today is always a day or two behind, whatever UTC's date is.
#[test]
fn instalments_fall_overdue_in_the_companys_time_zone() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "时区客户"})),
        "customer",
    ));
    let contract = id(&created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "时区合同", "customer_id": customer, "amount": 100_000}),
        ),
        "contract",
    ));
    let kiritimati_yesterday = (chrono::Utc::now().with_timezone(&chrono_tz::Pacific::Kiritimati)
        - chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    let plan = id(&created(
        &admin.post(
            "/api/v1/payment_plans",
            json!({"contract_id": contract, "instalment": 1, "due_date": kiritimati_yesterday, "amount": 50_000}),
        ),
        "plan",
    ));
    let overdue_in = |zone: &str| {
        let mut settings = admin.get("/api/v1/settings/company").body;
        settings["timezone"] = json!(zone);
        let saved = admin.put("/api/v1/settings/company", settings);
        assert_eq!(saved.status, 200, "{}", saved.text);
        let record = admin.get(&format!("/api/v1/payment_plans/{plan}")).body;
        let listed = admin.get("/api/v1/payment_plans?filter[overdue]=true").body["total"].clone();
        (record["overdue"].clone(), listed)
    };
    assert_eq!(overdue_in("Pacific/Kiritimati"), (json!(true), json!(1)));
    assert_eq!(overdue_in("Pacific/Pago_Pago"), (json!(false), json!(0)));
}

#[test]
fn payments_stay_within_the_contract_unless_confirmed() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "杭州数科"})),
        "customer",
    ));
    let contract = id(&created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "数据平台", "customer_id": customer, "amount": 100_000}),
        ),
        "contract",
    ));
    let plan_one = created(
        &admin.post(
            "/api/v1/payment_plans",
            json!({"contract_id": contract, "instalment": 1, "due_date": "2020-01-31", "amount": 60_000}),
        ),
        "plan",
    );
    assert_eq!(plan_one["overdue"], true, "past due and unpaid");
    let plan_two = created(
        &admin.post(
            "/api/v1/payment_plans",
            json!({"contract_id": contract, "instalment": 2, "due_date": "2099-06-30", "amount": 40_000}),
        ),
        "plan",
    );
    assert_eq!(plan_two["overdue"], false);
    let zero = admin.post(
        "/api/v1/payment_plans",
        json!({"contract_id": contract, "instalment": 3, "due_date": "2099-06-30", "amount": 0}),
    );
    assert_eq!(field_code(&zero, "amount"), "positive");

    let paid = created(
        &admin.post(
            "/api/v1/payments",
            json!({"contract_id": contract, "plan_id": id(&plan_one), "amount": 60_000,
                   "received_at": "2020-02-03", "method": "bank_transfer"}),
        ),
        "payment",
    );
    let plan = admin
        .get(&format!("/api/v1/payment_plans/{}", id(&plan_one)))
        .body;
    assert_eq!(
        (plan["paid"].as_i64(), plan["overdue"].as_bool()),
        (Some(60_000), Some(false))
    );
    let record = admin.get(&format!("/api/v1/contracts/{contract}")).body;
    assert_eq!(
        (record["received"].as_i64(), record["outstanding"].as_i64()),
        (Some(60_000), Some(40_000))
    );

    let over = admin.post(
        "/api/v1/payments",
        json!({"contract_id": contract, "amount": 50_000, "received_at": "2026-03-01"}),
    );
    assert_eq!(field_code(&over, "amount"), "exceeds_contract");
    assert!(
        field_error(&over, "amount")
            .as_str()
            .unwrap()
            .contains("400"),
        "{}",
        over.text
    );
    assert_eq!(
        count(&app, "payments"),
        1,
        "the refused payment is not kept"
    );
    let other = id(&created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "别的", "customer_id": customer, "amount": 10}),
        ),
        "contract",
    ));
    let wrong_plan = admin.post(
        "/api/v1/payments",
        json!({"contract_id": other, "plan_id": id(&plan_two), "amount": 5, "received_at": "2026-03-01"}),
    );
    field_error(&wrong_plan, "plan_id");
    let confirmed = admin.post(
        "/api/v1/payments",
        json!({"contract_id": contract, "amount": 50_000, "received_at": "2026-03-01",
               "confirm_overpayment": true}),
    );
    assert_eq!(confirmed.status, 201, "{}", confirmed.text);
    let record = admin.get(&format!("/api/v1/contracts/{contract}")).body;
    assert_eq!(
        (record["received"].as_i64(), record["outstanding"].as_i64()),
        (Some(110_000), Some(-10_000))
    );

    assert_eq!(
        admin
            .delete(&format!("/api/v1/payments/{}", id(&paid)))
            .status,
        204
    );
    let record = admin.get(&format!("/api/v1/contracts/{contract}")).body;
    assert_eq!(
        record["received"], 50_000,
        "a deleted payment no longer counts"
    );
    let plan = admin
        .get(&format!("/api/v1/payment_plans/{}", id(&plan_one)))
        .body;
    assert_eq!(plan["overdue"], true);

    let invoice = created(
        &admin.post(
            "/api/v1/invoices",
            json!({"contract_id": contract, "type": "vat_special", "number": "No.00012345",
                   "amount": 60_000, "issued_on": "2026-03-02", "status": "issued"}),
        ),
        "invoice",
    );
    assert_eq!(invoice["display"]["contract_id"], "数据平台");
    let bad_invoice = admin.post(
        "/api/v1/invoices",
        json!({"contract_id": contract, "type": "napkin", "amount": 1}),
    );
    field_error(&bad_invoice, "type");

    // The contract is 100,000: 60,000 invoiced, so 40,000 more fits and 40,001 does not.
    let invoice_of = |amount: i64, extra: Value| {
        let mut body = json!({"contract_id": contract, "type": "vat_normal", "amount": amount});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        admin.post("/api/v1/invoices", body)
    };
    let over_invoiced = invoice_of(40_001, json!({}));
    assert_eq!(field_code(&over_invoiced, "amount"), "exceeds_invoiceable");
    assert!(
        field_error(&over_invoiced, "amount")
            .as_str()
            .unwrap()
            .contains("400"),
        "says what is left to invoice: {}",
        over_invoiced.text
    );
    assert_eq!(
        count(&app, "invoices"),
        1,
        "the refused invoice is not kept"
    );
    let voided = invoice_of(40_001, json!({"status": "void"}));
    assert_eq!(
        voided.status, 201,
        "a void invoice counts for nothing: {}",
        voided.text
    );
    assert_eq!(invoice_of(40_000, json!({})).status, 201);
    let confirmed = invoice_of(5, json!({"confirm_overinvoicing": true}));
    assert_eq!(confirmed.status, 201, "{}", confirmed.text);
    let grown = admin.patch(
        &format!("/api/v1/invoices/{}", id(&invoice)),
        json!({"version": invoice["version"], "amount": 70_000}),
    );
    assert_eq!(
        field_code(&grown, "amount"),
        "exceeds_invoiceable",
        "edits too"
    );

    let twice = admin.post(
        "/api/v1/payment_plans",
        json!({"contract_id": contract, "instalment": 2, "due_date": "2099-07-31", "amount": 1}),
    );
    assert_eq!(field_code(&twice, "instalment"), "taken");
    let plan_two = admin
        .get(&format!("/api/v1/payment_plans/{}", id(&plan_two)))
        .body;
    let renumbered = admin.patch(
        &format!("/api/v1/payment_plans/{}", id(&plan_two)),
        json!({"version": plan_two["version"], "instalment": 1}),
    );
    assert_eq!(field_code(&renumbered, "instalment"), "taken", "edits too");
    let own_number = admin.patch(
        &format!("/api/v1/payment_plans/{}", id(&plan_two)),
        json!({"version": plan_two["version"], "notes": "尾款"}),
    );
    assert_eq!(
        own_number.status, 200,
        "its own number is not taken: {}",
        own_number.text
    );
    let elsewhere = admin.post(
        "/api/v1/payment_plans",
        json!({"contract_id": other, "instalment": 1, "due_date": "2099-07-31", "amount": 1}),
    );
    assert_eq!(
        elsewhere.status, 201,
        "another contract's numbers are its own"
    );

    // A customer's page lists the money of all its contracts: a filter through the contract.
    let stranger = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "不相干客户"})),
        "customer",
    ));
    let through = |entity: &str, customer: i64| {
        let answer = admin.get(&format!(
            "/api/v1/{entity}?filter[contract_id.customer_id]={customer}"
        ));
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["total"].as_i64().unwrap()
    };
    assert_eq!(through("invoices", customer), count(&app, "invoices"));
    assert_eq!(
        through("payment_plans", customer),
        3,
        "two plans of one contract, one of the other"
    );
    assert_eq!(through("invoices", stranger), 0);
    for bad in [
        "filter[contract_id.name]=x",
        "filter[contract_id.customer_id]=abc",
        "filter[contract_id.customer_id][gt]=1",
        "filter[notes.customer_id]=1",
        "filter[contract_id.nothing]=1",
    ] {
        let refused = admin.get(&format!("/api/v1/invoices?{bad}"));
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
}

#[test]
fn tasks_belong_to_their_assignee() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let team = create_department(&admin, "华南区", None)["id"]
        .as_i64()
        .unwrap();
    let manager_role = create_role(
        &admin,
        "manager",
        &["tasks", "customers"],
        &["view", "create", "edit"],
        "department",
    );
    let rep_role = create_role(
        &admin,
        "rep",
        &["tasks", "customers"],
        &["view", "create", "edit"],
        "own",
    );
    create_user_with_roles(&admin, "boss", Some(team), &[manager_role]);
    let rep_id = create_user_with_roles(&admin, "rep", Some(team), &[rep_role])["id"].clone();
    let peer_id = create_user_with_roles(&admin, "peer", Some(team), &[rep_role])["id"].clone();
    let (boss, rep) = (app.signed_in("boss"), app.signed_in("rep"));
    let customer = id(&created(
        &rep.post("/api/v1/customers", json!({"name": "深圳电子"})),
        "customer",
    ));

    let task = created(
        &boss.post(
            "/api/v1/tasks",
            json!({"title": "报价单发给深圳电子", "assignee_id": rep_id, "priority": "high",
                   "due_at": "2027-01-05T10:00:00+08:00", "entity": "customers", "record_id": customer}),
        ),
        "task",
    );
    assert_eq!(task["assignee_id"], rep_id);
    assert_eq!(task["owner_id"], rep_id);
    assert_eq!(task["display"]["record_id"], "深圳电子");
    let mine = rep.get(&format!("/api/v1/tasks?filter[assignee_id]={rep_id}"));
    assert_eq!(mine.body["total"], 1, "the assignee sees it: {}", mine.text);
    let assigned = boss.get(&format!(
        "/api/v1/tasks?filter[created_by]={}",
        task["created_by"]
    ));
    assert_eq!(assigned.body["total"], 1, "{}", assigned.text);

    let to_peer = rep.post(
        "/api/v1/tasks",
        json!({"title": "越权", "assignee_id": peer_id}),
    );
    assert_eq!(
        field_code(&to_peer, "assignee_id"),
        "not_assignable",
        "a rep assigns only to themself, refused on the field named"
    );
    let half_link = rep.post(
        "/api/v1/tasks",
        json!({"title": "半截", "entity": "customers"}),
    );
    field_error(&half_link, "record_id");
    let hidden_record = rep.post(
        "/api/v1/tasks",
        json!({"title": "看不见", "entity": "customers", "record_id": 999_999}),
    );
    field_error(&hidden_record, "record_id");
    let done = rep.patch(
        &format!("/api/v1/tasks/{}", id(&task)),
        json!({"version": task["version"], "status": "done"}),
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.body["completed_at"].is_string());

    // The form offers the assignee (a computed field a write may name) and starts the
    // picklists where the database would.
    let meta = rep.get("/api/v1/meta").body;
    let tasks = meta["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "tasks")
        .unwrap();
    let field = |name: &str| {
        tasks["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(field("assignee_id")["system"], false);
    assert_eq!(field("completed_at")["system"], true);
    assert_eq!(field("priority")["default"], "normal");
    assert_eq!(field("status")["default"], "open");
}

#[test]
fn targets_meet_the_real_records() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let stages = stages(&admin);
    let me = admin.get("/api/v1/auth/me").body["id"].as_i64().unwrap();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let (year, month) = (
        today.format("%Y").to_string(),
        today.format("%-m").to_string(),
    );
    let saved = admin.put(
        &format!("/api/v1/targets?year={year}"),
        json!({"items": [{"user_id": me, "month": month.parse::<i64>().unwrap(),
                          "won_amount": 2000, "received_amount": 400, "new_customers": 4, "followups": 1}]}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    let bad = admin.put(
        &format!("/api/v1/targets?year={year}"),
        json!({"items": [{"month": 13, "won_amount": -1}]}),
    );
    field_error(&bad, "items.0.month");
    field_error(&bad, "items.0.user_id");
    field_error(&bad, "items.0.won_amount");
    assert_eq!(
        admin.get(&format!("/api/v1/targets?year={year}")).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "合肥新材"})),
        "customer",
    ));
    created(&admin.post("/api/v1/followups", json!({"entity": "customers", "record_id": customer, "method": "visit", "content": "拜访"})), "followup");
    let deal = created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "新材", "amount": 1500, "customer_id": customer}),
        ),
        "deal",
    );
    admin.patch(
        &format!("/api/v1/opportunities/{}", id(&deal)),
        json!({"version": deal["version"], "stage_id": stages[4].0}),
    );
    let contract = id(&created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "新材合同", "customer_id": customer, "amount": 1500}),
        ),
        "contract",
    ));
    let received_on = today.format("%Y-%m-%d").to_string();
    created(
        &admin.post(
            "/api/v1/payments",
            json!({"contract_id": contract, "amount": 300, "received_at": received_on}),
        ),
        "payment",
    );

    let answer = admin.get(&format!(
        "/api/v1/targets/attainment?year={year}&month={month}&group_by=user"
    ));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let row = |metric: &str| {
        answer.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == metric && r["user_id"] == me)
            .cloned()
            .unwrap_or_else(|| panic!("{metric}: {}", answer.text))
    };
    assert_eq!(
        (
            row("won_amount")["actual"].as_i64(),
            row("won_amount")["ratio"].as_f64()
        ),
        (Some(1500), Some(0.75))
    );
    assert_eq!(row("received_amount")["actual"], 300);
    assert_eq!(row("new_customers")["actual"], 1);
    assert_eq!(row("followups")["actual"], 1);
    assert_eq!(
        admin
            .get(&format!("/api/v1/targets/attainment?year={year}&month=0"))
            .status,
        400
    );
    let by_department = admin.get(&format!(
        "/api/v1/targets/attainment?year={year}&month={month}&group_by=department"
    ));
    assert_eq!(by_department.status, 200, "{}", by_department.text);
}

#[test]
fn contracts_carry_attachments_their_viewers_may_read() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let customer = id(&created(
        &admin.post("/api/v1/customers", json!({"name": "厦门航运"})),
        "customer",
    ));
    let contract = id(&created(
        &admin.post(
            "/api/v1/contracts",
            json!({"name": "船队管理", "customer_id": customer}),
        ),
        "contract",
    ));
    let base = format!("/api/v1/contracts/{contract}/attachments");
    let uploaded = admin.upload(
        &base,
        file_form("../../扫描件.pdf", b"%PDF-1.4 signed".to_vec()),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    assert_eq!(uploaded.body["name"], "扫描件.pdf", "no path survives");
    assert_eq!(uploaded.body["size"], 15);
    let listed = admin.get(&base);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let file = format!("/api/v1/attachments/{}", uploaded.body["id"]);
    assert_eq!(admin.client_bytes(&file), b"%PDF-1.4 signed");

    let too_big = admin.upload(&base, file_form("big.bin", vec![0u8; 10 * 1024 * 1024 + 1]));
    field_error(&too_big, "file");
    let empty = admin.upload(&base, file_form("empty.txt", Vec::new()));
    field_error(&empty, "file");
    assert_eq!(
        admin
            .upload(
                "/api/v1/contracts/999999/attachments",
                file_form("a.txt", b"a".to_vec())
            )
            .status,
        404
    );

    let role = create_role(&admin, "rep", &["contracts"], &["view", "edit"], "own");
    create_user_with_roles(&admin, "rep", None, &[role]);
    let outsider = app.signed_in("rep");
    assert_eq!(outsider.get(&base).status, 404);
    assert_eq!(outsider.get(&file).status, 404);
    assert_eq!(outsider.delete(&file).status, 404);
    assert_eq!(admin.delete(&file).status, 204);
    assert_eq!(admin.get(&base).body["items"], json!([]));
}

#[test]
fn sales_actions_stay_inside_the_callers_scope() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let stages = stages(&admin);
    let modules = [
        "leads",
        "opportunities",
        "customers",
        "contacts",
        "contracts",
        "payments",
    ];
    let role = create_role(&admin, "rep", &modules, &["view", "create", "edit"], "own");
    create_user_with_roles(&admin, "rep", None, &[role]);
    let rep = app.signed_in("rep");

    let lead = id(&created(
        &admin.post("/api/v1/leads", json!({"name": "别人的线索"})),
        "lead",
    ));
    let deal = created(
        &admin.post(
            "/api/v1/opportunities",
            json!({"name": "别人的商机", "amount": 900}),
        ),
        "deal",
    );
    admin.patch(
        &format!("/api/v1/opportunities/{}", id(&deal)),
        json!({"version": deal["version"], "stage_id": stages[4].0}),
    );
    let (customers, contacts) = (count(&app, "customers"), count(&app, "contacts"));
    assert_eq!(
        rep.post(&format!("/api/v1/leads/{lead}/convert"), json!({}))
            .status,
        404
    );
    assert_eq!(
        rep.post(
            &format!("/api/v1/leads/{lead}/disqualify"),
            json!({"reason": "x"})
        )
        .status,
        404
    );
    assert_eq!(
        (count(&app, "customers"), count(&app, "contacts")),
        (customers, contacts)
    );
    assert_eq!(
        admin.get(&format!("/api/v1/leads/{lead}")).body["status"],
        "new"
    );
    let assigned = rep.post(
        "/api/v1/leads/assign",
        json!({"ids": [lead], "department_id": 1}),
    );
    assert_ne!(assigned.status, 200, "{}", assigned.text);
    assert_eq!(
        rep.get(&format!("/api/v1/opportunities/{}/stages", id(&deal)))
            .status,
        404
    );

    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let (year, month) = (today.format("%Y"), today.format("%-m"));
    let attainment = rep.get(&format!(
        "/api/v1/targets/attainment?year={year}&month={month}"
    ));
    assert_eq!(attainment.status, 200, "{}", attainment.text);
    assert_eq!(
        attainment.body["rows"],
        json!([]),
        "the administrator's win is not the rep's to see"
    );
    let everyone = admin.get(&format!(
        "/api/v1/targets/attainment?year={year}&month={month}"
    ));
    assert!(
        everyone.text.contains("\"actual\":900"),
        "{}",
        everyone.text
    );
}
