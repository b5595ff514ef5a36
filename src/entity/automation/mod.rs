//! Automation rules 自动化规则, a capability of the engine: an administrator tells Kehu what to
//! do when a record of any entity is created or changed (any field, one field, or one field
//! taking a value), or when a time condition holds for it (N days before a date field, N days
//! without a follow-up), and the rule's conditions hold on the record: assign an owner (a
//! colleague, or a department's members in turn), notify people, create a task, set a field,
//! or call a webhook. `rules` is what a rule says, `run` how it runs; every run is logged.

mod rules;
mod run;

pub use run::{after_write, DEPTH_MAX};

use crate::auth::session::Admin;
use crate::db::query::Total;
use crate::db::Cached;
use crate::entity::registry;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{Body, ListParams};
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::org::{actor, current_at, finish_change, remove_audited, ReadObject};
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rules::Design;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// What histories show as the writer of a rule's changes, before the rule's name.
pub const ACTOR_PREFIX: &str = "⚙ ";
/// How often the time rules are looked at.
const TIMED_EVERY: Duration = Duration::from_secs(300);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/automation-rules", web::get().to(list))
        .route("/automation-rules", web::post().to(create))
        .route("/automation-rules/{id}", web::get().to(get))
        .route("/automation-rules/{id}", web::patch().to(update))
        .route("/automation-rules/{id}", web::delete().to(remove))
        .route("/automation-rules/{id}/runs", web::get().to(runs))
        .route("/automation-rules/{id}/run", web::post().to(run_now));
}

/// A rule as it runs.
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub entity: String,
    pub design: Design,
    pub active: bool,
    pub created_by: Option<i64>,
}

const RULE_COLUMNS: &str = "id, name, entity, trigger, conditions, actions, active, created_by";

fn rule_of(row: &Row) -> rusqlite::Result<Rule> {
    let part = |i: usize| -> rusqlite::Result<Value> {
        serde_json::from_str(&row.get::<_, String>(i)?).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        })
    };
    let design = json!({ "trigger": part(3)?, "conditions": part(4)?, "actions": part(5)? });
    Ok(Rule {
        id: row.get(0)?,
        name: row.get(1)?,
        entity: row.get(2)?,
        design: serde_json::from_value(design).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
        })?,
        active: row.get(6)?,
        created_by: row.get(7)?,
    })
}

/// The entity's active rules, oldest first: what runs after each of its writes.
pub fn active_rules(conn: &Connection, entity: &str) -> rusqlite::Result<Vec<Rule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RULE_COLUMNS} FROM automation_rules WHERE entity = ?1 AND active = 1 ORDER BY id"
    ))?;
    let rules = stmt
        .query_map([entity], rule_of)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rules)
}

fn all_active_rules(conn: &Connection) -> rusqlite::Result<Vec<Rule>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RULE_COLUMNS} FROM automation_rules WHERE active = 1 ORDER BY id"
    ))?;
    let rules = stmt
        .query_map([], rule_of)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rules)
}

fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Rule>> {
    conn.one(
        &format!("SELECT {RULE_COLUMNS} FROM automation_rules WHERE id = ?1"),
        [id],
        rule_of,
    )
    .optional()
}

