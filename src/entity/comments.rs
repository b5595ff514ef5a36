//! Comments 评论 with @mentions, on every record of every entity: whoever may view a record may
//! discuss it. Mentioned colleagues are notified, and each comment, edit and removal is a line
//! of the record's history. Its author may edit a comment for a short while (a typo, a wrong
//! name); after that it stands as written. Its author or an administrator may remove it.

use super::attachments::require_record;
use super::notifications::{self, Notice};
use super::registry;
use super::routes::{write_as, Entry};
use super::store::{self, names_visible};
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::db::query::Total;
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::{Body, ListParams};
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};
use std::collections::HashMap;

/// How long after writing it a comment's author may still change it.
pub const EDIT_WINDOW_MS: i64 = 15 * 60 * 1000;
const BODY_MAX: usize = 5000;
const MENTIONS_MAX: usize = 20;
/// How much of a comment a notification or a history line quotes.
const EXCERPT_CHARS: usize = 120;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/comments/{id}", web::patch().to(edit))
        .route("/comments/{id}", web::delete().to(remove));
}

/// A comment's columns; its mentions come as `[{"id", "display_name"}]`, in the order written.
const COLUMNS: &str = "c.id, c.entity, c.record_id, c.author_id, \
     (SELECT display_name FROM users WHERE id = c.author_id), c.body, \
     (SELECT json_group_array(json_object('id', u.id, 'display_name', u.display_name)) \
      FROM json_each(c.mentions) m JOIN users u ON u.id = m.value), c.created_at, c.edited_at";

/// A comment as the API answers it, with what the caller may do with it.
fn comment(row: &Row, rights: &Rights, now: i64) -> rusqlite::Result<Value> {
    let author: Option<i64> = row.get(3)?;
    let created_at: i64 = row.get(7)?;
    let mine = author == Some(rights.user_id);
    let mentions: Value = serde_json::from_str(&row.get::<_, String>(6)?).unwrap_or_default();
    Ok(json!({
        "id": row.get::<_, i64>(0)?,
        "entity": row.get::<_, String>(1)?,
        "record_id": row.get::<_, i64>(2)?,
        "author_id": author,
        "author": row.get::<_, Option<String>>(4)?,
        "body": row.get::<_, String>(5)?,
        "mentions": mentions,
        "created_at": rfc3339(created_at),
        "edited_at": row.get::<_, Option<i64>>(8)?.map(rfc3339),
        "can_edit": mine && now - created_at < EDIT_WINDOW_MS,
        "can_delete": mine || rights.is_admin,
    }))
}

fn one(conn: &Connection, rights: &Rights, id: i64) -> Result<Value, AppError> {
    Ok(conn.one(
        &format!("SELECT {COLUMNS} FROM comments c WHERE c.id = ?1"),
        [id],
        |r| comment(r, rights, now_ms()),
    )?)
}

