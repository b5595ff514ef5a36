//! Webhooks (issue #21) against a real HTTP receiver the test starts on a random port: bad
//! subscriptions refused, events signed with HMAC-SHA256 as documented, a failing receiver
//! retried with backoff and logged, a webhook switched off after ten failures in a row (the
//! administrators told), and no event about a record its creator may not see.

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got: its headers (lower-case names) and body.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// An HTTP receiver that answers every POST with `status` and keeps what it got (the
/// automation tests use it too).
pub struct Receiver {
    pub url: String,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(status: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let status = Arc::new(AtomicU16::new(status));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (answer, kept) = (status.clone(), got.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                let mut line = String::new();
                reader.read_line(&mut line).ok();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.trim_end().split_once(':') {
                        headers.insert(name.to_ascii_lowercase(), value.trim().to_string());
                    }
                }
                let length: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).ok();
                kept.lock().unwrap().push(Received {
                    headers,
                    body: String::from_utf8_lossy(&body).into(),
                });
                let code = answer.load(Ordering::SeqCst);
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} Answer\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Receiver { url, status, got }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        let started = Instant::now();
        while self.count() < count {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "waited for {count} requests"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.got.lock().unwrap().clone()
    }
}

fn subscribe(admin: &Browser, url: &str, entity: &str, events: Value) -> Value {
    let created = admin.post(
        "/api/v1/webhooks",
        json!({"name": "ERP", "url": url, "entity": entity, "events": events}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

fn deliveries(admin: &Browser, hook: i64) -> Vec<Value> {
    admin
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"))
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn events_are_signed_as_documented_and_bad_subscriptions_refused() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let receiver = Receiver::start(200);
    for (body, field, code) in [
        (
            json!({"name": "x", "url": "ftp://erp", "entity": "customers", "events": ["created"]}),
            "url",
            "invalid_url",
        ),
        (
            json!({"name": "x", "url": receiver.url, "entity": "planets", "events": ["created"]}),
            "entity",
            "one_of",
        ),
        (
            json!({"name": "x", "url": receiver.url, "entity": "customers", "events": ["exploded"]}),
            "events",
            "one_of",
        ),
        (
            json!({"name": "x", "url": receiver.url, "entity": "customers", "events": []}),
            "events",
            "one_of",
        ),
        (
            json!({"url": receiver.url, "entity": "customers", "events": ["created"]}),
            "name",
            "required",
        ),
    ] {
        let refused = admin.post("/api/v1/webhooks", body.clone());
        assert_eq!(refused.status, 422, "{body}");
        assert_eq!(refused.body["error"]["field_codes"][field], code, "{body}");
    }
    assert_eq!(admin.get("/api/v1/webhooks").body["items"], json!([]));
    let hook = subscribe(
        &admin,
        &receiver.url,
        "customers",
        json!(["created", "deleted"]),
    );
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_string();
    assert!(!admin.get("/api/v1/webhooks").text.contains(&secret));

    let customer = admin.post("/api/v1/customers", json!({"name": "温州眼镜"}));
    assert_eq!(customer.status, 201);
    let got = receiver.wait_for(1);
    let request = &got[0];
    let timestamp = &request.headers["x-kehu-timestamp"];
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let expected = ring::hmac::sign(&key, format!("{timestamp}.{}", request.body).as_bytes());
    assert_eq!(
        request.headers["x-kehu-signature"],
        format!("sha256={}", hex::encode(expected.as_ref()))
    );
    assert_eq!(request.headers["x-kehu-event"], "created");
    let payload: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(payload["entity"], "customers");
    assert_eq!(payload["record"]["name"], "温州眼镜");

    let id = customer.body["id"].as_i64().unwrap();
    let record = admin.get(&format!("/api/v1/customers/{id}")).body;
    admin.patch(
        &format!("/api/v1/customers/{id}"),
        json!({"version": record["version"], "notes": "改"}),
    );
    assert_eq!(admin.delete(&format!("/api/v1/customers/{id}")).status, 204);
    let got = receiver.wait_for(2);
    assert_eq!(
        got[1].headers["x-kehu-event"], "deleted",
        "updates were not subscribed"
    );
    let hook_id = hook["id"].as_i64().unwrap();
    wait_until("both delivered", || {
        deliveries(&admin, hook_id)
            .iter()
            .all(|d| d["status"] == "delivered")
    });
    let log = deliveries(&admin, hook_id);
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["status_code"], 200);
    assert!(log[0]["response_ms"].as_i64().is_some());
}

#[test]
fn a_failing_receiver_is_retried_then_switched_off() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let receiver = Receiver::start(500);
    let hook = subscribe(&admin, &receiver.url, "customers", json!(["created"]));
    let id = hook["id"].as_i64().unwrap();
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "台州汽配"}))
            .status,
        201
    );
    wait_until("a failed attempt", || {
        deliveries(&admin, id)
            .first()
            .is_some_and(|d| d["attempts"] == 1)
    });
    let first = &deliveries(&admin, id)[0];
    assert_eq!(first["status"], "waiting");
    assert_eq!(first["status_code"], 500);
    assert_eq!(first["last_error"], "HTTP 500");
    let next =
        chrono::DateTime::parse_from_rfc3339(first["next_attempt_at"].as_str().unwrap()).unwrap();
    let wait = next.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    assert!((20_000..=30_000).contains(&wait), "backs off 30 s: {wait}");

    receiver.status.store(200, Ordering::SeqCst);
    assert_eq!(
        admin
            .post(&format!("/api/v1/webhooks/{id}/retry"), json!({}))
            .status,
        200
    );
    wait_until("the retry delivered", || {
        deliveries(&admin, id)[0]["status"] == "delivered"
    });
    assert_eq!(deliveries(&admin, id)[0]["attempts"], 2);

    receiver.status.store(503, Ordering::SeqCst);
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "绍兴纺织"}))
            .status,
        201
    );
    for attempt in 1..=10 {
        wait_until("the next failure", || {
            deliveries(&admin, id)[0]["attempts"] == attempt
        });
        admin.post(&format!("/api/v1/webhooks/{id}/retry"), json!({}));
    }
    let listed = admin.get("/api/v1/webhooks").body;
    assert_eq!(
        listed["items"][0]["active"], false,
        "switched off after ten failures"
    );
    let told = admin.get("/api/v1/notifications").body;
    assert_eq!(told["items"][0]["kind"], "webhook_disabled");
    let before = receiver.count();
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "嘉兴电子"}))
            .status,
        201
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.count(),
        before,
        "a switched-off webhook sends nothing"
    );
    let back_on = admin.patch(
        &format!("/api/v1/webhooks/{id}"),
        json!({"active": true, "version": listed["items"][0]["version"]}),
    );
    assert_eq!(back_on.body["consecutive_failures"], 0, "{}", back_on.text);
}