/// A rule as the API answers it, with how its runs went.
fn rule_json(conn: &Connection, id: i64) -> Result<Value, AppError> {
    conn.one(
        "SELECT r.id, r.name, r.entity, r.trigger, r.conditions, r.actions, r.active, r.version,
                r.created_by, r.created_at, r.updated_at,
                (SELECT display_name FROM users u WHERE u.id = r.created_by),
                EXISTS (SELECT 1 FROM users u WHERE u.id = r.created_by AND u.frozen = 0),
                (SELECT count(*) FROM automation_runs x WHERE x.rule_id = r.id AND x.status = 'done'),
                (SELECT count(*) FROM automation_runs x WHERE x.rule_id = r.id AND x.status <> 'done'),
                (SELECT max(created_at) FROM automation_runs x WHERE x.rule_id = r.id)
         FROM automation_rules r WHERE r.id = ?1",
        [id],
        |r| {
            let part = |i: usize| -> rusqlite::Result<Value> {
                Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
            };
            Ok(json!({
                "id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?, "entity": r.get::<_, String>(2)?,
                "trigger": part(3)?, "conditions": part(4)?, "actions": part(5)?,
                "active": r.get::<_, bool>(6)?, "version": r.get::<_, i64>(7)?,
                "created_by": r.get::<_, Option<i64>>(8)?, "created_at": rfc3339(r.get(9)?),
                "updated_at": rfc3339(r.get(10)?),
                "author": { "name": r.get::<_, Option<String>>(11)?, "active": r.get::<_, bool>(12)? },
                "runs": { "done": r.get::<_, i64>(13)?, "not_done": r.get::<_, i64>(14)? },
                "last_run_at": r.get::<_, Option<i64>>(15)?.map(rfc3339),
            }))
        },
    )
    .optional()?
    .ok_or_else(AppError::not_found)
}

async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            let mut stmt = conn.prepare("SELECT id FROM automation_rules ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            ids.into_iter()
                .map(|id| rule_json(conn, id))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "depth_max": DEPTH_MAX })))
}

async fn get(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let rule = state.db.read(move |conn| rule_json(conn, id)).await?;
    Ok(HttpResponse::Ok().json(rule))
}

/// A rule's body: `name`, `entity`, `trigger`, `conditions` and `actions` (all but conditions
/// required on create), and on update `active` and `version`. A change to any part of the
/// design is checked as a whole against the entity.
struct Draft {
    name: Option<String>,
    entity: Option<&'static str>,
    design: Option<(Value, Value, Value)>,
    active: Option<bool>,
    /// The caller takes the rule over: it runs as them from now on (for a rule whose author
    /// has left, which cannot run).
    take_over: bool,
}

impl Draft {
    fn parse(body: &Body, creating: bool) -> Result<Draft, AppError> {
        let mut errors = FieldErrors::new();
        let mut allowed = vec!["name", "entity", "trigger", "conditions", "actions"];
        if !creating {
            allowed.extend(["active", "take_over", "version"]);
        }
        body.refuse_others(&allowed, &mut errors);
        let wanted = |key: &str| creating || body.has(key);
        let name = wanted("name").then(|| body.required_text("name", rules::NAME_MAX, &mut errors));
        let entity = wanted("entity").then(|| {
            let found = body.text("entity").and_then(registry::find).map(|e| e.name);
            if found.is_none() {
                let options = registry::module_names().join(", ");
                errors.add("entity", "one_of", json!({ "options": options }));
            }
            found
        });
        let mut flag = |key: &str| match body.0.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                errors.add(key, "boolean", json!({}));
                None
            }
        };
        let (active, take_over) = (flag("active"), flag("take_over").unwrap_or(false));
        errors.into_result()?;
        let design_keys = ["trigger", "conditions", "actions"];
        let design = (creating || design_keys.iter().any(|k| body.has(k))).then(|| {
            let part = |k: &str| body.0.get(k).cloned().unwrap_or(Value::Null);
            (part("trigger"), part("conditions"), part("actions"))
        });
        Ok(Draft {
            name,
            entity: entity.flatten(),
            design,
            active,
            take_over,
        })
    }
}

/// Checks the design for `entity`; on update the parts the body leaves out are the rule's own.
fn checked_design(
    conn: &Connection,
    entity: &str,
    (trigger, conditions, actions): &(Value, Value, Value),
    current: Option<&Value>,
) -> Result<Design, AppError> {
    let entity = registry::find(entity).ok_or_else(AppError::not_found)?;
    let or_current = |given: &Value, key: &str| match (given, current) {
        (Value::Null, Some(current)) => current[key].clone(),
        _ => given.clone(),
    };
    rules::parse_design(
        conn,
        entity,
        Some(&or_current(trigger, "trigger")),
        Some(&or_current(conditions, "conditions")),
        Some(&or_current(actions, "actions")),
    )
}

