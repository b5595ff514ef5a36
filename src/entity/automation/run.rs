//! Running rules: after a write, inside the writer's transaction (so a rule's work exists
//! exactly when the change that triggered it does), and on the clock for time conditions.
//!
//! A rule acts as the administrator who made it, through the same writes a request makes
//! (rights, the approval lock, validation, history, webhooks), so what it does is what that
//! person could have done by hand. Each rule runs in a savepoint: a rule whose action is
//! refused (its colleague frozen since, the record under approval) leaves nothing behind and
//! logs why, and the write that triggered it stands.
//!
//! A rule's own writes trigger rules again; chains end at `DEPTH_MAX`, where the rule that
//! would go deeper is logged as `depth_limit` instead of run, so two rules that undo each
//! other cannot loop.

use super::rules::{self, Action, Design, Trigger};
use super::Rule;
use crate::access::Rights;
use crate::audit::Actor;
use crate::db::Cached;
use crate::entity::conditions::holds;
use crate::entity::descriptor::{Entity, Kind};
use crate::entity::notifications::{self, Notice};
use crate::entity::{comments, custom, registry, store, webhooks};
use crate::http::error::AppError;
use crate::time::{now_ms, rfc3339};
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};
use std::cell::Cell;

/// How many rules deep a chain of rule-made writes may go.
pub const DEPTH_MAX: u8 = 5;
const DAY_MS: i64 = 86_400_000;
/// Records one time rule takes on in one pass; the rest wait for the next.
const TIMED_BATCH: i64 = 500;

thread_local! {
    /// How deep in a chain of rules this thread's current write is. A write and the rules it
    /// triggers run on one thread, inside one transaction.
    static DEPTH: Cell<u8> = const { Cell::new(0) };
}

/// One level deeper for as long as it lives.
struct Deeper(u8);

impl Deeper {
    fn enter() -> Deeper {
        let depth = DEPTH.get();
        DEPTH.set(depth + 1);
        Deeper(depth)
    }
}

impl Drop for Deeper {
    fn drop(&mut self) {
        DEPTH.set(self.0);
    }
}

/// Runs the rules a create (`before` = None) or an update triggers on `after`; answers whether
/// any of them changed the record, which the writer then reads again.
pub fn after_write(
    tx: &Connection,
    entity: &'static Entity,
    before: Option<&Value>,
    after: &Value,
) -> Result<bool, AppError> {
    let event = if before.is_some() {
        "updated"
    } else {
        "created"
    };
    let triggered: Vec<Rule> = super::active_rules(tx, entity.name)?
        .into_iter()
        .filter(|rule| triggers(&rule.design.trigger, before, after))
        .filter(|rule| conditions_hold(&rule.design, after))
        .collect();
    let id = after["id"].as_i64().unwrap_or_default();
    let mut changed = false;
    for rule in &triggered {
        changed |= run(tx, entity, rule, id, event)?;
    }
    Ok(changed)
}

/// Whether a write is what the trigger waits for.
fn triggers(trigger: &Trigger, before: Option<&Value>, after: &Value) -> bool {
    match (trigger, before) {
        (Trigger::Created {}, None) => true,
        (Trigger::Updated { field, to }, Some(before)) => match field {
            None => changed_fields(before, after),
            Some(field) => {
                let (old, new) = (&before[field.as_str()], &after[field.as_str()]);
                old != new && to.as_ref().is_none_or(|to| new == to)
            }
        },
        _ => false,
    }
}

/// Whether anything but the bookkeeping changed.
fn changed_fields(before: &Value, after: &Value) -> bool {
    let bookkeeping = ["version", "updated_at"];
    after.as_object().is_some_and(|fields| {
        fields
            .iter()
            .any(|(k, v)| !bookkeeping.contains(&k.as_str()) && before[k.as_str()] != *v)
    })
}

fn conditions_hold(design: &Design, record: &Value) -> bool {
    design.conditions.iter().all(|c| holds(c, record))
}

