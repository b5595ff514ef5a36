use crate::helpers::*;
use serde_json::{json, Value};

#[test]
fn departments_form_a_tree_that_moves_as_a_whole() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let group = create_department(&admin, "集团", None);
    let division = create_department(&admin, "华东板块", group["id"].as_i64());
    let team = create_department(&admin, "上海销售一组", division["id"].as_i64());
    let other = create_department(&admin, "华南板块", group["id"].as_i64());
    let (g, d, t, o) = (
        group["id"].as_i64().unwrap(),
        division["id"].as_i64().unwrap(),
        team["id"].as_i64().unwrap(),
        other["id"].as_i64().unwrap(),
    );
    assert_eq!(team["path"], format!("/{g}/{d}/{t}/"));

    let moved = admin.patch(
        &format!("/api/v1/departments/{d}"),
        json!({"parent_id": o, "version": division["version"]}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["path"], format!("/{g}/{o}/{d}/"));
    let team_now = admin.get(&format!("/api/v1/departments/{t}")).body;
    assert_eq!(
        team_now["path"],
        format!("/{g}/{o}/{d}/{t}/"),
        "the subtree moved with it"
    );

    let cycle = admin.patch(
        &format!("/api/v1/departments/{o}"),
        json!({"parent_id": t, "version": 1}),
    );
    assert_eq!(cycle.status, 422);
    assert_eq!(cycle.body["error"]["field_codes"]["parent_id"], "cycle");
    let stale = admin.patch(
        &format!("/api/v1/departments/{d}"),
        json!({"name": "x", "version": 1}),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(stale.error_code(), "version_conflict");
    assert_eq!(
        stale.body["error"]["current"]["name"], "华东板块",
        "the conflict shows the current record"
    );

    let twin = admin.post(
        "/api/v1/departments",
        json!({"name": "华南板块", "parent_id": g}),
    );
    assert_eq!(twin.body["error"]["field_codes"]["name"], "taken");
    let orphan = admin.post(
        "/api/v1/departments",
        json!({"name": "Nowhere", "parent_id": 9999}),
    );
    assert_eq!(
        orphan.body["error"]["field_codes"]["parent_id"],
        "unknown_department"
    );

    let list = admin.get("/api/v1/departments").body;
    assert_eq!(list["total"], 4);
    let busy = admin.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/departments/{o}"),
        None,
    );
    assert_eq!(busy.status, 409);
    assert_eq!(busy.error_code(), "department_not_empty");
    let gone = admin.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/departments/{t}"),
        None,
    );
    assert_eq!(gone.status, 204);
    assert_eq!(admin.get(&format!("/api/v1/departments/{t}")).status, 404);
}

#[test]
fn only_administrators_manage_the_organisation() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let sales = create_department(&admin, "Sales", None);
    let employee = create_user(&admin, "zhang.san", sales["id"].as_i64(), false);
    let mut browser = app.browser();
    assert_eq!(browser.login("zhang.san", "employee-pass-1").status, 200);
    assert_eq!(
        browser.get("/api/v1/auth/me").body["department_name"],
        "Sales"
    );

    let before = app
        .sql()
        .query_row("SELECT count(*) FROM departments", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    let attempts = [
        browser.post("/api/v1/departments", json!({"name": "Mine"})),
        browser.patch(
            &format!("/api/v1/departments/{}", sales["id"]),
            json!({"name": "Mine", "version": 1}),
        ),
        browser.post(
            "/api/v1/users",
            json!({"username": "friend", "password": "friend-pass-1"}),
        ),
        browser.get("/api/v1/users"),
        browser.patch(
            &format!("/api/v1/users/{}", employee["id"]),
            json!({"role_ids": [1], "version": employee["version"]}),
        ),
        browser.post(&format!("/api/v1/users/{}/freeze", 1), json!({})),
        browser.get("/api/v1/audit-log"),
        browser.get("/api/v1/roles"),
    ];
    for answer in attempts {
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert_eq!(answer.error_code(), "forbidden");
    }
    let after = app
        .sql()
        .query_row("SELECT count(*) FROM departments", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        browser.get("/api/v1/auth/me").body["is_admin"],
        false,
        "no self-promotion"
    );
    assert_eq!(
        browser.get("/api/v1/departments").status,
        200,
        "everyone may read the tree"
    );
}

