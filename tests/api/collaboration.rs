//! Comments with @mentions and the notifications they send: in the list, and pushed live over
//! Server-Sent Events that resume without loss across a reconnect and a server restart.

use crate::helpers::*;
use crate::records::urlencode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

/// A sales team: a rep and a peer who see only their own customers, a manager who sees the
/// department's, all in one department; `outsider` in another department sees their own.
struct Team {
    app: TestApp,
    admin: Browser,
    rep: Browser,
    peer: Browser,
    manager: Browser,
    ids: std::collections::HashMap<&'static str, i64>,
}

fn team() -> Team {
    let app = spawn_app();
    let admin = app.setup_admin();
    let sales = create_department(&admin, "Sales", None)["id"]
        .as_i64()
        .unwrap();
    let actions = ["view", "create", "edit", "delete"];
    let modules = ["customers", "contacts", "followups"];
    let own = create_role(&admin, "rep", &modules, &actions, "own");
    let department = create_role(&admin, "manager", &modules, &actions, "department");
    let mut ids = std::collections::HashMap::new();
    for (name, role) in [
        ("rep", own),
        ("peer", own),
        ("manager", department),
        ("deputy", department),
    ] {
        let user = create_user_with_roles(&admin, name, Some(sales), &[role]);
        ids.insert(name, user["id"].as_i64().unwrap());
    }
    Team {
        rep: app.signed_in("rep"),
        peer: app.signed_in("peer"),
        manager: app.signed_in("manager"),
        admin,
        app,
        ids,
    }
}

fn customer(owner: &Browser, name: &str) -> i64 {
    let answer = owner.post("/api/v1/customers", json!({ "name": name }));
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["id"].as_i64().unwrap()
}

fn comment(author: &Browser, customer: i64, body: &str, mentions: &[i64]) -> Answer {
    author.post(
        &format!("/api/v1/customers/{customer}/comments"),
        json!({ "body": body, "mentions": mentions }),
    )
}

fn comments_stored(app: &TestApp) -> i64 {
    app.sql()
        .query_row("SELECT count(*) FROM comments", [], |r| r.get(0))
        .unwrap()
}

