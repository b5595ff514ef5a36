//! How records are read: the columns and names a reader selects, how a row becomes the API's
//! record, and fetching one record through the caller's visibility.

use super::visibility::{title_of, visible_one};
use crate::access::{FieldAccess, ModuleRights, Rights};
use crate::db::{locked, Cached};
use crate::entity::descriptor::{Entity, Kind};
use crate::entity::values::Shown;
use crate::http::error::AppError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::{to_raw_value, RawValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

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

/// Reads a record just written, bypassing scope: a caller may hand a record to someone else
/// and still gets the answer to their own request.
pub(super) fn read_back(
    conn: &Connection,
    entity: &'static Entity,
    id: i64,
) -> Result<Value, AppError> {
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
