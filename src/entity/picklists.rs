//! The data dictionary (数据字典): administrators edit the options of every picklist field in
//! the browser, and the change applies on the next request (forms, filters, validation, import
//! and the metadata all read `picklist_options`). A value records still hold cannot be
//! removed, only retired (`active: false`): records keep it and show its label, forms stop
//! offering it.

use super::custom;
use super::descriptor::{Entity, Kind};
use super::registry;
use crate::audit;
use crate::auth::session::Admin;
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

const VALUE_MAX: usize = 40;
const LABEL_MAX: usize = 50;
const OPTIONS_MAX: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/picklists", web::get().to(list)).route(
        "/settings/picklists/{entity}/{field}",
        web::put().to(replace),
    );
}

fn picklist_fields(entity: &Entity) -> impl Iterator<Item = &'static str> {
    entity
        .fields
        .iter()
        .filter(|f| matches!(f.kind, Kind::Picklist | Kind::MultiPicklist))
        .map(|f| f.name)
}

/// One option of a picklist as administrators keep it.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub label_zh: String,
    pub label_en: String,
    pub active: bool,
}

impl Choice {
    pub fn label(&self, lang: Lang) -> &str {
        if lang == Lang::ZhCn {
            &self.label_zh
        } else {
            &self.label_en
        }
    }
}

/// Every option of every picklist field of an entity, per field, in their order: metadata,
/// import and this screen use it (a single write checks its values with `active_values`).
pub fn choices(conn: &Connection, entity: &str) -> rusqlite::Result<HashMap<String, Vec<Choice>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT field, value, label_zh, label_en, active FROM picklist_options
          WHERE entity = ?1 ORDER BY field, position",
    )?;
    let mut map: HashMap<String, Vec<Choice>> = HashMap::new();
    let rows = stmt.query_map([entity], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Choice {
                value: r.get(1)?,
                label_zh: r.get(2)?,
                label_en: r.get(3)?,
                active: r.get(4)?,
            },
        ))
    })?;
    for row in rows {
        let (field, choice) = row?;
        map.entry(field).or_default().push(choice);
    }
    Ok(map)
}

/// The values a record may take in one picklist field: its active options, in their order.
/// Every write of a record runs this per picklist field, so the few options are put in order
/// here rather than by a sort in SQLite (a sorter per statement was a third of its cost).
/// The active choices of a picklist as a reader names them, for a refusal's message: one text
/// per language, each label followed by the value an API client sends (`Lang` codes as keys,
/// which `Translations::text` picks from).
pub fn active_labels(conn: &Connection, entity: &str, field: &str) -> rusqlite::Result<Value> {
    let options = conn
        .prepare_cached(
            "SELECT value, label_zh, label_en FROM picklist_options
              WHERE entity = ?1 AND field = ?2 AND active ORDER BY position",
        )?
        .query_map([entity, field], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let named = |label: fn(&(String, String, String)) -> String, separator| {
        options
            .iter()
            .map(label)
            .collect::<Vec<_>>()
            .join(separator)
    };
    Ok(json!({
        Lang::ZhCn.code(): named(|(value, zh, _)| format!("{zh}（{value}）"), "、"),
        Lang::En.code(): named(|(value, _, en)| format!("{en} ({value})"), ", "),
    }))
}

pub fn active_values(
    conn: &Connection,
    entity: &str,
    field: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut options = conn
        .prepare_cached(
            "SELECT position, value FROM picklist_options
              WHERE entity = ?1 AND field = ?2 AND active",
        )?
        .query_map([entity, field], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    options.sort_unstable();
    Ok(options.into_iter().map(|(_, value)| value).collect())
}

/// Adds the `values` a field does not have as options of it yet, labelled as written and after
/// the others: another system's values an import was told to keep.
pub fn add_missing(
    conn: &Connection,
    entity: &str,
    field: &str,
    values: &[String],
) -> rusqlite::Result<()> {
    for value in values {
        conn.run(
            "INSERT OR IGNORE INTO picklist_options (entity, field, value, label_zh, label_en, position, active)
             SELECT ?1, ?2, ?3, ?3, ?3, coalesce(max(position), 0) + 1, 1
               FROM picklist_options WHERE entity = ?1 AND field = ?2",
            params![entity, field, value],
        )?;
    }
    Ok(())
}

/// Removes the options among `values` that no live record holds: what a failed import added.
pub fn remove_unused(
    conn: &Connection,
    entity: &Entity,
    field: &str,
    values: &[String],
) -> rusqlite::Result<()> {
    let Some(column) = entity.field(field).map(|f| f.column("t")) else {
        return Ok(());
    };
    let used = format!(
        "SELECT EXISTS (SELECT 1 FROM {} t WHERE t.deleted_at IS NULL AND ({column} = ?1
            OR (json_valid({column}) AND EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value = ?1))))",
        entity.name
    );
    for value in values {
        if !conn.query_row(&used, [value], |r| r.get::<_, bool>(0))? {
            conn.execute(
                "DELETE FROM picklist_options WHERE entity = ?1 AND field = ?2 AND value = ?3",
                params![entity.name, field, value],
            )?;
        }
    }
    Ok(())
}

