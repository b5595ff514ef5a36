use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn login_logout_round_trip_with_secure_cookie() {
    let app = spawn_app();
    app.setup_admin();
    let mut browser = app.browser();
    let answer = browser.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["user"]["username"], ADMIN);
    assert!(answer.body["csrf_token"].as_str().unwrap().len() >= 32);
    let cookie = answer.header("set-cookie").unwrap().to_string();
    assert!(cookie.starts_with("kehu_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on the LAN: no Secure flag by default"
    );

    assert_eq!(browser.get("/api/v1/auth/me").status, 200);
    let current = browser.get("/api/v1/auth/session");
    assert_eq!(current.body["user"]["username"], ADMIN);
    assert_eq!(current.body["csrf_token"], answer.body["csrf_token"]);
    assert_eq!(browser.post("/api/v1/auth/logout", json!({})).status, 204);
    let current = browser.get("/api/v1/auth/session");
    assert_eq!(
        (current.status, &current.body),
        (200, &json!({"user": null})),
        "signed out is not an error"
    );
    let after = browser.get("/api/v1/auth/me");
    assert_eq!(after.status, 401);
    assert_eq!(after.error_code(), "unauthenticated");
    // A copy of the cookie (another machine, a stolen one) is refused once signed out too,
    // though the session was answered from the memo a moment before.
    let token = cookie.split(';').next().unwrap().to_string();
    let copied = reqwest::blocking::Client::new()
        .get(app.url("/api/v1/auth/me"))
        .header("Cookie", &token)
        .send()
        .unwrap();
    assert_eq!(
        copied.status().as_u16(),
        401,
        "a signed-out session's cookie"
    );

    let actions: Vec<String> = app
        .sql()
        .prepare("SELECT action FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["setup", "login", "logout"]);
}

#[test]
fn secure_cookie_flag_follows_configuration() {
    let app = spawn_app_with(|c| c.server.secure_cookies = true);
    app.setup_admin();
    let answer = app.browser().login(ADMIN, ADMIN_PASSWORD);
    assert!(answer.header("set-cookie").unwrap().contains("Secure"));
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app();
    app.setup_admin();
    let mut browser = app.browser();
    let wrong = browser.login(ADMIN, "not-the-password");
    let unknown = browser.login("nobody", "not-the-password");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.error_code(), "invalid_credentials");
    assert!(wrong.header("set-cookie").is_none());

    let missing = browser.post("/api/v1/auth/login", json!({}));
    assert_eq!(missing.status, 422);
    assert!(missing.body["error"]["fields"]["username"].is_string());
    assert!(missing.body["error"]["fields"]["password"].is_string());

    let failed: i64 = app
        .sql()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'login_failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 2, "failed sign-ins are in the operation log");
}

#[test]
fn repeated_failures_lock_the_account_then_release_it() {
    let app = spawn_app_with(|c| {
        c.auth.max_failures_per_account = 3;
        c.auth.lockout_seconds = 2;
    });
    app.setup_admin();
    let mut browser = app.browser();
    browser.language = Some("en");
    for _ in 0..3 {
        assert_eq!(browser.login(ADMIN, "wrong-password").status, 401);
    }
    let locked = browser.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!(locked.status, 429, "even the right password waits");
    assert_eq!(locked.error_code(), "too_many_attempts");
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(locked.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&wait.to_string()));
    // Another account is not affected by this one's lock.
    assert_eq!(browser.login("someone-else", "whatever-123").status, 401);

    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(browser.login(ADMIN, ADMIN_PASSWORD).status, 200);
}

#[test]
fn one_address_trying_many_accounts_is_locked_out() {
    let app = spawn_app_with(|c| {
        c.auth.max_failures_per_ip = 4;
        c.auth.lockout_seconds = 60;
    });
    app.setup_admin();
    let mut browser = app.browser();
    for i in 0..4 {
        assert_eq!(
            browser.login(&format!("guess{i}"), "wrong-password").status,
            401
        );
    }
    assert_eq!(browser.login(ADMIN, ADMIN_PASSWORD).status, 429);
}

#[test]
fn state_changes_need_the_csrf_token() {
    let app = spawn_app();
    let mut admin = app.setup_admin();
    let token = admin.csrf.take();

    let without = admin.patch("/api/v1/auth/me", json!({"theme": "dark"}));
    assert_eq!(without.status, 403);
    assert_eq!(without.error_code(), "csrf_failed");
    admin.csrf = Some("0".repeat(48));
    assert_eq!(
        admin
            .patch("/api/v1/auth/me", json!({"theme": "dark"}))
            .status,
        403
    );
    assert_eq!(
        admin.post("/api/v1/auth/logout", json!({})).status,
        403,
        "logout too"
    );
    assert_eq!(
        admin.get("/api/v1/auth/me").body["theme"],
        "light",
        "nothing changed"
    );

    admin.csrf = token;
    assert_eq!(
        admin
            .patch("/api/v1/auth/me", json!({"theme": "dark"}))
            .status,
        200
    );
    assert_eq!(
        admin.get("/api/v1/auth/me").body["csrf_token"],
        admin.csrf.clone().unwrap()
    );
}

