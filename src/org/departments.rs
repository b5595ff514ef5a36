//! The department tree (group → division 板块 → team). Each department stores its materialised
//! path ('/1/4/9/'), so a subtree is one indexed prefix range; moving a department rewrites the
//! paths of its subtree in the same transaction.

use super::actor;
use crate::audit;
use crate::auth::session::{Admin, CurrentUser};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{version_conflict, Body};
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use serde_json::{json, Value};

const NAME_MAX: usize = 60;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/departments", web::get().to(list))
        .route("/departments", web::post().to(create))
        .route("/departments/{id}", web::get().to(get))
        .route("/departments/{id}", web::patch().to(update))
        .route("/departments/{id}", web::delete().to(remove));
}

struct Department {
    id: i64,
    name: String,
    parent_id: Option<i64>,
    path: String,
    /// The department's head (负责人), whom approval steps can name.
    head_id: Option<i64>,
    head_name: Option<String>,
    version: i64,
    created_at: i64,
    updated_at: i64,
    users: i64,
}

impl Department {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "parent_id": self.parent_id, "path": self.path,
            "head_id": self.head_id, "head_name": self.head_name,
            "user_count": self.users, "version": self.version,
            "created_at": rfc3339(self.created_at), "updated_at": rfc3339(self.updated_at),
        })
    }
}

const SELECT: &str =
    "SELECT d.id, d.name, d.parent_id, d.path, d.version, d.created_at, d.updated_at,
        (SELECT count(*) FROM users u WHERE u.department_id = d.id), d.head_id,
        (SELECT display_name FROM users u WHERE u.id = d.head_id) FROM departments d";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Department> {
    Ok(Department {
        id: r.get(0)?,
        name: r.get(1)?,
        parent_id: r.get(2)?,
        path: r.get(3)?,
        version: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        users: r.get(7)?,
        head_id: r.get(8)?,
        head_name: r.get(9)?,
    })
}

fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Department>> {
    conn.query_row(&format!("{SELECT} WHERE d.id = ?1"), [id], row)
        .optional()
}

/// The department's path, for callers that scope by subtree; `None` if it does not exist.
pub fn path_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT path FROM departments WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .optional()
}

fn check_name(body: &Body, required: bool, errors: &mut FieldErrors) -> Option<String> {
    match body.text("name").map(str::trim) {
        Some("") | None if required || body.has("name") => {
            errors.add("name", "required", json!({}));
            None
        }
        Some(name) if name.chars().count() > NAME_MAX => {
            errors.add("name", "too_long", json!({ "max": NAME_MAX }));
            None
        }
        other => other.map(String::from),
    }
}

/// Maps the unique sibling-name index to a field error.
fn name_taken(result: rusqlite::Result<usize>) -> Result<usize, AppError> {
    match result {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(AppError::field("name", "taken", json!({})))
        }
        other => Ok(other?),
    }
}

async fn list(state: web::Data<AppState>, _user: CurrentUser) -> Result<HttpResponse, AppError> {
    let items = state
        .db
        .read(|conn| {
            let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY d.path"))?;
            let items = stmt
                .query_map([], row)?
                .map(|d| d.map(|d| d.json()))
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            Ok(items)
        })
        .await?;
    let total = items.len();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "total": total })))
}