fn options(conn: &Connection, entity: &str, field: &str) -> rusqlite::Result<Vec<Choice>> {
    Ok(choices(conn, entity)?.remove(field).unwrap_or_default())
}

async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            let mut items = Vec::new();
            for entity in registry::entities() {
                let entity = custom::schema(conn, entity)?;
                let mut choices = choices(conn, entity.name)?;
                for field in picklist_fields(entity) {
                    items.push(json!({
                        "entity": entity.name,
                        "field": field,
                        "options": choices.remove(field).unwrap_or_default(),
                    }));
                }
            }
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Whether any record, deleted ones included, holds `value` in the field.
fn in_use(conn: &Connection, entity: &Entity, field: &str, value: &str) -> rusqlite::Result<bool> {
    let Some(field) = entity.field(field) else {
        return Ok(false);
    };
    let column = field.column("t");
    let sql = if field.kind.is_list() {
        format!(
            "SELECT EXISTS (SELECT 1 FROM {} t, json_each({column}) j WHERE j.value = ?1)",
            entity.name
        )
    } else {
        format!(
            "SELECT EXISTS (SELECT 1 FROM {} t WHERE {column} = ?1)",
            entity.name
        )
    };
    conn.query_row(&sql, [value], |r| r.get(0))
}

fn text(item: &Value, key: &str, max: usize, errors: &mut FieldErrors, at: &str) -> String {
    let value = item[key].as_str().map(str::trim).unwrap_or_default();
    if value.is_empty() {
        errors.add(&format!("{at}.{key}"), "required", json!({}));
    } else if value.chars().count() > max || value.chars().any(char::is_control) {
        errors.add(&format!("{at}.{key}"), "too_long", json!({ "max": max }));
    }
    value.to_string()
}

fn parse(body: &Body) -> Result<Vec<Choice>, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["options"], &mut errors);
    let items = body
        .0
        .get("options")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.is_empty() || items.len() > OPTIONS_MAX {
        errors.add(
            "options",
            "count_between",
            json!({ "min": 1, "max": OPTIONS_MAX }),
        );
    }
    let mut parsed: Vec<Choice> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("options.{i}");
        let option = Choice {
            value: text(item, "value", VALUE_MAX, &mut errors, &at),
            label_zh: text(item, "label_zh", LABEL_MAX, &mut errors, &at),
            label_en: text(item, "label_en", LABEL_MAX, &mut errors, &at),
            active: item["active"].as_bool().unwrap_or(true),
        };
        if parsed.iter().any(|o| o.value == option.value) {
            errors.add(&format!("{at}.value"), "taken", json!({}));
        }
        parsed.push(option);
    }
    if !parsed.is_empty() && !parsed.iter().any(|o| o.active) {
        errors.add("options", "one_active", json!({}));
    }
    errors.into_result()?;
    Ok(parsed)
}

/// Replaces a field's options with the list given, in its order.
async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (entity_name, field_name) = path.into_inner();
    let entity = registry::find(&entity_name).ok_or_else(AppError::not_found)?;
    let body = Body::parse(body.into_inner())?;
    let who = actor(&req, &admin);
    let (field, saved) = state
        .db
        .write(move |tx| {
            let entity = custom::schema(tx, entity)?;
            let field = picklist_fields(entity)
                .find(|f| *f == field_name)
                .ok_or_else(AppError::not_found)?;
            let wanted = parse(&body)?;
            let mut errors = FieldErrors::new();
            for old in options(tx, entity.name, field)? {
                let value = old.value.as_str();
                if !wanted.iter().any(|o| o.value == value) && in_use(tx, entity, field, value)? {
                    errors.add("options", "in_use", json!({ "value": value }));
                }
            }
            errors.into_result()?;
            tx.execute(
                "DELETE FROM picklist_options WHERE entity = ?1 AND field = ?2",
                [entity.name, field],
            )?;
            for (position, option) in wanted.iter().enumerate() {
                tx.execute(
                    "INSERT INTO picklist_options (entity, field, value, label_zh, label_en, position, active)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![entity.name, field, option.value, option.label_zh, option.label_en, position as i64 + 1, option.active],
                )?;
            }
            let saved = options(tx, entity.name, field)?;
            audit::record_for_entity(tx, &who, "picklist_changed", entity.name, json!({ "field": field, "options": saved }))?;
            Ok((field, saved))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "entity": entity.name, "field": field, "options": saved })))
}
