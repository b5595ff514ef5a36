//! A record's way through its flow. Submitting takes a snapshot of the flow (the steps that
//! apply and whom each names, `flows::resolve`) and locks the record; each step waits for one
//! or all of its approvers; a rejection, or the submitter withdrawing, ends it and unlocks the
//! record, which may then be corrected and submitted again. An approver may hand their turn to
//! a colleague. Every move is a line of the record's history and of the operation log, and
//! tells the people it concerns.

use super::flows::{self, Mode, ResolvedStep};
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::db::query::Total;
use crate::db::Cached;
use crate::entity::comments::{excerpt_of, record_title};
use crate::entity::descriptor::{ApprovalStatus, Entity};
use crate::entity::notifications::{self, Notice};
use crate::entity::routes::{write_as, Entry};
use crate::entity::store::{self, names_visible, Caller};
use crate::entity::{history, registry};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{Body, ListParams};
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::types::Value as Sql;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;

const COMMENT_MAX: usize = 1000;
/// How much of a comment a notification quotes.
const EXCERPT_CHARS: usize = 120;

pub struct Instance {
    pub id: i64,
    entity: &'static Entity,
    record_id: i64,
    steps: Vec<ResolvedStep>,
    current_step: usize,
    status: String,
    submitter_id: Option<i64>,
    comment: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl Instance {
    fn load(conn: &Connection, id: i64) -> Result<Option<Instance>, AppError> {
        type Row = (
            String,
            i64,
            String,
            i64,
            String,
            Option<i64>,
            Option<String>,
            i64,
            Option<i64>,
        );
        let row: Option<Row> = conn
            .one(
                "SELECT entity, record_id, steps, current_step, status, submitter_id, comment,
                        created_at, finished_at
                 FROM approval_instances WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            entity,
            record_id,
            steps,
            current,
            status,
            submitter_id,
            comment,
            created_at,
            finished_at,
        )) = row
        else {
            return Ok(None);
        };
        let entity = registry::find(&entity).ok_or_else(AppError::not_found)?;
        Ok(Some(Instance {
            id,
            entity,
            record_id,
            steps: serde_json::from_str(&steps).map_err(AppError::internal)?,
            current_step: usize::try_from(current).unwrap_or_default(),
            status,
            submitter_id,
            comment,
            created_at,
            finished_at,
        }))
    }

    /// The instance, if the caller may open its record (404 otherwise, as for the record).
    fn visible_to(conn: &Connection, rights: &Rights, id: i64) -> Result<Instance, AppError> {
        let instance = Instance::load(conn, id)?.ok_or_else(AppError::not_found)?;
        let name = instance.entity.name;
        if rights.can(name, Action::View)
            && store::is_visible(conn, rights, name, instance.record_id)?
        {
            Ok(instance)
        } else {
            Err(AppError::not_found())
        }
    }

    fn pending(&self) -> Result<(), AppError> {
        if self.status == "pending" {
            Ok(())
        } else {
            Err(AppError::conflict("approval_finished"))
        }
    }

    fn record(&self) -> (&'static str, i64) {
        (self.entity.name, self.record_id)
    }
}

/// The id of the pending instance of a record, if it is under approval.
pub fn pending_of(conn: &Connection, entity: &str, id: i64) -> rusqlite::Result<Option<i64>> {
    conn.one(
        "SELECT id FROM approval_instances WHERE entity = ?1 AND record_id = ?2 AND status = 'pending'",
        params![entity, id],
        |r| r.get(0),
    )
    .optional()
}

fn status_rule(entity: &Entity) -> Option<ApprovalStatus> {
    entity.approval.and_then(|a| a.status)
}

/// Moves the record's status field, if the entity has one, to `to` (the flow's own write,
/// past the lock), else writes `action` to its history alone.
fn mark_record(
    tx: &Connection,
    instance: &Instance,
    caller: &Caller,
    to: fn(&ApprovalStatus) -> &'static str,
    action: &str,
) -> Result<(), AppError> {
    let entity = instance.entity;
    match status_rule(entity) {
        Some(rule) => {
            let value = Sql::Text(to(&rule).to_string());
            store::set_system_fields(
                tx,
                entity,
                caller.actor,
                instance.record_id,
                &[(rule.field, value)],
                action,
            )?;
        }
        None => history_line(tx, caller, instance, action)?,
    }
    Ok(())
}

