//! Create, update, delete and restore as a request makes them: the body checked against the
//! descriptor and the caller's rights, the entity's rules run and the history written, all in
//! the caller's transaction.

use super::index::reindex;
use super::read::{fetch, for_caller, read_back};
use super::visibility::is_visible;
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::audit::Actor;
use crate::db::Cached;
use crate::entity::descriptor::{Entity, Field, Kind, Wrote};
use crate::entity::values::{self, Refusal};
use crate::entity::{approvals, automation, history, webhooks};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::version_conflict;
use crate::time::now_ms;
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// Keys a request may never set: the system decides them.
const SYSTEM_KEYS: [&str; 8] = [
    "id",
    "department_id",
    "created_at",
    "updated_at",
    "created_by",
    "deleted_at",
    "deleted_by",
    "display",
];

/// The caller, for history and the audit log.
pub struct Caller<'a> {
    pub rights: &'a Rights,
    pub actor: &'a Actor,
}

/// The values a create or update body sets, parsed and checked against the caller's rights.
struct Changes {
    values: Vec<(&'static Field, Sql)>,
    owner: Option<(i64, Option<i64>)>,
}

fn parse_changes(
    conn: &Connection,
    entity: &Entity,
    caller: &Caller,
    module: &ModuleRights,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<Changes, AppError> {
    let mut errors = FieldErrors::new();
    let mut changes = Changes {
        values: Vec::new(),
        owner: None,
    };
    for (key, raw) in body {
        if (key == "version" && !creating) || entity.instructions.contains(&key.as_str()) {
            continue;
        }
        if key == "owner_id" && entity.is_owned() {
            match owner(conn, entity, caller.rights, raw) {
                Ok(owner) => changes.owner = Some(owner),
                Err((code, params)) => errors.add(key, code, params),
            }
            continue;
        }
        let Some(field) = entity.field(key) else {
            let code =
                if SYSTEM_KEYS.contains(&key.as_str()) || key == "owner_id" || key == "version" {
                    "not_editable"
                } else {
                    "unknown_field"
                };
            errors.add(key, code, json!({}));
            continue;
        };
        if field.system || (field.create_only && !creating) {
            errors.add(key, "not_editable", json!({}));
            continue;
        }
        if module.field(key) != FieldAccess::Full {
            errors.add(key, "read_only", json!({}));
            continue;
        }
        let allowed = match field.kind {
            Kind::Picklist | Kind::MultiPicklist => {
                crate::entity::picklists::active_values(conn, entity.name, field.name)?
            }
            _ => Vec::new(),
        };
        match values::parse(field, raw, &allowed) {
            Ok(value) => changes.values.push((field, value)),
            Err(("one_of", _)) if !allowed.is_empty() => {
                let labels =
                    crate::entity::picklists::active_labels(conn, entity.name, field.name)?;
                errors.add(key, "one_of", json!({ "options": labels }));
            }
            Err((code, params)) => errors.add(key, code, params),
        }
    }
    if creating {
        for field in entity.fields.iter().filter(|f| !body.contains_key(f.name)) {
            if field.defaults_to_now {
                changes.values.push((field, Sql::Integer(now_ms())));
            } else if field.kind == Kind::Currency {
                changes
                    .values
                    .push((field, Sql::Text(company_currency(conn)?)));
            }
        }
        for field in entity.fields.iter().filter(|f| f.required && !f.system) {
            let defaulted = field.defaults_to_now;
            if !body.contains_key(field.name) && !errors.has(field.name) && !defaulted {
                errors.add(field.name, "required", json!({}));
            }
        }
    }
    check_links(conn, entity, caller.rights, &changes.values, &mut errors)?;
    errors.into_result()?;
    Ok(changes)
}

pub fn company_currency(conn: &Connection) -> rusqlite::Result<String> {
    let currency = crate::db::setting(conn, "company.currency")?;
    Ok(currency.unwrap_or_else(|| "CNY".into()))
}

/// The new owner named in a body, with their department: an active user the caller may hand
/// records of this module to.
pub fn owner(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    raw: &Value,
) -> Result<(i64, Option<i64>), Refusal> {
    let id = raw
        .as_i64()
        .filter(|id| *id > 0)
        .ok_or(("invalid_id", json!({})))?;
    let user: Option<(Option<i64>, bool)> = conn
        .one(
            "SELECT department_id, frozen FROM users WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(|_| ("not_found", json!({})))?;
    match user {
        Some((department, false)) if rights.may_assign_to(entity.name, id, department) => {
            Ok((id, department))
        }
        Some((_, false)) => Err(("not_assignable", json!({}))),
        _ => Err(("not_found", json!({}))),
    }
}

/// References must point at records, users and departments that exist and that the caller may
/// see; a hidden record answers exactly like a missing one.
fn check_links(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    values: &[(&'static Field, Sql)],
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let value_of = |name: &str| values.iter().find(|(f, _)| f.name == name).map(|(_, v)| v);
    for (field, value) in values {
        let Sql::Integer(id) = value else {
            continue;
        };
        let found = match field.kind {
            Kind::User => conn.one(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1 AND frozen = 0)",
                [id],
                |r| r.get(0),
            )?,
            Kind::Department => conn.one(
                "SELECT EXISTS (SELECT 1 FROM departments WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )?,
            Kind::Lookup(table) => conn.one(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
                [id],
                |r| r.get(0),
            )?,
            Kind::Reference(target) => is_visible(conn, rights, target, *id)?,
            _ => true,
        };
        if !found {
            errors.add(field.name, "not_found", json!({}));
        }
    }
    if let Some((entity_field, id_field)) = entity.record_link() {
        if let (Some(Sql::Text(parent)), Some(Sql::Integer(id))) =
            (value_of(entity_field), value_of(id_field))
        {
            if !errors.has(entity_field) && !is_visible(conn, rights, parent, *id)? {
                errors.add(id_field, "not_found", json!({}));
            }
        }
    }
    Ok(())
}

/// `json_set(base, '$.cf_a', ?4, '$.cf_b', json(?5))` for the custom values of a write, with
/// the values appended to `sql_values`; `None` when the write sets no custom field.
fn set_custom(base: &str, custom: Vec<(&Field, Sql)>, sql_values: &mut Vec<Sql>) -> Option<String> {
    if custom.is_empty() {
        return None;
    }
    let mut pairs = Vec::new();
    for (field, value) in custom {
        sql_values.push(value);
        let slot = format!("?{}", sql_values.len());
        // Lists arrive as JSON text; `json()` keeps them arrays inside `extra`.
        let slot = if field.kind.is_list() {
            format!("json({slot})")
        } else {
            slot
        };
        pairs.push(format!("'$.{}', {slot}", field.name));
    }
    Some(format!("json_set({base}, {})", pairs.join(", ")))
}

/// The body after the entity's `prepare` rule: the body itself, uncopied, when it has none.
fn prepared<'a>(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    body: &'a Map<String, Value>,
    before: Option<&Value>,
) -> Result<Cow<'a, Map<String, Value>>, AppError> {
    approvals::refuse_status_by_hand(entity, body, before)?;
    let Some(prepare) = entity.prepare else {
        return Ok(Cow::Borrowed(body));
    };
    let mut body = body.clone();
    prepare(conn, rights, &mut body, before)?;
    Ok(Cow::Owned(body))
}

fn check(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    record: &Value,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    match entity.check {
        Some(rule) => rule(conn, rights, record, body),
        None => Ok(()),
    }
}

/// Runs the entity's `after_write` hook and answers the record as it then is (the hook may keep
/// system fields of the record itself, such as an opportunity's close time; only then is it
/// read again).
pub(super) fn after_write(
    conn: &Connection,
    entity: &'static Entity,
    record: Value,
) -> Result<Value, AppError> {
    match entity.after_write {
        Some(hook) => match hook(conn, &record)? {
            Wrote::TheRecord => read_back(conn, entity, record["id"].as_i64().unwrap_or_default()),
            Wrote::OtherRecords => Ok(record),
        },
        None => Ok(record),
    }
}

/// Creates a record owned by the caller (or by the owner the body names, within the caller's
/// reach); the record's department is its owner's.
pub fn create(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    body: &Map<String, Value>,
) -> Result<Value, AppError> {
    let module = caller.rights.require(entity.name, Action::Create)?;
    let body = &prepared(tx, entity, caller.rights, body, None)?;
    let changes = parse_changes(tx, entity, caller, &module, body, true)?;
    let now = now_ms();
    let mut columns = vec!["created_by", "created_at", "updated_at"];
    let mut sql_values = vec![
        Sql::Integer(caller.rights.user_id),
        Sql::Integer(now),
        Sql::Integer(now),
    ];
    if entity.is_owned() {
        let (owner, department) = changes
            .owner
            .unwrap_or((caller.rights.user_id, caller.rights.department_id));
        columns.extend(["owner_id", "department_id"]);
        sql_values.push(Sql::Integer(owner));
        sql_values.push(department.map_or(Sql::Null, Sql::Integer));
        if entity.is_pooled() {
            // The pool rules count from when the owner got the record; owner changes keep it
            // by trigger (migration 005), a new record has had its owner since now.
            columns.push("owned_at");
            sql_values.push(Sql::Integer(now));
        }
    }
    let (custom, built_in): (Vec<_>, Vec<_>) =
        changes.values.into_iter().partition(|(f, _)| f.custom);
    for (field, value) in built_in {
        columns.push(field.name);
        sql_values.push(value);
    }
    let mut slots = (1..=columns.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>();
    if let Some(extra) = set_custom("'{}'", custom, &mut sql_values) {
        columns.push("extra");
        slots.push(extra);
    }
    tx.run(
        &format!(
            "INSERT INTO {} ({}) VALUES ({})",
            entity.name,
            columns.join(", "),
            slots.join(", ")
        ),
        params_from_iter(sql_values),
    )?;
    let id = tx.last_insert_rowid();
    reindex(tx, entity, id, true)?;
    let record = read_back(tx, entity, id)?;
    check(tx, entity, caller.rights, &record, body)?;
    history::record_created(tx, entity, caller.actor, &record)?;
    let record = after_write(tx, entity, record)?;
    webhooks::record_event(tx, entity, "created", &record)?;
    let record = if automation::after_write(tx, entity, None, &record)? {
        read_back(tx, entity, id)?
    } else {
        record
    };
    Ok(for_caller(record, &module))
}

/// A visible record for a write by the caller: 404 when outside their scope, 409 with the
/// current record when `version` is stale.
fn current(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    id: i64,
    version: Option<i64>,
) -> Result<Value, AppError> {
    let record = fetch(conn, entity, rights, id, false)?.ok_or_else(AppError::not_found)?;
    match version {
        Some(v) if record["version"] != v => Err(version_conflict(for_caller(record, module))),
        _ => Ok(record),
    }
}

pub fn update(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
    body: &Map<String, Value>,
) -> Result<Value, AppError> {
    let module = caller.rights.require(entity.name, Action::Edit)?;
    let version = body.get("version").map(|v| v.as_i64().ok_or(()));
    let version = match version {
        Some(Ok(v)) => v,
        _ => return Err(AppError::field("version", "required", json!({}))),
    };
    let before = current(tx, entity, caller.rights, &module, id, Some(version))?;
    approvals::ensure_unlocked(tx, entity, id)?;
    let body = &prepared(tx, entity, caller.rights, body, Some(&before))?;
    let changes = parse_changes(tx, entity, caller, &module, body, false)?;
    let mut sets = Vec::new();
    let mut sql_values = Vec::new();
    let (custom, built_in): (Vec<_>, Vec<_>) =
        changes.values.into_iter().partition(|(f, _)| f.custom);
    for (field, value) in built_in {
        sql_values.push(value);
        sets.push(format!("{} = ?{}", field.name, sql_values.len()));
    }
    if let Some(extra) = set_custom("extra", custom, &mut sql_values) {
        sets.push(format!("extra = {extra}"));
    }
    if let Some((owner, department)) = changes.owner {
        sql_values.push(Sql::Integer(owner));
        sets.push(format!("owner_id = ?{}", sql_values.len()));
        sql_values.push(department.map_or(Sql::Null, Sql::Integer));
        sets.push(format!("department_id = ?{}", sql_values.len()));
    }
    sql_values.push(Sql::Integer(now_ms()));
    sets.push(format!("updated_at = ?{}", sql_values.len()));
    sql_values.push(Sql::Integer(id));
    tx.run(
        &format!(
            "UPDATE {} SET {}, version = version + 1 WHERE id = ?{}",
            entity.name,
            sets.join(", "),
            sql_values.len()
        ),
        params_from_iter(sql_values),
    )?;
    reindex(tx, entity, id, false)?;
    let after = read_back(tx, entity, id)?;
    check(tx, entity, caller.rights, &after, body)?;
    history::record_updated(tx, entity, caller.actor, &before, &after)?;
    let after = after_write(tx, entity, after)?;
    webhooks::record_event(tx, entity, "updated", &after)?;
    let after = if automation::after_write(tx, entity, Some(&before), &after)? {
        read_back(tx, entity, id)?
    } else {
        after
    };
    Ok(for_caller(after, &module))
}

/// Moves a record to the recycle bin.
pub fn delete(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
) -> Result<(), AppError> {
    let module = caller.rights.require(entity.name, Action::Delete)?;
    current(tx, entity, caller.rights, &module, id, None)?;
    approvals::ensure_unlocked(tx, entity, id)?;
    tx.run(
        &format!(
            "UPDATE {} SET deleted_at = ?1, deleted_by = ?2, version = version + 1 WHERE id = ?3",
            entity.name
        ),
        params![now_ms(), caller.rights.user_id, id],
    )?;
    let record = read_back(tx, entity, id)?;
    history::record_event(tx, entity, caller.actor, id, "deleted")?;
    crate::audit::record(
        tx,
        caller.actor,
        "record_deleted",
        Some((entity.name, id)),
        json!({}),
    )?;
    let record = after_write(tx, entity, record)?;
    webhooks::record_event(tx, entity, "deleted", &record)
}

/// Brings a record back from the recycle bin (needs the delete right on it).
pub fn restore(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
) -> Result<Value, AppError> {
    let module = caller.rights.require(entity.name, Action::Delete)?;
    fetch(tx, entity, caller.rights, id, true)?.ok_or_else(AppError::not_found)?;
    tx.run(
        &format!(
            "UPDATE {} SET deleted_at = NULL, deleted_by = NULL, version = version + 1,
                 updated_at = ?1 WHERE id = ?2",
            entity.name
        ),
        params![now_ms(), id],
    )?;
    let record = read_back(tx, entity, id)?;
    history::record_event(tx, entity, caller.actor, id, "restored")?;
    crate::audit::record(
        tx,
        caller.actor,
        "record_restored",
        Some((entity.name, id)),
        json!({}),
    )?;
    let record = after_write(tx, entity, record)?;
    Ok(for_caller(record, &module))
}
