//! User administration: accounts, their department and roles, freezing leavers, password resets.
//! A frozen account loses every session and token at once; the last active administrator can
//! neither be frozen nor lose the role, so the company can never lock itself out.

use super::{actor, departments};
use crate::audit;
use crate::auth::session::{self, Admin, CurrentUser};
use crate::auth::{passwords, users as accounts};
use crate::db::query::{like_pattern, Conditions};
use crate::entity::store;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{version_conflict, Body, ListParams};
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::patch().to(update))
        .route("/users/{id}/freeze", web::post().to(freeze))
        .route("/users/{id}/unfreeze", web::post().to(unfreeze))
        .route("/users/{id}/password", web::post().to(reset_password))
        .route("/users/{id}/transfer", web::post().to(transfer))
        .route("/directory", web::get().to(directory));
}

const SELECT: &str = "SELECT u.id, u.username, u.display_name, u.department_id, d.name, u.frozen,
        u.version, u.created_at, u.updated_at,
        (SELECT max(s.last_seen_at) FROM sessions s WHERE s.user_id = u.id)
    FROM users u LEFT JOIN departments d ON d.id = u.department_id";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "username": r.get::<_, String>(1)?,
        "display_name": r.get::<_, String>(2)?,
        "department_id": r.get::<_, Option<i64>>(3)?,
        "department_name": r.get::<_, Option<String>>(4)?,
        "frozen": r.get::<_, bool>(5)?,
        "version": r.get::<_, i64>(6)?,
        "created_at": rfc3339(r.get(7)?),
        "updated_at": rfc3339(r.get(8)?),
        "last_seen_at": r.get::<_, Option<i64>>(9)?.map(rfc3339),
    }))
}

fn with_roles(conn: &Connection, mut user: Value) -> rusqlite::Result<Value> {
    let roles = accounts::roles_of(conn, user["id"].as_i64().unwrap_or_default())?;
    user["role_ids"] = json!(roles.iter().map(|r| r["id"].clone()).collect::<Vec<_>>());
    user["roles"] = json!(roles);
    Ok(user)
}

fn load(conn: &Connection, id: i64) -> Result<Value, AppError> {
    let user = conn
        .query_row(&format!("{SELECT} WHERE u.id = ?1"), [id], row)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    Ok(with_roles(conn, user)?)
}

/// Administrators other than `except` who can still sign in.
fn other_active_admins(conn: &Connection, except: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM users u JOIN user_roles ur ON ur.user_id = u.id
         JOIN roles r ON r.id = ur.role_id
         WHERE r.builtin = 'administrator' AND u.frozen = 0 AND u.id <> ?1",
        [except],
        |r| r.get(0),
    )
}

fn is_admin_role_among(conn: &Connection, role_ids: &[i64]) -> rusqlite::Result<bool> {
    let admin: i64 = conn.query_row(
        "SELECT id FROM roles WHERE builtin = 'administrator'",
        [],
        |r| r.get(0),
    )?;
    Ok(role_ids.contains(&admin))
}

fn check_department(conn: &Connection, id: Option<i64>) -> Result<(), AppError> {
    match id {
        Some(id) if departments::path_of(conn, id)?.is_none() => Err(AppError::field(
            "department_id",
            "unknown_department",
            json!({}),
        )),
        _ => Ok(()),
    }
}

fn holds_admin(user: &Value) -> bool {
    user["roles"]
        .as_array()
        .is_some_and(|roles| roles.iter().any(|r| r["builtin"] == "administrator"))
}

fn set_roles(conn: &Connection, user_id: i64, role_ids: &[i64]) -> Result<(), AppError> {
    for role_id in role_ids {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM roles WHERE id = ?1)",
            [role_id],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(AppError::field(
                "role_ids",
                "unknown_role",
                json!({ "id": role_id }),
            ));
        }
    }
    conn.execute("DELETE FROM user_roles WHERE user_id = ?1", [user_id])?;
    for role_id in role_ids {
        conn.execute(
            "INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES (?1, ?2)",
            params![user_id, role_id],
        )?;
    }
    Ok(())
}

