//! The flows an administrator designs, one per entity that takes part in approvals: ordered
//! steps, each approved by a role, the submitter's department head (n levels up) or named
//! colleagues, by any one of them or by all; a step may apply only when a field's value meets
//! a condition (amount above 100,000 → the finance director too).
//!
//! A flow is stored as the JSON of its steps. What it means for one record is decided once, at
//! submission (`resolve`): the steps that apply and the people each names, kept with the
//! instance, so editing a flow changes only what is submitted afterwards.

use crate::access::Rights;
use crate::auth::session::Admin;
use crate::db::Cached;
use crate::entity::conditions::{check_condition, holds, Condition};
use crate::entity::descriptor::Entity;
use crate::entity::{custom, registry, store};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{version_conflict, Body};
use crate::http::state::AppState;
use crate::org::actor;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const STEPS_MAX: usize = 10;
const NAME_MAX: usize = 60;
const NAMED_USERS_MAX: usize = 20;
/// How far up the department tree a "department head" step may look.
const LEVELS_MAX: u8 = 5;

/// Who approves a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Approver {
    /// Every active member of the role.
    Role { role_id: i64 },
    /// The head of the submitter's department (`levels` = 1), of its parent (2), and so on.
    Head { levels: u8 },
    /// The colleagues named.
    Users { user_ids: Vec<i64> },
}

/// Whether one approval of a step's approvers is enough, or every one must approve.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Any,
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub approver: Approver,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

pub struct Flow {
    pub steps: Vec<Step>,
    pub version: i64,
}

/// A step as an instance keeps it: what it was called, how it decides, and whom it named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResolvedStep {
    pub name: Option<String>,
    pub mode: Mode,
    pub approvers: Vec<i64>,
}

/// The entities whose records may go through a flow.
pub fn approvable() -> impl Iterator<Item = &'static Entity> {
    registry::entities()
        .iter()
        .copied()
        .filter(|e| e.approval.is_some())
}

fn approvable_entity(name: &str) -> Result<&'static Entity, AppError> {
    registry::find(name)
        .filter(|e| e.approval.is_some())
        .ok_or_else(AppError::not_found)
}

pub fn load(conn: &Connection, entity: &str) -> Result<Option<Flow>, AppError> {
    let row: Option<(String, i64)> = conn
        .one(
            "SELECT steps, version FROM approval_flows WHERE entity = ?1",
            [entity],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(steps, version)| {
        let steps = serde_json::from_str(&steps).map_err(AppError::internal)?;
        Ok(Flow { steps, version })
    })
    .transpose()
}

/// The steps of `flow` that apply to `record`, each with the people who may approve it: active
/// colleagues who can open the record, never the submitter. A step that names nobody refuses
/// the submission (422 on `flow`, naming the step), so a record never waits on no one.
pub fn resolve(
    conn: &Connection,
    entity: &Entity,
    flow: &Flow,
    record: &Value,
    submitter: &Rights,
) -> Result<Vec<ResolvedStep>, AppError> {
    let id = record["id"].as_i64().unwrap_or_default();
    let mut resolved = Vec::new();
    for (index, step) in flow.steps.iter().enumerate() {
        if step.condition.as_ref().is_some_and(|c| !holds(c, record)) {
            continue;
        }
        let mut approvers = Vec::new();
        for user in named(conn, &step.approver, submitter, index)? {
            if store::may_open(conn, user, entity.name, id)? && !approvers.contains(&user) {
                approvers.push(user);
            }
        }
        if approvers.is_empty() {
            return Err(AppError::field(
                "flow",
                "no_approver",
                json!({ "step": index + 1 }),
            ));
        }
        resolved.push(ResolvedStep {
            name: step.name.clone(),
            mode: step.mode,
            approvers,
        });
    }
    Ok(resolved)
}

