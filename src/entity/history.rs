//! Field-level change history (字段变更历史): every write records which fields changed from what to
//! what, in the same transaction as the change.

use super::descriptor::Entity;
use crate::access::{FieldAccess, ModuleRights};
use crate::audit::Actor;
use crate::db::Cached;
use crate::time::{now_ms, rfc3339};
use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{json, Value};

/// Fields whose changes are worth a line in the history (bookkeeping is left out).
fn tracked(entity: &Entity) -> impl Iterator<Item = &'static str> {
    let owned: &[&'static str] = if entity.is_owned() {
        &["owner_id", "department_id"]
    } else {
        &[]
    };
    owned
        .iter()
        .copied()
        .chain(entity.fields.iter().filter(|f| !f.system).map(|f| f.name))
}

pub fn record_changes(
    conn: &Connection,
    entity: &Entity,
    actor: &Actor,
    id: i64,
    action: &str,
    changes: &Value,
) -> rusqlite::Result<()> {
    insert(conn, entity, actor, id, action, changes.to_string())
}

/// One line of a history, `changes` as JSON text.
fn insert(
    conn: &Connection,
    entity: &Entity,
    actor: &Actor,
    id: i64,
    action: &str,
    changes: String,
) -> rusqlite::Result<()> {
    conn.run(
        "INSERT INTO record_history (entity, record_id, at, user_id, username, action, changes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            entity.name,
            id,
            now_ms(),
            actor.user_id,
            actor.username,
            action,
            changes
        ],
    )?;
    Ok(())
}

pub fn record_created(
    conn: &Connection,
    entity: &Entity,
    actor: &Actor,
    record: &Value,
) -> rusqlite::Result<()> {
    // Serialised from borrowed values: every record written pays for this line, and cloning
    // the record into a `Value` first doubled its allocations.
    let changes: Vec<Change> = tracked(entity)
        .filter(|name| !is_empty(&record[name]))
        .map(|field| Change {
            field,
            old: &Value::Null,
            new: &record[field],
        })
        .collect();
    let text = serde_json::to_string(&changes)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let id = record["id"].as_i64().unwrap_or_default();
    insert(conn, entity, actor, id, "created", text)
}

/// One changed field of a history line, as stored.
#[derive(Serialize)]
struct Change<'a> {
    field: &'a str,
    old: &'a Value,
    new: &'a Value,
}

pub fn record_updated(
    conn: &Connection,
    entity: &Entity,
    actor: &Actor,
    before: &Value,
    after: &Value,
) -> rusqlite::Result<()> {
    let changes: Vec<Value> = tracked(entity)
        .filter(|name| before[name] != after[name])
        .map(|name| json!({ "field": name, "old": before[name], "new": after[name] }))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let id = after["id"].as_i64().unwrap_or_default();
    record_changes(conn, entity, actor, id, "updated", &json!(changes))
}

pub fn record_event(
    conn: &Connection,
    entity: &Entity,
    actor: &Actor,
    id: i64,
    action: &str,
) -> rusqlite::Result<()> {
    record_changes(conn, entity, actor, id, action, &json!([]))
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// One page of a record's history, newest first, without the fields the caller may not see.
pub fn page(
    conn: &Connection,
    entity: &Entity,
    rights: &ModuleRights,
    id: i64,
    (limit, offset): (i64, i64),
) -> rusqlite::Result<(Vec<Value>, i64)> {
    let total = conn.one(
        "SELECT count(*) FROM record_history WHERE entity = ?1 AND record_id = ?2",
        params![entity.name, id],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, user_id, username, action, changes FROM record_history
         WHERE entity = ?1 AND record_id = ?2 ORDER BY id DESC LIMIT ?3 OFFSET ?4",
    )?;
    let items = stmt
        .query_map(params![entity.name, id, limit, offset], |r| {
            let changes: String = r.get(5)?;
            let changes: Vec<Value> = serde_json::from_str::<Vec<Value>>(&changes)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| {
                    rights.field(c["field"].as_str().unwrap_or_default()) != FieldAccess::Hidden
                })
                .collect();
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "at": rfc3339(r.get(1)?),
                "user_id": r.get::<_, Option<i64>>(2)?,
                "username": r.get::<_, Option<String>>(3)?,
                "action": r.get::<_, String>(4)?,
                "changes": changes,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((items, total))
}