/// Runs one rule on a record in a savepoint and logs it; answers whether the record changed.
/// A refusal (4xx) is logged and undone; anything worse fails the whole write.
fn run(
    tx: &Connection,
    entity: &'static Entity,
    rule: &Rule,
    id: i64,
    event: &str,
) -> Result<bool, AppError> {
    let depth = DEPTH.get();
    if depth >= DEPTH_MAX {
        log(tx, rule, id, event, "depth_limit", &[], None, depth)?;
        return Ok(false);
    }
    let _deeper = Deeper::enter();
    tx.execute_batch("SAVEPOINT automation_rule")?;
    let mut done = Vec::new();
    match perform(tx, entity, rule, id, &mut done) {
        Ok(changed) => {
            tx.execute_batch("RELEASE automation_rule")?;
            log(tx, rule, id, event, "done", &done, None, depth)?;
            Ok(changed)
        }
        Err(error) if error.status.is_client_error() => {
            tx.execute_batch("ROLLBACK TO automation_rule; RELEASE automation_rule")?;
            log(tx, rule, id, event, "failed", &done, Some(&error), depth)?;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// The author's rights and the name the rule's writes go under in histories.
fn acting(tx: &Connection, rule: &Rule) -> Result<(Rights, Actor), AppError> {
    let author = rule
        .created_by
        .filter(|&a| crate::auth::users::is_active(tx, a).unwrap_or(false));
    let Some(author) = author else {
        return Err(AppError::conflict("rule_author_inactive"));
    };
    let actor = Actor {
        user_id: Some(author),
        username: Some(format!("{}{}", super::ACTOR_PREFIX, rule.name)),
        ip: None,
    };
    Ok((Rights::load(tx, author)?, actor))
}

/// Takes the rule's actions in order; `done` gathers what each did, for the run log.
fn perform(
    tx: &Connection,
    entity: &'static Entity,
    rule: &Rule,
    id: i64,
    done: &mut Vec<Value>,
) -> Result<bool, AppError> {
    let (rights, actor) = acting(tx, rule)?;
    let caller = store::Caller {
        rights: &rights,
        actor: &actor,
    };
    let entity = custom::schema(tx, entity)?;
    let mut changed = false;
    for action in &rule.design.actions {
        let current =
            store::fetch(tx, entity, &rights, id, false)?.ok_or_else(AppError::not_found)?;
        let outcome = match action {
            Action::Assign {
                user_id,
                department_id,
            } => {
                let owner = match (user_id, department_id) {
                    (Some(user), _) => *user,
                    (None, Some(department)) => next_in_turn(tx, rule, *department)?,
                    (None, None) => return Err(AppError::conflict("rule_invalid")),
                };
                if current["owner_id"] != owner {
                    changed = true;
                    update(tx, entity, &caller, &current, "owner_id", json!(owner))?;
                }
                json!({ "kind": "assign", "owner_id": owner })
            }
            Action::SetField { field, value } => {
                if current[field.as_str()] != *value {
                    changed = true;
                    update(tx, entity, &caller, &current, field, value.clone())?;
                }
                json!({ "kind": "set_field", "field": field })
            }
            Action::Notify {
                owner,
                user_ids,
                role_id,
                message,
            } => {
                let mut recipients = user_ids.clone();
                if let (true, Some(owner)) = (*owner, current["owner_id"].as_i64()) {
                    recipients.push(owner);
                }
                if let Some(role) = role_id {
                    recipients.extend(role_members(tx, *role)?);
                }
                let title = comments::record_title(tx, entity.name, id)?;
                let params = json!({ "rule": rule.name, "message": message, "title": title });
                let notice = Notice {
                    kind: "automation",
                    record: Some((entity.name, id)),
                    actor: None,
                    params: &params,
                };
                let notified = notifications::send(tx, &notice, &recipients)?;
                json!({ "kind": "notify", "notified": notified })
            }
            Action::Task {
                title,
                due_in_days,
                user_id,
            } => {
                let assignee = user_id
                    .or_else(|| current["owner_id"].as_i64())
                    .unwrap_or(rights.user_id);
                let task = create_task(tx, &caller, entity, id, title, *due_in_days, assignee)?;
                json!({ "kind": "task", "task_id": task, "assignee_id": assignee })
            }
            Action::Webhook { webhook_id } => {
                let rule_ref = json!({ "id": rule.id, "name": rule.name });
                let queued =
                    webhooks::record_for_rule(tx, *webhook_id, entity, &current, rule_ref)?;
                json!({ "kind": "webhook", "webhook_id": webhook_id, "queued": queued })
            }
        };
        done.push(outcome);
    }
    Ok(changed)
}

/// Changes one field of the record as a request would (the lock, the rights, the checks).
fn update(
    tx: &Connection,
    entity: &'static Entity,
    caller: &store::Caller,
    current: &Value,
    field: &str,
    value: Value,
) -> Result<(), AppError> {
    let mut body = Map::new();
    body.insert(field.to_string(), value);
    body.insert("version".into(), current["version"].clone());
    let id = current["id"].as_i64().unwrap_or_default();
    store::update(tx, entity, caller, id, &body).map(|_| ())
}

fn create_task(
    tx: &Connection,
    caller: &store::Caller,
    about: &Entity,
    id: i64,
    title: &str,
    due_in_days: i64,
    assignee: i64,
) -> Result<i64, AppError> {
    let tasks = registry::find(rules::TASKS).ok_or_else(AppError::not_found)?;
    let tasks = custom::schema(tx, tasks)?;
    let body = json!({
        "title": title.trim(), "assignee_id": assignee, "entity": about.name, "record_id": id,
        "due_at": rfc3339(now_ms() + due_in_days * DAY_MS),
    });
    let Value::Object(body) = body else {
        unreachable!("a JSON object literal")
    };
    let task = store::create(tx, tasks, caller, &body)?;
    Ok(task["id"].as_i64().unwrap_or_default())
}

fn role_members(tx: &Connection, role: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt =
        tx.prepare_cached("SELECT user_id FROM user_roles WHERE role_id = ?1 ORDER BY user_id")?;
    let members = stmt
        .query_map([role], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(members)
}

/// The department's next active member after the one this rule assigned last, round the
/// department in turn; 409 `department_empty` when nobody in it is active.
fn next_in_turn(tx: &Connection, rule: &Rule, department: i64) -> Result<i64, AppError> {
    let members: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM users WHERE department_id = ?1 AND frozen = 0 ORDER BY id",
        )?;
        let ids = stmt
            .query_map([department], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        ids
    };
    let last: Option<i64> = tx.one(
        "SELECT last_assignee FROM automation_rules WHERE id = ?1",
        [rule.id],
        |r| r.get(0),
    )?;
    let next = members
        .iter()
        .copied()
        .find(|&m| last.is_none_or(|l| m > l))
        .or_else(|| members.first().copied())
        .ok_or_else(|| AppError::conflict("department_empty"))?;
    tx.run(
        "UPDATE automation_rules SET last_assignee = ?1 WHERE id = ?2",
        params![next, rule.id],
    )?;
    Ok(next)
}

#[allow(clippy::too_many_arguments)]
fn log(
    tx: &Connection,
    rule: &Rule,
    record: i64,
    event: &str,
    status: &str,
    done: &[Value],
    error: Option<&AppError>,
    depth: u8,
) -> rusqlite::Result<()> {
    let error = error.map(|e| {
        let fields: Vec<Value> = e
            .fields
            .iter()
            .map(|f| json!({ "field": f.field, "code": f.code, "params": f.params }))
            .collect();
        json!({ "code": e.code, "message_key": e.message_key, "params": e.params, "fields": fields })
            .to_string()
    });
    tx.run(
        "INSERT INTO automation_runs (rule_id, record_id, event, status, actions, error, depth, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![rule.id, record, event, status, json!(done).to_string(), error, depth, now_ms()],
    )?;
    Ok(())
}

/// A time rule's record due now, and the moment (date or last follow-up) it fires for.
pub struct Due {
    rule: i64,
    record: i64,
    moment: String,
}

/// What the time rules have to do at `now`, read without holding the writer: up to
/// `TIMED_BATCH` records per rule that meet its time condition and have not fired for it.
pub fn due(conn: &Connection, now: i64, only: Option<i64>) -> Result<Vec<Due>, AppError> {
    let mut due = Vec::new();
    for rule in super::all_active_rules(conn)? {
        if !rule.design.trigger.is_timed() || only.is_some_and(|o| o != rule.id) {
            continue;
        }
        let Some(entity) = registry::find(&rule.entity) else {
            continue;
        };
        let Some((moment, window)) = time_condition(conn, entity, &rule.design.trigger, now)?
        else {
            continue;
        };
        let sql = format!(
            "SELECT t.id, CAST({moment} AS TEXT) FROM {table} t
             WHERE t.deleted_at IS NULL AND {window}
               AND NOT EXISTS (SELECT 1 FROM automation_fired f
                   WHERE f.rule_id = ?1 AND f.record_id = t.id AND f.moment = CAST({moment} AS TEXT))
             ORDER BY t.id LIMIT {TIMED_BATCH}",
            table = entity.name
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map([rule.id], |r| {
                Ok(Due {
                    rule: rule.id,
                    record: r.get(0)?,
                    moment: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        due.extend(rows);
    }
    Ok(due)
}

/// The column a time rule counts from and the condition a record meets at `now`, as SQL over
/// `t` (the field names are the descriptor's, checked when the rule was saved).
fn time_condition(
    conn: &Connection,
    entity: &Entity,
    trigger: &Trigger,
    now: i64,
) -> Result<Option<(String, String)>, AppError> {
    Ok(match trigger {
        Trigger::DateApproaches { field, days } => match entity.field(field).map(|f| f.kind) {
            Some(Kind::Date) => {
                let zone = crate::auth::users::company_zone(conn)?;
                let today = chrono::DateTime::from_timestamp_millis(now)
                    .unwrap_or_default()
                    .with_timezone(&zone)
                    .date_naive();
                let until = today + chrono::Days::new(u64::try_from(*days).unwrap_or_default());
                Some((
                    format!("t.{field}"),
                    format!("t.{field} BETWEEN '{today}' AND '{until}'"),
                ))
            }
            Some(Kind::DateTime) => Some((
                format!("t.{field}"),
                format!("t.{field} BETWEEN {now} AND {}", now + days * DAY_MS),
            )),
            _ => None,
        },
        Trigger::NoFollowup { days } => {
            let since = format!("coalesce(t.{}, t.created_at)", rules::LAST_FOLLOWUP);
            let window = format!("{since} <= {}", now - days * DAY_MS);
            Some((since, window))
        }
        _ => None,
    })
}

/// Fires what `due` found, once each (another pass may have fired it meanwhile); answers how
/// many rules ran.
pub fn fire(tx: &Connection, due: &[Due]) -> Result<usize, AppError> {
    let mut fired = 0;
    for item in due {
        let inserted = tx.run(
            "INSERT OR IGNORE INTO automation_fired (rule_id, record_id, moment) VALUES (?1, ?2, ?3)",
            params![item.rule, item.record, item.moment],
        )?;
        if inserted == 0 {
            continue;
        }
        let Some(rule) = super::load(tx, item.rule)?.filter(|r| r.active) else {
            continue;
        };
        let Some(entity) = registry::find(&rule.entity) else {
            continue;
        };
        let entity = custom::schema(tx, entity)?;
        let Some(record) = store::fetch(tx, entity, &Rights::system(), item.record, false)? else {
            continue;
        };
        if conditions_hold(&rule.design, &record) {
            let event = match rule.design.trigger {
                Trigger::NoFollowup { .. } => "no_followup",
                _ => "date_approaches",
            };
            run(tx, entity, &rule, item.record, event)?;
            fired += 1;
        }
    }
    Ok(fired)
}
