//! Webhooks, a capability of the engine: an administrator subscribes a URL to the `created`,
//! `updated` and `deleted` events of any entity. Each event is written as a delivery in the
//! writer's own transaction (so an event exists exactly when its change does), then sent by the
//! delivery loop: a JSON POST signed with HMAC-SHA256 over `{timestamp}.{body}` with the
//! webhook's secret (headers `X-Kehu-Timestamp` and `X-Kehu-Signature: sha256=HEX`). A
//! receiver that does not answer 2xx is tried again, each wait twice the last, for a day; ten
//! failures in a row switch the webhook off and tell the administrators. Every attempt is in
//! the delivery log with its status and response time.
//!
//! A webhook sees what its creator may see: an event about a record outside their scope is not
//! sent.

use super::descriptor::Entity;
use super::notifications::{self, Notice};
use super::{registry, store};
use crate::access::{Action, Rights};
use crate::auth::session::Admin;
use crate::db::query::Total;
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{Body, ListParams};
use crate::http::state::AppState;
use crate::org::mail::backoff;
use crate::org::{actor, current_at, finish_change, remove_audited, secrets, ReadObject};
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const EVENTS: [&str; 3] = ["created", "updated", "deleted"];
/// Failures in a row that switch a webhook off.
const FAILURES_TO_DISABLE: i64 = 10;
const GIVE_UP_AFTER_MS: i64 = 86_400_000;
const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_secs(30);
const BATCH: i64 = 50;
const URL_MAX: usize = 2000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks", web::get().to(list))
        .route("/webhooks", web::post().to(create))
        .route("/webhooks/{id}", web::patch().to(update))
        .route("/webhooks/{id}", web::delete().to(remove))
        .route("/webhooks/{id}/deliveries", web::get().to(deliveries))
        .route("/webhooks/{id}/retry", web::post().to(retry));
}

/// Writes a delivery of `event` on `record` for every active webhook of the entity that
/// subscribes to it and whose creator may see the record. Runs in the writer's transaction.
pub fn record_event(
    conn: &Connection,
    entity: &Entity,
    event: &str,
    record: &Value,
) -> Result<(), AppError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, created_by FROM webhooks
         WHERE entity = ?1 AND active = 1 AND EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?2)",
    )?;
    let hooks = stmt
        .query_map(params![entity.name, event], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (hook, creator) in hooks {
        queue(conn, (hook, creator), entity, event, record, None)?;
    }
    Ok(())
}

/// Writes a delivery of `record` to webhook `hook` for an automation rule (`rule` is its id and
/// name), as the `automation` event. Answers whether it was queued: not when the webhook is off
/// or its creator may not see the record.
pub fn record_for_rule(
    conn: &Connection,
    hook: i64,
    entity: &Entity,
    record: &Value,
    rule: Value,
) -> Result<bool, AppError> {
    let creator: Option<Option<i64>> = conn
        .one(
            "SELECT created_by FROM webhooks WHERE id = ?1 AND entity = ?2 AND active = 1",
            params![hook, entity.name],
            |r| r.get(0),
        )
        .optional()?;
    match creator {
        Some(creator) => queue(
            conn,
            (hook, creator),
            entity,
            "automation",
            record,
            Some(rule),
        ),
        None => Ok(false),
    }
}

/// Writes one delivery, when the webhook's creator may see the record; answers whether it did.
fn queue(
    conn: &Connection,
    (hook, creator): (i64, Option<i64>),
    entity: &Entity,
    event: &str,
    record: &Value,
    rule: Option<Value>,
) -> Result<bool, AppError> {
    let Some(creator) = creator else {
        return Ok(false);
    };
    let id = record["id"].as_i64().unwrap_or_default();
    let rights = Rights::load(conn, creator)?;
    let sees = rights.can(entity.name, Action::View)
        && (event == "deleted" || store::is_visible(conn, &rights, entity.name, id)?);
    if !sees {
        return Ok(false);
    }
    let now = now_ms();
    let mut payload = json!({
        "event": event, "entity": entity.name, "occurred_at": rfc3339(now), "record": record,
    });
    if let Some(rule) = rule {
        payload["rule"] = rule;
    }
    conn.run(
        "INSERT INTO webhook_deliveries (webhook_id, event, record_id, payload, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![hook, event, id, payload.to_string(), now],
    )?;
    Ok(true)
}

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(tag.as_ref()))
}