fn history_actions(browser: &Browser, customer: i64) -> Vec<String> {
    let history = browser.get(&format!("/api/v1/customers/{customer}/history"));
    assert_eq!(history.status, 200, "{}", history.text);
    history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_comment_mentions_only_colleagues_who_may_open_the_record() {
    let team = team();
    let acme = customer(&team.rep, "Acme Comments");
    let manager = team.ids["manager"];
    let said = comment(&team.rep, acme, "@manager please call them", &[manager]);
    assert_eq!(said.status, 201, "{}", said.text);
    assert_eq!(said.body["author"], "rep");
    assert_eq!(
        said.body["mentions"],
        json!([{"id": manager, "display_name": "manager"}])
    );
    assert_eq!(said.body["can_edit"], true);

    let bad: [(Value, &str, &str); 6] = [
        (
            json!({ "body": "hi", "mentions": [team.ids["peer"]] }),
            "mentions",
            "mention_cannot_see",
        ),
        (
            json!({ "body": "hi", "mentions": [99999] }),
            "mentions",
            "unknown_user",
        ),
        (
            json!({ "body": "hi", "mentions": ["manager"] }),
            "mentions",
            "invalid_id",
        ),
        (json!({ "body": "   " }), "body", "required"),
        (json!({ "body": "x".repeat(5001) }), "body", "too_long"),
        (
            json!({ "body": "hi", "pinned": true }),
            "pinned",
            "not_editable",
        ),
    ];
    for (body, field, code) in bad {
        let refused = team
            .rep
            .post(&format!("/api/v1/customers/{acme}/comments"), body.clone());
        assert_eq!(refused.status, 422, "{body}: {}", refused.text);
        assert_eq!(refused.body["error"]["field_codes"][field], code, "{body}");
        assert!(!refused.body["error"]["fields"][field]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let named = comment(&team.rep, acme, "hi", &[team.ids["peer"]]);
    assert!(
        named.body["error"]["fields"]["mentions"]
            .as_str()
            .unwrap()
            .contains("peer"),
        "the refusal names who may not see it: {}",
        named.text
    );
    assert_eq!(
        comments_stored(&team.app),
        1,
        "refused comments leave nothing"
    );

    let listed = team.peer.get(&format!("/api/v1/customers/{acme}/comments"));
    assert_eq!(listed.status, 404, "comments of a customer out of scope");
    let posted = comment(&team.peer, acme, "sneaky", &[]);
    assert_eq!(posted.status, 404, "a comment on a customer out of scope");
    let listed = team
        .manager
        .get(&format!("/api/v1/customers/{acme}/comments"));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["total"], 1);
    assert_eq!(listed.body["items"][0]["body"], "@manager please call them");
    assert_eq!(
        listed.body["items"][0]["can_edit"], false,
        "not the manager's comment"
    );
    assert!(history_actions(&team.manager, acme).contains(&"commented".to_string()));

    let told = team.manager.get("/api/v1/notifications");
    assert_eq!(told.body["total"], 1, "{}", told.text);
    assert_eq!(told.body["unread"], 1);
    let notice = &told.body["items"][0];
    assert_eq!(notice["kind"], "mention");
    assert_eq!(notice["entity"], "customers");
    assert_eq!(notice["record_id"], acme);
    assert_eq!(notice["actor"], "rep");
    assert!(
        notice["message"]
            .as_str()
            .unwrap()
            .contains("Acme Comments"),
        "{notice}"
    );
    assert_eq!(team.peer.get("/api/v1/notifications").body["total"], 0);
    assert_eq!(
        team.rep.get("/api/v1/notifications").body["total"],
        0,
        "nobody is told of their own comment"
    );

    let found = team
        .manager
        .get(&format!("/api/v1/search?q={}", urlencode("please call")));
    assert_eq!(
        found.body["comments"][0]["record_id"], acme,
        "{}",
        found.text
    );
    assert_eq!(found.body["comments"][0]["title"], "Acme Comments");
    let hidden = team
        .peer
        .get(&format!("/api/v1/search?q={}", urlencode("please call")));
    assert_eq!(
        hidden.body["comments"],
        json!([]),
        "search keeps to the scope"
    );
}

#[test]
fn a_comment_is_edited_by_its_author_in_time_and_removed_by_author_or_admin() {
    let team = team();
    let acme = customer(&team.rep, "Acme Edits");
    let (manager, deputy) = (team.ids["manager"], team.ids["deputy"]);
    let id = comment(&team.rep, acme, "first draft", &[manager]).body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/comments/{id}");

    let theirs = team.manager.patch(&path, json!({ "body": "rewritten" }));
    assert_eq!(theirs.status, 403, "{}", theirs.text);
    assert_eq!(theirs.error_code(), "not_comment_author");
    let outside = team.peer.patch(&path, json!({ "body": "rewritten" }));
    assert_eq!(
        outside.status, 404,
        "out of scope, a comment does not exist"
    );

    let edited = team.rep.patch(
        &path,
        json!({ "body": "second draft", "mentions": [manager, deputy] }),
    );
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["body"], "second draft");
    assert!(edited.body["edited_at"].is_string());
    let deputy_browser = team.app.signed_in("deputy");
    assert_eq!(
        deputy_browser.get("/api/v1/notifications").body["total"],
        1,
        "newly mentioned"
    );
    assert_eq!(
        team.manager.get("/api/v1/notifications").body["total"],
        1,
        "told once"
    );

    team.app
        .sql()
        .execute(
            "UPDATE comments SET created_at = created_at - 16 * 60000 WHERE id = ?1",
            [id],
        )
        .unwrap();
    let late = team.rep.patch(&path, json!({ "body": "third draft" }));
    assert_eq!(late.status, 403, "{}", late.text);
    assert_eq!(late.error_code(), "comment_edit_closed");
    assert!(late.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("15"));
    let listed = team.rep.get(&format!("/api/v1/customers/{acme}/comments"));
    assert_eq!(
        listed.body["items"][0]["body"], "second draft",
        "a refused edit changes nothing"
    );
    assert_eq!(listed.body["items"][0]["can_edit"], false);

    assert_eq!(team.manager.delete(&path).status, 403, "not the author");
    assert_eq!(team.rep.delete(&path).status, 204);
    assert_eq!(team.rep.delete(&path).status, 404, "already removed");
    let other = comment(&team.rep, acme, "another", &[]).body["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        team.admin
            .delete(&format!("/api/v1/comments/{other}"))
            .status,
        204
    );
    assert_eq!(
        team.rep
            .get(&format!("/api/v1/customers/{acme}/comments"))
            .body["total"],
        0
    );
    let actions = history_actions(&team.rep, acme);
    for action in ["commented", "comment_edited", "comment_deleted"] {
        assert!(
            actions.contains(&action.to_string()),
            "{action} in {actions:?}"
        );
    }
    let audit = team.admin.get("/api/v1/audit-log?action=comment_deleted");
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.body["total"], 2, "{}", audit.text);
}

