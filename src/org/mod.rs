//! The organisation: departments, user administration, the operation log, outgoing mail.

pub mod audit_log;
pub mod company;
pub mod departments;
pub mod mail;
pub mod secrets;
pub mod system;
pub mod users;

use crate::audit::Actor;
use crate::auth::session::CurrentUser;
use crate::db::Cached;
use crate::http::client_ip;
use crate::http::error::AppError;
use crate::http::state::AppState;
use actix_web::{HttpRequest, HttpResponse};
use rusqlite::Connection;
use std::collections::HashMap;

/// The audit actor for an administrator's request.
pub fn actor(req: &HttpRequest, user: &CurrentUser) -> Actor {
    Actor {
        user_id: Some(user.id),
        username: Some(user.username.clone()),
        ip: client_ip(req).map(|ip| ip.to_string()),
    }
}

/// Every department's name, or every user's display name, by id: one read for a report that
/// labels many rows.
pub fn names(conn: &Connection, departments: bool) -> rusqlite::Result<HashMap<i64, String>> {
    let sql = if departments {
        "SELECT id, name FROM departments"
    } else {
        "SELECT id, display_name FROM users"
    };
    let mut stmt = conn.prepare(sql)?;
    let names = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect();
    names
}

/// How an administrator's settings object (a webhook, an automation rule) is read back as the
/// API answers it.
pub type ReadObject = fn(&Connection, i64) -> Result<serde_json::Value, AppError>;

/// Settings object `id` as it is, when the change names its `version`; 409 with it otherwise.
pub fn current_at(
    tx: &Connection,
    id: i64,
    read: ReadObject,
    version: i64,
) -> Result<serde_json::Value, AppError> {
    let current = read(tx, id)?;
    if current["version"] != version {
        return Err(crate::http::input::version_conflict(current));
    }
    Ok(current)
}

/// Ends a change to row `id` of `table`, a settings object: a new version, the time, and the
/// change in the audit log as `action` (what it was, what it is); answers it as it now is.
pub fn finish_change(
    tx: &Connection,
    (table, id, read): (&str, i64, ReadObject),
    who: &Actor,
    action: &str,
    before: serde_json::Value,
) -> Result<serde_json::Value, AppError> {
    tx.run(
        &format!("UPDATE {table} SET version = version + 1, updated_at = ?1 WHERE id = ?2"),
        rusqlite::params![crate::time::now_ms(), id],
    )?;
    let after = read(tx, id)?;
    crate::audit::record(
        tx,
        who,
        action,
        None,
        serde_json::json!({ "before": before, "after": after }),
    )?;
    Ok(after)
}

/// Deletes row `id` of `table`, a settings object, keeping what it was in the audit log as
/// `action`: 204, or 404 when there is no such object.
pub async fn remove_audited(
    state: &AppState,
    who: Actor,
    (table, id, read): (&'static str, i64, ReadObject),
    action: &'static str,
) -> Result<HttpResponse, AppError> {
    state
        .db
        .write(move |tx| {
            let object = read(tx, id)?;
            tx.run(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
            crate::audit::record(tx, &who, action, None, object)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
