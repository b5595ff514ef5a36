//! Administrators' fields (自定义字段): they add fields to an entity, relabel, reorder and hide
//! any field, and make a custom field searchable or indexed, in the browser and without a
//! restart. A custom field's value lives in the record's `extra` JSON under its name (always
//! `cf_…`); the engine reads it through `Field::column`, so lists, filters, sort, search, forms,
//! import, export and history treat it like a built-in field.
//!
//! Every handler turns its static descriptor into the current one with `schema`. The engine
//! hands out `&'static` descriptors, so each distinct set of settings is built once and kept
//! for the life of the process (interned): only an administrator's edit creates a new one, a
//! few hundred bytes each.

use super::descriptor::{Entity, Field, Kind};
use super::registry;
use crate::audit;
use crate::auth::session::Admin;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const CUSTOM_PREFIX: &str = "cf_";
const KEY_MAX: usize = 30;
const LABEL_MAX: usize = 50;
const CUSTOM_FIELDS_MAX: usize = 100;
const TEXT_MAX_DEFAULT: usize = 200;
const TEXT_MAX_LIMIT: usize = 2000;
/// Custom fields start after every built-in one.
const CUSTOM_POSITION_BASE: i64 = 1000;

/// The kinds an administrator may give a custom field: values that need no join to show.
const CUSTOM_KINDS: [&str; 12] = [
    "text",
    "long_text",
    "integer",
    "money",
    "date",
    "datetime",
    "bool",
    "picklist",
    "multi_picklist",
    "phone",
    "email",
    "url",
];

/// One row of `field_settings`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Setting {
    name: String,
    custom: bool,
    kind: Option<String>,
    max_length: Option<i64>,
    label: Option<[String; 2]>,
    position: i64,
    hidden: bool,
    required: bool,
    searchable: bool,
    indexed: bool,
}

fn settings(conn: &Connection, entity: &str) -> rusqlite::Result<Vec<Setting>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, custom, kind, max_length, label_zh, label_en, position, hidden, required,
                searchable, indexed
         FROM field_settings WHERE entity = ?1 ORDER BY position, name",
    )?;
    let rows = stmt.query_map([entity], |r| {
        let label = match (r.get::<_, Option<String>>(4)?, r.get(5)?) {
            (Some(zh), Some(en)) => Some([zh, en]),
            _ => None,
        };
        Ok(Setting {
            name: r.get(0)?,
            custom: r.get(1)?,
            kind: r.get(2)?,
            max_length: r.get(3)?,
            label,
            position: r.get(6)?,
            hidden: r.get(7)?,
            required: r.get(8)?,
            searchable: r.get(9)?,
            indexed: r.get(10)?,
        })
    })?;
    rows.collect()
}

/// Whether `name` has the shape of a custom field's name (roles may name one before or after
/// it exists; a rule on a field that does not exist has no effect).
pub fn is_custom_name(name: &str) -> bool {
    name.strip_prefix(CUSTOM_PREFIX).is_some_and(valid_key)
}

fn valid_key(key: &str) -> bool {
    key.len() <= KEY_MAX
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

type Interned = HashMap<(&'static str, Vec<Setting>), &'static Entity>;

fn interned() -> &'static Mutex<Interned> {
    static INTERNED: OnceLock<Mutex<Interned>> = OnceLock::new();
    INTERNED.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The entity named like `entity` as administrators have shaped it now: built-in fields with
/// their labels, order and hidden flags, then the custom fields.
pub fn schema(conn: &Connection, entity: &'static Entity) -> rusqlite::Result<&'static Entity> {
    // Built from the static descriptor even when handed one already built.
    let base = registry::find(entity.name).unwrap_or(entity);
    let settings = settings(conn, base.name)?;
    if settings.is_empty() {
        return Ok(base);
    }
    let mut interned = interned().lock().unwrap_or_else(|e| e.into_inner());
    let key = (base.name, settings);
    if let Some(entity) = interned.get(&key) {
        return Ok(entity);
    }
    let built: &'static Entity = Box::leak(Box::new(build(base, &key.1)));
    interned.insert(key, built);
    Ok(built)
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_owned().into_boxed_str())
}

fn build(base: &'static Entity, settings: &[Setting]) -> Entity {
    let setting = |name: &str| settings.iter().find(|s| s.name == name);
    let mut fields: Vec<(i64, Field)> = base
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let mut field = *field;
            let mut position = i as i64;
            if let Some(s) = setting(field.name) {
                field.hidden = s.hidden;
                field.label = s.label.as_ref().map(|[zh, en]| [leak(zh), leak(en)]);
                position = s.position;
            }
            (position, field)
        })
        .collect();
    for s in settings.iter().filter(|s| s.custom) {
        let Some(kind) = s.kind.as_deref().and_then(|k| kind(k, s.max_length)) else {
            continue;
        };
        let mut field = Field::new(leak(&s.name), kind);
        field.custom = true;
        field.sortable = true;
        field.required = s.required;
        field.searchable = s.searchable;
        field.hidden = s.hidden;
        field.label = s.label.as_ref().map(|[zh, en]| [leak(zh), leak(en)]);
        fields.push((s.position, field));
    }
    fields.sort_by_key(|(position, _)| *position);
    let fields: Vec<Field> = fields.into_iter().map(|(_, f)| f).collect();
    Entity {
        fields: Box::leak(fields.into_boxed_slice()),
        ..*base
    }
}