fn stored(design: &Design) -> Result<[String; 3], AppError> {
    let text = |v: Result<String, serde_json::Error>| v.map_err(AppError::internal);
    Ok([
        text(serde_json::to_string(&design.trigger))?,
        text(serde_json::to_string(&design.conditions))?,
        text(serde_json::to_string(&design.actions))?,
    ])
}

/// Makes a rule by `author` from its design (`trigger`, `conditions`, `actions` as JSON),
/// checked as the API checks it; answers its id.
pub fn make(
    tx: &Connection,
    name: &str,
    entity: &str,
    design: &(Value, Value, Value),
    author: i64,
) -> Result<i64, AppError> {
    let [trigger, conditions, actions] = stored(&checked_design(tx, entity, design, None)?)?;
    tx.run(
        "INSERT INTO automation_rules (name, entity, trigger, conditions, actions, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![name, entity, trigger, conditions, actions, author, now_ms()],
    )?;
    Ok(tx.last_insert_rowid())
}

/// `POST /automation-rules`: 201 with the rule, active from now on.
async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let draft = Draft::parse(&Body::parse(body.into_inner())?, true)?;
    let (who, user) = (actor(&req, &admin), admin.id);
    let rule = state
        .db
        .write(move |tx| {
            let entity = draft.entity.ok_or_else(AppError::not_found)?;
            let design = draft.design.as_ref().ok_or_else(AppError::not_found)?;
            let name = draft.name.as_deref().unwrap_or_default();
            let id = make(tx, name, entity, design, user)?;
            let rule = rule_json(tx, id)?;
            crate::audit::record(tx, &who, "automation_rule_created", None, rule.clone())?;
            Ok(rule)
        })
        .await?;
    Ok(HttpResponse::Created().json(rule))
}

/// `PATCH /automation-rules/{id}` with `version`. Another entity needs a design that fits it,
/// so the whole design is checked again whenever the entity or any part of it changes.
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
    let (id, who, caller) = (id.into_inner(), actor(&req, &admin), admin.id);
    let rule = state
        .db
        .write(move |tx| {
            let current = current_at(tx, id, rule_json, version)?;
            if draft.take_over {
                tx.run("UPDATE automation_rules SET created_by = ?1 WHERE id = ?2", params![caller, id])?;
            }
            let entity = draft
                .entity
                .or_else(|| registry::find(current["entity"].as_str().unwrap_or_default()).map(|e| e.name))
                .ok_or_else(AppError::not_found)?;
            let design = match (&draft.design, draft.entity) {
                (Some(design), _) => Some(design.clone()),
                (None, Some(_)) => Some((Value::Null, Value::Null, Value::Null)),
                (None, None) => None,
            };
            if let Some(design) = design {
                let [trigger, conditions, actions] =
                    stored(&checked_design(tx, entity, &design, Some(&current))?)?;
                tx.run(
                    "UPDATE automation_rules SET entity = ?1, trigger = ?2, conditions = ?3, actions = ?4
                     WHERE id = ?5",
                    params![entity, trigger, conditions, actions, id],
                )?;
            }
            if let Some(name) = &draft.name {
                tx.run("UPDATE automation_rules SET name = ?1 WHERE id = ?2", params![name, id])?;
            }
            if let Some(active) = draft.active {
                tx.run("UPDATE automation_rules SET active = ?1 WHERE id = ?2", params![active, id])?;
            }
            finish_change(tx, ("automation_rules", id, rule_json), &who, "automation_rule_updated", current)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rule))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let object = ("automation_rules", id.into_inner(), rule_json as ReadObject);
    remove_audited(
        &state,
        actor(&req, &admin),
        object,
        "automation_rule_deleted",
    )
    .await
}

