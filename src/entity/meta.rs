//! `GET /api/v1/meta`: the entities the caller may view, their fields (with labels in the
//! caller's language and picklist options) and the caller's rights, so the UI renders forms,
//! lists and filters from data instead of per-entity code.

use super::descriptor::{Entity, Kind, Visibility};
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::app::AppState;
use crate::auth::session::CurrentUser;
use crate::crm;
use crate::http::error::AppError;
use crate::http::request_lang;
use crate::i18n::Lang;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/meta", web::get().to(meta));
}

/// Picklist options of one field with labels in `lang`.
fn options(
    conn: &Connection,
    entity: &str,
    field: &str,
    lang: Lang,
) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT value, label_zh, label_en, active FROM picklist_options
         WHERE entity = ?1 AND field = ?2 ORDER BY position",
    )?;
    let rows = stmt
        .query_map([entity, field], |r| {
            let label: String = if lang == Lang::ZhCn {
                r.get(1)?
            } else {
                r.get(2)?
            };
            Ok(json!({ "value": r.get::<_, String>(0)?, "label": label, "active": r.get::<_, bool>(3)? }))
        })?
        .collect();
    rows
}

fn describe(
    conn: &Connection,
    entity: &Entity,
    module: &ModuleRights,
    lang: Lang,
    label: &dyn Fn(&str) -> String,
) -> rusqlite::Result<Value> {
    let mut fields = Vec::new();
    for field in entity.fields {
        let access = module.field(field.name);
        if access == FieldAccess::Hidden {
            continue;
        }
        let mut described = json!({
            "name": field.name,
            "type": field.kind.name(),
            "label": label(&format!("field.{}.{}", entity.name, field.name)),
            "required": field.required,
            "searchable": field.searchable,
            "sortable": field.sortable,
            "system": field.system,
            "create_only": field.create_only,
            "read_only": access == FieldAccess::ReadOnly,
            "custom": false,
        });
        if let Kind::Reference(target) = field.kind {
            described["reference"] = json!(target);
        }
        if let Kind::Text { max } = field.kind {
            described["max_length"] = json!(max);
        }
        if matches!(field.kind, Kind::Picklist | Kind::MultiPicklist) {
            described["options"] = json!(options(conn, entity.name, field.name, lang)?);
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
    Ok(json!({
        "name": entity.name,
        "label": label(&format!("entity.{}", entity.name)),
        "label_one": label(&format!("entity_one.{}", entity.name)),
        "title_field": entity.title,
        "subtitle_field": entity.subtitle,
        "list_columns": entity.list_columns,
        "default_sort": entity.default_sort,
        "owned": entity.is_owned(),
        "pooled": entity.pooled,
        "parent": parent,
        "permissions": module.json(),
        "fields": fields,
    }))
}

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
            let label = |key: &str| shared.i18n.text(lang, key, &json!({}));
            let mut entities = Vec::new();
            for entity in crm::ENTITIES {
                if let Some(module) = rights
                    .module(entity.name)
                    .filter(|m| m.allows(Action::View))
                {
                    entities.push(describe(conn, entity, &module, lang, &label)?);
                }
            }
            Ok(entities)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "entities": entities })))
}
