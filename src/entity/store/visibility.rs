//! The data-scope condition in every statement that reads a record table, and the test of
//! whether the caller sees one record (see the module comment of `store` for related records).

use crate::access::{Action, Rights};
use crate::db::Cached;
use crate::entity::descriptor::{Entity, Visibility};
use crate::entity::registry;
use crate::http::error::AppError;
use rusqlite::Connection;

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

/// The condition that the columns `entity_column` and `id_column` of a row that points at a
/// record of any entity (a notification, a comment) name a record the caller may view: an
/// entity their role lets them view, a record in their scope, not in the recycle bin.
pub fn names_visible(rights: &Rights, (entity_column, id_column): (&str, &str)) -> String {
    let any: Vec<String> = registry::entities()
        .iter()
        .filter(|entity| rights.can(entity.name, Action::View))
        .map(|entity| {
            let name = entity.name;
            format!(
                "({entity_column} = '{name}' AND EXISTS (SELECT 1 FROM {name} v WHERE v.id = {id_column} \
                 AND v.deleted_at IS NULL AND {}))",
                visible_one(rights, entity, "v")
            )
        })
        .collect();
    if any.is_empty() {
        "0".into()
    } else {
        format!("({})", any.join(" OR "))
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

pub(super) fn title_of(rights: &Rights, target: &str, column: &str) -> Option<String> {
    let entity = registry::find(target)?;
    Some(format!(
        "(SELECT CAST(r.{title} AS TEXT) FROM {target} r WHERE r.id = {column} AND r.deleted_at IS NULL AND {})",
        visible_one(rights, entity, "r"),
        title = entity.title
    ))
}

/// Whether `user` is an active colleague whose roles let them open the record `id` of the
/// entity named `name`: who may be told about it (a notification, a mention, an approval).
pub fn may_open(conn: &Connection, user: i64, name: &str, id: i64) -> Result<bool, AppError> {
    if !crate::auth::users::is_active(conn, user)? {
        return Ok(false);
    }
    let rights = Rights::load(conn, user)?;
    Ok(rights.can(name, Action::View) && is_visible(conn, &rights, name, id)?)
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