#[test]
fn users_are_created_listed_and_edited_with_validation() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let sales = create_department(&admin, "销售部", None);
    create_user(&admin, "li.si", sales["id"].as_i64(), false);
    create_user(&admin, "wang.wu", None, true);

    let bad = admin.post("/api/v1/users", json!({"username": "a b", "password": "a b", "department_id": 999, "role_ids": ["x"], "owner_id": 3}));
    assert_eq!(bad.status, 422);
    let codes = &bad.body["error"]["field_codes"];
    assert_eq!(codes["username"], "no_spaces");
    assert_eq!(codes["password"], "too_short");
    assert_eq!(codes["role_ids"], "invalid_id");
    assert_eq!(codes["owner_id"], "not_editable");
    let unknown_department = admin.post(
        "/api/v1/users",
        json!({"username": "zhao", "password": "zhao-pass-12", "department_id": 999}),
    );
    assert_eq!(
        unknown_department.body["error"]["field_codes"]["department_id"],
        "unknown_department"
    );
    let taken = admin.post(
        "/api/v1/users",
        json!({"username": "LI.SI", "password": "another-pass-1"}),
    );
    assert_eq!(taken.body["error"]["field_codes"]["username"], "taken");

    let list = admin.get("/api/v1/users?per_page=2");
    assert_eq!(
        (
            list.body["total"].as_i64(),
            list.body["items"].as_array().unwrap().len()
        ),
        (Some(3), 2)
    );
    let found = admin.get("/api/v1/users?q=li.");
    assert_eq!(found.body["total"], 1);
    assert_eq!(found.body["items"][0]["department_name"], "销售部");
    let percent = admin.get("/api/v1/users?q=%25");
    assert_eq!(percent.body["total"], 0, "LIKE wildcards in q are literal");
    assert_eq!(
        admin
            .get(&format!("/api/v1/users?department_id={}", sales["id"]))
            .body["total"],
        1
    );
    assert_eq!(
        admin.get("/api/v1/users?colour=red").error_code(),
        "invalid_query"
    );
    assert_eq!(
        admin.get("/api/v1/users?per_page=500").error_code(),
        "invalid_query"
    );

    let li = &found.body["items"][0];
    let edited = admin.patch(&format!("/api/v1/users/{}", li["id"]), json!({"display_name": "李四", "department_id": null, "role_ids": [1], "version": li["version"]}));
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["display_name"], "李四");
    assert_eq!(edited.body["department_id"], Value::Null);
    assert_eq!(edited.body["roles"][0]["builtin"], "administrator");
    let stale = admin.patch(
        &format!("/api/v1/users/{}", li["id"]),
        json!({"display_name": "x", "version": li["version"]}),
    );
    assert_eq!(stale.error_code(), "version_conflict");
}

#[test]
fn freezing_stops_sessions_and_tokens_at_once() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let user = create_user(&admin, "leaver", None, false);
    let mut browser = app.browser();
    browser.login("leaver", "employee-pass-1");
    let token = browser
        .post("/api/v1/tokens", json!({"name": "ERP sync"}))
        .body["token"]
        .as_str()
        .unwrap()
        .to_string();
    let api = |token: &str| {
        read(
            reqwest::blocking::Client::new()
                .get(app.url("/api/v1/auth/me"))
                .bearer_auth(token)
                .send()
                .unwrap(),
        )
    };
    assert_eq!(api(&token).status, 200);

    let frozen = admin.post(&format!("/api/v1/users/{}/freeze", user["id"]), json!({}));
    assert_eq!(frozen.status, 200);
    assert_eq!(frozen.body["frozen"], true);
    assert_eq!(
        browser.get("/api/v1/auth/me").status,
        401,
        "the live session ended"
    );
    assert_eq!(api(&token).status, 401, "the token stopped working");
    let login = browser.login("leaver", "employee-pass-1");
    assert_eq!(login.error_code(), "account_frozen");

    assert_eq!(
        admin.post("/api/v1/users/1/freeze", json!({})).error_code(),
        "cannot_freeze_self"
    );
    let unfrozen = admin.post(&format!("/api/v1/users/{}/unfreeze", user["id"]), json!({}));
    assert_eq!(unfrozen.body["frozen"], false);
    assert_eq!(browser.login("leaver", "employee-pass-1").status, 200);

    let actions: Vec<String> = app
        .sql()
        .prepare("SELECT action FROM audit_log WHERE entity = 'users' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["user_created", "user_frozen", "user_unfrozen"]);
}

