//! Writes the system decides rather than a request body: owners (claims, releases, the pool
//! rules, a user's transfer) and columns such as a lead's conversion. Their callers have decided
//! that they may.

use super::read::read_back;
use super::write::after_write;
use crate::audit::Actor;
use crate::db::Cached;
use crate::entity::descriptor::Entity;
use crate::entity::registry;
use crate::entity::{automation, history, webhooks};
use crate::http::error::AppError;
use crate::time::now_ms;
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection};
use serde_json::{json, Map, Value};

/// Gives a record to `owner` (with the owner's department) or to nobody (the pool), writing
/// the change to its history as `action`. Who may do this is the caller's decision (claim,
/// release, the pool rules); this function only keeps the record and its history consistent.
pub fn set_owner(
    tx: &Connection,
    entity: &'static Entity,
    actor: &Actor,
    id: i64,
    owner: Option<(i64, Option<i64>)>,
    action: &str,
) -> Result<Value, AppError> {
    let (owner_id, department_id) = owner.map_or((None, None), |(o, d)| (Some(o), d));
    let values = [
        ("owner_id", owner_id.map_or(Sql::Null, Sql::Integer)),
        (
            "department_id",
            department_id.map_or(Sql::Null, Sql::Integer),
        ),
    ];
    set_system_fields(tx, entity, actor, id, &values, action)
}

/// Sets columns that only the system writes (an owner, a lead's conversion), with a new version
/// and the change in the record's history as `action`. The caller has decided it may.
pub fn set_system_fields(
    tx: &Connection,
    entity: &'static Entity,
    actor: &Actor,
    id: i64,
    values: &[(&str, Sql)],
    action: &str,
) -> Result<Value, AppError> {
    let before = read_back(tx, entity, id)?;
    let sets: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ?{}", i + 1))
        .collect();
    let mut bound: Vec<Sql> = values.iter().map(|(_, v)| v.clone()).collect();
    bound.push(Sql::Integer(now_ms()));
    bound.push(Sql::Integer(id));
    tx.run(
        &format!(
            "UPDATE {} SET {}, version = version + 1, updated_at = ?{} WHERE id = ?{}",
            entity.name,
            sets.join(", "),
            bound.len() - 1,
            bound.len()
        ),
        params_from_iter(bound),
    )?;
    let after = read_back(tx, entity, id)?;
    let changes: Vec<Value> = values
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| before[*f] != after[*f])
        .map(|f| json!({ "field": f, "old": before[f], "new": after[f] }))
        .collect();
    history::record_changes(tx, entity, actor, id, action, &json!(changes))?;
    let after = after_write(tx, entity, after)?;
    // A change the system makes (an approval activating a contract, a claim from the pool) is
    // a change all the same to a webhook's receiver and to the rules watching the field.
    webhooks::record_event(tx, entity, "updated", &after)?;
    if automation::after_write(tx, entity, Some(&before), &after)? {
        read_back(tx, entity, id)
    } else {
        Ok(after)
    }
}

/// Hands every record `from` owns, in every owned entity, to `to` (and `to`'s department).
/// Returns the count per entity.
pub fn transfer_all(
    tx: &Connection,
    actor: &Actor,
    from: i64,
    to: i64,
    to_department: Option<i64>,
) -> Result<Map<String, Value>, AppError> {
    let mut counts = Map::new();
    for entity in registry::entities().iter().filter(|e| e.is_owned()) {
        let mut stmt = tx.prepare(&format!(
            "SELECT id, department_id FROM {} WHERE owner_id = ?1",
            entity.name
        ))?;
        let owned = stmt
            .query_map([from], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.run(
            &format!(
                "UPDATE {} SET owner_id = ?1, department_id = ?2, version = version + 1,
                     updated_at = ?3 WHERE owner_id = ?4",
                entity.name
            ),
            params![to, to_department, now_ms(), from],
        )?;
        for (id, department) in &owned {
            let changes = json!([
                { "field": "owner_id", "old": from, "new": to },
                { "field": "department_id", "old": department, "new": to_department },
            ]);
            history::record_changes(tx, entity, actor, *id, "transferred", &changes)?;
        }
        counts.insert(entity.name.into(), json!(owned.len()));
    }
    Ok(counts)
}