/// `GET /{entity}/{id}/comments`: oldest first, as a conversation reads.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0.name, id.into_inner());
    let paging = ListParams::parse(query.into_inner(), &[])?;
    let page = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            require_record(conn, &rights, entity, id, Action::View)?;
            let total: i64 = conn.one(
                "SELECT count(*) FROM comments
                 WHERE entity = ?1 AND record_id = ?2 AND deleted_at IS NULL",
                params![entity, id],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM comments c
                 WHERE c.entity = ?1 AND c.record_id = ?2 AND c.deleted_at IS NULL
                 ORDER BY c.id LIMIT ?3 OFFSET ?4"
            ))?;
            let now = now_ms();
            let items = stmt
                .query_map(params![entity, id, paging.per_page, paging.offset()], |r| {
                    comment(r, &rights, now)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(paging.answer(items, Total::exact(total)))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// What a comment says and whom it mentions, read from a request body.
struct Draft {
    body: String,
    mentions: Vec<i64>,
}

impl Draft {
    fn parse(body: &Body) -> Result<Draft, AppError> {
        let mut errors = FieldErrors::new();
        body.refuse_others(&["body", "mentions"], &mut errors);
        let text = body.required_text("body", BODY_MAX, &mut errors);
        let mut mentions = body.ids("mentions", &mut errors).unwrap_or_default();
        mentions.sort_unstable();
        mentions.dedup();
        if mentions.len() > MENTIONS_MAX {
            errors.add("mentions", "too_many", json!({ "max": MENTIONS_MAX }));
        }
        errors.into_result()?;
        Ok(Draft {
            body: text,
            mentions,
        })
    }

    /// Refuses a mention of anyone who is not an active colleague or may not open the record:
    /// the comment would tell them about it (422, naming them, and nothing is written).
    fn check_mentions(&self, conn: &Connection, entity: &str, id: i64) -> Result<(), AppError> {
        for &user in &self.mentions {
            let found: Option<(String, bool)> = conn
                .one(
                    "SELECT display_name, frozen FROM users WHERE id = ?1",
                    [user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((name, false)) = found else {
                return Err(AppError::field(
                    "mentions",
                    "unknown_user",
                    json!({ "id": user }),
                ));
            };
            let rights = Rights::load(conn, user)?;
            if !rights.can(entity, Action::View) || !store::is_visible(conn, &rights, entity, id)? {
                return Err(AppError::field(
                    "mentions",
                    "mention_cannot_see",
                    json!({ "name": name }),
                ));
            }
        }
        Ok(())
    }
}

/// The first `chars` characters of `text`, with an ellipsis when there is more: what a
/// notification, a list or a history line quotes of something long.
pub fn excerpt_of(text: &str, chars: usize) -> String {
    if text.chars().count() > chars {
        format!("{}…", text.chars().take(chars).collect::<String>())
    } else {
        text.to_string()
    }
}

fn excerpt(text: &str) -> String {
    excerpt_of(text, EXCERPT_CHARS)
}

/// Tells the people a comment newly mentions about it.
fn notify_mentions(
    conn: &Connection,
    (entity, id): (&'static str, i64),
    author: i64,
    body: &str,
    mentioned: &[i64],
) -> Result<(), AppError> {
    let title = record_title(conn, entity, id)?;
    let params = json!({ "title": title, "excerpt": excerpt(body) });
    let notice = Notice {
        kind: "mention",
        record: Some((entity, id)),
        actor: Some(author),
        params: &params,
    };
    notifications::send(conn, &notice, mentioned)?;
    Ok(())
}

/// The record's name as its title field reads (its id when it has none).
pub fn record_title(conn: &Connection, entity: &str, id: i64) -> Result<String, AppError> {
    let entity = registry::find(entity).ok_or_else(AppError::not_found)?;
    let title: Option<String> = conn
        .one(
            &format!(
                "SELECT CAST({} AS TEXT) FROM {} WHERE id = ?1",
                entity.title, entity.name
            ),
            [id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(title.unwrap_or_else(|| format!("#{id}")))
}

/// A line of the record's history for a comment: what it said before and after.
fn record_in_history(
    conn: &Connection,
    caller: &store::Caller,
    (entity, id): (&'static str, i64),
    action: &str,
    (old, new): (Option<&str>, Option<&str>),
) -> Result<(), AppError> {
    let entity = registry::find(entity).ok_or_else(AppError::not_found)?;
    let change = json!([{ "field": "comment", "old": old.map(excerpt), "new": new.map(excerpt) }]);
    super::history::record_changes(conn, entity, caller.actor, id, action, &change)?;
    Ok(())
}

/// `POST /{entity}/{id}/comments`.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0.name, id.into_inner());
    let draft = Draft::parse(&Body::parse(body.into_inner())?)?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        require_record(tx, caller.rights, entity, id, Action::View)?;
        draft.check_mentions(tx, entity, id)?;
        tx.run(
            "INSERT INTO comments (entity, record_id, author_id, body, mentions, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                entity,
                id,
                caller.rights.user_id,
                draft.body,
                json!(draft.mentions).to_string(),
                now_ms()
            ],
        )?;
        let comment = tx.last_insert_rowid();
        record_in_history(
            tx,
            caller,
            (entity, id),
            "commented",
            (None, Some(&draft.body)),
        )?;
        notify_mentions(
            tx,
            (entity, id),
            caller.rights.user_id,
            &draft.body,
            &draft.mentions,
        )?;
        one(tx, caller.rights, comment)
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// A comment that is not removed and whose record the caller may view: its record, author,
/// text, mentions and when it was written.
struct Existing {
    record: (&'static str, i64),
    author: Option<i64>,
    body: String,
    mentions: Vec<i64>,
    created_at: i64,
}

fn existing(conn: &Connection, rights: &Rights, id: i64) -> Result<Existing, AppError> {
    let found = conn
        .one(
            "SELECT entity, record_id, author_id, body, mentions, created_at FROM comments
             WHERE id = ?1 AND deleted_at IS NULL",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let (entity, record, author, body, mentions, created_at) =
        found.ok_or_else(AppError::not_found)?;
    let entity = registry::find(&entity).ok_or_else(AppError::not_found)?;
    require_record(conn, rights, entity.name, record, Action::View)?;
    Ok(Existing {
        record: (entity.name, record),
        author,
        body,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        created_at,
    })
}

/// `PATCH /comments/{id}`: by its author, within `EDIT_WINDOW_MS` of writing it; only the
/// people it newly mentions are notified.
async fn edit(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let draft = Draft::parse(&Body::parse(body.into_inner())?)?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        let before = existing(tx, caller.rights, id)?;
        if before.author != Some(caller.rights.user_id) {
            return Err(AppError::forbidden_code("not_comment_author"));
        }
        if now_ms() - before.created_at >= EDIT_WINDOW_MS {
            return Err(AppError::forbidden_code("comment_edit_closed")
                .with_params(json!({ "minutes": EDIT_WINDOW_MS / 60_000 })));
        }
        let (entity, record) = before.record;
        draft.check_mentions(tx, entity, record)?;
        tx.run(
            "UPDATE comments SET body = ?1, mentions = ?2, edited_at = ?3 WHERE id = ?4",
            params![draft.body, json!(draft.mentions).to_string(), now_ms(), id],
        )?;
        let change = (Some(before.body.as_str()), Some(draft.body.as_str()));
        record_in_history(tx, caller, before.record, "comment_edited", change)?;
        let newly: Vec<i64> = draft
            .mentions
            .iter()
            .copied()
            .filter(|m| !before.mentions.contains(m))
            .collect();
        notify_mentions(
            tx,
            before.record,
            caller.rights.user_id,
            &draft.body,
            &newly,
        )?;
        one(tx, caller.rights, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `DELETE /comments/{id}`: by its author or an administrator.
async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    write_as(&state, &req, &user, move |tx, caller| {
        let before = existing(tx, caller.rights, id)?;
        if before.author != Some(caller.rights.user_id) && !caller.rights.is_admin {
            return Err(AppError::forbidden_code("not_comment_author"));
        }
        tx.run(
            "UPDATE comments SET deleted_at = ?1 WHERE id = ?2",
            params![now_ms(), id],
        )?;
        record_in_history(
            tx,
            caller,
            before.record,
            "comment_deleted",
            (Some(&before.body), None),
        )?;
        crate::audit::record(
            tx,
            caller.actor,
            "comment_deleted",
            Some(before.record),
            json!({ "comment_id": id, "body": excerpt(&before.body) }),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Comments the caller may read that contain `q`, newest first: the global search's hits in
/// what people said about records.
pub fn search(
    conn: &Connection,
    rights: &Rights,
    q: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT c.id, c.entity, c.record_id, c.body,
                (SELECT display_name FROM users WHERE id = c.author_id)
         FROM comments c
         WHERE c.deleted_at IS NULL AND instr(lower(c.body), lower(?1)) > 0 AND {}
         ORDER BY c.id DESC LIMIT ?2",
        names_visible(rights, ("c.entity", "c.record_id"))
    ))?;
    let hits = stmt
        .query_map(params![q, limit], |r| {
            Ok(json!({
                "id": r.get::<_, i64>(0)?,
                "entity": r.get::<_, String>(1)?,
                "record_id": r.get::<_, i64>(2)?,
                "excerpt": excerpt(&r.get::<_, String>(3)?),
                "author": r.get::<_, Option<String>>(4)?,
            }))
        })?
        .collect();
    hits
}
