//! Announcements 公告: a manager or an administrator tells people something (a new price list,
//! the holiday rota). The audience (everyone, departments with their sub-departments, roles,
//! named people) is resolved to people when it is sent; each gets a notification and a receipt,
//! and the sender sees who has read it and who has not.
//!
//! An administrator may address anyone. A manager (a scope wider than "own" on some module)
//! addresses only people in their own department and below, as far as their authority goes.

use crate::access::{subtree_ids, Rights, Scope};
use crate::auth::session::CurrentUser;
use crate::db::query::Total;
use crate::db::Cached;
use crate::entity::comments::excerpt_of;
use crate::entity::notifications::{self, Notice};
use crate::entity::registry;
use crate::entity::routes::write_as;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{Body, ListParams};
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

const TITLE_MAX: usize = 200;
const BODY_MAX: usize = 10_000;
const EXCERPT_CHARS: usize = 140;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/announcements", web::get().to(list))
        .route("/announcements", web::post().to(create))
        .route("/announcements/{id}", web::get().to(get))
        .route("/announcements/{id}/read", web::post().to(read))
        .route("/announcements/{id}/receipts", web::get().to(receipts));
}

/// Whether the caller may send announcements: an administrator, or a manager.
pub fn may_announce(rights: &Rights) -> bool {
    rights.is_admin
        || registry::entities()
            .iter()
            .any(|e| rights.module(e.name).is_some_and(|m| m.scope > Scope::Own))
}

/// Who an announcement is for, as the request names them.
struct Audience {
    everyone: bool,
    departments: Vec<i64>,
    roles: Vec<i64>,
    users: Vec<i64>,
}

struct Draft {
    title: String,
    body: String,
    audience: Audience,
}

impl Draft {
    fn parse(body: &Body) -> Result<Draft, AppError> {
        let mut errors = FieldErrors::new();
        body.refuse_others(
            &[
                "title",
                "body",
                "everyone",
                "department_ids",
                "role_ids",
                "user_ids",
            ],
            &mut errors,
        );
        let title = body.required_text("title", TITLE_MAX, &mut errors);
        let text_body = body.required_text("body", BODY_MAX, &mut errors);
        let everyone = match body.0.get("everyone") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.add("everyone", "boolean", json!({}));
                false
            }
        };
        let mut ids = |key| body.ids(key, &mut errors).unwrap_or_default();
        let audience = Audience {
            everyone,
            departments: ids("department_ids"),
            roles: ids("role_ids"),
            users: ids("user_ids"),
        };
        if !audience.everyone
            && audience.departments.is_empty()
            && audience.roles.is_empty()
            && audience.users.is_empty()
        {
            errors.add("audience", "required", json!({}));
        }
        errors.into_result()?;
        Ok(Draft {
            title,
            body: text_body,
            audience,
        })
    }
}

/// Every id in `ids` names a row of `table`, or a 422 on `field`.
fn all_exist(conn: &Connection, table: &str, ids: &[i64], field: &str) -> Result<(), AppError> {
    for id in ids {
        let found: bool = conn.one(
            &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
            [id],
            |r| r.get(0),
        )?;
        if !found {
            return Err(AppError::field(field, "not_found", json!({ "id": id })));
        }
    }
    Ok(())
}

fn ids_of(conn: &Connection, sql: &str, values: &[i64]) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare(sql)?;
    let ids = stmt
        .query_map(params_from_iter(values), |r| r.get(0))?
        .collect();
    ids
}

