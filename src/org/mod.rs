//! The organisation: departments, user administration, the operation log, outgoing mail.

pub mod audit_log;
pub mod departments;
pub mod mail;
pub mod secrets;
pub mod system;
pub mod users;

use crate::audit::Actor;
use crate::auth::session::CurrentUser;
use crate::http::client_ip;
use actix_web::HttpRequest;
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
