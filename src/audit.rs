//! The operation log (操作日志): who did what, when, from where. Entries are written in the same
//! transaction as the change they describe, so the log never claims what did not happen.

use crate::db::Cached;
use crate::time::now_ms;
use rusqlite::{params, Connection};
use serde_json::Value;

/// Who acted. CLI jobs have no user.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            username: Some("system".into()),
            ..Actor::default()
        }
    }
}

pub fn record(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    target: Option<(&str, i64)>,
    detail: Value,
) -> rusqlite::Result<()> {
    insert(
        conn,
        actor,
        action,
        (target.map(|t| t.0), target.map(|t| t.1)),
        detail,
    )
}

/// An entry about a whole entity rather than one record (an export, a transfer).
pub fn record_for_entity(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    entity: &str,
    detail: Value,
) -> rusqlite::Result<()> {
    insert(conn, actor, action, (Some(entity), None), detail)
}

fn insert(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    (entity, record_id): (Option<&str>, Option<i64>),
    detail: Value,
) -> rusqlite::Result<()> {
    conn.run(
        "INSERT INTO audit_log (at, user_id, username, action, entity, record_id, ip, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            now_ms(),
            actor.user_id,
            actor.username,
            action,
            entity,
            record_id,
            actor.ip,
            detail.to_string()
        ],
    )?;
    Ok(())
}
