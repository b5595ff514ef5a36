use crate::helpers::*;
use serde_json::json;

#[test]
fn setup_is_needed_until_done_and_then_refused() {
    let app = spawn_app();
    let browser = app.browser();
    assert_eq!(browser.get("/api/v1/setup").body["needed"], true);

    let admin = app.setup_admin();
    assert_eq!(browser.get("/api/v1/setup").body["needed"], false);

    let me = admin.get("/api/v1/auth/me");
    assert_eq!(me.status, 200, "setup signs the administrator in");
    assert_eq!(me.body["username"], ADMIN);
    assert_eq!(me.body["is_admin"], true);
    assert_eq!(me.body["company"]["name"], "示例科技有限公司");
    assert_eq!(me.body["roles"][0]["builtin"], "administrator");

    let again = browser.post(
        "/api/v1/setup",
        json!({"company": "Evil", "username": "intruder", "password": "long-enough-1"}),
    );
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "already_set_up");
    let users: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1, "the refused setup created nothing");

    for body in [json!({"company": " ", "password": "short"}), json!([1, 2])] {
        let invalid = browser.post("/api/v1/setup", body);
        assert_eq!(invalid.status, 409, "a set-up server refuses any body");
        assert_eq!(invalid.error_code(), "already_set_up");
    }
}

#[test]
fn setup_reports_every_bad_field_in_the_callers_language() {
    let app = spawn_app();
    let mut browser = app.browser();
    browser.language = Some("zh-CN,zh;q=0.9");
    let answer = browser.post(
        "/api/v1/setup",
        json!({"company": " ", "username": "x", "password": "short", "language": "fr", "timezone": "Mars/Base"}),
    );
    assert_eq!(answer.status, 422);
    assert_eq!(answer.error_code(), "validation_failed");
    let fields = answer.body["error"]["fields"].as_object().unwrap();
    for field in ["company", "username", "password", "language", "timezone"] {
        assert!(
            fields.contains_key(field),
            "{field} reported: {}",
            answer.text
        );
    }
    assert_eq!(fields["password"], "至少 8 个字符。");

    browser.language = Some("en-US,en;q=0.9");
    let answer = browser.post(
        "/api/v1/setup",
        json!({"company": "Acme", "username": "boss", "password": "boss"}),
    );
    assert_eq!(
        answer.body["error"]["fields"]["password"],
        "At least 8 characters."
    );
    let answer = browser.post(
        "/api/v1/setup",
        json!({"company": "Acme", "username": "bossboss", "password": "BOSSBOSS"}),
    );
    assert_eq!(
        answer.body["error"]["field_codes"]["password"],
        "password_is_username"
    );
    assert_eq!(
        browser.get("/api/v1/setup").body["needed"],
        true,
        "nothing was created"
    );
}

#[test]
fn concurrent_setups_create_exactly_one_administrator() {
    let app = spawn_app();
    let results: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let app = &app;
                scope.spawn(move || {
                    app.browser()
                        .post(
                            "/api/v1/setup",
                            json!({"company": "Acme", "username": format!("admin{i}"), "password": "long-enough-1"}),
                        )
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|s| *s == 201 || *s == 409),
        "{results:?}"
    );
    let users: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
}

#[test]
fn the_setup_page_speaks_chinese_to_chinese_browsers_and_english_otherwise() {
    let app = spawn_app();
    let status = app.browser().get("/api/v1/setup");
    assert_eq!(
        status.body["default_language"], "en",
        "the fallback before setup is English"
    );
    let mut browser = app.browser();
    browser.language = Some("fr-FR,fr;q=0.9");
    let french = browser.post("/api/v1/setup", json!({}));
    assert_eq!(
        french.body["error"]["message"],
        "Please check the highlighted fields."
    );
    browser.language = Some("zh-TW,zh;q=0.9");
    let chinese = browser.post("/api/v1/setup", json!({}));
    assert_eq!(chinese.body["error"]["message"], "请检查标出的字段。");

    app.setup_admin();
    let after = app.browser().get("/api/v1/setup");
    assert_eq!(
        after.body["default_language"], "zh-CN",
        "then the company's choice"
    );
}
