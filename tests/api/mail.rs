//! Email (issue #21) against a real SMTP listener the test starts on a random port: the
//! administrator's settings (checked; the password sealed at rest, never shown), a test mail,
//! notifications a person chose to have emailed, an outage that loses nothing, scope on the
//! email channel, and the daily digest.

use crate::helpers::*;
use crate::smtp::Smtp;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::time::Duration;

fn settings_for(port: u16) -> Value {
    json!({"host": "127.0.0.1", "port": port, "security": "none",
           "from_address": "crm@example.com", "from_name": "Kehu"})
}

fn save(admin: &Browser, settings: Value) -> Answer {
    admin.put("/api/v1/settings/mail", settings)
}

/// A port nothing listens on.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A rep who wants mentions by email, and a customer of theirs.
fn rep_with_email(app: &TestApp, admin: &Browser, address: &str) -> (Browser, i64, i64) {
    let role = create_role(
        admin,
        "销售",
        &["customers"],
        &["view", "create", "edit"],
        "own",
    );
    let rep_id = create_user_with_roles(admin, "rep", None, &[role])["id"]
        .as_i64()
        .unwrap();
    let rep = app.signed_in("rep");
    let me = rep.patch(
        "/api/v1/auth/me",
        json!({"email": address, "email_kinds": ["mention"]}),
    );
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email_kinds"], json!(["mention"]));
    let customer = rep.post("/api/v1/customers", json!({"name": "宁波港务"}));
    assert_eq!(customer.status, 201, "{}", customer.text);
    (rep, rep_id, customer.body["id"].as_i64().unwrap())
}

fn mention(admin: &Browser, customer: i64, rep_id: i64, text: &str) {
    let said = admin.post(
        &format!("/api/v1/customers/{customer}/comments"),
        json!({"body": format!("@rep {text}"), "mentions": [rep_id]}),
    );
    assert_eq!(said.status, 201, "{}", said.text);
}

fn queue(app: &TestApp) -> Vec<(i64, Option<String>, bool, bool)> {
    let conn = app.sql();
    let mut stmt = conn
        .prepare("SELECT attempts, last_error, sent_at IS NOT NULL, failed_at IS NOT NULL FROM mail_queue ORDER BY id")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

#[test]
fn settings_are_checked_and_the_password_never_leaves_sealed() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let smtp = Smtp::start();
    assert_eq!(admin.get("/api/v1/settings/mail").body["configured"], false);
    let untested = admin.post("/api/v1/settings/mail/test", json!({"to": "a@example.com"}));
    assert_eq!(untested.status, 409);
    assert_eq!(untested.error_code(), "mail_not_configured");
    for (change, field, code) in [
        (json!({"port": 0}), "port", "between"),
        (json!({"security": "ssl3"}), "security", "one_of"),
        (
            json!({"from_address": "not an address"}),
            "from_address",
            "invalid_email",
        ),
        (json!({"host": "two words"}), "host", "invalid"),
        (json!({"username": "mailer"}), "password", "required"),
        (json!({"colour": "red"}), "colour", "not_editable"),
    ] {
        let mut body = settings_for(smtp.port);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let refused = save(&admin, body);
        assert_eq!(refused.status, 422, "{change}: {}", refused.text);
        assert_eq!(
            refused.body["error"]["field_codes"][field], code,
            "{change}"
        );
    }
    assert_eq!(
        admin.get("/api/v1/settings/mail").body["configured"],
        false,
        "nothing saved"
    );

    let mut sealed = settings_for(smtp.port);
    sealed["username"] = json!("mailer");
    sealed["password"] = json!("Secret-smtp-9");
    let saved = save(&admin, sealed);
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["settings"]["password_set"], true);
    assert!(!saved.text.contains("Secret-smtp-9"));
    let stored: String = app
        .sql()
        .query_row("SELECT value FROM settings WHERE key = 'mail'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(
        !stored.contains("Secret-smtp-9"),
        "sealed at rest: {stored}"
    );
    assert!(app.data_dir().join("secret.key").exists());
    let kept = save(
        &admin,
        json!({"host": "127.0.0.1", "port": smtp.port, "security": "none",
        "username": "mailer", "from_address": "crm@example.com"}),
    );
    assert_eq!(
        kept.body["settings"]["password_set"], true,
        "no password keeps it: {}",
        kept.text
    );

    assert_eq!(save(&admin, settings_for(smtp.port)).status, 200);
    let bad_to = admin.post("/api/v1/settings/mail/test", json!({"to": "nobody"}));
    assert_eq!(bad_to.body["error"]["field_codes"]["to"], "invalid_email");
    let tested = admin.post(
        "/api/v1/settings/mail/test",
        json!({"to": "boss@example.com"}),
    );
    assert_eq!(tested.status, 200, "{}", tested.text);
    let test = smtp.wait_for(&["boss@example.com"]);
    assert!(
        test.contains("Kehu test mail") || test.contains("测试邮件"),
        "{test}"
    );

    assert_eq!(save(&admin, settings_for(dead_port())).status, 200);
    let failed = admin.post(
        "/api/v1/settings/mail/test",
        json!({"to": "boss@example.com"}),
    );
    assert_eq!(failed.status, 502, "{}", failed.text);
    assert_eq!(failed.error_code(), "mail_failed");
    assert!(!failed.body["error"]["message"].as_str().unwrap().is_empty());
}

