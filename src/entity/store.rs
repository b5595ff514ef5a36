//! Reading and writing records of any entity, always through the caller's rights: the
//! visibility predicate is part of every statement that reads a record table, and a record
//! outside it behaves as if it did not exist.
//!
//! Related records follow their parent: a contact or a follow-up is visible exactly when the
//! customer it belongs to is visible to the caller (under the caller's scope on the parent's
//! module, and only while the parent is not in the recycle bin). Their own module grants the
//! actions (view, create, …), not a separate scope, so what a person may see around a customer
//! never disagrees with whether they may see the customer.

use super::descriptor::{Entity, Field, Kind, Visibility, Wrote};
use super::history;
use super::registry;
use super::values::{self, Refusal, Shown};
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::audit::Actor;
use crate::db::{locked, Cached};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::version_conflict;
use crate::time::now_ms;
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

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

/// The SQL condition that admits the records of `entity` visible to the caller, for the table
/// aliased `alias` (see the module comment for related records), in a statement that reads
/// many of them (a list, a count, a report).
pub fn visible(rights: &Rights, entity: &Entity, alias: &str) -> String {
    condition(rights, entity, alias, Reach::Many)
}

/// The same condition for a statement that tests one record, or only the rows it answers (the
/// names beside a list's records).
pub fn visible_one(rights: &Rights, entity: &Entity, alias: &str) -> String {
    condition(rights, entity, alias, Reach::One)
}

/// How a related record's parent is tested. `Many`: a narrow scope gets the set of visible
/// parent ids, built once per statement, which is small and suits a scan of many rows. `One`:
/// a primary-key probe of the parent per row, as building that set for one record would cost a
/// read of every parent in scope (tens of thousands for a department tree at 1 M customers).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    One,
    Many,
}

