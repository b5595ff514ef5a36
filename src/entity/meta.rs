//! `GET /api/v1/meta`: the entities the caller may view, their fields (with labels in the
//! caller's language and picklist options) and the caller's rights, so the UI renders forms,
//! lists and filters from data instead of per-entity code.

use super::descriptor::{Entity, Kind, Visibility};
use super::{custom, picklists};
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::app::AppState;
use crate::auth::session::CurrentUser;
use crate::crm;
use crate::http::error::AppError;
use crate::http::request_lang;
use crate::i18n::Texts;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/meta", web::get().to(meta));
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
            "system": field.system,
            "create_only": field.create_only,
            "read_only": access == FieldAccess::ReadOnly,
            "custom": field.custom,
            "hidden": field.hidden,
        });
        if let Kind::Reference(target) = field.kind {
            described["reference"] = json!(target);
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
            let texts = Texts {
                i18n: &shared.i18n,
                lang,
            };
            let mut entities = Vec::new();
            for entity in crm::ENTITIES {
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
    Ok(HttpResponse::Ok().json(json!({ "entities": entities })))
}
