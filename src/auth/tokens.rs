//! API tokens for integrations: a user creates them for themself (acting with their own rights),
//! sees each one once, and revokes them. Only a hash is stored.

use super::session::{token_hash, CurrentUser};
use crate::audit;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::org::actor;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::params;
use serde_json::{json, Value};

const NAME_MAX: usize = 60;
/// Tokens start with this, so they are recognisable in logs and secret scanners.
const TOKEN_PREFIX: &str = "kehu_";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", web::get().to(list))
        .route("/tokens", web::post().to(create))
        .route("/tokens/{id}", web::delete().to(revoke));
}

async fn list(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = user.id;
    let items = state
        .db
        .read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, name, prefix, created_at, last_used_at FROM api_tokens
                 WHERE user_id = ?1 ORDER BY created_at DESC, id DESC",
            )?;
            let items = stmt
                .query_map([id], |r| {
                    Ok(json!({
                        "id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?,
                        "prefix": r.get::<_, String>(2)?, "created_at": rfc3339(r.get(3)?),
                        "last_used_at": r.get::<_, Option<i64>>(4)?.map(rfc3339),
                    }))
                })?
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "total": items.len() })))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["name"], &mut errors);
    let name = body.text("name").unwrap_or_default().trim().to_string();
    if name.is_empty() {
        errors.add("name", "required", json!({}));
    } else if name.chars().count() > NAME_MAX {
        errors.add("name", "too_long", json!({ "max": NAME_MAX }));
    }
    errors.into_result()?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(rand::random::<[u8; 24]>()));
    let prefix = token[..TOKEN_PREFIX.len() + 6].to_string();
    let (hash, user_id, who) = (token_hash(&token), user.id, actor(&req, &user));
    let created = state
        .db
        .write(move |tx| {
            let now = now_ms();
            tx.execute(
                "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user_id, name, hash, prefix, now],
            )?;
            let id = tx.last_insert_rowid();
            audit::record(tx, &who, "token_created", Some(("tokens", id)), json!({ "name": name }))?;
            Ok(json!({ "id": id, "name": name, "prefix": prefix, "created_at": rfc3339(now) }))
        })
        .await?;
    let mut answer = created;
    answer["token"] = json!(token);
    Ok(HttpResponse::Created().json(answer))
}

async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id, who) = (id.into_inner(), user.id, actor(&req, &user));
    state
        .db
        .write(move |tx| {
            // Someone else's token answers exactly like a missing one.
            let removed = tx.execute(
                "DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2",
                params![id, user_id],
            )?;
            if removed == 0 {
                return Err(AppError::not_found());
            }
            Ok(audit::record(
                tx,
                &who,
                "token_revoked",
                Some(("tokens", id)),
                json!({}),
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
