//! Notifications 通知: what Kehu tells a person (a colleague mentioned them; later an approval
//! waiting, a follow-up due), kept per recipient, listed in the bell's centre and pushed live
//! to every browser they have open, over Server-Sent Events from this same server.
//!
//! Nobody is told about a record they may not open. A notice is filed only for recipients who
//! can see its record, and every read (the list, the unread count, the stream) tests the record
//! again, so a person moved out of its scope since stops seeing what they were told about it.
//!
//! The stream reads the database, not a message bus: it sleeps until a commit touches the
//! notifications table, then sends what is newer than the last id it sent. A browser that
//! reconnects (a network blip, a server restart) sends that id back as `Last-Event-ID` and
//! gets exactly what it missed, nothing twice.

use super::store;
use crate::access::Rights;
use crate::auth::session::{still_admitted, CurrentUser};
use crate::db::query::Total;
use crate::db::Cached;
use crate::http::error::AppError;
use crate::http::input::ListParams;
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::time::{now_ms, rfc3339};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::{select, Either};
use rusqlite::{params, Connection, Row};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// A comment line on an idle stream this often keeps proxies from closing it and lets the
/// server notice a browser that went away.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// The most notifications one catch-up of a stream reads; a longer backlog takes several.
const CATCH_UP_BATCH: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications", web::get().to(list))
        .route("/notifications/stream", web::get().to(stream))
        .route("/notifications/read-all", web::post().to(read_all))
        .route("/notifications/{id}/read", web::post().to(read_one));
}

/// What to tell people: its kind (`notification.{kind}` is its message), the record it is
/// about, who caused it, and the values its message is built from.
pub struct Notice<'a> {
    pub kind: &'static str,
    pub record: Option<(&'static str, i64)>,
    pub actor: Option<i64>,
    pub params: &'a Value,
}

/// Files `notice` for every recipient who may open its record, except whoever caused it, in
/// the caller's transaction (so it exists exactly when the change it reports does). Answers
/// who was notified.
pub fn send(conn: &Connection, notice: &Notice, recipients: &[i64]) -> Result<Vec<i64>, AppError> {
    let mut notified = Vec::new();
    let params = notice.params.to_string();
    for &user in recipients {
        if Some(user) == notice.actor || notified.contains(&user) || !may_learn(conn, user, notice)?
        {
            continue;
        }
        conn.run(
            "INSERT INTO notifications (user_id, kind, entity, record_id, actor_id, params, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                user,
                notice.kind,
                notice.record.map(|(entity, _)| entity),
                notice.record.map(|(_, id)| id),
                notice.actor,
                params,
                now_ms()
            ],
        )?;
        if super::mailing::wants_email(conn, user, notice.kind)? {
            crate::org::mail::enqueue_notification(conn, user, conn.last_insert_rowid())?;
        }
        notified.push(user);
    }
    Ok(notified)
}

/// Whether `user` is an active account that may open the notice's record.
fn may_learn(conn: &Connection, user: i64, notice: &Notice) -> Result<bool, AppError> {
    match notice.record {
        None => Ok(crate::auth::users::is_active(conn, user)?),
        Some((entity, id)) => store::may_open(conn, user, entity, id),
    }
}

/// The condition on a notification row `n` that its reader may still open its record.
pub(super) fn readable(rights: &Rights) -> String {
    format!(
        "n.user_id = {} AND (n.entity IS NULL OR {})",
        rights.user_id,
        store::names_visible(rights, ("n.entity", "n.record_id"))
    )
}

pub(super) const COLUMNS: &str =
    "n.id, n.kind, n.entity, n.record_id, n.params, n.created_at, n.read_at, \
     (SELECT display_name FROM users WHERE id = n.actor_id)";

/// One notification as the API answers it, its message in `lang`.
pub(super) fn item(row: &Row, state: &AppState, lang: Lang) -> rusqlite::Result<Value> {
    let kind: String = row.get(1)?;
    let entity: Option<String> = row.get(2)?;
    let params: Value = serde_json::from_str(&row.get::<_, String>(4)?).unwrap_or_default();
    let actor: Option<String> = row.get(7)?;
    let mut filled = params.clone();
    if let Some(fill) = filled.as_object_mut() {
        fill.insert("actor".into(), json!(actor.clone().unwrap_or_default()));
        if let Some(entity) = &entity {
            let label = state
                .i18n
                .text(lang, &format!("entity_one.{entity}"), &Value::Null);
            fill.insert("entity".into(), json!(label));
        }
    }
    Ok(json!({
        "id": row.get::<_, i64>(0)?,
        "kind": kind,
        "entity": entity,
        "record_id": row.get::<_, Option<i64>>(3)?,
        "actor": actor,
        "params": params,
        "message": state.i18n.text(lang, &format!("notification.{kind}"), &filled),
        "created_at": rfc3339(row.get(5)?),
        "read": row.get::<_, Option<i64>>(6)?.is_some(),
    }))
}

