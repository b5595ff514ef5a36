//! Email through the company's own SMTP server: the administrator's settings (the password
//! sealed at rest with a key kept in the data directory), a test mail, and the outgoing queue.
//!
//! Mail is never sent inside a request's transaction: a request only writes a row to
//! `mail_queue`, in the same transaction as what it reports, and the delivery loop
//! (`entity::notifications::deliver_mail`) sends it afterwards. An attempt that fails is tried
//! again later, each wait twice the last, until a day has passed; saving the settings tries
//! everything waiting at once.

use crate::auth::session::Admin;
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::org::actor;
use crate::org::secrets::{key, open, seal};
use crate::time::now_ms;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const SETTINGS_KEY: &str = "mail";
const FIRST_RETRY_MS: i64 = 30_000;
const LONGEST_WAIT_MS: i64 = 3_600_000;
/// How long a mail is tried before it is given up.
const GIVE_UP_AFTER_MS: i64 = 86_400_000;
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);
const SECURITIES: [&str; 3] = ["starttls", "tls", "none"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/mail", web::get().to(get_settings))
        .route("/settings/mail", web::put().to(put_settings))
        .route("/settings/mail/test", web::post().to(test_mail));
}

/// The SMTP settings as stored: the password sealed (hex of nonce and ciphertext).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    /// `starttls` (usually port 587), `tls` (465) or `none` (a relay on the LAN).
    pub security: String,
    pub username: String,
    sealed_password: String,
    pub from_address: String,
    pub from_name: String,
}

impl MailSettings {
    pub fn load(conn: &Connection) -> rusqlite::Result<Option<MailSettings>> {
        Ok(crate::db::setting(conn, SETTINGS_KEY)?
            .and_then(|s| serde_json::from_str::<MailSettings>(&s).ok())
            .filter(|s| !s.host.is_empty()))
    }

    fn json(&self) -> Value {
        json!({
            "host": self.host, "port": self.port, "security": self.security,
            "username": self.username, "password_set": !self.sealed_password.is_empty(),
            "from_address": self.from_address, "from_name": self.from_name,
        })
    }
}

/// Hands one mail to the SMTP server (blocking: run it off the async threads). The error is
/// the server's or the network's own words, for the log and the administrator.
pub fn send(
    settings: &MailSettings,
    data_dir: &Path,
    (to, to_name): (&str, &str),
    subject: &str,
    body: &str,
) -> Result<(), String> {
    let from = Mailbox::new(
        Some(settings.from_name.clone()).filter(|n| !n.is_empty()),
        settings.from_address.parse().map_err(|e| format!("{e}"))?,
    );
    let to = Mailbox::new(
        Some(to_name.to_string()).filter(|n| !n.is_empty()),
        to.parse().map_err(|e| format!("{e}"))?,
    );
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| e.to_string())?;
    let builder = match settings.security.as_str() {
        "tls" => SmtpTransport::relay(&settings.host).map_err(|e| e.to_string())?,
        "starttls" => SmtpTransport::starttls_relay(&settings.host).map_err(|e| e.to_string())?,
        _ => SmtpTransport::builder_dangerous(&settings.host),
    };
    let mut builder = builder.port(settings.port).timeout(Some(SMTP_TIMEOUT));
    if !settings.username.is_empty() {
        let key = key(data_dir).map_err(|e| e.to_string())?;
        let password = open(&key, &settings.sealed_password)
            .ok_or("the SMTP password cannot be read: enter it again")?;
        builder = builder.credentials(Credentials::new(settings.username.clone(), password));
    }
    builder
        .build()
        .send(&message)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The wait after the `attempts`-th failed attempt: 30 s, doubled each time, an hour at most.
pub fn backoff(attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << doublings)
        .min(LONGEST_WAIT_MS)
}

/// A notification's mail, for `user`, to be written when it is sent.
pub fn enqueue_notification(
    conn: &Connection,
    user: i64,
    notification: i64,
) -> rusqlite::Result<()> {
    let now = now_ms();
    conn.run(
        "INSERT INTO mail_queue (user_id, kind, notification_id, next_attempt_at, created_at)
         VALUES (?1, 'notification', ?2, ?3, ?3)",
        params![user, notification, now],
    )
    .map(drop)
}