fn condition(rights: &Rights, entity: &Entity, alias: &str, reach: Reach) -> String {
    match entity.visibility {
        Visibility::Owned => rights.scope_predicate(entity.name, alias),
        Visibility::Child { field, parent } => {
            parent_visible(rights, parent, (alias, field), reach)
        }
        Visibility::AnyParent {
            entity_field,
            id_field,
            parents,
        } => {
            let any = parents
                .iter()
                .map(|parent| {
                    // When every parent is visible, `+` keeps the planner from choosing the
                    // (entity, record_id) index for a test that nearly every row passes, so the
                    // list's own sort index is used.
                    let every = sees_every(rights, parent);
                    let plus = if every { "+" } else { "" };
                    format!(
                        "({plus}{alias}.{entity_field} = '{parent}' AND {})",
                        parent_visible(rights, parent, (alias, id_field), reach)
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            format!("({any})")
        }
    }
}

/// The tables a list of `entity` reads, as commits name them: its own, its search indexes'
/// (a commit to a full-text table writes its `_data` table; custom fields reindex them alone)
/// and, for its visibility, its parents'.
pub fn tables_read(entity: &Entity) -> Vec<String> {
    let parents: Vec<&'static str> = match entity.visibility {
        Visibility::Owned => Vec::new(),
        Visibility::Child { parent, .. } => vec![parent],
        Visibility::AnyParent { parents, .. } => parents.to_vec(),
    };
    let mut tables = vec![
        entity.name.to_string(),
        format!("{}_data", entity.fts_table()),
        format!("{}_data", entity.bigram_table()),
    ];
    for parent in parents.into_iter().filter_map(registry::find) {
        tables.extend(tables_read(parent));
    }
    tables
}

fn sees_every(rights: &Rights, entity: &str) -> bool {
    registry::find(entity).is_some_and(|e| visible(rights, e, "x") == "1")
}

/// The condition that the parent record `alias.field` points at is visible and not deleted:
/// a probe of the parent's primary key when the caller sees every parent (so a list keeps
/// reading its own sort index) or tests one record, else the set of visible parent ids.
fn parent_visible(
    rights: &Rights,
    parent: &str,
    (alias, field): (&str, &str),
    reach: Reach,
) -> String {
    let Some(entity) = registry::find(parent) else {
        return "0".into();
    };
    let inner = format!("{alias}p");
    let predicate = condition(rights, entity, &inner, reach);
    if predicate == "1" || reach == Reach::One {
        format!(
            "EXISTS (SELECT 1 FROM {parent} {inner} WHERE {inner}.id = {alias}.{field} \
             AND {inner}.deleted_at IS NULL AND {predicate})"
        )
    } else {
        format!(
            "{alias}.{field} IN (SELECT {inner}.id FROM {parent} {inner} \
             WHERE {inner}.deleted_at IS NULL AND {predicate})"
        )
    }
}

/// Columns shown beside ids so people read names: owner, department, references and the
/// parent of a follow-up. A referenced record's name appears only when the caller may see it.
fn display_columns(entity: &Entity, rights: &Rights) -> Vec<(&'static str, String)> {
    let mut columns = vec![("created_by", user_name("t.created_by"))];
    if entity.is_owned() {
        columns.push(("owner_id", user_name("t.owner_id")));
        columns.push(("department_id", department_name("t.department_id")));
    }
    for field in entity.fields {
        let column = field.column("t");
        match field.kind {
            Kind::User => columns.push((field.name, user_name(&column))),
            Kind::Department => columns.push((field.name, department_name(&column))),
            Kind::Lookup(table) => columns.push((
                field.name,
                format!("(SELECT name FROM {table} WHERE id = {column})"),
            )),
            Kind::Reference(target) => {
                if let Some(sql) = title_of(rights, target, &column) {
                    columns.push((field.name, sql));
                }
            }
            _ => {}
        }
    }
    if let Some((entity_field, id_field)) = entity.record_link() {
        let cases = linkable(entity)
            .iter()
            .filter_map(|p| {
                let title = title_of(rights, p, &format!("t.{id_field}"))?;
                Some(format!("WHEN '{p}' THEN {title}"))
            })
            .collect::<Vec<_>>()
            .join(" ");
        columns.push((id_field, format!("(CASE t.{entity_field} {cases} END)")));
    }
    columns
}

/// The entities a record link (`Entity::record_link`) may name.
fn linkable(entity: &Entity) -> &'static [&'static str] {
    let Some((entity_field, _)) = entity.record_link() else {
        return &[];
    };
    match entity.field(entity_field).map(|f| f.kind) {
        Some(Kind::EntityName(names)) => names,
        _ => &[],
    }
}

fn user_name(column: &str) -> String {
    format!("(SELECT display_name FROM users WHERE id = {column})")
}

fn department_name(column: &str) -> String {
    format!("(SELECT name FROM departments WHERE id = {column})")
}

fn title_of(rights: &Rights, target: &str, column: &str) -> Option<String> {
    let entity = registry::find(target)?;
    Some(format!(
        "(SELECT CAST(r.{title} AS TEXT) FROM {target} r WHERE r.id = {column} AND r.deleted_at IS NULL AND {})",
        visible_one(rights, entity, "r"),
        title = entity.title
    ))
}

/// How a record is read: the columns of `select()`, their keys and how each is shown.
pub struct Reader<'a> {
    entity: &'a Entity,
    /// The record's own keys, in `select()` order, with the kind their value is shown as.
    keys: Vec<(&'static str, Kind)>,
    /// Names of related records (`display_columns`), after the record's own columns.
    display: Vec<(&'static str, String)>,
    /// Which of `keys` then `display` the caller sees (`for_caller`); all when `None`.
    shown: Option<Vec<bool>>,
}

const BOOKKEEPING: [(&str, Kind); 6] = [
    ("id", Kind::Integer),
    ("version", Kind::Integer),
    ("created_at", Kind::DateTime),
    ("updated_at", Kind::DateTime),
    ("deleted_at", Kind::DateTime),
    ("created_by", Kind::User),
];

impl<'a> Reader<'a> {
    pub fn new(entity: &'a Entity, rights: &Rights) -> Reader<'a> {
        let mut keys = BOOKKEEPING.to_vec();
        if entity.is_owned() {
            keys.extend([
                ("owner_id", Kind::User),
                ("department_id", Kind::Department),
            ]);
        }
        keys.extend(entity.fields.iter().map(|f| (f.name, f.kind)));
        Reader {
            entity,
            keys,
            display: display_columns(entity, rights),
            shown: None,
        }
    }

    /// The same reader leaving out what the caller's roles hide, as `for_caller` does; decided
    /// once here, not per record.
    pub fn for_caller(mut self, rights: &ModuleRights) -> Reader<'a> {
        let names = self.keys.iter().map(|(name, _)| *name);
        let names = names.chain(self.display.iter().map(|(name, _)| *name));
        self.shown = Some(
            names
                .map(|name| rights.field(name) != FieldAccess::Hidden)
                .collect(),
        );
        self
    }

    pub fn entity(&self) -> &'a Entity {
        self.entity
    }

    pub fn select(&self) -> String {
        let system = self.keys.len() - self.entity.fields.len();
        let columns = (self.keys[..system]
            .iter()
            .map(|(name, _)| format!("t.{name}")))
        .chain(self.entity.fields.iter().map(|f| f.column("t")))
        .chain(self.display.iter().map(|(_, sql)| sql.clone()));
        format!(
            "SELECT {} FROM {} t",
            columns.collect::<Vec<_>>().join(", "),
            self.entity.name
        )
    }

    /// One row of `select()` as the API's record.
    pub fn record(&self, r: &Row) -> rusqlite::Result<Value> {
        serialised(serde_json::to_value(self.row(r)?))
    }

    /// One row of `select()` as the API's record, already JSON: lists and boards write their
    /// records this way, without a `Value` per field (that was half of a list page's time).
    pub fn record_json(&self, r: &Row) -> rusqlite::Result<Box<RawValue>> {
        serialised(to_raw_value(&self.row(r)?))
    }

    /// Appends one row of `select()` as the API's record, in JSON, to `out`: a list page
    /// writes all its records into one buffer this way (a buffer per record, grown as it was
    /// written, was a tenth of a list's time).
    pub fn write_json(&self, r: &Row, out: &mut Vec<u8>) -> rusqlite::Result<()> {
        serialised(serde_json::to_writer(out, &self.row(r)?))
    }

    fn row<'r>(&'r self, r: &'r Row) -> rusqlite::Result<RecordRow<'r>> {
        let columns = self.keys.len() + self.display.len();
        let mut cells = Vec::with_capacity(columns);
        for i in 0..columns {
            cells.push(r.get_ref(i)?);
        }
        Ok(RecordRow {
            reader: self,
            cells,
        })
    }

    fn is_shown(&self, column: usize) -> bool {
        self.shown.as_ref().is_none_or(|shown| shown[column])
    }
}

fn serialised<T>(result: serde_json::Result<T>) -> rusqlite::Result<T> {
    result.map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A row read by a `Reader`: the record's keys, then `display` with the names of the related
/// records.
struct RecordRow<'r> {
    reader: &'r Reader<'r>,
    cells: Vec<ValueRef<'r>>,
}

impl Serialize for RecordRow<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let mut map = out.serialize_map(None)?;
        for (column, (name, kind)) in self.reader.keys.iter().enumerate() {
            if self.reader.is_shown(column) {
                map.serialize_entry(name, &Shown(*kind, self.cells[column]))?;
            }
        }
        map.serialize_entry("display", &DisplayNames(self))?;
        map.end()
    }
}