fn hook_json(row: &rusqlite::Row) -> rusqlite::Result<Value> {
    let events: Value = serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default();
    Ok(json!({
        "id": row.get::<_, i64>(0)?, "name": row.get::<_, String>(1)?, "url": row.get::<_, String>(2)?,
        "entity": row.get::<_, String>(3)?, "events": events, "active": row.get::<_, bool>(5)?,
        "consecutive_failures": row.get::<_, i64>(6)?, "version": row.get::<_, i64>(7)?,
        "created_at": rfc3339(row.get(8)?), "updated_at": rfc3339(row.get(9)?),
        "waiting": row.get::<_, i64>(10)?, "delivered": row.get::<_, i64>(11)?, "failed": row.get::<_, i64>(12)?,
    }))
}

const HOOK_COLUMNS: &str = "w.id, w.name, w.url, w.entity, w.events, w.active, w.consecutive_failures, \
     w.version, w.created_at, w.updated_at, \
     (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered_at IS NULL AND d.failed_at IS NULL), \
     (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered_at IS NOT NULL), \
     (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.failed_at IS NOT NULL)";

fn one(conn: &Connection, id: i64) -> Result<Value, AppError> {
    conn.one(
        &format!("SELECT {HOOK_COLUMNS} FROM webhooks w WHERE w.id = ?1"),
        [id],
        hook_json,
    )
    .optional()?
    .ok_or_else(AppError::not_found)
}

async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {HOOK_COLUMNS} FROM webhooks w ORDER BY w.id"
            ))?;
            let items = stmt
                .query_map([], hook_json)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "events": EVENTS })))
}

/// The fields a create or update sets, checked: `name`, `url` (http or https), `entity`, and
/// `events` (some of `EVENTS`), each required on create.
struct Draft {
    name: Option<String>,
    url: Option<String>,
    entity: Option<&'static str>,
    events: Option<Vec<String>>,
    active: Option<bool>,
}

impl Draft {
    fn parse(body: &Body, creating: bool) -> Result<Draft, AppError> {
        let mut errors = FieldErrors::new();
        let mut allowed = vec!["name", "url", "entity", "events"];
        if !creating {
            allowed.extend(["active", "version"]);
        }
        body.refuse_others(&allowed, &mut errors);
        let wanted = |key: &str| creating || body.has(key);
        let name = wanted("name").then(|| body.required_text("name", 100, &mut errors));
        let url = wanted("url").then(|| {
            let url = body.required_text("url", URL_MAX, &mut errors);
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !url.is_empty() && (!scheme_ok || url.contains(char::is_whitespace)) {
                errors.add("url", "invalid_url", json!({}));
            }
            url
        });
        let entity = wanted("entity").then(|| {
            let found = body.text("entity").and_then(registry::find).map(|e| e.name);
            if found.is_none() {
                errors.add(
                    "entity",
                    "one_of",
                    json!({ "options": registry::module_names().join(", ") }),
                );
            }
            found
        });
        let events = wanted("events").then(|| {
            let events: Option<Vec<String>> =
                body.0.get("events").and_then(Value::as_array).map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                });
            match events {
                Some(events)
                    if !events.is_empty()
                        && events.iter().all(|e| EVENTS.contains(&e.as_str())) =>
                {
                    events
                }
                _ => {
                    errors.add("events", "one_of", json!({ "options": EVENTS.join(", ") }));
                    Vec::new()
                }
            }
        });
        let active = match body.0.get("active") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                errors.add("active", "boolean", json!({}));
                None
            }
        };
        errors.into_result()?;
        Ok(Draft {
            name,
            url,
            entity: entity.flatten(),
            events,
            active,
        })
    }
}

/// `POST /webhooks`: 201 with the webhook and its signing `secret`, shown this once.
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let draft = Draft::parse(&Body::parse(body.into_inner())?, true)?;
    let secret = secrets::random_hex(32)?;
    let sealed = secrets::seal(&secrets::key(state.config.data_dir())?, &secret)?;
    let who = actor(&req, &admin);
    let user = admin.id;
    let mut created = state
        .db
        .write(move |tx| {
            let now = now_ms();
            tx.run(
                "INSERT INTO webhooks (name, url, sealed_secret, entity, events, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![draft.name, draft.url, sealed, draft.entity, json!(draft.events).to_string(), user, now],
            )?;
            let id = tx.last_insert_rowid();
            let hook = one(tx, id)?;
            crate::audit::record(tx, &who, "webhook_created", None, hook.clone())?;
            Ok(hook)
        })
        .await?;
    created["secret"] = json!(secret);
    Ok(HttpResponse::Created().json(created))
}