/// Writes a move to the record's history (the moves that change no field of it).
fn history_line(
    tx: &Connection,
    caller: &Caller,
    instance: &Instance,
    action: &str,
) -> Result<(), AppError> {
    history::record_event(
        tx,
        instance.entity,
        caller.actor,
        instance.record_id,
        action,
    )?;
    Ok(())
}

/// Writes a move to the operation log.
fn audit(
    tx: &Connection,
    caller: &Caller,
    instance: &Instance,
    action: &str,
    detail: Value,
) -> Result<(), AppError> {
    let mut detail = detail;
    detail["instance"] = json!(instance.id);
    detail["step"] = json!(instance.current_step + 1);
    crate::audit::record(tx, caller.actor, action, Some(instance.record()), detail)?;
    Ok(())
}

fn tell(
    tx: &Connection,
    kind: &'static str,
    instance: &Instance,
    actor: i64,
    comment: Option<&str>,
    recipients: &[i64],
) -> Result<(), AppError> {
    let title = record_title(tx, instance.entity.name, instance.record_id)?;
    let params = json!({
        "title": title,
        "comment": comment.map(|c| excerpt_of(c, EXCERPT_CHARS)).unwrap_or_default(),
    });
    let notice = Notice {
        kind,
        record: Some(instance.record()),
        actor: Some(actor),
        params: &params,
    };
    notifications::send(tx, &notice, recipients)?;
    Ok(())
}

/// Submits a record to its entity's flow as the caller (who must be able to edit it); answers
/// the new instance's id. The record must not be under approval already, and, where its status
/// follows the flow, must stand where a submission may start (a draft contract).
pub fn submit(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
    comment: Option<String>,
) -> Result<i64, AppError> {
    caller.rights.require(entity.name, Action::Edit)?;
    let record =
        store::fetch(tx, entity, caller.rights, id, false)?.ok_or_else(AppError::not_found)?;
    if pending_of(tx, entity.name, id)?.is_some() {
        return Err(AppError::conflict("under_approval"));
    }
    if let Some(rule) = status_rule(entity) {
        let status = record[rule.field].as_str().unwrap_or_default();
        if !rule.submit_from.contains(&status) {
            return Err(AppError::conflict("not_submittable"));
        }
    }
    let flow = flows::load(tx, entity.name)?.ok_or_else(|| AppError::conflict("no_flow"))?;
    let steps = flows::resolve(tx, entity, &flow, &record, caller.rights)?;
    let now = now_ms();
    tx.run(
        "INSERT INTO approval_instances
             (entity, record_id, flow_version, steps, status, submitter_id, comment, created_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7)",
        params![
            entity.name,
            id,
            flow.version,
            serde_json::to_string(&steps).map_err(AppError::internal)?,
            caller.rights.user_id,
            comment,
            now
        ],
    )?;
    let instance_id = tx.last_insert_rowid();
    for (index, step) in steps.iter().enumerate() {
        let status = if index == 0 { "waiting" } else { "queued" };
        for approver in &step.approvers {
            tx.run(
                "INSERT INTO approval_tasks (instance_id, step, approver_id, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![instance_id, index as i64, approver, status, now],
            )?;
        }
    }
    let instance = Instance::load(tx, instance_id)?.ok_or_else(AppError::not_found)?;
    mark_record(tx, &instance, caller, |s| s.pending, "approval_submitted")?;
    audit(
        tx,
        caller,
        &instance,
        "approval_submitted",
        json!({ "comment": instance.comment }),
    )?;
    tell(
        tx,
        "approval_waiting",
        &instance,
        caller.rights.user_id,
        None,
        &steps[0].approvers,
    )?;
    Ok(instance_id)
}