fn unread_count(conn: &Connection, rights: &Rights) -> rusqlite::Result<i64> {
    conn.one(
        &format!(
            "SELECT count(*) FROM notifications n WHERE n.read_at IS NULL AND {}",
            readable(rights)
        ),
        [],
        |r| r.get(0),
    )
}

/// `GET /notifications`: newest first, `unread=true` for the unread only; `unread` in the
/// answer counts them all, for the bell.
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let paging = ListParams::parse(query.into_inner(), &["unread"])?;
    let only_unread = paging.flag("unread")?.unwrap_or(false);
    let lang = request_lang(&req, state.default_lang);
    let shared = state.clone();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let mut condition = readable(&rights);
            if only_unread {
                condition.push_str(" AND n.read_at IS NULL");
            }
            let total: i64 = conn.one(
                &format!("SELECT count(*) FROM notifications n WHERE {condition}"),
                [],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM notifications n WHERE {condition}
                 ORDER BY n.id DESC LIMIT ?1 OFFSET ?2"
            ))?;
            let items = stmt
                .query_map([paging.per_page, paging.offset()], |r| {
                    item(r, &shared, lang)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut answer = serde_json::to_value(paging.answer(items, Total::exact(total)))
                .map_err(AppError::internal)?;
            answer["unread"] = json!(unread_count(conn, &rights)?);
            Ok(answer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /notifications/{id}/read`: one of the caller's own; anyone else's is not found.
async fn read_one(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .db
        .write(move |tx| {
            let mine: bool = tx.one(
                "SELECT EXISTS (SELECT 1 FROM notifications WHERE id = ?1 AND user_id = ?2)",
                params![id, user.id],
                |r| r.get(0),
            )?;
            if !mine {
                return Err(AppError::not_found());
            }
            tx.run(
                "UPDATE notifications SET read_at = ?1 WHERE id = ?2 AND read_at IS NULL",
                params![now_ms(), id],
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /notifications/read-all`: every unread one of the caller's; answers how many.
async fn read_all(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let marked = state
        .db
        .write(move |tx| {
            Ok(tx.run(
                "UPDATE notifications SET read_at = ?1 WHERE user_id = ?2 AND read_at IS NULL",
                params![now_ms(), user.id],
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "marked": marked })))
}

/// Where a stream starts: after the `Last-Event-ID` a reconnecting browser sends, else after
/// `?after=` (the newest id the page already shows), else after the newest notification now.
fn resume_point(
    req: &HttpRequest,
    query: &HashMap<String, String>,
) -> Result<Option<i64>, AppError> {
    if let Some(unknown) = query.keys().find(|k| *k != "after") {
        return Err(AppError::invalid_query(unknown));
    }
    let header = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    match header.or(query.get("after").map(String::as_str)) {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id >= 0)
            .map(Some)
            .ok_or_else(|| AppError::invalid_query("after")),
    }
}

/// `GET /notifications/stream`: Server-Sent Events. `notification` events carry one
/// notification each (its id is the event id); `unread` events the bell's count when it changes.
async fn stream(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let resume = resume_point(&req, &query)?;
    let user_id = user.id;
    let after = match resume {
        Some(after) => after,
        None => {
            state
                .db
                .read(move |conn| {
                    Ok(conn.one(
                        "SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = ?1",
                        [user_id],
                        |r| r.get(0),
                    )?)
                })
                .await?
        }
    };
    let live = Live {
        lang: request_lang(&req, state.default_lang),
        changes: state.db.memo().watch("notifications"),
        sign_outs: state.db.memo().watch("sessions"),
        closing: state.closing.subscribe(),
        state,
        user,
        after,
        unread: None,
        // Browsers retry after three seconds rather than their default, which varies.
        pending: VecDeque::from([Bytes::from_static(b"retry: 3000\n\n")]),
        stale: true,
        ended: false,
    };
    let body = futures_util::stream::unfold(live, Live::next);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Compression would hold events back until a buffer fills.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// One open stream: who it is for, the last id it sent, and what it still has to send.
struct Live {
    state: web::Data<AppState>,
    user: CurrentUser,
    lang: Lang,
    after: i64,
    unread: Option<i64>,
    changes: tokio::sync::watch::Receiver<u64>,
    /// Commits to sessions: a sign-out (or a password change) ends the stream at once.
    sign_outs: tokio::sync::watch::Receiver<u64>,
    closing: tokio::sync::watch::Receiver<bool>,
    pending: VecDeque<Bytes>,
    /// Whether the database may hold something the stream has not sent.
    stale: bool,
    /// The reader signed out (or was frozen): the stream ends once `pending` is sent.
    ended: bool,
}

/// What a catch-up found: new notifications and the unread count, or that the reader has
/// signed out or been frozen since the stream opened.
enum CaughtUp {
    News(Vec<(i64, Value)>, i64),
    SignedOut,
}

impl Live {
    /// The stream's next chunk, or its end (the server stops, the reader signs out, a read
    /// fails: the browser reconnects and resumes).
    async fn next(mut self) -> Option<(Result<Bytes, actix_web::Error>, Live)> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some((Ok(chunk), self));
            }
            if self.ended || *self.closing.borrow() {
                return None;
            }
            if self.stale {
                self.stale = false;
                match self.catch_up().await {
                    Ok(true) => continue,
                    Ok(false) => {
                        // Said before the end so the page stops the browser's reconnect: it
                        // would come back without a session, and signs that tab out instead.
                        self.pending
                            .push_back(Bytes::from_static(b"event: signed_out\ndata: {}\n\n"));
                        self.ended = true;
                        continue;
                    }
                    Err(_) => return None,
                }
            }
            let changed = Box::pin(self.changes.changed());
            let signed_out = Box::pin(self.sign_outs.changed());
            let closing = Box::pin(self.closing.changed());
            let quiet = Box::pin(actix_web::rt::time::sleep(HEARTBEAT));
            let woken = select(select(changed, signed_out), closing);
            match select(woken, quiet).await {
                Either::Left((Either::Left((Either::Left((Ok(()), _)), _)), _)) => {
                    self.stale = true
                }
                Either::Left((Either::Left((Either::Right((Ok(()), _)), _)), _)) => {
                    self.stale = true
                }
                Either::Left(_) => return None,
                Either::Right(_) => {
                    self.pending
                        .push_back(Bytes::from_static(b": keep-alive\n\n"));
                    self.stale = true;
                }
            }
        }
    }

    /// Reads what is newer than the last id sent into `pending`; `false` once the reader may
    /// no longer be told anything.
    async fn catch_up(&mut self) -> Result<bool, AppError> {
        let (user, after, lang) = (self.user.clone(), self.after, self.lang);
        let shared = self.state.clone();
        let found = self
            .state
            .db
            .read(move |conn| {
                if !still_admitted(conn, &user)? {
                    return Ok(CaughtUp::SignedOut);
                }
                let rights = Rights::load(conn, user.id)?;
                let mut stmt = conn.prepare(&format!(
                    "SELECT {COLUMNS} FROM notifications n WHERE n.id > ?1 AND {}
                     ORDER BY n.id LIMIT ?2",
                    readable(&rights)
                ))?;
                let items = stmt
                    .query_map(params![after, CATCH_UP_BATCH], |r| {
                        Ok((r.get::<_, i64>(0)?, item(r, &shared, lang)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(CaughtUp::News(items, unread_count(conn, &rights)?))
            })
            .await?;
        let CaughtUp::News(items, unread) = found else {
            return Ok(false);
        };
        self.stale = items.len() as i64 == CATCH_UP_BATCH;
        for (id, notification) in items {
            self.after = id;
            self.pending.push_back(Bytes::from(format!(
                "id: {id}\nevent: notification\ndata: {notification}\n\n"
            )));
        }
        if self.unread != Some(unread) {
            self.unread = Some(unread);
            self.pending.push_back(Bytes::from(format!(
                "event: unread\ndata: {}\n\n",
                json!({ "unread": unread })
            )));
        }
        Ok(true)
    }
}
