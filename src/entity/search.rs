//! The global search box: every entity the caller may view, each searched with the same scoped
//! list query as its own list, a few hits per entity; and what people said in comments on the
//! records the caller may view.

use super::registry;
use super::routes::{list_page, Slice};
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::http::error::AppError;
use crate::http::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use std::collections::HashMap;

const HITS_PER_ENTITY: usize = 8;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(search));
}

async fn search(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let q = query
        .get("q")
        .map(|q| q.trim().to_string())
        .unwrap_or_default();
    if q.is_empty() {
        return Ok(HttpResponse::Ok().json(json!({ "items": [], "comments": [] })));
    }
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let mut items = Vec::new();
            for entity in registry::entities() {
                let Some(module) = rights
                    .module(entity.name)
                    .filter(|m| m.allows(Action::View))
                else {
                    continue;
                };
                let entity = super::custom::schema(conn, entity)?;
                let params = HashMap::from([
                    ("q".to_string(), q.clone()),
                    ("per_page".to_string(), HITS_PER_ENTITY.to_string()),
                ]);
                let page = list_page(
                    conn,
                    None,
                    entity,
                    (&rights, &module),
                    params,
                    Slice::Active,
                    |reader, r| reader.record(r),
                )?;
                for record in page.items {
                    items.push(json!({
                        "entity": entity.name,
                        "id": record["id"],
                        "title": text_of(&record[entity.title]),
                        "subtitle": text_of(&record[entity.subtitle]),
                    }));
                }
            }
            let mut said = super::comments::search(conn, &rights, &q, HITS_PER_ENTITY as i64)?;
            for hit in &mut said {
                let entity = hit["entity"].as_str().unwrap_or_default().to_string();
                let record = hit["record_id"].as_i64().unwrap_or_default();
                hit["title"] = json!(super::comments::record_title(conn, &entity, record)?);
            }
            Ok((items, said))
        })
        .await?;
    let (items, comments) = answer;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "comments": comments })))
}

fn text_of(value: &Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > 80 => {
            json!(format!("{}…", s.chars().take(80).collect::<String>()))
        }
        Value::Null => Value::Null,
        Value::String(_) => value.clone(),
        other => json!(other.to_string()),
    }
}