/// The caller's waiting task in the instance's current step: 403 `not_your_turn` without one.
fn my_task(tx: &Connection, instance: &Instance, user: i64) -> Result<i64, AppError> {
    tx.one(
        "SELECT id FROM approval_tasks
         WHERE instance_id = ?1 AND step = ?2 AND approver_id = ?3 AND status = 'waiting'",
        params![instance.id, instance.current_step as i64, user],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| AppError::forbidden_code("not_your_turn"))
}

fn close_task(
    tx: &Connection,
    task: i64,
    status: &str,
    comment: Option<&str>,
) -> rusqlite::Result<()> {
    tx.run(
        "UPDATE approval_tasks SET status = ?1, comment = ?2, acted_at = ?3 WHERE id = ?4",
        params![status, comment, now_ms(), task],
    )
    .map(drop)
}

/// Ends the instance as `status`: the tasks still open are skipped.
fn finish(tx: &Connection, instance: &Instance, status: &str) -> rusqlite::Result<()> {
    tx.run(
        "UPDATE approval_tasks SET status = 'skipped'
         WHERE instance_id = ?1 AND status IN ('waiting', 'queued')",
        [instance.id],
    )?;
    tx.run(
        "UPDATE approval_instances SET status = ?1, finished_at = ?2 WHERE id = ?3",
        params![status, now_ms(), instance.id],
    )
    .map(drop)
}

/// The caller approves their turn. A step is done with its first approval (any-one) or its
/// last (all-must); then the next step's approvers are asked, or, after the last, the record
/// is approved and its submitter told.
fn approve(
    tx: &Connection,
    caller: &Caller,
    instance: &Instance,
    comment: Option<&str>,
) -> Result<(), AppError> {
    let task = my_task(tx, instance, caller.rights.user_id)?;
    close_task(tx, task, "approved", comment)?;
    audit(
        tx,
        caller,
        instance,
        "approval_step_approved",
        json!({ "comment": comment }),
    )?;
    let step = &instance.steps[instance.current_step];
    let others_waiting: bool = tx.one(
        "SELECT EXISTS (SELECT 1 FROM approval_tasks WHERE instance_id = ?1 AND step = ?2 AND status = 'waiting')",
        params![instance.id, instance.current_step as i64],
        |r| r.get(0),
    )?;
    if step.mode == Mode::All && others_waiting {
        history_line(tx, caller, instance, "approval_step_approved")?;
        return Ok(());
    }
    tx.run(
        "UPDATE approval_tasks SET status = 'skipped' WHERE instance_id = ?1 AND step = ?2 AND status = 'waiting'",
        params![instance.id, instance.current_step as i64],
    )?;
    let next = instance.current_step + 1;
    match instance.steps.get(next) {
        Some(step) => {
            tx.run(
                "UPDATE approval_tasks SET status = 'waiting' WHERE instance_id = ?1 AND step = ?2",
                params![instance.id, next as i64],
            )?;
            tx.run(
                "UPDATE approval_instances SET current_step = ?1 WHERE id = ?2",
                params![next as i64, instance.id],
            )?;
            history_line(tx, caller, instance, "approval_step_approved")?;
            tell(
                tx,
                "approval_waiting",
                instance,
                caller.rights.user_id,
                None,
                &step.approvers,
            )?;
        }
        None => {
            finish(tx, instance, "approved")?;
            mark_record(tx, instance, caller, |s| s.approved, "approval_approved")?;
            audit(tx, caller, instance, "approval_approved", json!({}))?;
            let submitter: Vec<i64> = instance.submitter_id.into_iter().collect();
            tell(
                tx,
                "approval_approved",
                instance,
                caller.rights.user_id,
                comment,
                &submitter,
            )?;
        }
    }
    Ok(())
}