fn kind(name: &str, max_length: Option<i64>) -> Option<Kind> {
    Some(match name {
        "text" => Kind::Text {
            max: max_length.map_or(TEXT_MAX_DEFAULT, |m| m as usize),
        },
        "long_text" => Kind::LongText,
        "integer" => Kind::Integer,
        "money" => Kind::Money,
        "date" => Kind::Date,
        "datetime" => Kind::DateTime,
        "bool" => Kind::Bool,
        "picklist" => Kind::Picklist,
        "multi_picklist" => Kind::MultiPicklist,
        "phone" => Kind::Phone,
        "email" => Kind::Email,
        "url" => Kind::Url,
        _ => return None,
    })
}

/// The text of a record's searchable custom fields, for the full-text table's `custom` column.
pub fn search_text(entity: &Entity, alias: &str) -> String {
    let parts: Vec<String> = entity
        .searchable_custom()
        .map(|f| f.column(alias))
        .collect();
    if parts.is_empty() {
        "NULL".into()
    } else {
        format!("concat_ws(' ', {})", parts.join(", "))
    }
}

/// Rewrites every record's `custom` search text, after the set of searchable fields changed.
fn reindex_all(conn: &Connection, entity: &Entity) -> rusqlite::Result<()> {
    if entity.searchable().next().is_none() && entity.searchable_custom().next().is_none() {
        return Ok(());
    }
    let fts = entity.fts_table();
    conn.execute(
        &format!(
            "UPDATE {fts} SET custom = (SELECT {} FROM {} t WHERE t.id = {fts}.rowid)",
            search_text(entity, "t"),
            entity.name
        ),
        [],
    )?;
    conn.execute(&super::bigrams::insert_sql(entity, "1"), [])?;
    Ok(())
}

fn index_name(entity: &str, field: &str) -> String {
    format!("{entity}_{field}")
}

/// Creates or drops the expression index that lets lists filter and sort by a custom field
/// without reading the table. Names come from `field_settings`, which only admits `cf_[a-z0-9_]`.
fn apply_index(
    conn: &Connection,
    entity: &str,
    field: &str,
    indexed: bool,
) -> rusqlite::Result<()> {
    let name = index_name(entity, field);
    let sql = if indexed {
        format!(
            "CREATE INDEX IF NOT EXISTS {name} ON {entity}(json_extract(extra, '$.{field}'), deleted_at)"
        )
    } else {
        format!("DROP INDEX IF EXISTS {name}")
    };
    conn.execute(&sql, [])?;
    Ok(())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/fields", web::get().to(list))
        .route("/settings/fields/{entity}", web::post().to(add))
        .route("/settings/fields/{entity}/order", web::put().to(reorder))
        .route("/settings/fields/{entity}/{field}", web::patch().to(change));
}

/// A field as the settings screen shows it: both labels (the translation files' when not
/// relabelled) and every flag an administrator may change.
fn describe(state: &AppState, conn: &Connection, entity: &Entity) -> rusqlite::Result<Value> {
    let saved = settings(conn, entity.name)?;
    let fields: Vec<Value> = entity
        .fields
        .iter()
        .map(|field| {
            let s = saved.iter().find(|s| s.name == field.name);
            let default = [Lang::ZhCn, Lang::En].map(|lang| {
                state
                    .i18n
                    .text(lang, &format!("field.{}.{}", entity.name, field.name), &json!({}))
            });
            let [zh, en] = field.label.map_or(default.clone(), |l| l.map(String::from));
            json!({
                "name": field.name,
                "type": field.kind.name(),
                "custom": field.custom,
                "label_zh": zh,
                "label_en": en,
                "default_label_zh": if field.custom { Value::Null } else { json!(default[0]) },
                "default_label_en": if field.custom { Value::Null } else { json!(default[1]) },
                "hidden": field.hidden,
                "required": field.required,
                "searchable": field.searchable,
                "indexed": s.is_some_and(|s| s.indexed),
                "system": field.system,
                "max_length": match field.kind { Kind::Text { max } => json!(max), _ => Value::Null },
                "locked": locked(entity, field),
            })
        })
        .collect();
    Ok(json!({ "entity": entity.name, "fields": fields }))
}