async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let list = ListParams::parse(query.into_inner(), &["q", "department_id", "frozen"])?;
    let mut conditions = Conditions::default();
    if let Some(q) = list.text("q") {
        conditions.add(
            "(u.username LIKE ? ESCAPE '\\' OR u.display_name LIKE ? ESCAPE '\\')",
            like_pattern(q),
        );
    }
    if let Some(department) = list.id("department_id")? {
        conditions.add("u.department_id = ?", department);
    }
    if let Some(frozen) = list.flag("frozen")? {
        conditions.add("u.frozen = ?", i64::from(frozen));
    }
    let page = (list.per_page, list.offset());
    let (items, total) = state
        .db
        .read(move |conn| {
            let order = "u.frozen, u.display_name COLLATE NOCASE, u.id";
            let (rows, total) = conditions.page(conn, SELECT, "users u", order, page, row)?;
            let items = rows
                .into_iter()
                .map(|u| with_roles(conn, u))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list.answer(items, total)))
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
    body.refuse_others(
        &[
            "username",
            "password",
            "display_name",
            "department_id",
            "role_ids",
        ],
        &mut errors,
    );
    let username = body.text("username").unwrap_or_default().trim().to_string();
    accounts::check_username(&username, &mut errors);
    let display_name = body
        .text("display_name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&username)
        .to_string();
    accounts::check_display_name(&display_name, &mut errors);
    let password = body.text("password").unwrap_or_default().to_string();
    passwords::check_rules(&password, &username, "password", &mut errors);
    let department_id = body.optional_id("department_id", &mut errors);
    let role_ids = body.ids("role_ids", &mut errors).unwrap_or_default();
    errors.into_result()?;
    let hash = web::block(move || passwords::hash(&password))
        .await
        .map_err(AppError::internal)??;
    let who = actor(&req, &user);
    let created = state
        .db
        .write(move |tx| {
            check_department(tx, department_id)?;
            let id = accounts::create(tx, &username, &display_name, &hash, false, None)?;
            tx.execute(
                "UPDATE users SET department_id = ?1 WHERE id = ?2",
                params![department_id, id],
            )?;
            set_roles(tx, id, &role_ids)?;
            let user = load(tx, id)?;
            audit::record(tx, &who, "user_created", Some(("users", id)), user.clone())?;
            Ok(user)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
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
    body.refuse_others(
        &["display_name", "department_id", "role_ids", "version"],
        &mut errors,
    );
    let display_name = body.text("display_name").map(str::trim).map(String::from);
    if body.has("display_name") {
        accounts::check_display_name(display_name.as_deref().unwrap_or_default(), &mut errors);
    }
    let department_id = body.optional_id("department_id", &mut errors);
    let moves = body.has("department_id");
    let role_ids = body.ids("role_ids", &mut errors);
    let version = body.version(&mut errors);
    errors.into_result()?;
    let who = actor(&req, &user);
    let updated = state
        .db
        .write(move |tx| {
            let before = load(tx, id)?;
            if before["version"] != version {
                return Err(version_conflict(before));
            }
            if let Some(name) = &display_name {
                tx.execute(
                    "UPDATE users SET display_name = ?1 WHERE id = ?2",
                    params![name, id],
                )?;
            }
            if moves {
                check_department(tx, department_id)?;
                tx.execute(
                    "UPDATE users SET department_id = ?1 WHERE id = ?2",
                    params![department_id, id],
                )?;
            }
            if let Some(role_ids) = &role_ids {
                let loses_admin = holds_admin(&before) && !is_admin_role_among(tx, role_ids)?;
                if loses_admin && other_active_admins(tx, id)? == 0 {
                    return Err(AppError::conflict("last_administrator"));
                }
                set_roles(tx, id, role_ids)?;
            }
            tx.execute(
                "UPDATE users SET version = version + 1, updated_at = ?1 WHERE id = ?2",
                params![now_ms(), id],
            )?;
            let after = load(tx, id)?;
            audit::record(
                tx,
                &who,
                "user_updated",
                Some(("users", id)),
                json!({ "before": before, "after": after }),
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

async fn freeze(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    if id == user.id {
        return Err(AppError::conflict("cannot_freeze_self"));
    }
    let who = actor(&req, &user);
    let frozen = state
        .db
        .write(move |tx| {
            let before = load(tx, id)?;
            if holds_admin(&before) && other_active_admins(tx, id)? == 0 {
                return Err(AppError::conflict("last_administrator"));
            }
            tx.execute(
                "UPDATE users SET frozen = 1, version = version + 1, updated_at = ?1 WHERE id = ?2",
                params![now_ms(), id],
            )?;
            // Every way in stops now, not at the next expiry.
            let sessions = session::delete_for_user(tx, id, None)?;
            let tokens = tx.execute("DELETE FROM api_tokens WHERE user_id = ?1", [id])?;
            audit::record(
                tx,
                &who,
                "user_frozen",
                Some(("users", id)),
                json!({ "sessions": sessions, "tokens": tokens }),
            )?;
            load(tx, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(frozen))
}

async fn unfreeze(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let who = actor(&req, &user);
    let user = state
        .db
        .write(move |tx| {
            load(tx, id)?;
            tx.execute(
                "UPDATE users SET frozen = 0, version = version + 1, updated_at = ?1 WHERE id = ?2",
                params![now_ms(), id],
            )?;
            audit::record(tx, &who, "user_unfrozen", Some(("users", id)), json!({}))?;
            load(tx, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

async fn reset_password(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = Body::parse(body.into_inner())?;
    let password = body.text("password").unwrap_or_default().to_string();
    let target = state.db.read(move |conn| load(conn, id)).await?;
    let mut errors = FieldErrors::new();
    passwords::check_rules(
        &password,
        target["username"].as_str().unwrap_or_default(),
        "password",
        &mut errors,
    );
    errors.into_result()?;
    let hash = web::block(move || passwords::hash(&password))
        .await
        .map_err(AppError::internal)??;
    let who = actor(&req, &user);
    let keep = if id == user.id {
        user.session_hash().map(<[u8]>::to_vec)
    } else {
        None
    };
    state
        .db
        .write(move |tx| {
            accounts::set_password(tx, id, &hash)?;
            let ended = session::delete_for_user(tx, id, keep.as_deref())?;
            audit::record(
                tx,
                &who,
                "password_reset",
                Some(("users", id)),
                json!({ "sessions_ended": ended }),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Hands every record a user owns (a leaver, usually) to a colleague, with the colleague's
/// department, in one transaction.
async fn transfer(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let from = id.into_inner();
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["to_user_id"], &mut errors);
    let to = body.optional_id("to_user_id", &mut errors);
    if to.is_none() && !errors.has("to_user_id") {
        errors.add("to_user_id", "required", json!({}));
    }
    if to == Some(from) {
        errors.add("to_user_id", "same_user", json!({}));
    }
    errors.into_result()?;
    let to = to.unwrap_or_default();
    let who = actor(&req, &user);
    let counts = state
        .db
        .write(move |tx| {
            load(tx, from)?;
            let target =
                load(tx, to).map_err(|_| AppError::field("to_user_id", "not_found", json!({})))?;
            if target["frozen"] == true {
                return Err(AppError::field("to_user_id", "frozen", json!({})));
            }
            let department = target["department_id"].as_i64();
            let counts = store::transfer_all(tx, &who, from, to, department)?;
            audit::record(
                tx,
                &who,
                "records_transferred",
                Some(("users", from)),
                json!({ "to_user_id": to, "counts": counts }),
            )?;
            Ok(counts)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "transferred": counts })))
}

/// Colleagues by name, for every signed-in user: the people a record can be handed to or a task
/// assigned to. Active accounts only; names and departments, nothing more.
async fn directory(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let list = ListParams::parse(query.into_inner(), &["q"])?;
    let mut conditions = Conditions::default();
    conditions.add_raw("u.frozen = 0");
    if let Some(q) = list.text("q") {
        conditions.add(
            "(u.username LIKE ? ESCAPE '\\' OR u.display_name LIKE ? ESCAPE '\\')",
            like_pattern(q),
        );
    }
    let page = (list.per_page, list.offset());
    let (items, total) =
        state
            .db
            .read(move |conn| {
                Ok(conditions.page(
                conn,
                "SELECT u.id, u.display_name, d.name FROM users u
                 LEFT JOIN departments d ON d.id = u.department_id",
                "users u",
                "u.display_name COLLATE NOCASE, u.id",
                page,
                |r| {
                    Ok(json!({"id": r.get::<_, i64>(0)?, "display_name": r.get::<_, String>(1)?,
                              "department_name": r.get::<_, Option<String>>(2)?}))
                },
            )?)
            })
            .await?;
    Ok(HttpResponse::Ok().json(list.answer(items, total)))
}