#[test]
fn notifications_are_marked_read_and_keep_to_the_scope() {
    let team = team();
    let acme = customer(&team.rep, "Acme Notices");
    let manager = team.ids["manager"];
    for n in 0..3 {
        assert_eq!(
            comment(&team.rep, acme, &format!("note {n}"), &[manager]).status,
            201
        );
    }
    let all = team.manager.get("/api/v1/notifications");
    assert_eq!(
        (all.body["total"].clone(), all.body["unread"].clone()),
        (json!(3), json!(3))
    );
    let newest = all.body["items"][0]["id"].as_i64().unwrap();
    assert!(
        newest > all.body["items"][2]["id"].as_i64().unwrap(),
        "newest first"
    );
    let read = format!("/api/v1/notifications/{newest}/read");
    assert_eq!(
        team.peer.post(&read, json!({})).status,
        404,
        "someone else's"
    );
    assert_eq!(team.manager.post(&read, json!({})).status, 204);
    assert_eq!(
        team.manager.post(&read, json!({})).status,
        204,
        "reading twice is harmless"
    );
    let unread = team.manager.get("/api/v1/notifications?unread=true");
    assert_eq!(
        (unread.body["total"].clone(), unread.body["unread"].clone()),
        (json!(2), json!(2))
    );
    assert!(unread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["read"] == false));
    let marked = team
        .manager
        .post("/api/v1/notifications/read-all", json!({}));
    assert_eq!(marked.body["marked"], 2, "{}", marked.text);
    assert_eq!(team.manager.get("/api/v1/notifications").body["unread"], 0);

    for bad in ["unread=maybe", "bogus=1", "per_page=0"] {
        let refused = team.manager.get(&format!("/api/v1/notifications?{bad}"));
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
    assert_eq!(
        team.manager
            .post("/api/v1/notifications/0/read", json!({}))
            .status,
        404
    );

    // Once the record leaves the manager's sight, so do the notifications about it.
    assert_eq!(
        team.rep.delete(&format!("/api/v1/customers/{acme}")).status,
        204
    );
    assert_eq!(team.manager.get("/api/v1/notifications").body["total"], 0);
    let restore = team.rep.post(
        &format!("/api/v1/recycle-bin/customers/{acme}/restore"),
        json!({}),
    );
    assert_eq!(restore.status, 200);
    assert_eq!(team.manager.get("/api/v1/notifications").body["total"], 3);
}

/// One Server-Sent Event: its `event`, `id` and `data` fields.
#[derive(Debug)]
struct Event {
    kind: String,
    id: Option<i64>,
    data: Value,
}

/// The events of one open stream, read on their own thread as they arrive.
struct Stream(mpsc::Receiver<Event>);

impl Stream {
    fn open(browser: &Browser, url: &str, last_event_id: Option<i64>) -> Stream {
        let mut request = browser.client.get(url).timeout(Duration::from_secs(600));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().expect("stream opens");
        assert_eq!(response.status().as_u16(), 200);
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        let (sender, events) = mpsc::channel();
        std::thread::spawn(move || {
            let mut event = Event {
                kind: "message".into(),
                id: None,
                data: Value::Null,
            };
            for line in BufReader::new(response).lines() {
                let Ok(line) = line else { return };
                if line.is_empty() {
                    let done = std::mem::replace(
                        &mut event,
                        Event {
                            kind: "message".into(),
                            id: None,
                            data: Value::Null,
                        },
                    );
                    if done.data != Value::Null && sender.send(done).is_err() {
                        return;
                    }
                } else if let Some(kind) = line.strip_prefix("event: ") {
                    event.kind = kind.to_string();
                } else if let Some(id) = line.strip_prefix("id: ") {
                    event.id = id.parse().ok();
                } else if let Some(data) = line.strip_prefix("data: ") {
                    event.data = serde_json::from_str(data).unwrap();
                }
            }
        });
        Stream(events)
    }