#[test]
fn a_webhook_sees_only_what_its_creator_may() {
    let app = spawn_app();
    let admin = app.setup_admin();
    let receiver = Receiver::start(200);
    subscribe(&admin, &receiver.url, "customers", json!(["created"]));
    // The creator stops being an administrator; their webhook keeps their (now narrower) sight.
    let role = create_role(&admin, "销售", &["customers"], &["view", "create"], "own");
    let creator = admin.get("/api/v1/auth/me").body["id"].as_i64().unwrap();
    create_user(&admin, "deputy", None, true);
    let deputy_browser = app.signed_in("deputy");
    let current = deputy_browser.get(&format!("/api/v1/users/{creator}")).body;
    let demoted = deputy_browser.patch(
        &format!("/api/v1/users/{creator}"),
        json!({"role_ids": [role], "version": current["version"]}),
    );
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_eq!(
        deputy_browser
            .post("/api/v1/customers", json!({"name": "deputy's"}))
            .status,
        201
    );
    assert_eq!(
        admin
            .post("/api/v1/customers", json!({"name": "creator's"}))
            .status,
        201
    );
    let got = receiver.wait_for(1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        receiver.count(),
        1,
        "only the creator's own customer: {got:?}"
    );
    assert!(got[0].body.contains("creator's"));
}