/// A logged refusal in words: the error's message and each field's, in the reader's language.
fn explained(state: &AppState, lang: crate::i18n::Lang, error: &Value) -> String {
    let key = error["message_key"].as_str().map_or_else(
        || format!("error.{}", error["code"].as_str().unwrap_or_default()),
        str::to_string,
    );
    let mut text = state.i18n.text(lang, &key, &error["params"]);
    for field in error["fields"].as_array().into_iter().flatten() {
        let code = field["code"].as_str().unwrap_or_default();
        let message = state
            .i18n
            .text(lang, &format!("field_error.{code}"), &field["params"]);
        text.push_str(&format!(
            " · {}: {message}",
            field["field"].as_str().unwrap_or_default()
        ));
    }
    text
}

/// `GET /automation-rules/{id}/runs`: the run log, newest first, `?status=` to narrow it.
async fn runs(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let paging = ListParams::parse(query.into_inner(), &["status"])?;
    let status = paging.text("status").map(str::to_string);
    if status
        .as_deref()
        .is_some_and(|s| !["done", "failed", "depth_limit"].contains(&s))
    {
        return Err(AppError::invalid_query("status"));
    }
    let id = id.into_inner();
    let lang = request_lang(&req, state.default_lang);
    let (per_page, offset) = (paging.per_page, paging.offset());
    let (total, mut items) = state
        .db
        .read(move |conn| {
            let entity: String = conn
                .one("SELECT entity FROM automation_rules WHERE id = ?1", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let filter = "rule_id = ?1 AND (?2 IS NULL OR status = ?2)";
            let total: i64 = conn.one(
                &format!("SELECT count(*) FROM automation_runs WHERE {filter}"),
                params![id, status],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT id, record_id, event, status, actions, error, depth, created_at
                 FROM automation_runs WHERE {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
            ))?;
            let items = stmt
                .query_map(params![id, status, per_page, offset], |r| {
                    let actions: Value = serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or_default();
                    let error: Option<Value> =
                        r.get::<_, Option<String>>(5)?.and_then(|e| serde_json::from_str(&e).ok());
                    Ok(json!({
                        "id": r.get::<_, i64>(0)?, "entity": entity, "record_id": r.get::<_, i64>(1)?,
                        "event": r.get::<_, String>(2)?, "status": r.get::<_, String>(3)?,
                        "actions": actions, "error": error, "depth": r.get::<_, i64>(6)?,
                        "created_at": rfc3339(r.get(7)?),
                    }))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((total, items))
        })
        .await?;
    for item in &mut items {
        if let Some(error) = item.get("error").filter(|e| !e.is_null()).cloned() {
            item["error"]["message"] = json!(explained(&state, lang, &error));
        }
    }
    Ok(HttpResponse::Ok().json(paging.answer(items, Total::exact(total))))
}

/// `POST /automation-rules/{id}/run`: checks a time rule now rather than at the next pass
/// (an administrator who has just made one wants to see it act). 409 `not_timed` for a rule
/// that runs on writes.
async fn run_now(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let timed = state
        .db
        .read(move |conn| {
            let rule = load(conn, id)?.ok_or_else(AppError::not_found)?;
            Ok(rule.design.trigger.is_timed())
        })
        .await?;
    if !timed {
        return Err(AppError::conflict("not_timed"));
    }
    let fired = fire_timed(&state, Some(id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "fired": fired })))
}

/// Reads what the time rules (or one of them) have due, then fires it in one write.
async fn fire_timed(state: &AppState, only: Option<i64>) -> Result<usize, AppError> {
    let now = now_ms();
    let due = state.db.read(move |conn| run::due(conn, now, only)).await?;
    if due.is_empty() {
        return Ok(0);
    }
    state.db.write(move |tx| run::fire(tx, &due)).await
}

/// The time rules' pass inside the server, at start and every few minutes.
pub async fn run_timed_rules(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(TIMED_EVERY);
    loop {
        interval.tick().await;
        match fire_timed(&state, None).await {
            Ok(0) => {}
            Ok(fired) => tracing::info!(fired, "time rules ran"),
            Err(e) => tracing::warn!(error = %e, "could not run the time rules"),
        }
    }
}