async fn get(
    state: web::Data<AppState>,
    _user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let department = state.db.read(move |conn| Ok(load(conn, id)?)).await?;
    Ok(HttpResponse::Ok().json(department.ok_or_else(AppError::not_found)?.json()))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["name", "parent_id", "head_id"], &mut errors);
    let name = check_name(&body, true, &mut errors).unwrap_or_default();
    let parent_id = body.optional_id("parent_id", &mut errors);
    let head_id = body.optional_id("head_id", &mut errors);
    errors.into_result()?;
    let who = actor(&req, &user);
    let created = state
        .db
        .write(move |tx| {
            let parent_path = match parent_id {
                Some(parent) => path_of(tx, parent)?
                    .ok_or_else(|| AppError::field("parent_id", "unknown_department", json!({})))?,
                None => "/".to_string(),
            };
            let now = now_ms();
            name_taken(tx.execute(
                "INSERT INTO departments (name, parent_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
                params![name, parent_id, now],
            ))?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "UPDATE departments SET path = ?1 WHERE id = ?2",
                params![format!("{parent_path}{id}/"), id],
            )?;
            set_head(tx, id, head_id)?;
            let department = load(tx, id)?.ok_or_else(AppError::not_found)?.json();
            audit::record(tx, &who, "department_created", Some(("departments", id)), department.clone())?;
            Ok(department)
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
    body.refuse_others(&["name", "parent_id", "head_id", "version"], &mut errors);
    let name = check_name(&body, false, &mut errors);
    let parent_id = body.optional_id("parent_id", &mut errors);
    let moves = body.has("parent_id");
    let head_id = body.optional_id("head_id", &mut errors);
    let heads = body.has("head_id");
    let version = body.version(&mut errors);
    errors.into_result()?;
    let who = actor(&req, &user);
    let updated = state
        .db
        .write(move |tx| {
            let current = load(tx, id)?.ok_or_else(AppError::not_found)?;
            if current.version != version {
                return Err(version_conflict(current.json()));
            }
            let now = now_ms();
            if let Some(name) = &name {
                name_taken(tx.execute(
                    "UPDATE departments SET name = ?1 WHERE id = ?2",
                    params![name, id],
                ))?;
            }
            if moves && parent_id != current.parent_id {
                move_subtree(tx, &current, parent_id)?;
            }
            if heads {
                set_head(tx, id, head_id)?;
            }
            tx.execute(
                "UPDATE departments SET version = version + 1, updated_at = ?1 WHERE id = ?2",
                params![now, id],
            )?;
            let after = load(tx, id)?.ok_or_else(AppError::not_found)?.json();
            let detail = json!({ "before": current.json(), "after": after });
            audit::record(
                tx,
                &who,
                "department_updated",
                Some(("departments", id)),
                detail,
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

/// Names the department's head: an active user (anyone, not only a member: a division's head
/// may sit in the group office), or nobody.
fn set_head(tx: &Connection, id: i64, head: Option<i64>) -> Result<(), AppError> {
    if let Some(head) = head {
        if !crate::auth::users::is_active(tx, head)? {
            return Err(AppError::field(
                "head_id",
                "unknown_user",
                json!({ "id": head }),
            ));
        }
    }
    tx.execute(
        "UPDATE departments SET head_id = ?1 WHERE id = ?2",
        params![head, id],
    )?;
    Ok(())
}

/// Re-parents `department`; a department cannot move under itself or its own descendants.
fn move_subtree(
    tx: &Connection,
    department: &Department,
    parent_id: Option<i64>,
) -> Result<(), AppError> {
    let parent_path = match parent_id {
        Some(parent) => {
            let path = path_of(tx, parent)?
                .ok_or_else(|| AppError::field("parent_id", "unknown_department", json!({})))?;
            if path.starts_with(&department.path) {
                return Err(AppError::field("parent_id", "cycle", json!({})));
            }
            path
        }
        None => "/".to_string(),
    };
    let new_path = format!("{parent_path}{}/", department.id);
    name_taken(tx.execute(
        "UPDATE departments SET parent_id = ?1 WHERE id = ?2",
        params![parent_id, department.id],
    ))?;
    tx.execute(
        "UPDATE departments SET path = ?1 || substr(path, ?2)
         WHERE substr(path, 1, ?3) = ?4",
        params![
            new_path,
            department.path.len() as i64 + 1,
            department.path.len() as i64,
            department.path
        ],
    )?;
    Ok(())
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
            let current = load(tx, id)?.ok_or_else(AppError::not_found)?;
            let children: i64 = tx.query_row(
                "SELECT count(*) FROM departments WHERE parent_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            if children > 0 || current.users > 0 {
                return Err(AppError::conflict("department_not_empty")
                    .with_params(json!({ "departments": children, "users": current.users })));
            }
            tx.execute("DELETE FROM departments WHERE id = ?1", [id])?;
            audit::record(
                tx,
                &who,
                "department_deleted",
                Some(("departments", id)),
                current.json(),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