/// The active people the audience names, limited to the sender's reach; 422 for a name that
/// does not exist or lies outside it.
fn recipients(
    conn: &Connection,
    rights: &Rights,
    audience: &Audience,
) -> Result<Vec<i64>, AppError> {
    all_exist(conn, "departments", &audience.departments, "department_ids")?;
    all_exist(conn, "roles", &audience.roles, "role_ids")?;
    all_exist(conn, "users", &audience.users, "user_ids")?;
    let reach: Option<&[i64]> = (!rights.is_admin).then_some(rights.department_tree.as_slice());
    if let Some(reach) = reach {
        if let Some(outside) = audience.departments.iter().find(|d| !reach.contains(d)) {
            return Err(AppError::field(
                "department_ids",
                "outside_reach",
                json!({ "id": outside }),
            ));
        }
    }
    let mut people = BTreeSet::new();
    if audience.everyone {
        people.extend(ids_of(conn, "SELECT id FROM users WHERE frozen = 0", &[])?);
    }
    for department in &audience.departments {
        let path: String = conn.one(
            "SELECT path FROM departments WHERE id = ?1",
            [department],
            |r| r.get(0),
        )?;
        let tree = subtree_ids(conn, &path)?;
        let marks = vec!["?"; tree.len()].join(",");
        people.extend(ids_of(
            conn,
            &format!("SELECT id FROM users WHERE frozen = 0 AND department_id IN ({marks})"),
            &tree,
        )?);
    }
    for role in &audience.roles {
        people.extend(ids_of(
            conn,
            "SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id
             WHERE u.frozen = 0 AND ur.role_id = ?1",
            &[*role],
        )?);
    }
    people.extend(ids_of(
        conn,
        &format!(
            "SELECT id FROM users WHERE frozen = 0 AND id IN ({})",
            vec!["?"; audience.users.len()].join(",")
        ),
        &audience.users,
    )?);
    people.remove(&rights.user_id);
    let department_of = |user: &i64| -> rusqlite::Result<Option<i64>> {
        conn.one(
            "SELECT department_id FROM users WHERE id = ?1",
            [user],
            |r| r.get(0),
        )
    };
    let mut within = Vec::with_capacity(people.len());
    for person in people {
        match reach {
            None => within.push(person),
            Some(reach) => {
                if department_of(&person)?.is_some_and(|d| reach.contains(&d)) {
                    within.push(person);
                } else if audience.users.contains(&person) {
                    return Err(AppError::field(
                        "user_ids",
                        "outside_reach",
                        json!({ "id": person }),
                    ));
                }
            }
        }
    }
    if within.is_empty() {
        return Err(AppError::field("audience", "nobody", json!({})));
    }
    Ok(within)
}

fn excerpt(text: &str) -> String {
    excerpt_of(text, EXCERPT_CHARS)
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let draft = Draft::parse(&Body::parse(body.into_inner())?)?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        if !may_announce(caller.rights) {
            return Err(AppError::forbidden());
        }
        let people = recipients(tx, caller.rights, &draft.audience)?;
        let audience = json!({
            "everyone": draft.audience.everyone, "department_ids": draft.audience.departments,
            "role_ids": draft.audience.roles, "user_ids": draft.audience.users,
        });
        tx.run(
            "INSERT INTO announcements (author_id, title, body, audience, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                caller.rights.user_id,
                draft.title,
                draft.body,
                audience.to_string(),
                now_ms()
            ],
        )?;
        let id = tx.last_insert_rowid();
        for person in &people {
            tx.run(
                "INSERT INTO announcement_receipts (announcement_id, user_id) VALUES (?1, ?2)",
                params![id, person],
            )?;
        }
        let params =
            json!({ "announcement_id": id, "title": draft.title, "excerpt": excerpt(&draft.body) });
        let notice = Notice {
            kind: "announcement",
            record: None,
            actor: Some(caller.rights.user_id),
            params: &params,
        };
        notifications::send(tx, &notice, &people)?;
        crate::audit::record(
            tx,
            caller.actor,
            "announcement_sent",
            None,
            json!({ "announcement_id": id, "title": draft.title, "recipients": people.len() }),
        )?;
        one(tx, caller.rights, id)
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// The announcement as the caller may see it: recipients see it and whether they read it; its
/// author and administrators also see how many have read it. Anyone else: not found.
fn one(conn: &Connection, rights: &Rights, id: i64) -> Result<Value, AppError> {
    let found = conn
        .one(
            "SELECT a.title, a.body, a.author_id, (SELECT display_name FROM users WHERE id = a.author_id),
                    a.audience, a.created_at,
                    (SELECT count(*) FROM announcement_receipts WHERE announcement_id = a.id),
                    (SELECT count(*) FROM announcement_receipts WHERE announcement_id = a.id AND read_at IS NOT NULL),
                    (SELECT read_at FROM announcement_receipts WHERE announcement_id = a.id AND user_id = ?2),
                    EXISTS (SELECT 1 FROM announcement_receipts WHERE announcement_id = a.id AND user_id = ?2)
             FROM announcements a WHERE a.id = ?1",
            params![id, rights.user_id],
            |r| {
                Ok((
                    json!({
                        "id": id,
                        "title": r.get::<_, String>(0)?,
                        "body": r.get::<_, String>(1)?,
                        "author_id": r.get::<_, Option<i64>>(2)?,
                        "author": r.get::<_, Option<String>>(3)?,
                        "created_at": rfc3339(r.get(5)?),
                        "read": r.get::<_, Option<i64>>(8)?.is_some(),
                    }),
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(4)?,
                    (r.get::<_, i64>(6)?, r.get::<_, i64>(7)?),
                    r.get::<_, bool>(9)?,
                ))
            },
        )
        .optional()?;
    let (mut answer, author, audience, (total, read), received) =
        found.ok_or_else(AppError::not_found)?;
    let oversees = author == Some(rights.user_id) || rights.is_admin;
    if !oversees && !received {
        return Err(AppError::not_found());
    }
    answer["received"] = json!(received);
    if oversees {
        answer["audience"] = serde_json::from_str(&audience).unwrap_or_default();
        answer["recipients"] = json!(total);
        answer["read_count"] = json!(read);
    }
    Ok(answer)
}