/// `PATCH /webhooks/{id}` with `version`: switching a webhook back on clears its failures.
async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    let version = body.version(&mut errors);
    errors.into_result()?;
    let draft = Draft::parse(&body, false)?;
    let (id, who) = (id.into_inner(), actor(&req, &admin));
    let hook = state
        .db
        .write(move |tx| {
            let current = current_at(tx, id, one, version)?;
            let sets = [
                ("name", draft.name.map(Value::from)),
                ("url", draft.url.map(Value::from)),
                ("entity", draft.entity.map(Value::from)),
                ("events", draft.events.map(|e| Value::from(json!(e).to_string()))),
            ];
            for (column, value) in sets {
                if let Some(Value::String(value)) = value {
                    // `column` is one of the literal names above, never request text.
                    tx.run(&format!("UPDATE webhooks SET {column} = ?1 WHERE id = ?2"), params![value, id])?;
                }
            }
            if let Some(active) = draft.active {
                tx.run(
                    "UPDATE webhooks SET active = ?1, consecutive_failures = CASE WHEN ?1 THEN 0 ELSE consecutive_failures END
                     WHERE id = ?2",
                    params![active, id],
                )?;
            }
            finish_change(tx, ("webhooks", id, one), &who, "webhook_updated", current)
        })
        .await?;
    Ok(HttpResponse::Ok().json(hook))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let object = ("webhooks", id.into_inner(), one as ReadObject);
    remove_audited(&state, actor(&req, &admin), object, "webhook_deleted").await
}

