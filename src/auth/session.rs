//! Server-side sessions. The cookie holds 32 random bytes; the database holds their SHA-256,
//! the CSRF token, and the times that decide idle and absolute expiry. `CurrentUser` is the only
//! way a handler learns who is calling, and it enforces expiry, frozen accounts and CSRF.

use crate::db::Cached;
use crate::http::error::AppError;
use crate::http::state::AppState;
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

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser session (the hash of its cookie token).
    Session(Vec<u8>),
    /// An API token (its id).
    Token(i64),
}

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub is_admin: bool,
    /// Empty for API tokens, which need no CSRF protection (no ambient cookie).
    pub csrf_token: String,
    pub credential: Credential,
}

impl CurrentUser {
    pub fn session_hash(&self) -> Option<&[u8]> {
        match &self.credential {
            Credential::Session(hash) => Some(hash),
            Credential::Token(_) => None,
        }
    }

    /// Organisation and system settings are the administrators' alone.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }
}

/// The user behind a session or token, as every request needs it.
#[derive(Clone)]
struct Principal {
    user_id: i64,
    username: String,
    frozen: bool,
    is_admin: bool,
    /// The language they read: their own choice, else the company's.
    language: Option<String>,
}

/// Columns read into a `Principal`, after which each query adds its own.
const PRINCIPAL_COLUMNS: &str = "u.id, u.username, u.frozen,
    coalesce(u.language, (SELECT value FROM settings WHERE key = 'company.default_language')),
    EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
            WHERE ur.user_id = u.id AND r.builtin = 'administrator')";

fn principal(r: &rusqlite::Row) -> rusqlite::Result<Principal> {
    Ok(Principal {
        user_id: r.get(0)?,
        username: r.get(1)?,
        frozen: r.get(2)?,
        language: r.get(3)?,
        is_admin: r.get(4)?,
    })
}

#[derive(Clone)]
struct SessionRow {
    principal: Principal,
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

/// The tables a session's row is read from: a sign-out, a password change, a frozen account,
/// a changed role or the company's language is a commit to one of them.
const SESSION_TABLES: [&str; 5] = ["sessions", "users", "user_roles", "roles", "settings"];

/// The session whose token hashes to `hash`, as `lookup` reads it. A known session is kept in
/// the memo until one of `SESSION_TABLES` changes: every request of a signed-in person starts
/// here, and reading it took a second hop to a database thread besides the request's own.
/// Unknown tokens are not kept, so guessing them cannot crowd out anything.
async fn session(state: &web::Data<AppState>, hash: &[u8]) -> Result<Option<SessionRow>, AppError> {
    let memo = state.db.memo();
    let key = format!("session {}", hex::encode(hash));
    let generation = match memo.kept_or_generation(&SESSION_TABLES, &key) {
        Ok(row) => return Ok(Some(row)),
        Err(generation) => generation,
    };
    let hash = hash.to_vec();
    let row = state.db.read(move |conn| Ok(lookup(conn, &hash)?)).await?;
    if let Some(row) = &row {
        memo.keep(key, generation, row.clone());
    }
    Ok(row)
}

fn lookup(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<SessionRow>> {
    conn.one(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS}, s.csrf_token, s.created_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
        ),
        [hash],
        |r| {
            Ok(SessionRow {
                principal: principal(r)?,
                csrf_token: r.get(5)?,
                created_at: r.get(6)?,
                last_seen_at: r.get(7)?,
            })
        },
    )
    .optional()
}

fn lookup_token(
    conn: &Connection,
    hash: &[u8],
) -> rusqlite::Result<Option<(Principal, i64, Option<i64>)>> {
    conn.one(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS}, t.id, t.last_used_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1"
        ),
        [hash],
        |r| Ok((principal(r)?, r.get(5)?, r.get(6)?)),
    )
    .optional()
}

/// Whether the credential `user` signed in with still admits them: the account is not frozen
/// and the session or token is not gone. A response that outlives its request (a live stream)
/// asks this again as it goes.
pub fn still_admitted(conn: &Connection, user: &CurrentUser) -> rusqlite::Result<bool> {
    let active = super::users::is_active(conn, user.id)?;
    let credential_kept: bool = match &user.credential {
        Credential::Session(hash) => conn.one(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE token_hash = ?1)",
            [hash],
            |r| r.get(0),
        )?,
        Credential::Token(id) => conn.one(
            "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE id = ?1)",
            [id],
            |r| r.get(0),
        )?,
    };
    Ok(active && credential_kept)
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

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| token.to_string())
}

/// Marks the request with the user's language and builds the `CurrentUser`.
fn admit(
    req: &HttpRequest,
    who: Principal,
    csrf_token: String,
    credential: Credential,
) -> CurrentUser {
    if let Some(lang) = who.language.as_deref().and_then(Lang::parse) {
        req.extensions_mut().insert(UserLang(lang));
    }
    CurrentUser {
        id: who.user_id,
        username: who.username,
        is_admin: who.is_admin,
        csrf_token,
        credential,
    }
}

async fn authenticate(req: HttpRequest) -> Result<CurrentUser, AppError> {
    match bearer_token(&req) {
        Some(token) => authenticate_token(req, token).await,
        None => authenticate_session(req).await,
    }
}

async fn authenticate_token(req: HttpRequest, token: String) -> Result<CurrentUser, AppError> {
    let state = app_state(&req)?;
    let hash = token_hash(&token);
    let (who, token_id, last_used_at) = state
        .db
        .read(move |conn| Ok(lookup_token(conn, &hash)?))
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    if who.frozen {
        return Err(AppError::forbidden_code("account_frozen"));
    }
    let now = now_ms();
    if last_used_at.is_none_or(|used| now - used > TOUCH_INTERVAL_MS) {
        state
            .db
            .write(move |tx| {
                tx.execute(
                    "UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2",
                    params![now, token_id],
                )?;
                Ok(())
            })
            .await?;
    }
    Ok(admit(&req, who, String::new(), Credential::Token(token_id)))
}

async fn authenticate_session(req: HttpRequest) -> Result<CurrentUser, AppError> {
    let state = app_state(&req)?;
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .ok_or_else(AppError::unauthenticated)?;
    let hash = token_hash(&token);
    let row = session(&state, &hash)
        .await?
        .ok_or_else(AppError::unauthenticated)?;

    let now = now_ms();
    let idle_ms = state.config.auth.session_idle_minutes * 60_000;
    let absolute_ms = state.config.auth.session_absolute_hours * 3_600_000;
    let expired = now - row.last_seen_at > idle_ms || now - row.created_at > absolute_ms;
    if expired || row.principal.frozen {
        let stale = hash.clone();
        state.db.write(move |tx| Ok(delete(tx, &stale)?)).await?;
        return Err(if row.principal.frozen {
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
    Ok(admit(
        &req,
        row.principal,
        row.csrf_token,
        Credential::Session(hash),
    ))
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<CurrentUser, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}

/// A signed-in administrator. Organisation and system routes take this instead of
/// `CurrentUser`, so the check cannot be forgotten: anyone else gets 403 before the handler runs.
pub struct Admin(pub CurrentUser);

impl std::ops::Deref for Admin {
    type Target = CurrentUser;

    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = authenticate(req).await?;
            user.require_admin()?;
            Ok(Admin(user))
        })
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