#[test]
fn signing_in_again_replaces_the_session() {
    let app = spawn_app();
    let mut admin = app.setup_admin();
    let before: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    let old_csrf = admin.csrf.clone();
    assert_eq!(admin.login(ADMIN, ADMIN_PASSWORD).status, 200);
    assert_ne!(admin.csrf, old_csrf, "a new session gets a new CSRF token");
    let after: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        before, after,
        "the browser's previous session was ended, not kept"
    );
}

#[test]
fn idle_and_expired_sessions_are_refused() {
    let app = spawn_app_with(|c| c.auth.session_idle_minutes = 30);
    let admin = app.setup_admin();
    let idle_for = 31 * 60_000;
    app.sql()
        .execute(
            "UPDATE sessions SET last_seen_at = last_seen_at - ?1",
            [idle_for],
        )
        .unwrap();
    let answer = admin.get("/api/v1/auth/me");
    assert_eq!(answer.status, 401);
    let left: i64 = app
        .sql()
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "the expired session was removed");

    let mut browser = app.browser();
    browser.login(ADMIN, ADMIN_PASSWORD);
    let week = 8 * 24 * 3_600_000_i64;
    app.sql()
        .execute("UPDATE sessions SET created_at = created_at - ?1", [week])
        .unwrap();
    assert_eq!(
        browser.get("/api/v1/auth/me").status,
        401,
        "absolute lifetime"
    );
}

#[test]
fn a_frozen_account_cannot_sign_in_and_its_sessions_stop() {
    let app = spawn_app();
    let admin = app.setup_admin();
    app.sql()
        .execute("UPDATE users SET frozen = 1", [])
        .unwrap();
    let live = admin.get("/api/v1/auth/me");
    assert_eq!(live.status, 403);
    assert_eq!(live.error_code(), "account_frozen");
    let mut browser = app.browser();
    assert_eq!(
        browser.login(ADMIN, "wrong-password").error_code(),
        "invalid_credentials",
        "no hint without the password"
    );
    let login = browser.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!(login.status, 403);
    assert_eq!(login.error_code(), "account_frozen");
}

#[test]
fn preferences_are_validated_saved_and_follow_the_user() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let saved = admin.patch(
        "/api/v1/auth/me",
        json!({"language": "en", "theme": "dark", "font_size": "large", "timezone": "Europe/Berlin", "display_name": " Wang "}),
    );
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["theme"], "dark");
    assert_eq!(saved.body["display_name"], "Wang");

    let bad = admin.patch(
        "/api/v1/auth/me",
        json!({"language": "de", "theme": "pink", "font_size": 3, "timezone": "Nowhere/City", "display_name": ""}),
    );
    assert_eq!(bad.status, 422);
    let fields = bad.body["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 5, "{}", bad.text);
    assert_eq!(
        bad.body["error"]["message"], "Please check the highlighted fields.",
        "the user's language wins"
    );

    let mut other = app.browser();
    other.login(ADMIN, ADMIN_PASSWORD);
    let me = other.get("/api/v1/auth/me").body;
    assert_eq!(
        (me["language"].as_str(), me["font_size"].as_str()),
        (Some("en"), Some("large"))
    );
    assert_eq!(me["timezone"], "Europe/Berlin");
    assert_eq!(
        other
            .patch("/api/v1/auth/me", json!({"timezone": null}))
            .body["timezone"],
        serde_json::Value::Null
    );
}

#[test]
fn nobody_raises_their_own_rights_through_preferences() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let before = admin.get("/api/v1/auth/me").body;
    let answer = admin.patch(
        "/api/v1/auth/me",
        json!({"theme": "dark", "role_ids": [1], "is_admin": true, "username": "root", "id": 7, "frozen": 0}),
    );
    assert_eq!(answer.status, 422);
    let codes = &answer.body["error"]["field_codes"];
    for field in ["role_ids", "is_admin", "username", "id", "frozen"] {
        assert_eq!(codes[field], "not_editable", "{field}");
    }
    let after = admin.get("/api/v1/auth/me").body;
    assert_eq!(
        after["theme"], before["theme"],
        "a refused request changes nothing"
    );
    assert_eq!(after["version"], before["version"]);
}

#[test]
fn changing_the_password_signs_out_other_browsers() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let mut laptop = app.browser();
    laptop.login(ADMIN, ADMIN_PASSWORD);

    let wrong = admin.post(
        "/api/v1/auth/password",
        json!({"current_password": "nope-nope", "new_password": "brand-new-pass"}),
    );
    assert_eq!(
        wrong.body["error"]["field_codes"]["current_password"],
        "wrong_password"
    );
    let weak = admin.post(
        "/api/v1/auth/password",
        json!({"current_password": ADMIN_PASSWORD, "new_password": "admin"}),
    );
    assert_eq!(
        weak.body["error"]["field_codes"]["new_password"],
        "too_short"
    );

    let ok = admin.post(
        "/api/v1/auth/password",
        json!({"current_password": ADMIN_PASSWORD, "new_password": "brand-new-pass"}),
    );
    assert_eq!(ok.status, 204);
    assert_eq!(
        admin.get("/api/v1/auth/me").status,
        200,
        "this browser stays signed in"
    );
    assert_eq!(
        laptop.get("/api/v1/auth/me").status,
        401,
        "the other one is signed out"
    );
    assert_eq!(app.browser().login(ADMIN, ADMIN_PASSWORD).status, 401);
    assert_eq!(app.browser().login(ADMIN, "brand-new-pass").status, 200);
}
