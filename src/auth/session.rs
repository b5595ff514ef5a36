//! Server-side sessions. The cookie holds 32 random bytes; the database holds their SHA-256,
//! the CSRF token, and the times that decide idle and absolute expiry. `CurrentUser` is the only
//! way a handler learns who is calling, and it enforces expiry, frozen accounts and CSRF.

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::{client_ip, UserLang};
use crate::i18n::Lang;
use crate::time::now_ms;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

pub const SESSION_COOKIE: &str = "kehu_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// `last_seen_at` is refreshed at most this often, so reads do not each cost a write.
const TOUCH_INTERVAL_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    pub csrf_token: String,
    session_hash: Vec<u8>,
}

impl CurrentUser {
    pub fn session_hash(&self) -> &[u8] {
        &self.session_hash
    }
}

struct SessionRow {
    user_id: i64,
    username: String,
    frozen: bool,
    is_admin: bool,
    language: Option<String>,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new session for `user_id`; returns the cookie token and the CSRF token.
pub fn create(
    conn: &Connection,
    user_id: i64,
    ip: Option<String>,
    user_agent: Option<String>,
) -> rusqlite::Result<(String, String)> {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let csrf = hex::encode(rand::random::<[u8; 24]>());
    let now = now_ms();
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, ip, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
        params![token_hash(&token), user_id, csrf, now, ip, user_agent],
    )?;
    Ok((token, csrf))
}

pub fn delete(conn: &Connection, hash: &[u8]) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [hash])?;
    Ok(())
}

/// Ends every session of a user except `keep` (after a password change, or all of them).
pub fn delete_for_user(
    conn: &Connection,
    user_id: i64,
    keep: Option<&[u8]>,
) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
        params![user_id, keep],
    )
}

/// Removes sessions past their idle or absolute lifetime.
pub fn delete_expired(
    conn: &Connection,
    idle_ms: i64,
    absolute_ms: i64,
) -> rusqlite::Result<usize> {
    let now = now_ms();
    conn.execute(
        "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
        params![now - idle_ms, now - absolute_ms],
    )
}

pub fn cookie(token: &str, state: &AppState) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.server.secure_cookies)
        .max_age(CookieDuration::hours(
            state.config.auth.session_absolute_hours,
        ))
        .finish()
}

pub fn removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = cookie("", state);
    cookie.make_removal();
    cookie
}

fn lookup(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        "SELECT u.id, u.username, u.frozen, u.language, s.csrf_token, s.created_at, s.last_seen_at,
                EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                        WHERE ur.user_id = u.id AND r.builtin = 'administrator')
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = ?1",
        [hash],
        |r| {
            Ok(SessionRow {
                user_id: r.get(0)?,
                username: r.get(1)?,
                frozen: r.get(2)?,
                language: r.get(3)?,
                csrf_token: r.get(4)?,
                created_at: r.get(5)?,
                last_seen_at: r.get(6)?,
                is_admin: r.get(7)?,
            })
        },
    )
    .optional()
}

/// Constant-time comparison, so the CSRF check leaks nothing through timing.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

async fn authenticate(req: HttpRequest) -> Result<CurrentUser, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(AppError::unauthenticated)?;
    let hash = token_hash(&token);
    let lookup_hash = hash.clone();
    let row = state
        .db
        .read(move |conn| Ok(lookup(conn, &lookup_hash)?))
        .await?
        .ok_or_else(AppError::unauthenticated)?;

    let now = now_ms();
    let idle_ms = state.config.auth.session_idle_minutes * 60_000;
    let absolute_ms = state.config.auth.session_absolute_hours * 3_600_000;
    let expired = now - row.last_seen_at > idle_ms || now - row.created_at > absolute_ms;
    if expired || row.frozen {
        let stale = hash.clone();
        state.db.write(move |tx| Ok(delete(tx, &stale)?)).await?;
        return Err(if row.frozen {
            AppError::forbidden_code("account_frozen")
        } else {
            AppError::unauthenticated()
        });
    }
    if changes_state(req.method()) {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !same_secret(sent, &row.csrf_token) {
            return Err(AppError::forbidden_code("csrf_failed"));
        }
    }
    if now - row.last_seen_at > TOUCH_INTERVAL_MS {
        let touched = hash.clone();
        let ip = client_ip(&req).map(|ip| ip.to_string());
        state
            .db
            .write(move |tx| {
                tx.execute(
                    "UPDATE sessions SET last_seen_at = ?1, ip = ?2 WHERE token_hash = ?3",
                    params![now, ip, touched],
                )?;
                Ok(())
            })
            .await?;
    }
    if let Some(lang) = row.language.as_deref().and_then(Lang::parse) {
        req.extensions_mut().insert(UserLang(lang));
    }
    Ok(CurrentUser {
        id: row.user_id,
        username: row.username,
        is_admin: row.is_admin,
        csrf_token: row.csrf_token,
        session_hash: hash,
    })
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<CurrentUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