struct DisplayNames<'a, 'r>(&'a RecordRow<'r>);

impl Serialize for DisplayNames<'_, '_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        let RecordRow { reader, cells } = self.0;
        let mut map = out.serialize_map(None)?;
        let first = reader.keys.len();
        for (i, (name, _)) in reader.display.iter().enumerate() {
            if reader.is_shown(first + i) {
                map.serialize_entry(name, &Shown(Kind::LongText, cells[first + i]))?;
            }
        }
        map.end()
    }
}

/// Removes the fields the caller's roles hide.
pub fn for_caller(mut record: Value, rights: &ModuleRights) -> Value {
    if let Value::Object(map) = &mut record {
        map.retain(|k, _| rights.field(k) != FieldAccess::Hidden);
        if let Some(Value::Object(display)) = map.get_mut("display") {
            display.retain(|k, _| rights.field(k) != FieldAccess::Hidden);
        }
    }
    record
}

/// A record the caller may see, in the recycle bin (`deleted`) or not; all fields.
pub fn fetch(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    id: i64,
    deleted: bool,
) -> Result<Option<Value>, AppError> {
    let reader = Reader::new(entity, rights);
    fetch_row(conn, &reader, rights, (id, deleted), |r| reader.record(r))
}

/// The record in use `fetch` reads, as the caller's answer: JSON without what their roles hide.
pub fn fetch_json(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    id: i64,
) -> Result<Option<Box<RawValue>>, AppError> {
    let reader = Reader::new(entity, rights).for_caller(module);
    fetch_row(conn, &reader, rights, (id, false), |r| {
        reader.record_json(r)
    })
}

fn fetch_row<T>(
    conn: &Connection,
    reader: &Reader,
    rights: &Rights,
    (id, deleted): (i64, bool),
    map: impl FnOnce(&Row) -> rusqlite::Result<T>,
) -> Result<Option<T>, AppError> {
    let bin = if deleted { "IS NOT NULL" } else { "IS NULL" };
    let sql = format!(
        "{} WHERE t.id = ?1 AND t.deleted_at {bin} AND {}",
        reader.select(),
        visible_one(rights, reader.entity(), "t")
    );
    Ok(conn.one(&sql, [id], map).optional()?)
}

