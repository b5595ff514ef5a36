//! `GET /api/v1/meta`: the entities the caller may view, their fields (with labels in the
//! caller's language and picklist options) and the caller's rights, so the UI renders forms,
//! lists and filters from data instead of per-entity code.

use super::descriptor::{Entity, Kind, Visibility};
use super::registry;
use super::{custom, picklists};
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::auth::session::CurrentUser;
use crate::http::error::AppError;
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::i18n::Texts;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/meta", web::get().to(meta));
}

/// The text literals the table's columns default to (a task's priority is "normal" unless
/// chosen), so a new record's form starts where the database would.
fn text_defaults(
    conn: &Connection,
    table: &str,
) -> rusqlite::Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare("SELECT name, dflt_value FROM pragma_table_info(?1)")?;
    let rows = stmt.query_map([table], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut defaults = std::collections::HashMap::new();
    for row in rows {
        let (column, default) = row?;
        let literal = default
            .as_deref()
            .and_then(|d| d.strip_prefix('\'')?.strip_suffix('\''));
        if let Some(literal) = literal {
            defaults.insert(column, literal.replace("''", "'"));
        }
    }
    Ok(defaults)
}

fn describe(
    conn: &Connection,
    entity: &Entity,
    module: &ModuleRights,
    texts: Texts,
) -> rusqlite::Result<Value> {
    let label = |key: &str| texts.text(key);
    let mut fields = Vec::new();
    let mut choices = picklists::choices(conn, entity.name)?;
    let defaults = text_defaults(conn, entity.name)?;
    for field in entity.fields {
        let access = module.field(field.name);
        if access == FieldAccess::Hidden {
            continue;
        }
        let mut described = json!({
            "name": field.name,
            "type": field.kind.name(),
            "label": field.display_label(entity.name, texts),
            "required": field.required,
            "searchable": field.searchable,
            "sortable": field.sortable,
            "system": !field.writable(),
            "create_only": field.create_only,
            "read_only": access == FieldAccess::ReadOnly,
            "custom": field.custom,
            "hidden": field.hidden,
        });
        if let Kind::Reference(target) = field.kind {
            described["reference"] = json!(target);
        }
        if let Kind::Lookup(table) = field.kind {
            described["options"] = json!(lookup_options(conn, table)?);
        }
        if let Kind::Text { max } = field.kind {
            described["max_length"] = json!(max);
        }
        if matches!(field.kind, Kind::Picklist | Kind::MultiPicklist) {
            let options: Vec<Value> = choices
                .remove(field.name)
                .unwrap_or_default()
                .iter()
                .map(|c| json!({ "value": c.value, "label": c.label(texts.lang), "active": c.active }))
                .collect();
            described["options"] = json!(options);
            if let Some(default) = defaults.get(field.name) {
                described["default"] = json!(default);
            }
        }
        fields.push(described);
    }
    let parent = match entity.visibility {
        Visibility::Owned => Value::Null,
        Visibility::Child { field, parent } => json!({ "field": field, "entity": parent }),
        Visibility::AnyParent {
            entity_field,
            id_field,
            parents,
        } => {
            json!({ "entity_field": entity_field, "field": id_field, "entities": parents })
        }
    };
    let link = entity.record_link().map(|(entity_field, field)| {
        let entities = match entity.field(entity_field).map(|f| f.kind) {
            Some(Kind::EntityName(names)) => names,
            _ => &[],
        };
        json!({ "entity_field": entity_field, "field": field, "entities": entities })
    });
    Ok(json!({
        "name": entity.name,
        "link": link,
        "label": label(&format!("entity.{}", entity.name)),
        "label_one": label(&format!("entity_one.{}", entity.name)),
        "title_field": entity.title,
        "subtitle_field": entity.subtitle,
        "list_columns": entity.list_columns,
        "default_sort": entity.default_sort,
        "owned": entity.is_owned(),
        "pooled": entity.is_pooled(),
        "parent": parent,
        "permissions": module.json(),
        "capabilities": capabilities(entity),
        "fields": fields,
    }))
}

/// What the engine gives the entity's records, each at `/{entity}/{id}/{name}`.
fn capabilities(entity: &Entity) -> Vec<&'static str> {
    let mut all = vec!["history", "attachments", "comments"];
    if entity.approval.is_some() {
        all.push("approval");
    }
    all
}

/// The rows of a lookup table as picklist options. A stage is named with its pipeline when the
/// company has several.
fn lookup_options(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Value>> {
    let sql = if table == "pipeline_stages" {
        "SELECT s.id, CASE WHEN (SELECT count(*) FROM pipelines) > 1
             THEN p.name || ' · ' || s.name ELSE s.name END
         FROM pipeline_stages s JOIN pipelines p ON p.id = s.pipeline_id
         ORDER BY p.position, p.id, s.position"
            .to_string()
    } else {
        format!("SELECT id, name FROM {table} ORDER BY position, id")
    };
    let mut stmt = conn.prepare(&sql)?;
    let options = stmt
        .query_map([], |r| {
            Ok(json!({ "value": r.get::<_, i64>(0)?, "label": r.get::<_, String>(1)?, "active": true }))
        })?
        .collect();
    options
}

/// The engine's services beside the entities and where each lives, for clients that discover
/// what the server does (openapi.json describes their routes).
const SERVICES: &[(&str, &str)] = &[
    ("search", "/api/v1/search"),
    ("notifications", "/api/v1/notifications"),
    ("comments", "/api/v1/comments"),
    ("announcements", "/api/v1/announcements"),
    ("approvals", "/api/v1/approvals"),
    ("approval_flows", "/api/v1/approval-flows"),
    ("webhooks", "/api/v1/webhooks"),
    ("automation", "/api/v1/automation-rules"),
];

async fn meta(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let lang = request_lang(&req, state.default_lang);
    let shared = state.clone();
    let entities = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let texts = Texts {
                i18n: &shared.i18n,
                lang,
            };
            let mut entities = Vec::new();
            for entity in registry::entities() {
                if let Some(module) = rights
                    .module(entity.name)
                    .filter(|m| m.allows(Action::View))
                {
                    let entity = custom::schema(conn, entity)?;
                    entities.push(describe(conn, entity, &module, texts)?);
                }
            }
            Ok(entities)
        })
        .await?;
    let services: serde_json::Map<String, Value> = SERVICES
        .iter()
        .map(|(name, path)| (name.to_string(), json!(path)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "entities": entities, "services": services })))
}