/// A mail whose text is written already (a digest), for `user`.
pub fn enqueue_text(
    conn: &Connection,
    user: i64,
    subject: &str,
    body: &str,
) -> rusqlite::Result<()> {
    let now = now_ms();
    conn.run(
        "INSERT INTO mail_queue (user_id, kind, subject, body, next_attempt_at, created_at)
         VALUES (?1, 'digest', ?2, ?3, ?4, ?4)",
        params![user, subject, body, now],
    )
    .map(drop)
}

/// A mail waiting in the queue.
pub struct Outgoing {
    pub id: i64,
    pub user_id: Option<i64>,
    pub notification_id: Option<i64>,
    pub subject: Option<String>,
    pub body: Option<String>,
    attempts: i64,
    created_at: i64,
}

/// The mails due at `now`, oldest first.
pub fn due(conn: &Connection, now: i64, limit: i64) -> rusqlite::Result<Vec<Outgoing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, notification_id, subject, body, attempts, created_at FROM mail_queue
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now, limit], |r| {
            Ok(Outgoing {
                id: r.get(0)?,
                user_id: r.get(1)?,
                notification_id: r.get(2)?,
                subject: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get(5)?,
                created_at: r.get(6)?,
            })
        })?
        .collect();
    rows
}

pub fn delivered(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.run(
        "UPDATE mail_queue SET sent_at = ?1, attempts = attempts + 1, last_error = NULL WHERE id = ?2",
        params![now_ms(), id],
    )
    .map(drop)
}

/// Notes a failed attempt: tried again after the backoff, or given up after a day.
pub fn attempt_failed(
    conn: &Connection,
    mail: &Outgoing,
    error: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let attempts = mail.attempts + 1;
    let give_up = now - mail.created_at >= GIVE_UP_AFTER_MS;
    conn.run(
        "UPDATE mail_queue SET attempts = ?1, last_error = ?2, next_attempt_at = ?3,
             failed_at = CASE WHEN ?4 THEN ?5 END
         WHERE id = ?6",
        params![
            attempts,
            error,
            now + backoff(attempts),
            give_up,
            now,
            mail.id
        ],
    )
    .map(drop)
}

/// Leaves a mail unsent for good: its reader has no address any more, or may no longer open
/// what it is about.
pub fn dropped(conn: &Connection, id: i64, reason: &str) -> rusqlite::Result<()> {
    conn.run(
        "UPDATE mail_queue SET failed_at = ?1, last_error = ?2 WHERE id = ?3",
        params![now_ms(), reason, id],
    )
    .map(drop)
}

fn queue_state(conn: &Connection) -> rusqlite::Result<Value> {
    conn.one(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                count(*) FILTER (WHERE failed_at IS NOT NULL),
                count(*) FILTER (WHERE sent_at IS NOT NULL),
                (SELECT last_error FROM mail_queue WHERE last_error IS NOT NULL ORDER BY id DESC LIMIT 1)
         FROM mail_queue",
        [],
        |r| {
            Ok(json!({ "waiting": r.get::<_, i64>(0)?, "failed": r.get::<_, i64>(1)?,
                       "sent": r.get::<_, i64>(2)?, "last_error": r.get::<_, Option<String>>(3)? }))
        },
    )
}

fn answer(conn: &Connection) -> Result<Value, AppError> {
    let settings = MailSettings::load(conn)?;
    Ok(json!({
        "configured": settings.is_some(),
        "settings": settings.unwrap_or_default().json(),
        "queue": queue_state(conn)?,
    }))
}

async fn get_settings(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let answer = state.db.read(answer).await?;
    Ok(HttpResponse::Ok().json(answer))
}

fn valid_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}

