//! Files attached to a record (合同附件: a signed contract's scan), for every entity. They are
//! stored in the database, so a backup holds them, and they follow their record: listed and
//! downloaded by whoever may view it, added and removed by whoever may edit it.

use super::import::{invalid_upload, read_part};
use super::registry;
use super::routes::{write_as, Entry};
use super::store;
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

/// The largest file one record may carry.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most files on one record.
const MAX_FILES: i64 = 50;
const NAME_MAX: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/attachments/{id}", web::get().to(download))
        .route("/attachments/{id}", web::delete().to(remove));
}

/// 404 unless the caller holds `action` on the entity and may see the record (files and
/// comments alike).
pub(super) fn require_record(
    conn: &Connection,
    rights: &Rights,
    entity: &str,
    id: i64,
    action: Action,
) -> Result<(), AppError> {
    rights.require(entity, action)?;
    if store::is_visible(conn, rights, entity, id)? {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

fn listing(conn: &Connection, entity: &str, id: i64) -> Result<Vec<Value>, AppError> {
    let mut stmt = conn.prepare(
        "SELECT a.id, a.name, a.mime, a.size, a.created_at, u.display_name FROM attachments a
         LEFT JOIN users u ON u.id = a.created_by
         WHERE a.entity = ?1 AND a.record_id = ?2 ORDER BY a.id DESC",
    )?;
    let rows = stmt
        .query_map(params![entity, id], |r| {
            Ok(json!({
                "id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?,
                "mime": r.get::<_, String>(2)?, "size": r.get::<_, i64>(3)?,
                "created_at": rfc3339(r.get(4)?), "created_by": r.get::<_, Option<String>>(5)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0.name, id.into_inner());
    let items = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            require_record(conn, &rights, entity, id, Action::View)?;
            listing(conn, entity, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// A file name without any path, control characters or quotes.
fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(NAME_MAX)
        .collect();
    if name.trim().is_empty() {
        "file".into()
    } else {
        name.trim().to_string()
    }
}

pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0.name, id.into_inner());
    let mut file = None;
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(invalid_upload)?;
        if part.name() != Some("file") {
            let name = part.name().unwrap_or_default().to_string();
            return Err(AppError::field(&name, "unknown_field", json!({})));
        }
        let name = clean_name(
            part.content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or_default(),
        );
        let mime = part
            .content_type()
            .map_or("application/octet-stream".into(), |m| {
                m.essence_str().to_string()
            });
        let bytes = read_part(&mut part, "file", MAX_BYTES).await?;
        file = Some((name, mime, bytes));
    }
    let Some((name, mime, bytes)) = file else {
        return Err(AppError::field("file", "required", json!({})));
    };
    if bytes.is_empty() {
        return Err(AppError::field("file", "required", json!({})));
    }
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        require_record(tx, caller.rights, entity, id, Action::Edit)?;
        let held: i64 = tx.query_row(
            "SELECT count(*) FROM attachments WHERE entity = ?1 AND record_id = ?2",
            params![entity, id],
            |r| r.get(0),
        )?;
        if held >= MAX_FILES {
            return Err(AppError::field("file", "too_many", json!({ "max": MAX_FILES })));
        }
        tx.execute(
            "INSERT INTO attachments (entity, record_id, name, mime, size, data, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![entity, id, name, mime, bytes.len() as i64, bytes, caller.rights.user_id, now_ms()],
        )?;
        let attachment = tx.last_insert_rowid();
        crate::audit::record(
            tx,
            caller.actor,
            "attachment_added",
            Some((entity, id)),
            json!({ "name": name }),
        )?;
        let all = listing(tx, entity, id)?;
        Ok(all.into_iter().find(|a| a["id"] == attachment).unwrap_or_default())
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// The entity and record an attachment belongs to.
fn owner_of(conn: &Connection, attachment: i64) -> Result<(&'static str, i64), AppError> {
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT entity, record_id FROM attachments WHERE id = ?1",
            [attachment],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (entity, id) = found.ok_or_else(AppError::not_found)?;
    let entity = registry::find(&entity).ok_or_else(AppError::not_found)?;
    Ok((entity.name, id))
}

async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (name, mime, bytes) = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let (entity, record) = owner_of(conn, id)?;
            require_record(conn, &rights, entity, record, Action::View)?;
            Ok(conn.query_row(
                "SELECT name, mime, data FROM attachments WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )?)
        })
        .await?;
    // Always a download, never rendered in the page: an uploaded HTML file must not run here.
    let disposition = header::ContentDisposition {
        disposition: header::DispositionType::Attachment,
        parameters: vec![header::DispositionParam::FilenameExt(
            header::ExtendedValue {
                charset: header::Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            },
        )],
    };
    Ok(HttpResponse::Ok()
        .content_type(mime)
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    write_as(&state, &req, &user, move |tx, caller| {
        let (entity, record) = owner_of(tx, id)?;
        require_record(tx, caller.rights, entity, record, Action::Edit)?;
        let name: String =
            tx.query_row("SELECT name FROM attachments WHERE id = ?1", [id], |r| {
                r.get(0)
            })?;
        tx.execute("DELETE FROM attachments WHERE id = ?1", [id])?;
        crate::audit::record(
            tx,
            caller.actor,
            "attachment_removed",
            Some((entity, record)),
            json!({ "name": name }),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