/// A field that cannot be hidden: one every record must have, or the one records are known by.
fn locked(entity: &Entity, field: &Field) -> bool {
    !field.custom && (field.required || field.name == entity.title)
}

async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let shared = state.clone();
    let items = state
        .db
        .read(move |conn| {
            let mut items = Vec::new();
            for entity in registry::entities() {
                items.push(describe(&shared, conn, schema(conn, entity)?)?);
            }
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A label from the body; missing, null or blank counts as absent (an error when `required`).
fn label_text(body: &Body, key: &str, required: bool, errors: &mut FieldErrors) -> Option<String> {
    let value = body.0.get(key).unwrap_or(&Value::Null);
    let text = value.as_str().map(str::trim).unwrap_or_default();
    if text.is_empty() {
        if required || !value.is_null() && !value.is_string() {
            errors.add(key, "required", json!({}));
        }
        return None;
    }
    if text.chars().count() > LABEL_MAX || text.chars().any(char::is_control) {
        errors.add(key, "too_long", json!({ "max": LABEL_MAX }));
    }
    Some(text.to_string())
}

fn flag(body: &Body, key: &str, errors: &mut FieldErrors) -> Option<bool> {
    let value = body.0.get(key)?;
    let flag = value.as_bool();
    if flag.is_none() {
        errors.add(key, "boolean", json!({}));
    }
    flag
}

/// A new custom field, as `POST /settings/fields/{entity}` describes it.
struct NewField {
    name: String,
    kind: String,
    max_length: Option<i64>,
    label: [String; 2],
    required: bool,
    searchable: bool,
    indexed: bool,
}

fn parse_new(body: &Body) -> Result<NewField, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(
        &[
            "key",
            "type",
            "label_zh",
            "label_en",
            "max_length",
            "required",
            "searchable",
            "indexed",
        ],
        &mut errors,
    );
    let key = body.text("key").map(str::trim).unwrap_or_default();
    if key.is_empty() {
        errors.add("key", "required", json!({}));
    } else if !valid_key(key) {
        errors.add("key", "field_key", json!({ "max": KEY_MAX }));
    }
    let kind = body.text("type").unwrap_or_default();
    if !CUSTOM_KINDS.contains(&kind) {
        errors.add(
            "type",
            "one_of",
            json!({ "options": CUSTOM_KINDS.join(", ") }),
        );
    }
    let max_length = match body.0.get("max_length") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let max = v
                .as_i64()
                .filter(|m| (1..=TEXT_MAX_LIMIT as i64).contains(m));
            if max.is_none() {
                errors.add(
                    "max_length",
                    "between",
                    json!({ "min": 1, "max": TEXT_MAX_LIMIT }),
                );
            }
            max.filter(|_| kind == "text")
        }
    };
    let zh = label_text(body, "label_zh", true, &mut errors);
    let en = label_text(body, "label_en", true, &mut errors);
    let required = flag(body, "required", &mut errors).unwrap_or(false);
    let searchable = flag(body, "searchable", &mut errors).unwrap_or(false);
    let indexed = flag(body, "indexed", &mut errors).unwrap_or(false);
    errors.into_result()?;
    Ok(NewField {
        name: format!("{CUSTOM_PREFIX}{key}"),
        kind: kind.to_string(),
        max_length,
        label: [zh.unwrap_or_default(), en.unwrap_or_default()],
        required,
        searchable,
        indexed,
    })
}

fn entity_named(name: &str) -> Result<&'static Entity, AppError> {
    registry::find(name).ok_or_else(AppError::not_found)
}

