//! Saved list views (保存的视图): each person names list queries (search, filters, sort) and
//! the columns they want, per entity, and finds them again on any device. A view is checked
//! against the entity's list query when saved, so a stored view always opens.

use super::query::ListQuery;
use super::registry;
use crate::access::Action;
use crate::auth::session::CurrentUser;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpResponse};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use std::collections::HashMap;

const NAME_MAX: usize = 50;
const VIEWS_MAX: i64 = 50;
const COLUMNS_MAX: usize = 60;
/// The columns `view_json` reads.
const VIEW: &str = "SELECT id, entity, name, query, columns, created_at FROM saved_views";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/views", web::get().to(list))
        .route("/views", web::post().to(create))
        .route("/views/{id}", web::delete().to(remove));
}

fn view_json(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let query: String = r.get(3)?;
    let columns: String = r.get(4)?;
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "entity": r.get::<_, String>(1)?,
        "name": r.get::<_, String>(2)?,
        "query": serde_json::from_str::<Value>(&query).unwrap_or_default(),
        "columns": serde_json::from_str::<Value>(&columns).unwrap_or_default(),
        "created_at": rfc3339(r.get(5)?),
    }))
}

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let entity = query.get("entity").cloned().unwrap_or_default();
    let items = state
        .db
        .read(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "{VIEW} WHERE user_id = ?1 AND (?2 = '' OR entity = ?2) ORDER BY entity, name"
            ))?;
            let items = stmt
                .query_map(params![user.id, entity], view_json)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// The view a body describes, checked: (entity, name, query, columns).
fn parse(
    conn: &Connection,
    user: &CurrentUser,
    body: &Body,
) -> Result<(String, String, Value, Value), AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["entity", "name", "query", "columns"], &mut errors);
    let rights = crate::access::Rights::load(conn, user.id)?;
    let entity = body
        .text("entity")
        .and_then(registry::find)
        .filter(|e| rights.can(e.name, Action::View))
        .map(|e| super::custom::schema(conn, e))
        .transpose()?;
    if entity.is_none() {
        errors.add("entity", "unknown_module", json!({}));
    }
    let name = body.text("name").map(str::trim).unwrap_or_default();
    if name.is_empty() {
        errors.add("name", "required", json!({}));
    } else if name.chars().count() > NAME_MAX {
        errors.add("name", "too_long", json!({ "max": NAME_MAX }));
    }
    let query = body.0.get("query").cloned().unwrap_or(json!({}));
    let params: Option<HashMap<String, String>> = query.as_object().and_then(|map| {
        map.iter()
            .filter(|(k, _)| !matches!(k.as_str(), "page" | "per_page"))
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect()
    });
    let columns = body.0.get("columns").cloned().unwrap_or(json!([]));
    let column_names: Option<Vec<&str>> = columns
        .as_array()
        .filter(|c| c.len() <= COLUMNS_MAX)
        .and_then(|c| c.iter().map(Value::as_str).collect());
    if let Some(entity) = entity {
        let module = rights.require(entity.name, Action::View)?;
        let zone = crate::auth::users::company_zone(conn)?;
        let valid = params
            .clone()
            .is_some_and(|p| ListQuery::parse(entity, &module, p, zone).is_ok());
        if !valid {
            errors.add("query", "invalid", json!({}));
        }
        let known = |c: &str| {
            entity.field(c).is_some()
                || ["owner_id", "department_id", "created_at", "updated_at"].contains(&c)
        };
        if !column_names.is_some_and(|names| names.iter().all(|c| known(c))) {
            errors.add("columns", "invalid", json!({}));
        }
    }
    errors.into_result()?;
    let entity = entity.map(|e| e.name.to_string()).unwrap_or_default();
    Ok((entity, name.to_string(), json!(params), columns))
}

async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let view = state
        .db
        .write(move |tx| {
            let (entity, name, query, columns) = parse(tx, &user, &body)?;
            let count: i64 = tx.query_row(
                "SELECT count(*) FROM saved_views WHERE user_id = ?1 AND entity = ?2",
                params![user.id, entity],
                |r| r.get(0),
            )?;
            if count >= VIEWS_MAX {
                return Err(AppError::field(
                    "name",
                    "too_many",
                    json!({ "max": VIEWS_MAX }),
                ));
            }
            let inserted = tx.execute(
                "INSERT INTO saved_views (user_id, entity, name, query, columns, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    user.id,
                    entity,
                    name,
                    query.to_string(),
                    columns.to_string(),
                    now_ms()
                ],
            );
            match inserted {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Err(AppError::field("name", "taken", json!({})));
                }
                other => other?,
            };
            let id = tx.last_insert_rowid();
            Ok(tx.query_row(&format!("{VIEW} WHERE id = ?1"), [id], view_json)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

async fn remove(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let removed = state
        .db
        .write(move |tx| {
            Ok(tx.execute(
                "DELETE FROM saved_views WHERE id = ?1 AND user_id = ?2",
                params![id, user.id],
            )?)
        })
        .await?;
    if removed == 0 {
        return Err(AppError::not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}