#[test]
fn the_last_administrator_cannot_be_removed() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let me = admin.get("/api/v1/users/1").body;
    let demote = admin.patch(
        "/api/v1/users/1",
        json!({"role_ids": [], "version": me["version"]}),
    );
    assert_eq!(demote.status, 409);
    assert_eq!(demote.error_code(), "last_administrator");

    let second = create_user(&admin, "deputy", None, true);
    let mut deputy = app.browser();
    deputy.login("deputy", "employee-pass-1");
    assert_eq!(
        deputy.post("/api/v1/users/1/freeze", json!({})).status,
        200,
        "with two, one may go"
    );
    let last = deputy.post(&format!("/api/v1/users/{}/freeze", second["id"]), json!({}));
    assert_eq!(last.error_code(), "cannot_freeze_self");
    let me = deputy.get(&format!("/api/v1/users/{}", second["id"])).body;
    let demote_self = deputy.patch(
        &format!("/api/v1/users/{}", second["id"]),
        json!({"role_ids": [], "version": me["version"]}),
    );
    assert_eq!(
        demote_self.error_code(),
        "last_administrator",
        "frozen admins do not count"
    );
}

#[test]
fn administrators_reset_passwords_and_end_sessions() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let user = create_user(&admin, "forgetful", None, false);
    let mut browser = app.browser();
    browser.login("forgetful", "employee-pass-1");
    let weak = admin.post(
        &format!("/api/v1/users/{}/password", user["id"]),
        json!({"password": "forgetful"}),
    );
    assert_eq!(weak.status, 422);
    let reset = admin.post(
        &format!("/api/v1/users/{}/password", user["id"]),
        json!({"password": "fresh-start-99"}),
    );
    assert_eq!(reset.status, 204);
    assert_eq!(browser.get("/api/v1/auth/me").status, 401);
    assert_eq!(
        app.browser().login("forgetful", "fresh-start-99").status,
        200
    );
    assert_eq!(
        admin
            .post(
                "/api/v1/users/999/password",
                json!({"password": "fresh-start-99"})
            )
            .status,
        404
    );
}

#[test]
fn tokens_act_as_their_owner_and_are_shown_once() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create_user(&admin, "integrator", None, false);
    let mut owner = app.browser();
    owner.login("integrator", "employee-pass-1");
    assert_eq!(
        owner.post("/api/v1/tokens", json!({"name": ""})).body["error"]["field_codes"]["name"],
        "required"
    );
    let created = owner.post("/api/v1/tokens", json!({"name": "Website form"}));
    assert_eq!(created.status, 201);
    let token = created.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("kehu_"));

    let client = reqwest::blocking::Client::new();
    let me = read(
        client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(me.body["username"], "integrator");
    let write = read(
        client
            .patch(app.url("/api/v1/auth/me"))
            .bearer_auth(&token)
            .json(&json!({"theme": "dark"}))
            .send()
            .unwrap(),
    );
    assert_eq!(write.status, 200, "no CSRF header needed with a token");
    let as_admin = read(
        client
            .get(app.url("/api/v1/users"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(
        as_admin.status, 403,
        "a token has its owner's rights, no more"
    );
    let forged = read(
        client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth("kehu_0000")
            .send()
            .unwrap(),
    );
    assert_eq!(forged.status, 401);

    let list = owner.get("/api/v1/tokens").body;
    assert_eq!(list["total"], 1);
    assert!(list["items"][0].get("token").is_none(), "never shown again");
    assert!(list["items"][0]["last_used_at"].is_string());
    let stored: Vec<u8> = app
        .sql()
        .query_row("SELECT token_hash FROM api_tokens", [], |r| r.get(0))
        .unwrap();
    assert_ne!(stored, token.as_bytes(), "stored hashed");

    let id = list["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        admin
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                None
            )
            .status,
        404,
        "not someone else's"
    );
    assert_eq!(
        owner
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                None
            )
            .status,
        204
    );
    let revoked = read(
        client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .unwrap(),
    );
    assert_eq!(revoked.status, 401);
}

#[test]
fn the_audit_log_filters_by_user_action_and_day() {
    let app = spawn_app();
    let admin = app.setup_admin();
    create_department(&admin, "Ops", None);
    app.browser().login(ADMIN, "wrong-password");
    let all = admin.get("/api/v1/audit-log");
    assert_eq!(all.status, 200);
    let actions: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["login_failed", "department_created", "setup"],
        "newest first"
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?action=login_failed").body["total"],
        1
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?user_id=1&action=setup").body["total"],
        1
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?entity=departments").body["total"],
        1
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        admin
            .get(&format!("/api/v1/audit-log?from={today}&to={today}"))
            .body["total"],
        3
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?to=2000-01-01").body["total"],
        0
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?from=yesterday").error_code(),
        "invalid_query"
    );
    assert_eq!(
        admin.get("/api/v1/audit-log?page=2&per_page=2").body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn administrators_back_up_and_download_from_the_browser() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let status = admin.get("/api/v1/system/status");
    assert_eq!(status.status, 200);
    assert_eq!(
        status.body["schema_version"],
        kehu::db::migrations::latest_version()
    );
    assert!(status.body["database_bytes"].as_u64().unwrap() > 0);
    assert!(
        status.body["database_path"]
            .as_str()
            .unwrap()
            .starts_with('/'),
        "absolute for the operator"
    );
    assert_eq!(status.body["backups"], json!([]));

    let created = admin.post("/api/v1/system/backups", json!({}));
    assert_eq!(created.status, 201, "{}", created.text);
    let name = created.body["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("kehu-manual-") && name.ends_with(".db"),
        "{name}"
    );
    assert_eq!(
        admin.get("/api/v1/system/status").body["backups"][0]["name"],
        name.as_str()
    );

    let download = admin
        .client
        .get(app.url(&format!("/api/v1/system/backups/{name}")))
        .send()
        .unwrap();
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&name));
    let bytes = download.bytes().unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let copy = app.dir.path().join("downloaded.db");
    std::fs::write(&copy, &bytes).unwrap();
    kehu::db::backup::verify_database(&copy).expect("the download is a sound Kehu database");

    std::fs::write(app.dir.path().join("secret.db"), b"not for download").unwrap();
    for bad in [
        "..%2Fsecret.db",
        "kehu-nothing.db",
        "..%2F..%2Fetc%2Fpasswd",
        "kehu.db",
    ] {
        assert_eq!(
            admin.get(&format!("/api/v1/system/backups/{bad}")).status,
            404,
            "{bad}"
        );
    }
    let actions: Vec<String> = app
        .sql()
        .prepare("SELECT action FROM audit_log WHERE action LIKE 'backup%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(actions, ["backup", "backup_downloaded"]);

    let employee = create_user(&admin, "clerk", None, false);
    let mut clerk = app.browser();
    clerk.login("clerk", "employee-pass-1");
    assert_eq!(employee["roles"], json!([]));
    assert_eq!(clerk.get("/api/v1/system/status").status, 403);
    assert_eq!(clerk.post("/api/v1/system/backups", json!({})).status, 403);
    assert_eq!(
        clerk.get(&format!("/api/v1/system/backups/{name}")).status,
        403
    );
}