/// `POST /settings/fields/{entity}`: adds a custom field (201 with the entity's fields).
async fn add(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let base = entity_named(&path.into_inner())?;
    let new = parse_new(&Body::parse(body.into_inner())?)?;
    let who = actor(&req, &admin);
    let shared = state.clone();
    let answer = state
        .db
        .write(move |tx| {
            let entity = schema(tx, base)?;
            if entity.fields.iter().filter(|f| f.custom).count() >= CUSTOM_FIELDS_MAX {
                return Err(AppError::field(
                    "key",
                    "too_many",
                    json!({ "max": CUSTOM_FIELDS_MAX }),
                ));
            }
            if entity.field(&new.name).is_some() {
                return Err(AppError::field("key", "taken", json!({})));
            }
            let position: i64 = tx.query_row(
                "SELECT max(?2, coalesce(max(position), 0) + 1) FROM field_settings
                 WHERE entity = ?1 AND custom = 1",
                params![base.name, CUSTOM_POSITION_BASE],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO field_settings (entity, name, custom, kind, max_length, label_zh,
                     label_en, position, required, searchable, indexed)
                 VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    base.name,
                    new.name,
                    new.kind,
                    new.max_length,
                    new.label[0],
                    new.label[1],
                    position,
                    new.required,
                    new.searchable,
                    new.indexed
                ],
            )?;
            apply_index(tx, base.name, &new.name, new.indexed)?;
            let entity = schema(tx, base)?;
            if new.searchable {
                reindex_all(tx, entity)?;
            }
            audit::record_for_entity(
                tx,
                &who,
                "field_added",
                base.name,
                json!({ "field": new.name, "type": new.kind }),
            )?;
            Ok(describe(&shared, tx, entity)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// What `PATCH /settings/fields/{entity}/{field}` may change.
struct FieldChange {
    /// `Some(None)` puts a built-in field's own labels back.
    label: Option<Option<[String; 2]>>,
    hidden: Option<bool>,
    required: Option<bool>,
    searchable: Option<bool>,
    indexed: Option<bool>,
}

fn parse_change(body: &Body, field: &Field, entity: &Entity) -> Result<FieldChange, AppError> {
    let mut errors = FieldErrors::new();
    let mut allowed = vec!["label_zh", "label_en", "hidden"];
    if field.custom {
        allowed.extend(["required", "searchable", "indexed"]);
    }
    body.refuse_others(&allowed, &mut errors);
    let relabel = body.has("label_zh") || body.has("label_en");
    let label = if relabel {
        let zh = label_text(body, "label_zh", field.custom, &mut errors);
        let en = label_text(body, "label_en", field.custom, &mut errors);
        match (zh, en) {
            (Some(zh), Some(en)) => Some(Some([zh, en])),
            (None, None) if !field.custom => Some(None),
            (zh, _) => {
                let missing = if zh.is_none() { "label_zh" } else { "label_en" };
                if !errors.has(missing) {
                    errors.add(missing, "required", json!({}));
                }
                None
            }
        }
    } else {
        None
    };
    let hidden = flag(body, "hidden", &mut errors);
    let required = flag(body, "required", &mut errors);
    // A form cannot ask for a field it does not show.
    let hidden_and_required = hidden.unwrap_or(field.hidden) && required.unwrap_or(field.required);
    if hidden == Some(true) && locked(entity, field) || hidden_and_required {
        errors.add("hidden", "cannot_hide", json!({}));
    }
    let change = FieldChange {
        label,
        hidden,
        required,
        searchable: flag(body, "searchable", &mut errors),
        indexed: flag(body, "indexed", &mut errors),
    };
    errors.into_result()?;
    Ok(change)
}

/// Makes sure a built-in field has its settings row (with its current position).
fn ensure_row(tx: &Connection, entity: &Entity, name: &str) -> rusqlite::Result<()> {
    let position = entity
        .fields
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_default() as i64;
    tx.execute(
        "INSERT OR IGNORE INTO field_settings (entity, name, position) VALUES (?1, ?2, ?3)",
        params![entity.name, name, position],
    )?;
    Ok(())
}

/// `PATCH /settings/fields/{entity}/{field}`: relabel, hide or show; for custom fields also
/// required, searchable and indexed.
async fn change(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (entity_name, field_name) = path.into_inner();
    let base = entity_named(&entity_name)?;
    let body = Body::parse(body.into_inner())?;
    let who = actor(&req, &admin);
    let shared = state.clone();
    let answer = state
        .db
        .write(move |tx| {
            let entity = schema(tx, base)?;
            let field = entity.field(&field_name).ok_or_else(AppError::not_found)?;
            let change = parse_change(&body, field, entity)?;
            ensure_row(tx, entity, field.name)?;
            let set = |column: &str, value: &dyn rusqlite::ToSql| {
                tx.execute(
                    &format!(
                        "UPDATE field_settings SET {column} = ?1 WHERE entity = ?2 AND name = ?3"
                    ),
                    params![value, base.name, field.name],
                )
            };
            if let Some(label) = &change.label {
                set("label_zh", &label.as_ref().map(|l| l[0].clone()))?;
                set("label_en", &label.as_ref().map(|l| l[1].clone()))?;
            }
            for (column, value) in [
                ("hidden", change.hidden),
                ("required", change.required),
                ("searchable", change.searchable),
                ("indexed", change.indexed),
            ] {
                if let Some(value) = value {
                    set(column, &value)?;
                }
            }
            if let Some(indexed) = change.indexed {
                apply_index(tx, base.name, field.name, indexed)?;
            }
            let after = schema(tx, base)?;
            if change.searchable.is_some_and(|s| s != field.searchable) {
                reindex_all(tx, after)?;
            }
            audit::record_for_entity(
                tx,
                &who,
                "field_changed",
                base.name,
                json!({ "field": field.name, "change": body.0 }),
            )?;
            Ok(describe(&shared, tx, after)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `PUT /settings/fields/{entity}/order` `{"names": [...]}`: the order of forms and the column
/// chooser; every field of the entity, each once.
async fn reorder(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let base = entity_named(&path.into_inner())?;
    let body = Body::parse(body.into_inner())?;
    let who = actor(&req, &admin);
    let shared = state.clone();
    let answer = state
        .db
        .write(move |tx| {
            let entity = schema(tx, base)?;
            let mut errors = FieldErrors::new();
            body.refuse_others(&["names"], &mut errors);
            let names: Vec<&str> = body
                .0
                .get("names")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            let mut expected: Vec<&str> = entity.fields.iter().map(|f| f.name).collect();
            expected.sort_unstable();
            if sorted != expected {
                errors.add("names", "every_field_once", json!({}));
            }
            errors.into_result()?;
            for (position, name) in names.iter().enumerate() {
                ensure_row(tx, entity, name)?;
                tx.execute(
                    "UPDATE field_settings SET position = ?1 WHERE entity = ?2 AND name = ?3",
                    params![position as i64, base.name, name],
                )?;
            }
            audit::record_for_entity(
                tx,
                &who,
                "fields_reordered",
                base.name,
                json!({ "names": names }),
            )?;
            Ok(describe(&shared, tx, schema(tx, base)?)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Rights;
    use crate::crm::customers::CUSTOMERS;
    use crate::db::migrations;
    use crate::entity::query::ListQuery;
    use rusqlite::params_from_iter;

    fn plan(conn: &Connection, entity: &Entity, params: &[(&str, &str)]) -> Vec<String> {
        let module = Rights::system().module("customers").unwrap();
        let params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let query = ListQuery::parse(entity, &module, params, chrono_tz::Asia::Shanghai).unwrap();
        let sql = query.conditions.page_sql(
            &format!("SELECT t.id FROM {} t", entity.name),
            &query.order,
            (20, 0),
        );
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(params_from_iter(query.conditions.values()), |r| r.get(3))
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    /// Making a custom field indexed gives its filter and its sort an index to read.
    #[test]
    fn an_indexed_custom_field_is_filtered_and_sorted_through_its_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::app::install();
        migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
        conn.execute(
            "INSERT INTO field_settings (entity, name, custom, kind, label_zh, label_en, position)
             VALUES ('customers', 'cf_budget', 1, 'money', '预算', 'Budget', 1000)",
            [],
        )
        .unwrap();
        let entity = schema(&conn, &CUSTOMERS).unwrap();
        let field = entity.field("cf_budget").unwrap();
        assert!(field.custom && field.sortable);
        let filter = [("filter[cf_budget][gt]", "100")];
        let sort = [("sort", "-cf_budget")];
        let before = plan(&conn, entity, &filter);
        assert!(
            !before.iter().any(|s| s.contains("cf_budget")),
            "{before:?}"
        );
        apply_index(&conn, "customers", "cf_budget", true).unwrap();
        let filtered = plan(&conn, entity, &filter);
        assert!(
            filtered.iter().any(|s| s.contains("customers_cf_budget")),
            "{filtered:?}"
        );
        let sorted = plan(&conn, entity, &sort);
        assert!(
            sorted.iter().any(|s| s.contains("customers_cf_budget"))
                && !sorted.iter().any(|s| s == "USE TEMP B-TREE FOR ORDER BY"),
            "{sorted:?}"
        );
        assert!(
            std::ptr::eq(entity, schema(&conn, &CUSTOMERS).unwrap()),
            "the same settings give the same interned descriptor"
        );
    }
}
