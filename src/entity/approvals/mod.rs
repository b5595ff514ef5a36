//! Approval flows 审批流程, a capability of the engine: any entity whose descriptor declares
//! `approval` may have a flow (`flows`), and its records go through it (`instances`). While a
//! record's approval is under way the record is locked: no request changes or deletes it
//! (409 `under_approval`). Where the entity's status follows the flow (a contract's
//! `in_approval` and `active`), only the flow moves it there.

mod flows;
mod instances;

pub use instances::{decide_as, of_record, pending_of, submit, submit_route, waiting_for, Move};

use crate::entity::descriptor::Entity;
use crate::http::error::AppError;
use actix_web::web;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/approval-flows", web::get().to(flows::list))
        .route("/approval-flows/{entity}", web::get().to(flows::get))
        .route("/approval-flows/{entity}", web::put().to(flows::save))
        .route("/approval-flows/{entity}", web::delete().to(flows::remove))
        .route("/approvals", web::get().to(instances::list))
        .route("/approvals/{id}", web::get().to(instances::get))
        .route("/approvals/{id}/{move}", web::post().to(instances::decide));
}

/// The lock: a record under approval may not be changed or deleted by a request.
pub fn ensure_unlocked(conn: &Connection, entity: &Entity, id: i64) -> Result<(), AppError> {
    if entity.approval.is_some() && pending_of(conn, entity.name, id)?.is_some() {
        return Err(AppError::conflict("under_approval"));
    }
    Ok(())
}

/// Refuses a request that would set a status the flow alone decides: on create, anything but a
/// status a submission starts from; on update, the flow's pending or approved value.
pub fn refuse_status_by_hand(
    entity: &Entity,
    body: &Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    let Some(rule) = entity.approval.and_then(|a| a.status) else {
        return Ok(());
    };
    let Some(to) = body.get(rule.field).and_then(Value::as_str) else {
        return Ok(());
    };
    let refused = match before {
        None => !rule.submit_from.contains(&to),
        Some(before) => {
            before[rule.field].as_str() != Some(to) && (to == rule.pending || to == rule.approved)
        }
    };
    if refused {
        return Err(AppError::field(rule.field, "set_by_approval", json!({})));
    }
    Ok(())
}