/// Reads the settings a body names over the current ones. `password` absent keeps the stored
/// one, empty clears it.
fn parse_settings(
    body: &Body,
    current: MailSettings,
    key: &[u8; 32],
) -> Result<MailSettings, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(
        &[
            "host",
            "port",
            "security",
            "username",
            "password",
            "from_address",
            "from_name",
        ],
        &mut errors,
    );
    let host = body.required_text("host", 255, &mut errors);
    if host.contains(char::is_whitespace) {
        errors.add("host", "invalid", json!({}));
    }
    let port = match body.0.get("port").and_then(Value::as_u64) {
        Some(port @ 1..=65535) => port as u16,
        _ => {
            errors.add("port", "between", json!({ "min": 1, "max": 65535 }));
            0
        }
    };
    let security = body.text("security").unwrap_or_default().to_string();
    if !SECURITIES.contains(&security.as_str()) {
        errors.add(
            "security",
            "one_of",
            json!({ "options": SECURITIES.join(", ") }),
        );
    }
    let optional = |key: &str, errors: &mut FieldErrors| match body.0.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) if s.chars().count() <= 255 => Ok(s.trim().to_string()),
        Some(_) => {
            errors.add(key, "too_long", json!({ "max": 255 }));
            Err(())
        }
    };
    let username = optional("username", &mut errors).unwrap_or_default();
    let from_name = optional("from_name", &mut errors).unwrap_or_default();
    let from_address = body.required_text("from_address", 255, &mut errors);
    if !from_address.is_empty() && !valid_address(&from_address) {
        errors.add("from_address", "invalid_email", json!({}));
    }
    let sealed_password = match body.0.get("password") {
        None => current.sealed_password,
        Some(Value::String(s)) if s.is_empty() => String::new(),
        Some(Value::String(s)) if s.chars().count() <= 255 => seal(key, s)?,
        Some(_) => {
            errors.add("password", "too_long", json!({ "max": 255 }));
            String::new()
        }
    };
    if !username.is_empty() && sealed_password.is_empty() && !errors.has("password") {
        errors.add("password", "required", json!({}));
    }
    errors.into_result()?;
    Ok(MailSettings {
        host,
        port,
        security,
        username,
        sealed_password,
        from_address,
        from_name,
    })
}

/// `PUT /settings/mail`: the settings, checked; mail waiting in the queue is tried again at
/// once with them.
async fn put_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let key = key(state.config.data_dir())?;
    let who = actor(&req, &admin);
    let answer = state
        .db
        .write(move |tx| {
            let current = MailSettings::load(tx)?.unwrap_or_default();
            let settings = parse_settings(&body, current, &key)?;
            let stored = serde_json::to_string(&settings).map_err(AppError::internal)?;
            crate::db::set_setting(tx, SETTINGS_KEY, &stored)?;
            tx.run(
                "UPDATE mail_queue SET next_attempt_at = ?1 WHERE sent_at IS NULL AND failed_at IS NULL",
                [now_ms()],
            )?;
            crate::audit::record(tx, &who, "mail_settings_changed", None, settings.json())?;
            answer(tx)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `POST /settings/mail/test` `{"to"}`: sends a test mail now, through the saved settings,
/// and answers what the server said: 200, or 502 `mail_failed` with its reason.
async fn test_mail(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["to"], &mut errors);
    let to = body.required_text("to", 255, &mut errors);
    if !to.is_empty() && !valid_address(&to) {
        errors.add("to", "invalid_email", json!({}));
    }
    errors.into_result()?;
    let settings = state
        .db
        .read(|conn| Ok(MailSettings::load(conn)?))
        .await?
        .ok_or_else(|| AppError::conflict("mail_not_configured"))?;
    let lang = crate::http::request_lang(&req, state.default_lang);
    let subject = state.i18n.text(lang, "mail.test_subject", &Value::Null);
    let text = state
        .i18n
        .text(lang, "mail.test_body", &json!({ "name": admin.username }));
    let data_dir = state.config.data_dir().to_path_buf();
    let sent = web::block(move || send(&settings, &data_dir, (&to, ""), &subject, &text))
        .await
        .map_err(AppError::internal)?;
    match sent {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "sent": true }))),
        Err(reason) => Err(AppError::new(StatusCode::BAD_GATEWAY, "mail_failed")
            .with_params(json!({ "reason": reason }))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        assert_eq!(backoff(1), 30_000);
        assert_eq!(backoff(2), 60_000);
        assert_eq!(backoff(5), 480_000);
        assert_eq!(backoff(8), 3_600_000);
        assert_eq!(backoff(40), 3_600_000);
    }
}