/// `GET /announcements?box=received|sent`: newest first. `sent` is the caller's own (every
/// announcement, for an administrator), with how many have read each.
async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let paging = ListParams::parse(query.into_inner(), &["box"])?;
    let sent = match paging.text("box") {
        None | Some("received") => false,
        Some("sent") => true,
        Some(_) => return Err(AppError::invalid_query("box")),
    };
    let page = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let condition = if sent && rights.is_admin {
                "1".to_string()
            } else if sent {
                format!("a.author_id = {}", user.id)
            } else {
                format!(
                    "EXISTS (SELECT 1 FROM announcement_receipts x WHERE x.announcement_id = a.id AND x.user_id = {})",
                    user.id
                )
            };
            let total: i64 = conn.one(
                &format!("SELECT count(*) FROM announcements a WHERE {condition}"),
                [],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT a.id FROM announcements a WHERE {condition} ORDER BY a.id DESC LIMIT ?1 OFFSET ?2"
            ))?;
            let ids: Vec<i64> = stmt
                .query_map([paging.per_page, paging.offset()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                let mut item = one(conn, &rights, id)?;
                let body = item["body"].as_str().map(excerpt).unwrap_or_default();
                item["body"] = json!(body);
                items.push(item);
            }
            Ok(paging.answer(items, Total::exact(total)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let answer = state
        .db
        .read(move |conn| one(conn, &Rights::load(conn, user.id)?, id))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /announcements/{id}/read`: the caller has read it (and its notification with it).
async fn read(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .db
        .write(move |tx| {
            let now = now_ms();
            let received: bool = tx.one(
                "SELECT EXISTS (SELECT 1 FROM announcement_receipts WHERE announcement_id = ?1 AND user_id = ?2)",
                params![id, user.id],
                |r| r.get(0),
            )?;
            if !received {
                return Err(AppError::not_found());
            }
            tx.run(
                "UPDATE announcement_receipts SET read_at = ?1
                 WHERE announcement_id = ?2 AND user_id = ?3 AND read_at IS NULL",
                params![now, id, user.id],
            )?;
            tx.run(
                "UPDATE notifications SET read_at = ?1
                 WHERE user_id = ?2 AND kind = 'announcement' AND read_at IS NULL
                   AND json_extract(params, '$.announcement_id') = ?3",
                params![now, user.id, id],
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /announcements/{id}/receipts`: for its author and administrators, who has read it
/// (and when) and who has not, each with their department.
async fn receipts(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let author: Option<Option<i64>> = conn
                .one("SELECT author_id FROM announcements WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let Some(author) = author else {
                return Err(AppError::not_found());
            };
            if author != Some(user.id) && !rights.is_admin {
                return Err(AppError::not_found());
            }
            let mut stmt = conn.prepare(
                "SELECT u.id, u.display_name, d.name, r.read_at FROM announcement_receipts r
                 JOIN users u ON u.id = r.user_id LEFT JOIN departments d ON d.id = u.department_id
                 WHERE r.announcement_id = ?1 ORDER BY r.read_at IS NULL, r.read_at, u.display_name",
            )?;
            let (mut read, mut unread) = (Vec::new(), Vec::new());
            let rows = stmt.query_map([id], |r| {
                Ok((
                    r.get::<_, Option<i64>>(3)?,
                    json!({
                        "user_id": r.get::<_, i64>(0)?,
                        "display_name": r.get::<_, String>(1)?,
                        "department_name": r.get::<_, Option<String>>(2)?,
                    }),
                ))
            })?;
            for row in rows {
                let (read_at, mut person) = row?;
                match read_at {
                    Some(at) => {
                        person["read_at"] = json!(rfc3339(at));
                        read.push(person);
                    }
                    None => unread.push(person),
                }
            }
            Ok(json!({ "read": read, "unread": unread }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
