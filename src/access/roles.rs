//! Roles: named sets of per-module rights (actions, data scope, field restrictions). The built-in
//! `administrator` role holds everything and cannot be edited or deleted.

use super::{Action, FieldAccess, Scope};
use crate::audit;
use crate::auth::session::Admin;
use crate::entity::custom;
use crate::entity::registry;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{version_conflict, Body};
use crate::http::state::AppState;
use crate::org::actor;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/roles", web::get().to(list))
        .route("/roles", web::post().to(create))
        .route("/roles/{id}", web::get().to(get))
        .route("/roles/{id}", web::patch().to(update))
        .route("/roles/{id}", web::delete().to(remove));
}

const SELECT: &str = "SELECT r.id, r.name, r.builtin, r.permissions, r.version, r.created_at,
    r.updated_at, (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id) FROM roles r";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let permissions: String = r.get(3)?;
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "name": r.get::<_, String>(1)?,
        "builtin": r.get::<_, Option<String>>(2)?,
        "permissions": serde_json::from_str::<Value>(&permissions).unwrap_or_default(),
        "version": r.get::<_, i64>(4)?,
        "created_at": rfc3339(r.get(5)?),
        "updated_at": rfc3339(r.get(6)?),
        "user_count": r.get::<_, i64>(7)?,
    }))
}

fn load(conn: &Connection, id: i64) -> Result<Value, AppError> {
    conn.query_row(&format!("{SELECT} WHERE r.id = ?1"), [id], row)
        .optional()?
        .ok_or_else(AppError::not_found)
}

/// Checks a `permissions` object against the modules, actions, scopes and fields that exist,
/// and returns it in canonical form.
fn parse_permissions(value: &Value, errors: &mut FieldErrors) -> Value {
    let Some(modules) = value.as_object() else {
        errors.add("permissions", "invalid", json!({}));
        return json!({});
    };
    let mut clean = Map::new();
    for (module, rights) in modules {
        let key = format!("permissions.{module}");
        let Some(entity) = registry::find(module) else {
            errors.add(&key, "unknown_module", json!({ "module": module }));
            continue;
        };
        let actions: Option<Vec<&str>> = rights["actions"].as_array().and_then(|list| {
            list.iter()
                .map(|a| a.as_str().and_then(Action::parse).map(Action::name))
                .collect()
        });
        let scope = rights
            .get("scope")
            .map_or(Some(Scope::Own), |s| s.as_str().and_then(Scope::parse));
        let mut fields = Map::new();
        for (field, access) in rights["fields"].as_object().into_iter().flatten() {
            let known = entity.field(field).is_some() || custom::is_custom_name(field);
            match access.as_str().and_then(FieldAccess::parse) {
                Some(access) if known => {
                    fields.insert(field.clone(), json!(access.name()));
                }
                _ => errors.add(&format!("{key}.fields.{field}"), "invalid", json!({})),
            }
        }
        match (actions, scope) {
            (Some(actions), Some(scope)) => {
                clean.insert(
                    module.clone(),
                    json!({ "actions": actions, "scope": scope.name(), "fields": fields }),
                );
            }
            _ => errors.add(&key, "invalid", json!({})),
        }
    }
    Value::Object(clean)
}

fn check_name(body: &Body, required: bool, errors: &mut FieldErrors) -> Option<String> {
    let name = body.text("name").map(str::trim).map(String::from);
    match name.as_deref() {
        None | Some("") if required || body.has("name") => {
            errors.add("name", "required", json!({}));
        }
        Some(n) if n.chars().count() > 60 => errors.add("name", "too_long", json!({"max": 60})),
        _ => {}
    }
    name
}

fn name_taken(result: rusqlite::Result<usize>) -> Result<usize, AppError> {
    match result {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(AppError::field("name", "taken", json!({})))
        }
        other => Ok(other?),
    }
}

async fn list(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY r.builtin IS NULL, r.name"))?;
            let items = stmt
                .query_map([], row)?
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "total": items.len() })))
}

async fn get(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db.read(move |conn| load(conn, id)).await?))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["name", "permissions"], &mut errors);
    let name = check_name(&body, true, &mut errors);
    let permissions =
        parse_permissions(body.0.get("permissions").unwrap_or(&json!({})), &mut errors);
    errors.into_result()?;
    let who = actor(&req, &user);
    let role = state
        .db
        .write(move |tx| {
            let now = now_ms();
            name_taken(tx.execute(
                "INSERT INTO roles (name, permissions, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                params![name, permissions.to_string(), now],
            ))?;
            let role = load(tx, tx.last_insert_rowid())?;
            let id = role["id"].as_i64().unwrap_or_default();
            audit::record(tx, &who, "role_created", Some(("roles", id)), role.clone())?;
            Ok(role)
        })
        .await?;
    Ok(HttpResponse::Created().json(role))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["name", "permissions", "version"], &mut errors);
    let name = check_name(&body, false, &mut errors);
    let permissions = body
        .0
        .get("permissions")
        .map(|p| parse_permissions(p, &mut errors));
    let version = body.version(&mut errors);
    errors.into_result()?;
    let who = actor(&req, &user);
    let role = state
        .db
        .write(move |tx| {
            let before = load(tx, id)?;
            if !before["builtin"].is_null() {
                return Err(AppError::conflict("builtin_role"));
            }
            if before["version"] != version {
                return Err(version_conflict(before));
            }
            name_taken(tx.execute(
                "UPDATE roles SET name = coalesce(?1, name), permissions = coalesce(?2, permissions),
                     version = version + 1, updated_at = ?3 WHERE id = ?4",
                params![name, permissions.map(|p| p.to_string()), now_ms(), id],
            ))?;
            let after = load(tx, id)?;
            audit::record(
                tx,
                &who,
                "role_updated",
                Some(("roles", id)),
                json!({ "before": before, "after": after }),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(role))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let who = actor(&req, &user);
    state
        .db
        .write(move |tx| {
            let role = load(tx, id)?;
            if !role["builtin"].is_null() {
                return Err(AppError::conflict("builtin_role"));
            }
            if role["user_count"].as_i64().unwrap_or_default() > 0 {
                return Err(AppError::conflict("role_in_use"));
            }
            tx.execute("DELETE FROM roles WHERE id = ?1", [id])?;
            audit::record(tx, &who, "role_deleted", Some(("roles", id)), role)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