    /// The next event of `kind`, skipping others; panics after ten seconds without one.
    fn next(&self, kind: &str) -> Event {
        loop {
            let event = self
                .0
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no {kind} event within 10 s"));
            if event.kind == kind {
                return event;
            }
        }
    }

    /// The stream ends (the server closed it) within ten seconds.
    fn ends(&self) {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            match self.0.recv_timeout(Duration::from_millis(200)) {
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                _ => continue,
            }
        }
        panic!("the stream is still open");
    }

    /// Nothing of `kind` arrives within a second.
    fn quiet(&self, kind: &str) {
        while let Ok(event) = self.0.recv_timeout(Duration::from_secs(1)) {
            assert_ne!(event.kind, kind, "unexpected {event:?}");
        }
    }
}

#[test]
fn the_stream_pushes_live_and_resumes_after_a_reconnect_and_a_restart() {
    let team = team();
    let acme = customer(&team.rep, "Acme Live");
    let manager = team.ids["manager"];
    let url = team.app.url("/api/v1/notifications/stream");
    let live = Stream::open(&team.manager, &url, None);
    assert_eq!(live.next("unread").data["unread"], 0);
    let bystander = Stream::open(&team.peer, &url, None);

    assert_eq!(comment(&team.rep, acme, "live one", &[manager]).status, 201);
    let first = live.next("notification");
    assert_eq!(first.data["kind"], "mention");
    assert_eq!(
        first.id,
        first.data["id"].as_i64(),
        "the event id is the notification's"
    );
    assert!(first.data["message"]
        .as_str()
        .unwrap()
        .contains("Acme Live"));
    assert_eq!(live.next("unread").data["unread"], 1);
    bystander.quiet("notification");

    for n in 0..2 {
        comment(&team.rep, acme, &format!("missed {n}"), &[manager]);
    }
    let resumed = Stream::open(&team.manager, &url, first.id);
    let (a, b) = (resumed.next("notification"), resumed.next("notification"));
    assert!(
        a.id > first.id && b.id > a.id,
        "after the last id seen, in order: {a:?} {b:?}"
    );
    assert!(a.data["message"].as_str().unwrap().contains("missed 0"));
    resumed.quiet("notification");
    let mut leaving = team.app.signed_in("deputy");
    let until_sign_out = Stream::open(&leaving, &url, None);
    until_sign_out.next("unread");
    assert_eq!(leaving.post("/api/v1/auth/logout", json!({})).status, 204);
    until_sign_out.next("signed_out");
    until_sign_out.ends();
    leaving.csrf = None;
    let refused = team.manager.get("/api/v1/notifications/stream?after=soon");
    assert_eq!(refused.status, 400, "{}", refused.text);

    // A restart: the streams end, the browser comes back with the last id it saw.
    let config = team.app.config.clone();
    let dir = team.app.stop();
    let app = start(dir, config).expect("restarts");
    let (rep, manager_browser) = (team.rep.at(&app.address), team.manager.at(&app.address));
    comment(&rep, acme, "after the restart", &[manager]);
    let back = Stream::open(
        &manager_browser,
        &app.url("/api/v1/notifications/stream"),
        b.id,
    );
    let after_restart = back.next("notification");
    assert!(after_restart.data["message"]
        .as_str()
        .unwrap()
        .contains("after the restart"));
    back.quiet("notification");
}