/// Whether the caller may see the record `id` of the entity named `name`.
pub fn is_visible(
    conn: &Connection,
    rights: &Rights,
    name: &str,
    id: i64,
) -> Result<bool, AppError> {
    let Some(entity) = registry::find(name) else {
        return Ok(false);
    };
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {name} t WHERE t.id = ?1 AND t.deleted_at IS NULL AND {})",
        visible_one(rights, entity, "t")
    );
    Ok(conn.one(&sql, [id], |r| r.get(0))?)
}

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
                super::picklists::active_values(conn, entity.name, field.name)?
            }
            _ => Vec::new(),
        };
        match values::parse(field, raw, &allowed) {
            Ok(value) => changes.values.push((field, value)),
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
    let currency: Option<String> = conn
        .one(
            "SELECT value FROM settings WHERE key = 'company.currency'",
            [],
            |r| r.get(0),
        )
        .optional()?;
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

/// Writes the record's rows in the entity's full-text indexes (trigrams of every searchable
/// text, pairs of the short ones), in the caller's transaction; a record just created has no
/// rows to remove first.
///
/// Plain `INSERT … VALUES`, never `INSERT … SELECT`: a statement that may write several rows of
/// a virtual table opens a statement savepoint, and FTS5 writes its pending terms to disk at
/// every savepoint, so a transaction of many records would leave a tiny index segment per
/// record to merge (most of the demo generator's time went there).
fn reindex(conn: &Connection, entity: &Entity, id: i64, created: bool) -> rusqlite::Result<()> {
    let searchable: Vec<&Field> = entity.searchable().collect();
    let has_custom = entity.searchable_custom().next().is_some();
    if searchable.is_empty() && !has_custom {
        return Ok(());
    }
    let select: Vec<String> = searchable
        .iter()
        .map(|f| f.column("t"))
        .chain([super::custom::search_text(entity, "t")])
        .collect();
    let texts: Vec<Option<String>> = conn.one(
        &format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            select.join(", "),
            entity.name
        ),
        [id],
        |r| (0..select.len()).map(|i| r.get(i)).collect(),
    )?;
    let trigram_columns: Vec<&str> = searchable
        .iter()
        .map(|f| f.name)
        .chain(["custom"])
        .collect();
    replace_index_row(
        conn,
        &entity.fts_table(),
        &trigram_columns,
        id,
        &texts,
        created,
    )?;
    let pair_columns = super::bigrams::columns(entity);
    if pair_columns.len() == 1 && !has_custom {
        return Ok(());
    }
    let pairs: Vec<Option<String>> = pair_columns
        .iter()
        .map(|name| {
            let at = trigram_columns.iter().position(|c| c == name)?;
            let mut tokens = String::new();
            super::bigrams::tokens(texts[at].as_deref()?, &mut tokens);
            Some(tokens)
        })
        .collect();
    replace_index_row(
        conn,
        &entity.bigram_table(),
        &pair_columns,
        id,
        &pairs,
        created,
    )
}

/// Deletes (unless `created`) and writes the row `id` of the full-text table `table`.
fn replace_index_row(
    conn: &Connection,
    table: &str,
    columns: &[&str],
    id: i64,
    values: &[Option<String>],
    created: bool,
) -> rusqlite::Result<()> {
    if !created {
        conn.run(&format!("DELETE FROM {table} WHERE rowid = ?1"), [id])?;
    }
    let slots: Vec<String> = (2..=columns.len() + 1).map(|i| format!("?{i}")).collect();
    let mut bound = vec![Sql::Integer(id)];
    bound.extend(
        values
            .iter()
            .map(|v| v.clone().map_or(Sql::Null, Sql::Text)),
    );
    conn.run(
        &format!(
            "INSERT INTO {table} (rowid, {}) VALUES (?1, {})",
            columns.join(", "),
            slots.join(", ")
        ),
        params_from_iter(bound),
    )?;
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
fn after_write(
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
    Ok(for_caller(record, &module))
}

/// Reads a record just written, bypassing scope: a caller may hand a record to someone else
/// and still gets the answer to their own request.
fn read_back(conn: &Connection, entity: &'static Entity, id: i64) -> Result<Value, AppError> {
    let (reader, sql) = &*unscoped_reader(entity);
    Ok(conn.one(sql, [id], |r| reader.record(r))?)
}

/// The reader `read_back` uses for `entity`, with its statement. Neither depends on anyone's
/// rights, so each is built once per descriptor (custom fields make a new descriptor) instead
/// of once per write.
fn unscoped_reader(entity: &'static Entity) -> Arc<(Reader<'static>, String)> {
    type Readers = HashMap<usize, Arc<(Reader<'static>, String)>>;
    static READERS: OnceLock<Mutex<Readers>> = OnceLock::new();
    let mut readers = locked(READERS.get_or_init(Default::default));
    let key = std::ptr::from_ref(entity) as usize;
    readers
        .entry(key)
        .or_insert_with(|| {
            let reader = Reader::new(entity, &Rights::system());
            let sql = format!("{} WHERE t.id = ?1", reader.select());
            Arc::new((reader, sql))
        })
        .clone()
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
    after_write(tx, entity, record).map(drop)
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
    after_write(tx, entity, after)
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