/// The caller rejects their turn, with the reason: the instance ends and the record goes back
/// to its submitter.
fn reject(
    tx: &Connection,
    caller: &Caller,
    instance: &Instance,
    comment: &str,
) -> Result<(), AppError> {
    let task = my_task(tx, instance, caller.rights.user_id)?;
    close_task(tx, task, "rejected", Some(comment))?;
    finish(tx, instance, "rejected")?;
    mark_record(tx, instance, caller, |s| s.returned, "approval_rejected")?;
    audit(
        tx,
        caller,
        instance,
        "approval_rejected",
        json!({ "comment": comment }),
    )?;
    let submitter: Vec<i64> = instance.submitter_id.into_iter().collect();
    tell(
        tx,
        "approval_rejected",
        instance,
        caller.rights.user_id,
        Some(comment),
        &submitter,
    )
}

/// The submitter takes the record back before the flow ends.
fn withdraw(tx: &Connection, caller: &Caller, instance: &Instance) -> Result<(), AppError> {
    if instance.submitter_id != Some(caller.rights.user_id) {
        return Err(AppError::forbidden_code("not_submitter"));
    }
    let waiting = waiting_approvers(tx, instance)?;
    finish(tx, instance, "withdrawn")?;
    mark_record(tx, instance, caller, |s| s.returned, "approval_withdrawn")?;
    audit(tx, caller, instance, "approval_withdrawn", json!({}))?;
    tell(
        tx,
        "approval_withdrawn",
        instance,
        caller.rights.user_id,
        None,
        &waiting,
    )
}