#[test]
fn a_mention_reaches_by_email_who_asked_and_an_outage_loses_nothing() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let smtp = Smtp::start();
    assert_eq!(save(&admin, settings_for(smtp.port)).status, 200);
    let (rep, rep_id, customer) = rep_with_email(&app, &admin, "rep@example.com");
    let refused = rep.patch("/api/v1/auth/me", json!({"email_kinds": ["gossip"]}));
    assert_eq!(
        refused.body["error"]["field_codes"]["email_kinds"],
        "one_of"
    );
    let refused = rep.patch("/api/v1/auth/me", json!({"email": "rep at example"}));
    assert_eq!(
        refused.body["error"]["field_codes"]["email"],
        "invalid_email"
    );

    mention(&admin, customer, rep_id, "请今天回电");
    let mail = smtp.wait_for(&["rep@example.com", "请今天回电"]);
    assert!(mail.contains("宁波港务"), "{mail}");
    wait_until("the mail to be marked sent", || queue(&app)[0].2);

    // The server is down: the mail waits, tried again later; saving the settings retries it.
    let down = dead_port();
    assert_eq!(save(&admin, settings_for(down)).status, 200);
    mention(&admin, customer, rep_id, "合同已寄出");
    wait_until("a failed attempt", || {
        queue(&app)
            .last()
            .is_some_and(|(attempts, error, sent, failed)| {
                *attempts == 1 && error.is_some() && !sent && !failed
            })
    });
    let back = Smtp::start();
    assert_eq!(save(&admin, settings_for(back.port)).status, 200);
    back.wait_for(&["rep@example.com", "合同已寄出"]);
    wait_until("both mails marked sent", || {
        let settings = admin.get("/api/v1/settings/mail").body;
        settings["queue"]["sent"] == 2 && settings["queue"]["waiting"] == 0
    });

    // Kinds not chosen are not emailed.
    let sent_before = back.count();
    let announced = admin.post(
        "/api/v1/announcements",
        json!({"title": "端午放假", "body": "放假三天", "everyone": true}),
    );
    assert_eq!(announced.status, 201, "{}", announced.text);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(back.count(), sent_before, "announcements were not chosen");
}

#[test]
fn nobody_is_emailed_about_a_record_they_can_no_longer_open() {
    let app = spawn_app();
    let admin = app.setup_admin();
    assert_eq!(save(&admin, settings_for(dead_port())).status, 200);
    let (_rep, rep_id, customer) = rep_with_email(&app, &admin, "rep@example.com");
    mention(&admin, customer, rep_id, "内部报价");
    wait_until("a failed attempt", || {
        queue(&app).first().is_some_and(|q| q.0 == 1)
    });
    // The customer goes to a colleague before the server is back.
    let other = create_user(&admin, "other", None, true)["id"]
        .as_i64()
        .unwrap();
    let record = admin.get(&format!("/api/v1/customers/{customer}")).body;
    let moved = admin.patch(
        &format!("/api/v1/customers/{customer}"),
        json!({"owner_id": other, "version": record["version"]}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text);
    let smtp = Smtp::start();
    assert_eq!(save(&admin, settings_for(smtp.port)).status, 200);
    wait_until("the mail to be given up", || {
        queue(&app).first().is_some_and(|q| q.3)
    });
    assert_eq!(queue(&app)[0].1.as_deref(), Some("out_of_scope"));
    assert_eq!(smtp.count(), 0);
}

#[test]
fn the_daily_digest_lists_what_is_due() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let smtp = Smtp::start();
    assert_eq!(save(&admin, settings_for(smtp.port)).status, 200);
    let task = admin.post(
        "/api/v1/tasks",
        json!({"title": "回访杭州客户", "due_at": "2020-01-01T09:00:00Z"}),
    );
    assert_eq!(task.status, 201, "{}", task.text);
    let me = admin.patch(
        "/api/v1/auth/me",
        json!({"email": "admin@example.com", "digest_hour": 0, "language": "en"}),
    );
    assert_eq!(me.status, 200, "{}", me.text);
    let refused = admin.patch("/api/v1/auth/me", json!({"digest_hour": 24}));
    assert_eq!(
        refused.body["error"]["field_codes"]["digest_hour"],
        "between"
    );
    // The digests are looked for as the server starts, then every few minutes.
    let config = app.config.clone();
    let app = start(app.stop(), config).expect("restarts");
    let digest = smtp.wait_for(&["admin@example.com", "回访杭州客户"]);
    assert!(digest.contains("Your to-do list today"), "{digest}");
    let sent_on: Option<String> = app
        .sql()
        .query_row(
            "SELECT digest_sent_on FROM users WHERE username = 'admin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sent_on.is_some(), "one digest a day");
}