#[test]
fn an_announcement_reaches_its_audience_and_its_sender_sees_who_read_it() {
    let team = team();
    let (rep, peer) = (team.ids["rep"], team.ids["peer"]);
    let sent = team.manager.post(
        "/api/v1/announcements",
        json!({"title": "New price list", "body": "From Monday the 2027 prices apply.", "user_ids": [rep, peer]}),
    );
    assert_eq!(sent.status, 201, "{}", sent.text);
    let id = sent.body["id"].as_i64().unwrap();
    assert_eq!(sent.body["recipients"], 2);
    assert_eq!(sent.body["read_count"], 0);

    let told = team.rep.get("/api/v1/notifications");
    assert_eq!(
        told.body["items"][0]["kind"], "announcement",
        "{}",
        told.text
    );
    assert!(told.body["items"][0]["message"]
        .as_str()
        .unwrap()
        .contains("New price list"));
    let received = team.rep.get("/api/v1/announcements");
    assert_eq!(received.body["total"], 1, "{}", received.text);
    assert_eq!(received.body["items"][0]["read"], false);
    assert!(
        received.body["items"][0].get("read_count").is_none(),
        "a recipient sees no receipts"
    );
    assert_eq!(
        team.rep
            .get(&format!("/api/v1/announcements/{id}/receipts"))
            .status,
        404
    );

    let path = format!("/api/v1/announcements/{id}/read");
    assert_eq!(team.rep.post(&path, json!({})).status, 204);
    assert_eq!(
        team.rep.get("/api/v1/notifications").body["unread"],
        0,
        "its notification is read too"
    );
    assert_eq!(
        team.admin.post(&path, json!({})).status,
        404,
        "not a recipient"
    );
    let receipts = team
        .manager
        .get(&format!("/api/v1/announcements/{id}/receipts"));
    assert_eq!(receipts.status, 200, "{}", receipts.text);
    assert_eq!(receipts.body["read"][0]["display_name"], "rep");
    assert!(receipts.body["read"][0]["read_at"].is_string());
    assert_eq!(receipts.body["unread"][0]["display_name"], "peer");
    let seen = team.manager.get(&format!("/api/v1/announcements/{id}"));
    assert_eq!(
        (
            seen.body["recipients"].clone(),
            seen.body["read_count"].clone()
        ),
        (json!(2), json!(1))
    );
    let all = team.admin.get("/api/v1/announcements?box=sent");
    assert_eq!(
        all.body["total"], 1,
        "an administrator oversees every announcement"
    );

    let refused = team.rep.post(
        "/api/v1/announcements",
        json!({"title": "Hi", "body": "x", "everyone": true}),
    );
    assert_eq!(
        refused.status, 403,
        "a rep does not announce: {}",
        refused.text
    );
    let bad: [(Value, &str, &str); 5] = [
        (
            json!({"title": "", "body": "x", "everyone": true}),
            "title",
            "required",
        ),
        (json!({"title": "t", "body": "x"}), "audience", "required"),
        (
            json!({"title": "t", "body": "x", "role_ids": [9999]}),
            "role_ids",
            "not_found",
        ),
        (
            json!({"title": "t", "body": "x", "everyone": "yes"}),
            "everyone",
            "boolean",
        ),
        (
            json!({"title": "t", "body": "x", "user_ids": [team.ids["manager"]]}),
            "audience",
            "nobody",
        ),
    ];
    for (body, field, code) in bad {
        let answer = team.manager.post("/api/v1/announcements", body.clone());
        assert_eq!(answer.status, 422, "{body}: {}", answer.text);
        assert_eq!(answer.body["error"]["field_codes"][field], code, "{body}");
    }
    let other = create_department(&team.admin, "Service", None)["id"]
        .as_i64()
        .unwrap();
    let outside = team.manager.post(
        "/api/v1/announcements",
        json!({"title": "t", "body": "x", "department_ids": [other]}),
    );
    assert_eq!(
        outside.body["error"]["field_codes"]["department_ids"], "outside_reach",
        "{}",
        outside.text
    );
    let count: i64 = team
        .app
        .sql()
        .query_row("SELECT count(*) FROM announcements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1, "refused announcements leave nothing");
    let everyone = team.admin.post(
        "/api/v1/announcements",
        json!({"title": "Holiday", "body": "Closed on 1 May", "everyone": true}),
    );
    assert_eq!(
        everyone.body["recipients"], 4,
        "every active colleague but the sender: {}",
        everyone.text
    );
}