fn waiting_approvers(tx: &Connection, instance: &Instance) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = tx.prepare(
        "SELECT approver_id FROM approval_tasks WHERE instance_id = ?1 AND status = 'waiting'",
    )?;
    let ids = stmt
        .query_map([instance.id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>();
    ids
}

/// The caller hands their turn, or (an administrator) the turn of `from`, to `to`: an active
/// colleague who may open the record and is not already waiting in this step (nor the
/// submitter).
fn transfer(
    tx: &Connection,
    caller: &Caller,
    instance: &Instance,
    (from, to): (Option<i64>, i64),
    comment: Option<&str>,
) -> Result<(), AppError> {
    let task = match from.filter(|&f| f != caller.rights.user_id) {
        None => my_task(tx, instance, caller.rights.user_id)?,
        Some(_) if !caller.rights.is_admin => {
            return Err(AppError::forbidden_code("not_your_turn"));
        }
        Some(from) => my_task(tx, instance, from)
            .map_err(|_| AppError::field("from_user_id", "not_waiting", json!({})))?,
    };
    if !store::may_open(tx, to, instance.entity.name, instance.record_id)? {
        return Err(AppError::field("user_id", "approver_cannot_see", json!({})));
    }
    let already = waiting_approvers(tx, instance)?.contains(&to);
    if already || Some(to) == instance.submitter_id {
        return Err(AppError::field("user_id", "already_involved", json!({})));
    }
    close_task(tx, task, "transferred", comment)?;
    tx.run(
        "UPDATE approval_tasks SET transferred_to = ?1 WHERE id = ?2",
        params![to, task],
    )?;
    tx.run(
        "INSERT INTO approval_tasks (instance_id, step, approver_id, status, created_at)
         VALUES (?1, ?2, ?3, 'waiting', ?4)",
        params![instance.id, instance.current_step as i64, to, now_ms()],
    )?;
    history_line(tx, caller, instance, "approval_transferred")?;
    audit(
        tx,
        caller,
        instance,
        "approval_transferred",
        json!({ "from": from, "to": to, "comment": comment }),
    )?;
    tell(
        tx,
        "approval_waiting",
        instance,
        caller.rights.user_id,
        comment,
        &[to],
    )
}

/// An instance as the API answers it: its steps with each approver's decision, and what the
/// caller may do with it.
fn detail(conn: &Connection, rights: &Rights, instance: &Instance) -> Result<Value, AppError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.id, t.step, t.approver_id, u.display_name, t.status, t.comment, t.acted_at,
                t.transferred_to, (SELECT display_name FROM users WHERE id = t.transferred_to)
         FROM approval_tasks t JOIN users u ON u.id = t.approver_id
         WHERE t.instance_id = ?1 ORDER BY t.step, t.id",
    )?;
    let tasks = stmt
        .query_map([instance.id], |r| {
            Ok((
                r.get::<_, i64>(1)?,
                json!({
                    "id": r.get::<_, i64>(0)?,
                    "approver_id": r.get::<_, i64>(2)?,
                    "approver": r.get::<_, String>(3)?,
                    "status": r.get::<_, String>(4)?,
                    "comment": r.get::<_, Option<String>>(5)?,
                    "acted_at": r.get::<_, Option<i64>>(6)?.map(rfc3339),
                    "transferred_to": r.get::<_, Option<i64>>(7)?,
                    "transferred_to_name": r.get::<_, Option<String>>(8)?,
                }),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let steps: Vec<Value> = instance
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            json!({
                "name": step.name,
                "mode": step.mode,
                "status": step_status(instance, index),
                "tasks": tasks.iter().filter(|(s, _)| *s == index as i64).map(|(_, t)| t).collect::<Vec<_>>(),
            })
        })
        .collect();
    let me = rights.user_id;
    let my_turn = instance.status == "pending"
        && tasks.iter().any(|(s, t)| {
            *s == instance.current_step as i64 && t["approver_id"] == me && t["status"] == "waiting"
        });
    let submitter: Option<String> = match instance.submitter_id {
        Some(id) => conn
            .one("SELECT display_name FROM users WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?,
        None => None,
    };
    let (amount, currency) = money_of(conn, instance)?;
    Ok(json!({
        "id": instance.id,
        "entity": instance.entity.name,
        "record_id": instance.record_id,
        "title": record_title(conn, instance.entity.name, instance.record_id)?,
        "amount": amount,
        "currency": currency,
        "status": instance.status,
        "submitter_id": instance.submitter_id,
        "submitter": submitter,
        "comment": instance.comment,
        "submitted_at": rfc3339(instance.created_at),
        "finished_at": instance.finished_at.map(rfc3339),
        "current_step": instance.current_step,
        "steps": steps,
        "my_turn": my_turn,
        "can_withdraw": instance.status == "pending" && instance.submitter_id == Some(me),
        // An administrator hands on a turn stuck with someone away or gone.
        "can_reassign": instance.status == "pending" && rights.is_admin,
    }))
}

/// The record's amount and currency, where its entity has them: what an approver weighs first.
fn money_of(
    conn: &Connection,
    instance: &Instance,
) -> Result<(Option<i64>, Option<String>), AppError> {
    let entity = instance.entity;
    if entity.field("amount").is_none() {
        return Ok((None, None));
    }
    let currency = if entity.field("currency").is_some() {
        "currency"
    } else {
        "NULL"
    };
    let found = conn
        .one(
            &format!(
                "SELECT amount, {currency} FROM {} WHERE id = ?1",
                entity.name
            ),
            [instance.record_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(found.unwrap_or((None, None)))
}

fn step_status(instance: &Instance, index: usize) -> &'static str {
    let current = instance.current_step;
    match instance.status.as_str() {
        "approved" => "approved",
        _ if index < current => "approved",
        "pending" if index == current => "current",
        "pending" => "queued",
        "rejected" if index == current => "rejected",
        _ => "skipped",
    }
}

/// The comment of a move: optional, or required (a rejection's reason).
fn comment_of(body: &Body, required: bool, errors: &mut FieldErrors) -> Option<String> {
    if required {
        return Some(body.required_text("comment", COMMENT_MAX, errors));
    }
    match body.0.get("comment") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(_) => Some(body.required_text("comment", COMMENT_MAX, errors)),
    }
}

/// `POST /{entity}/{id}/approval` `{"comment"?}`: submits the record (201 with the instance).
pub async fn submit_route(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["comment"], &mut errors);
    let comment = comment_of(&body, false, &mut errors);
    errors.into_result()?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        let instance_id = submit(tx, entity, caller, id, comment)?;
        let instance = Instance::load(tx, instance_id)?.ok_or_else(AppError::not_found)?;
        detail(tx, caller.rights, &instance)
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// `GET /{entity}/{id}/approval`: the record's latest instance (or null), and whether the
/// caller may submit it now.
pub async fn of_record(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            rights.require(entity.name, Action::View)?;
            let record = store::fetch(conn, entity, &rights, id, false)?.ok_or_else(AppError::not_found)?;
            let latest: Option<i64> = conn
                .one(
                    "SELECT max(id) FROM approval_instances WHERE entity = ?1 AND record_id = ?2",
                    params![entity.name, id],
                    |r| r.get(0),
                )?;
            let instance = match latest.map(|i| Instance::load(conn, i)).transpose()?.flatten() {
                Some(instance) => Some(detail(conn, &rights, &instance)?),
                None => None,
            };
            let has_flow = flows::load(conn, entity.name)?.is_some();
            let pending = instance.as_ref().is_some_and(|i| i["status"] == "pending");
            let stands_right = status_rule(entity).is_none_or(|rule| {
                rule.submit_from.contains(&record[rule.field].as_str().unwrap_or_default())
            });
            Ok(json!({
                "instance": instance,
                "has_flow": has_flow,
                "can_submit": has_flow && !pending && stands_right && rights.can(entity.name, Action::Edit),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /approvals/{id}`.
pub async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let instance = Instance::visible_to(conn, &rights, id)?;
            detail(conn, &rights, &instance)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The condition of a "My approvals" box on instances `i` for the caller.
fn box_condition(name: &str, me: i64) -> Option<String> {
    Some(match name {
        // `IN` rather than `EXISTS`: the caller's turns, found through the approver index, lead
        // to their instances; `EXISTS` would test every instance ever submitted.
        "waiting" => format!(
            "i.status = 'pending' AND i.id IN (SELECT t.instance_id FROM approval_tasks t \
             WHERE t.approver_id = {me} AND t.status = 'waiting')"
        ),
        "done" => format!(
            "i.id IN (SELECT t.instance_id FROM approval_tasks t WHERE t.approver_id = {me} \
             AND t.status IN ('approved', 'rejected', 'transferred'))"
        ),
        "submitted" => format!("i.submitter_id = {me}"),
        _ => return None,
    })
}

/// `GET /approvals?box=waiting|done|submitted`: "My approvals", newest first, only instances
/// whose record the caller may open; `waiting` counts what waits for them, for the menu.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let paging = ListParams::parse(query.into_inner(), &["box"])?;
    let me = user.id;
    let condition = box_condition(paging.text("box").unwrap_or("waiting"), me)
        .ok_or_else(|| AppError::invalid_query("box"))?;
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, me)?;
            let visible = names_visible(&rights, ("i.entity", "i.record_id"));
            let count = |condition: &str| -> rusqlite::Result<i64> {
                conn.one(
                    &format!(
                        "SELECT count(*) FROM approval_instances i WHERE {condition} AND {visible}"
                    ),
                    [],
                    |r| r.get(0),
                )
            };
            let total = count(&condition)?;
            let waiting = count(&box_condition("waiting", me).unwrap_or_default())?;
            let mut stmt = conn.prepare(&format!(
                "SELECT i.id FROM approval_instances i WHERE {condition} AND {visible}
                 ORDER BY i.id DESC LIMIT ?1 OFFSET ?2"
            ))?;
            let ids = stmt
                .query_map(params![paging.per_page, paging.offset()], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(instance) = Instance::load(conn, id)? {
                    items.push(detail(conn, &rights, &instance)?);
                }
            }
            let mut answer = serde_json::to_value(paging.answer(items, Total::exact(total)))
                .map_err(AppError::internal)?;
            answer["waiting"] = json!(waiting);
            Ok(answer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The approvals waiting for the caller (at most `limit`, oldest first: the longest waiting
/// come first in an inbox) and how many there are, for the 待办 inbox.
pub fn waiting_for(
    conn: &Connection,
    rights: &Rights,
    limit: i64,
) -> Result<(i64, Vec<Value>), AppError> {
    let condition = box_condition("waiting", rights.user_id).unwrap_or_default();
    let visible = names_visible(rights, ("i.entity", "i.record_id"));
    let total: i64 = conn.one(
        &format!("SELECT count(*) FROM approval_instances i WHERE {condition} AND {visible}"),
        [],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT i.id, i.entity, i.record_id, i.created_at,
                (SELECT display_name FROM users WHERE id = i.submitter_id)
         FROM approval_instances i WHERE {condition} AND {visible} ORDER BY i.id LIMIT ?1"
    ))?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut items = Vec::with_capacity(rows.len());
    for (instance, entity, id, at, submitter) in rows {
        items.push(json!({
            "entity": entity, "id": id, "instance_id": instance,
            "title": record_title(conn, &entity, id)?,
            "submitter": submitter, "submitted_at": rfc3339(at),
        }));
    }
    Ok((total, items))
}

/// A decision on an instance, as its path names it.
#[derive(Clone, Copy)]
pub enum Move {
    Approve,
    Reject,
    Withdraw,
    Transfer,
}

impl Move {
    fn parse(name: &str) -> Option<Move> {
        Some(match name {
            "approve" => Move::Approve,
            "reject" => Move::Reject,
            "withdraw" => Move::Withdraw,
            "transfer" => Move::Transfer,
            _ => return None,
        })
    }

    /// The body keys the move takes: a comment (a rejection's reason, required), the colleague
    /// a turn is handed to.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Move::Withdraw => &[],
            Move::Transfer => &["user_id", "from_user_id", "comment"],
            Move::Approve | Move::Reject => &["comment"],
        }
    }
}

/// Makes a move on the instance `id` as the caller: 404 when they may not open its record,
/// 409 once it has ended. `comment` is the reason of a rejection (required there); a transfer
/// hands the turn of `from` (the caller's own when absent) to `to`.
pub fn decide_as(
    tx: &Connection,
    caller: &Caller,
    id: i64,
    what: Move,
    comment: Option<&str>,
    (from, to): (Option<i64>, Option<i64>),
) -> Result<(), AppError> {
    let instance = Instance::visible_to(tx, caller.rights, id)?;
    instance.pending()?;
    match what {
        Move::Approve => approve(tx, caller, &instance, comment),
        Move::Reject => reject(tx, caller, &instance, comment.unwrap_or_default()),
        Move::Withdraw => withdraw(tx, caller, &instance),
        Move::Transfer => transfer(
            tx,
            caller,
            &instance,
            (from, to.unwrap_or_default()),
            comment,
        ),
    }
}

/// `POST /approvals/{id}/{move}`: `approve` `{"comment"?}`, `reject` `{"comment"}`, `withdraw`
/// (the submitter), `transfer` `{"user_id", "from_user_id"? (administrators), "comment"?}`.
/// The body may be empty.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    raw: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, name) = path.into_inner();
    let what = Move::parse(&name).ok_or_else(AppError::not_found)?;
    let body = if raw.iter().all(u8::is_ascii_whitespace) {
        Body(serde_json::Map::new())
    } else {
        let value =
            serde_json::from_slice(&raw).map_err(|_| AppError::bad_request("invalid_body"))?;
        Body::parse(value)?
    };
    let mut errors = FieldErrors::new();
    body.refuse_others(what.keys(), &mut errors);
    let comment = match what {
        Move::Withdraw => None,
        _ => comment_of(&body, matches!(what, Move::Reject), &mut errors),
    };
    let (from, to) = match what {
        Move::Transfer => {
            let to = body.optional_id("user_id", &mut errors);
            if to.is_none() && !errors.has("user_id") {
                errors.add("user_id", "required", json!({}));
            }
            (body.optional_id("from_user_id", &mut errors), to)
        }
        _ => (None, None),
    };
    errors.into_result()?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        decide_as(tx, caller, id, what, comment.as_deref(), (from, to))?;
        let instance = Instance::load(tx, id)?.ok_or_else(AppError::not_found)?;
        detail(tx, caller.rights, &instance)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