/// The company settings setup asked once: read and changed by an administrator, every bad value
/// refused at once with nothing changed, the change in the operation log and in everyone's view
/// of the company; the default language reaches people who chose none.
#[test]
fn administrators_keep_the_company_settings_up_to_date() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let settings = admin.get("/api/v1/settings/company");
    assert_eq!(settings.status, 200, "{}", settings.text);
    assert_eq!(
        settings.body,
        json!({"name": "示例科技有限公司", "default_language": "zh-CN", "currency": "CNY",
               "timezone": "Asia/Shanghai", "date_format": "auto"})
    );
    let bad = admin.put(
        "/api/v1/settings/company",
        json!({"name": "", "default_language": "fr", "currency": "yuan",
               "timezone": "Mars/Olympus", "date_format": "DD.MM.YY", "colour": "red"}),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    let codes = &bad.body["error"]["field_codes"];
    for (field, code) in [
        ("name", "required"),
        ("default_language", "one_of"),
        ("currency", "invalid_currency"),
        ("timezone", "invalid_timezone"),
        ("date_format", "one_of"),
        ("colour", "not_editable"),
    ] {
        assert_eq!(codes[field], code, "{field}: {}", bad.text);
    }
    assert_eq!(admin.get("/api/v1/settings/company").body, settings.body);

    create_user(&admin, "rep", None, false);
    let rep = app.signed_in("rep");
    assert_eq!(rep.get("/api/v1/settings/company").status, 403);
    let changed = admin.put(
        "/api/v1/settings/company",
        json!({"name": "星河科技", "default_language": "en", "date_format": "YYYY/MM/DD",
               "timezone": "Asia/Hong_Kong"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["name"], "星河科技");
    assert_eq!(
        changed.body["currency"], "CNY",
        "what the body leaves out stays"
    );
    let seen = rep.get("/api/v1/auth/me").body;
    assert_eq!(seen["company"]["name"], "星河科技");
    assert_eq!(seen["company"]["date_format"], "YYYY/MM/DD");
    let refused = rep.post("/api/v1/customers", json!({}));
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .is_ascii(),
        "the new default language reaches who chose none: {}",
        refused.text
    );
    let log = admin.get("/api/v1/audit-log?filter[action]=company_settings_changed");
    assert_eq!(log.body["total"], 1, "{}", log.text);
    assert_eq!(
        log.body["items"][0]["detail"]["before"]["name"],
        "示例科技有限公司"
    );
    assert_eq!(
        log.body["items"][0]["detail"]["after"]["timezone"],
        "Asia/Hong_Kong"
    );
}