/// Everyone a step's approver names, other than the submitter. A role deleted since the flow
/// was designed refuses the submission with its own reason.
fn named(
    conn: &Connection,
    approver: &Approver,
    submitter: &Rights,
    index: usize,
) -> Result<Vec<i64>, AppError> {
    let people = match approver {
        Approver::Role { role_id } => {
            if !exists(conn, "roles", *role_id)? {
                return Err(AppError::field(
                    "flow",
                    "flow_role_gone",
                    json!({ "step": index + 1 }),
                ));
            }
            let mut stmt = conn.prepare_cached(
                "SELECT user_id FROM user_roles WHERE role_id = ?1 ORDER BY user_id",
            )?;
            let ids = stmt
                .query_map([role_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            ids
        }
        Approver::Head { levels } => head(conn, submitter, *levels)?.into_iter().collect(),
        Approver::Users { user_ids } => user_ids.clone(),
    };
    Ok(people
        .into_iter()
        .filter(|&u| u != submitter.user_id)
        .collect())
}

/// The head of the department `levels` up from the submitter's own; where that department has
/// no head, or the submitter heads it, the head above stands in.
fn head(conn: &Connection, submitter: &Rights, levels: u8) -> Result<Option<i64>, AppError> {
    let mut department = submitter.department_id;
    let mut level = 1;
    while let Some(id) = department {
        let (head, parent): (Option<i64>, Option<i64>) = conn.one(
            "SELECT head_id, parent_id FROM departments WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if level >= levels {
            if let Some(head) = head.filter(|&h| h != submitter.user_id) {
                return Ok(Some(head));
            }
        }
        department = parent;
        level += 1;
    }
    Ok(None)
}

fn exists(conn: &Connection, table: &str, id: i64) -> rusqlite::Result<bool> {
    conn.one(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
        [id],
        |r| r.get(0),
    )
}

/// Reads and checks the steps of a flow for `entity`: every role and colleague they name must
/// exist (and the colleagues be active), every condition compare a field of the entity with a
/// value of its kind.
fn parse_steps(
    conn: &Connection,
    entity: &'static Entity,
    raw: Option<&Value>,
) -> Result<Vec<Step>, AppError> {
    let mut errors = FieldErrors::new();
    let steps: Vec<Step> = match raw {
        None | Some(Value::Null) => {
            return Err(AppError::field("steps", "required", json!({})));
        }
        Some(raw) => serde_json::from_value(raw.clone())
            .map_err(|_| AppError::field("steps", "invalid", json!({})))?,
    };
    if steps.is_empty() {
        errors.add("steps", "required", json!({}));
    } else if steps.len() > STEPS_MAX {
        errors.add("steps", "too_many", json!({ "max": STEPS_MAX }));
    }
    let schema = custom::schema(conn, entity)?;
    for (index, step) in steps.iter().enumerate() {
        let at = |part: &str| format!("steps.{index}.{part}");
        if let Some(name) = &step.name {
            if name.trim().chars().count() > NAME_MAX {
                errors.add(&at("name"), "too_long", json!({ "max": NAME_MAX }));
            }
        }
        check_approver(conn, &step.approver, &at("approver"), &mut errors)?;
        if let Some(condition) = &step.condition {
            check_condition(schema, condition, &at("condition"), &mut errors);
        }
    }
    errors.into_result()?;
    Ok(steps
        .into_iter()
        .map(|mut step| {
            step.name = step
                .name
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty());
            step
        })
        .collect())
}

fn check_approver(
    conn: &Connection,
    approver: &Approver,
    key: &str,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    match approver {
        Approver::Role { role_id } => {
            if !exists(conn, "roles", *role_id)? {
                errors.add(key, "not_found", json!({}));
            }
        }
        Approver::Head { levels } => {
            if !(1..=LEVELS_MAX).contains(levels) {
                errors.add(key, "between", json!({ "min": 1, "max": LEVELS_MAX }));
            }
        }
        Approver::Users { user_ids } => {
            if user_ids.is_empty() || user_ids.len() > NAMED_USERS_MAX {
                errors.add(
                    key,
                    "count_between",
                    json!({ "min": 1, "max": NAMED_USERS_MAX }),
                );
            }
            for &user in user_ids {
                if !crate::auth::users::is_active(conn, user)? {
                    errors.add(key, "unknown_user", json!({ "id": user }));
                }
            }
        }
    }
    Ok(())
}

fn flow_json(entity: &Entity, flow: Option<&Flow>, updated_at: Option<i64>) -> Value {
    json!({
        "entity": entity.name,
        "steps": flow.map(|f| json!(f.steps)),
        "version": flow.map(|f| f.version),
        "updated_at": updated_at.map(rfc3339),
        // A flow an entity's status depends on (contracts reach `active` only through it) may
        // be redesigned, not removed.
        "required": entity.approval.is_some_and(|a| a.status.is_some()),
    })
}

fn read_flow(conn: &Connection, entity: &'static Entity) -> Result<Value, AppError> {
    let updated_at: Option<i64> = conn
        .one(
            "SELECT updated_at FROM approval_flows WHERE entity = ?1",
            [entity.name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(flow_json(
        entity,
        load(conn, entity.name)?.as_ref(),
        updated_at,
    ))
}

/// `GET /approval-flows`: every entity that may have a flow, with its flow or `steps: null`.
pub async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            approvable()
                .map(|e| read_flow(conn, e))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

pub async fn get(
    state: web::Data<AppState>,
    _admin: Admin,
    entity: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let entity = approvable_entity(&entity)?;
    let flow = state.db.read(move |conn| read_flow(conn, entity)).await?;
    Ok(HttpResponse::Ok().json(flow))
}

/// `PUT /approval-flows/{entity}` `{"steps", "version"?}`: designs or redesigns the flow
/// (`version` is required once it exists). Instances already running keep their own steps.
pub async fn save(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    entity: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let entity = approvable_entity(&entity)?;
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["steps", "version"], &mut errors);
    errors.into_result()?;
    let who = actor(&req, &admin);
    let user_id = admin.id;
    let flow = state
        .db
        .write(move |tx| {
            let steps = parse_steps(tx, entity, body.0.get("steps"))?;
            let stored = serde_json::to_string(&steps).map_err(AppError::internal)?;
            let now = now_ms();
            match load(tx, entity.name)? {
                Some(current) => {
                    if body.0.get("version").and_then(Value::as_i64) != Some(current.version) {
                        return Err(version_conflict(read_flow(tx, entity)?));
                    }
                    tx.run(
                        "UPDATE approval_flows SET steps = ?1, version = version + 1,
                             updated_by = ?2, updated_at = ?3 WHERE entity = ?4",
                        params![stored, user_id, now, entity.name],
                    )?;
                }
                None => {
                    tx.run(
                        "INSERT INTO approval_flows (entity, steps, updated_by, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?4)",
                        params![entity.name, stored, user_id, now],
                    )?;
                }
            }
            crate::audit::record_for_entity(
                tx,
                &who,
                "approval_flow_saved",
                entity.name,
                json!({ "steps": steps }),
            )?;
            read_flow(tx, entity)
        })
        .await?;
    Ok(HttpResponse::Ok().json(flow))
}

/// `DELETE /approval-flows/{entity}`: the entity's records are no longer submitted. A required
/// flow (see `flow_json`) is refused with 409 `flow_required`.
pub async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    entity: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let entity = approvable_entity(&entity)?;
    if entity.approval.is_some_and(|a| a.status.is_some()) {
        return Err(AppError::conflict("flow_required"));
    }
    let who = actor(&req, &admin);
    state
        .db
        .write(move |tx| {
            let removed = tx.run(
                "DELETE FROM approval_flows WHERE entity = ?1",
                [entity.name],
            )?;
            if removed == 0 {
                return Err(AppError::not_found());
            }
            crate::audit::record_for_entity(
                tx,
                &who,
                "approval_flow_removed",
                entity.name,
                json!({}),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_from_their_json() {
        let steps: Vec<Step> = serde_json::from_value(json!([
            {"approver": {"kind": "head", "levels": 1}},
            {"name": "财务", "approver": {"kind": "users", "user_ids": [3]}, "mode": "all",
             "condition": {"field": "amount", "op": "gt", "value": 10000000}},
        ]))
        .unwrap();
        assert_eq!(steps[0].mode, Mode::Any);
        assert_eq!(steps[1].approver, Approver::Users { user_ids: vec![3] });
        let unknown: Result<Vec<Step>, _> =
            serde_json::from_value(json!([{"approver": {"kind": "role", "role_id": 1}, "who": 1}]));
        assert!(unknown.is_err());
    }
}