/// `GET /webhooks/{id}/deliveries`: the delivery log, newest first.
async fn deliveries(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let paging = ListParams::parse(query.into_inner(), &[])?;
    let id = id.into_inner();
    let answer = state
        .db
        .read(move |conn| {
            one(conn, id)?;
            let total: i64 = conn.one("SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?1", [id], |r| r.get(0))?;
            let mut stmt = conn.prepare(
                "SELECT id, event, record_id, attempts, status_code, response_ms, last_error, delivered_at,
                        failed_at, next_attempt_at, created_at
                 FROM webhook_deliveries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
            )?;
            let items = stmt
                .query_map(params![id, paging.per_page, paging.offset()], |r| {
                    let (delivered, failed): (Option<i64>, Option<i64>) = (r.get(7)?, r.get(8)?);
                    let status = match (delivered, failed) {
                        (Some(_), _) => "delivered",
                        (_, Some(_)) => "failed",
                        _ => "waiting",
                    };
                    Ok(json!({
                        "id": r.get::<_, i64>(0)?, "event": r.get::<_, String>(1)?,
                        "record_id": r.get::<_, Option<i64>>(2)?, "attempts": r.get::<_, i64>(3)?,
                        "status_code": r.get::<_, Option<i64>>(4)?, "response_ms": r.get::<_, Option<i64>>(5)?,
                        "last_error": r.get::<_, Option<String>>(6)?, "status": status,
                        "delivered_at": delivered.map(rfc3339), "next_attempt_at": rfc3339(r.get(9)?),
                        "created_at": rfc3339(r.get(10)?),
                    }))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(paging.answer(items, Total::exact(total)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /webhooks/{id}/retry`: every waiting delivery of the webhook is due now (the receiver
/// is fixed and nobody wants to wait out the backoff).
async fn retry(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let hook = state
        .db
        .write(move |tx| {
            one(tx, id)?;
            tx.run(
                "UPDATE webhook_deliveries SET next_attempt_at = ?1
                 WHERE webhook_id = ?2 AND delivered_at IS NULL AND failed_at IS NULL",
                params![now_ms(), id],
            )?;
            one(tx, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(hook))
}

/// A delivery due to be sent, with what sending it needs.
struct Due {
    id: i64,
    webhook: i64,
    name: String,
    url: String,
    sealed_secret: String,
    event: String,
    payload: String,
    attempts: i64,
    created_at: i64,
}

fn due(conn: &Connection, now: i64) -> rusqlite::Result<Vec<Due>> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, w.id, w.name, w.url, w.sealed_secret, d.event, d.payload, d.attempts, d.created_at
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_attempt_at <= ?1 AND w.active = 1
         ORDER BY d.next_attempt_at, d.id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now, BATCH], |r| {
            Ok(Due {
                id: r.get(0)?,
                webhook: r.get(1)?,
                name: r.get(2)?,
                url: r.get(3)?,
                sealed_secret: r.get(4)?,
                event: r.get(5)?,
                payload: r.get(6)?,
                attempts: r.get(7)?,
                created_at: r.get(8)?,
            })
        })?
        .collect();
    rows
}

/// One attempt's outcome: the receiver's status (if it answered) and the time it took.
struct Attempt {
    status: Option<u16>,
    millis: i64,
    error: Option<String>,
}

/// Posts one delivery (blocking).
fn post(delivery: &Due, secret: &str) -> Attempt {
    let timestamp = now_ms() / 1000;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let started = Instant::now();
    let sent = agent
        .post(&delivery.url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "Kehu-Webhook/1")
        .header("X-Kehu-Event", &delivery.event)
        .header("X-Kehu-Delivery", &delivery.id.to_string())
        .header("X-Kehu-Timestamp", &timestamp.to_string())
        .header(
            "X-Kehu-Signature",
            &signature(secret, timestamp, &delivery.payload),
        )
        .send(delivery.payload.as_str());
    let millis = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
            Attempt {
                status: Some(status),
                millis,
                error,
            }
        }
        Err(error) => Attempt {
            status: None,
            millis,
            error: Some(error.to_string()),
        },
    }
}

/// Notes an attempt: delivered, or tried again later (given up after a day), and the webhook
/// switched off after `FAILURES_TO_DISABLE` failures in a row.
fn settle(tx: &Connection, delivery: &Due, attempt: &Attempt) -> Result<(), AppError> {
    let now = now_ms();
    let attempts = delivery.attempts + 1;
    let status = attempt.status.map(i64::from);
    if attempt.error.is_none() {
        tx.run(
            "UPDATE webhook_deliveries SET attempts = ?1, status_code = ?2, response_ms = ?3, last_error = NULL,
                 delivered_at = ?4 WHERE id = ?5",
            params![attempts, status, attempt.millis, now, delivery.id],
        )?;
        tx.run(
            "UPDATE webhooks SET consecutive_failures = 0 WHERE id = ?1",
            [delivery.webhook],
        )?;
        return Ok(());
    }
    let give_up = now - delivery.created_at >= GIVE_UP_AFTER_MS;
    tx.run(
        "UPDATE webhook_deliveries SET attempts = ?1, status_code = ?2, response_ms = ?3, last_error = ?4,
             next_attempt_at = ?5, failed_at = CASE WHEN ?6 THEN ?7 END WHERE id = ?8",
        params![attempts, status, attempt.millis, attempt.error, now + backoff(attempts), give_up, now, delivery.id],
    )?;
    let failures: i64 = tx.one(
        "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = ?1
         RETURNING consecutive_failures",
        [delivery.webhook],
        |r| r.get(0),
    )?;
    if failures >= FAILURES_TO_DISABLE {
        tx.run(
            "UPDATE webhooks SET active = 0 WHERE id = ?1 AND active = 1",
            [delivery.webhook],
        )?;
        let admins = administrators(tx)?;
        let params = json!({ "name": delivery.name, "failures": failures });
        let notice = Notice {
            kind: "webhook_disabled",
            record: None,
            actor: None,
            params: &params,
        };
        notifications::send(tx, &notice, &admins)?;
    }
    Ok(())
}

fn administrators(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(
        "SELECT ur.user_id FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.builtin = 'administrator'",
    )?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect();
    ids
}

/// Sends what is due now.
async fn deliver_due(state: &web::Data<AppState>) -> Result<(), AppError> {
    let batch = state.db.read(|conn| Ok(due(conn, now_ms())?)).await?;
    if batch.is_empty() {
        return Ok(());
    }
    let key = secrets::key(state.config.data_dir())?;
    for delivery in batch {
        let secret = secrets::open(&key, &delivery.sealed_secret);
        let (delivery, attempt) = web::block(move || {
            let attempt = match secret {
                Some(secret) => post(&delivery, &secret),
                None => Attempt {
                    status: None,
                    millis: 0,
                    error: Some("the signing secret cannot be read".into()),
                },
            };
            (delivery, attempt)
        })
        .await
        .map_err(AppError::internal)?;
        state
            .db
            .write(move |tx| settle(tx, &delivery, &attempt))
            .await?;
    }
    Ok(())
}

/// The delivery loop: wakes at each new delivery (and every half minute, for retries) until the
/// server stops.
pub async fn deliver_webhooks(state: web::Data<AppState>) {
    let mut queued = state.db.memo().watch("webhook_deliveries");
    let mut closing = state.closing.subscribe();
    loop {
        if let Err(error) = deliver_due(&state).await {
            tracing::warn!(%error, "could not deliver the webhooks");
        }
        let woken = Box::pin(queued.changed());
        let timer = Box::pin(actix_web::rt::time::sleep(POLL));
        let stopping = Box::pin(closing.changed());
        if let Either::Right(_) = select(select(woken, timer), stopping).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"Jefe");
        let tag = ring::hmac::sign(&key, b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag.as_ref()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let signed = signature("Jefe", 1_700_000_000, "{}");
        let expected = ring::hmac::sign(&key, b"1700000000.{}");
        assert_eq!(signed, format!("sha256={}", hex::encode(expected.as_ref())));
    }
}
