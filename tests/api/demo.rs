//! `kehu demo`: a believable company in an empty data directory, through the real binary and
//! the real server, the same every time for a seed, and inside each person's data scope.

use crate::helpers::*;
use crate::records::urlencode;
use serde_json::{json, Value};

/// Runs `kehu demo --size small --seed SEED` on `data`; its printout.
fn demo(data: &std::path::Path, seed: &str) -> std::process::Output {
    kehu(
        &[
            "demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--size",
            "small",
            "--seed",
            seed,
        ],
        None,
    )
}

fn password(printout: &str, line_start: &str) -> String {
    printout
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.split("password ").nth(1))
        .and_then(|p| p.split([' ', ',']).next())
        .unwrap_or_else(|| panic!("no password after {line_start:?} in {printout}"))
        .to_string()
}

fn first_names(who: &Browser) -> Vec<Value> {
    let answer = who.get("/api/v1/customers?sort=id&per_page=20");
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect()
}

#[test]
fn the_demo_company_is_alive_deterministic_and_scoped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let output = demo(&data, "7");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let printout = text(&output.stdout);
    assert!(
        text(&output.stderr).contains("demo: customers"),
        "a progress line"
    );
    let again = demo(&data, "7");
    assert_eq!(
        again.status.code(),
        Some(2),
        "a second run refuses the data it would mix with"
    );
    assert!(text(&again.stderr).contains("already holds a company"));

    let app = start(dir, test_config(&data)).expect("the server starts on the demo data");
    let mut admin = app.browser();
    assert_eq!(
        admin
            .login("admin", &password(&printout, "sign in as admin"))
            .status,
        200
    );
    let counts = |who: &Browser, entity: &str| {
        who.get(&format!("/api/v1/{entity}?per_page=1")).body["total"]
            .as_i64()
            .unwrap()
    };
    // A list counts up to 1,000 and then says "more": the 1,500 follow-ups.
    let followups = admin.get("/api/v1/followups?per_page=1").body;
    assert_eq!(
        (&followups["total"], &followups["total_exact"]),
        (&Value::from(1_000), &Value::Bool(false))
    );
    assert!(
        printout
            .lines()
            .any(|l| l.split_whitespace().eq(["followups", "1500"])),
        "{printout}"
    );
    // Over the cap the page is read in the sort's order and each row tested: still only
    // matching rows, in order, and the next page goes on where this one stopped.
    let page = |n: u32| {
        admin
            .get(&format!(
                "/api/v1/followups?filter[entity]=customers&sort=-followed_at&per_page=50&page={n}"
            ))
            .body
    };
    let (first, second) = (page(1), page(2));
    assert_eq!(first["total_exact"], Value::Bool(false));
    let times: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap().clone())
        .inspect(|f| assert_eq!(f["entity"], "customers"))
        .map(|f| f["followed_at"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(times.len(), 100);
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // The demo's two rules: the time rules' pass at start may already have run them; running
    // them again now does nothing twice, and afterwards every task a rule made is counted.
    let rules = admin.get("/api/v1/automation-rules").body["items"].clone();
    assert_eq!(
        rules.as_array().unwrap().len(),
        2,
        "the demo's rules: {rules}"
    );
    for rule in rules.as_array().unwrap() {
        let ran = admin.post(
            &format!("/api/v1/automation-rules/{}/run", rule["id"]),
            json!({}),
        );
        assert_eq!(ran.status, 200, "{}", ran.text);
    }
    let rules = admin.get("/api/v1/automation-rules").body["items"].clone();
    let tasks_by_rule = rules[1]["runs"]["done"].as_i64().unwrap();
    assert!(
        tasks_by_rule > 0,
        "key customers gone quiet get a task: {rules}"
    );
    for (entity, expected) in [
        ("customers", 300),
        ("contacts", 600),
        ("leads", 120),
        ("opportunities", 150),
        ("contracts", 66),
        ("tasks", 80 + tasks_by_rule),
    ] {
        assert_eq!(counts(&admin, entity), expected, "{entity}");
        let exact = &admin.get(&format!("/api/v1/{entity}?per_page=1")).body["total_exact"];
        assert_eq!(exact, &Value::Bool(true), "{entity}");
    }
    assert!(counts(&admin, "payments") > 0 && counts(&admin, "invoices") > 0);
    // Six renewals in approval, two of them past the first step, each waiting on someone.
    let waiting: i64 = app
        .sql()
        .query_row(
            "SELECT count(*) FROM approval_instances WHERE status = 'pending' AND entity = 'contracts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(waiting, 6);
    // Six office forms, every one submitted to the rep's head, two approved already.
    let forms = counts(&admin, "leaves") + counts(&admin, "expenses");
    assert_eq!(forms, 6);
    let approved = admin
        .get("/api/v1/leaves?filter[status]=approved&per_page=1")
        .body["total"]
        .as_i64()
        .unwrap()
        + admin
            .get("/api/v1/expenses?filter[status]=approved&per_page=1")
            .body["total"]
            .as_i64()
            .unwrap();
    assert_eq!(approved, 2);
    let past_first: i64 = app
        .sql()
        .query_row(
            "SELECT count(*) FROM approval_instances WHERE current_step = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(past_first, 2);
    // Written through the write path: searchable (both indexes) and with history.
    let one = &admin.get("/api/v1/customers?sort=id&per_page=1").body["items"][0];
    let name = one["name"].as_str().unwrap().to_string();
    let short: String = name.chars().skip(2).take(2).collect();
    let long: String = name.chars().take(5).collect();
    for q in [short, long] {
        let found = admin.get(&format!(
            "/api/v1/customers?q={}&per_page=200",
            urlencode(&q)
        ));
        assert!(
            found.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == name.as_str()),
            "q={q}"
        );
    }
    let history = admin.get(&format!("/api/v1/customers/{}/history", one["id"]));
    assert_eq!(
        history.body["items"][0]["action"], "created",
        "{}",
        history.text
    );
    assert!(admin.get("/api/v1/opportunities/board").body["columns"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["count"].as_i64() > Some(0)));
    let mut rep = app.browser();
    assert_eq!(
        rep.login("sales001", &password(&printout, "everyone else"))
            .status,
        200
    );
    let me = rep.get("/api/v1/auth/me").body["id"].clone();
    let mine = rep.get("/api/v1/customers?per_page=200").body;
    let total = mine["total"].as_i64().unwrap();
    assert!(
        total > 0 && total < 300,
        "a rep sees their own customers: {total}"
    );
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["owner_id"] == me));
    let names = first_names(&admin);
    drop(app);

    let other = tempfile::tempdir().unwrap();
    let same_seed = other.path().join("same");
    assert!(demo(&same_seed, "7").status.success());
    let different_seed = other.path().join("different");
    assert!(demo(&different_seed, "8").status.success());
    let same = rusqlite::Connection::open(same_seed.join("kehu.db")).unwrap();
    let names_of = |conn: &rusqlite::Connection| -> Vec<Value> {
        let mut stmt = conn
            .prepare("SELECT name FROM customers ORDER BY id LIMIT 20")
            .unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|n| Value::String(n.unwrap()))
            .collect()
    };
    assert_eq!(names_of(&same), names, "the same seed, the same company");
    let different = rusqlite::Connection::open(different_seed.join("kehu.db")).unwrap();
    assert_ne!(names_of(&different), names);
}
