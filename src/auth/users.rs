//! User accounts as the signed-in user sees them: their profile, preferences and password.
//! (Administration of other users belongs to the organisation module.)

use crate::access::Rights;
use crate::http::error::{AppError, FieldErrors};
use crate::i18n::Lang;
use crate::time::{now_ms, rfc3339};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use serde_json::{json, Map, Value};

pub const THEMES: [&str; 2] = ["light", "dark"];
pub const FONT_SIZES: [&str; 3] = ["small", "medium", "large"];
const USERNAME_MAX: usize = 64;
const DISPLAY_NAME_MAX: usize = 100;

/// What sign-in needs to know about an account.
pub struct Credentials {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub frozen: bool,
}

pub fn find_credentials(
    conn: &Connection,
    username: &str,
) -> rusqlite::Result<Option<Credentials>> {
    conn.query_row(
        "SELECT id, username, password_hash, frozen FROM users WHERE username = ?1",
        [username],
        |r| {
            Ok(Credentials {
                id: r.get(0)?,
                username: r.get(1)?,
                password_hash: r.get(2)?,
                frozen: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Usernames: 2–64 characters, no spaces or control characters (Chinese names and phone
/// numbers are common usernames, so letters of any script are allowed).
pub fn check_username(username: &str, errors: &mut FieldErrors) {
    let length = username.chars().count();
    if length < 2 {
        errors.add("username", "too_short", json!({ "min": 2 }));
    } else if length > USERNAME_MAX {
        errors.add("username", "too_long", json!({ "max": USERNAME_MAX }));
    } else if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.add("username", "no_spaces", json!({}));
    }
}

pub fn check_display_name(name: &str, errors: &mut FieldErrors) {
    if name.trim().is_empty() {
        errors.add("display_name", "required", json!({}));
    } else if name.chars().count() > DISPLAY_NAME_MAX {
        errors.add(
            "display_name",
            "too_long",
            json!({ "max": DISPLAY_NAME_MAX }),
        );
    }
}

/// Inserts a user; a taken username becomes a field error (the unique index decides).
pub fn create(
    conn: &Connection,
    username: &str,
    display_name: &str,
    password_hash: &str,
    administrator: bool,
    language: Option<Lang>,
) -> Result<i64, AppError> {
    let now = now_ms();
    let inserted = conn.execute(
        "INSERT INTO users (username, display_name, password_hash, language, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![username, display_name.trim(), password_hash, language.map(Lang::code), now],
    );
    match inserted {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            return Err(AppError::field("username", "taken", json!({})));
        }
        other => other?,
    };
    let id = conn.last_insert_rowid();
    if administrator {
        conn.execute(
            "INSERT INTO user_roles (user_id, role_id)
             SELECT ?1, id FROM roles WHERE builtin = 'administrator'",
            [id],
        )?;
    }
    Ok(id)
}

pub fn set_password(conn: &Connection, user_id: i64, password_hash: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
        params![password_hash, now_ms(), user_id],
    )?;
    Ok(())
}

pub fn company_settings(conn: &Connection) -> rusqlite::Result<Value> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM settings WHERE key LIKE 'company.%'")?;
    let pairs = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut company = Map::new();
    for pair in pairs {
        let (key, value) = pair?;
        company.insert(key.trim_start_matches("company.").to_string(), json!(value));
    }
    Ok(Value::Object(company))
}

/// The company's time zone, in which dates in queries are read.
pub fn company_zone(conn: &Connection) -> rusqlite::Result<chrono_tz::Tz> {
    Ok(crate::time::zone_or_default(
        company_settings(conn)?["timezone"].as_str(),
    ))
}

/// The signed-in user's own view: profile, preferences, roles, their rights on each of
/// `modules`, and the company they work for.
pub fn profile(conn: &Connection, user_id: i64, modules: &[&str]) -> Result<Value, AppError> {
    let mut user = conn
        .query_row(
            "SELECT u.id, u.username, u.display_name, u.language, u.theme, u.font_size, u.timezone,
                    u.version, u.created_at, u.updated_at, u.department_id, d.name,
                    u.email, u.email_kinds, u.digest_hour
             FROM users u LEFT JOIN departments d ON d.id = u.department_id WHERE u.id = ?1",
            [user_id],
            |r| {
                Ok(json!({
                    "id": r.get::<_, i64>(0)?,
                    "username": r.get::<_, String>(1)?,
                    "display_name": r.get::<_, String>(2)?,
                    "language": r.get::<_, Option<String>>(3)?,
                    "theme": r.get::<_, String>(4)?,
                    "font_size": r.get::<_, String>(5)?,
                    "timezone": r.get::<_, Option<String>>(6)?,
                    "version": r.get::<_, i64>(7)?,
                    "created_at": rfc3339(r.get(8)?),
                    "updated_at": rfc3339(r.get(9)?),
                    "department_id": r.get::<_, Option<i64>>(10)?,
                    "department_name": r.get::<_, Option<String>>(11)?,
                    "email": r.get::<_, Option<String>>(12)?,
                    "email_kinds": serde_json::from_str::<Value>(&r.get::<_, String>(13)?)
                        .unwrap_or_else(|_| json!([])),
                    "digest_hour": r.get::<_, Option<i64>>(14)?,
                }))
            },
        )
        .optional()?
        .ok_or_else(AppError::not_found)?;
    let roles = roles_of(conn, user_id)?;
    let is_admin = roles.iter().any(|r| r["builtin"] == "administrator");
    user["roles"] = json!(roles);
    user["is_admin"] = json!(is_admin);
    user["permissions"] = Rights::load(conn, user_id)?.json(modules);
    user["company"] = company_settings(conn)?;
    Ok(user)
}

/// The roles a user holds, by name.
pub fn roles_of(conn: &Connection, user_id: i64) -> rusqlite::Result<Vec<Value>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.name, r.builtin FROM roles r JOIN user_roles ur ON ur.role_id = r.id
         WHERE ur.user_id = ?1 ORDER BY r.name",
    )?;
    let roles = stmt
        .query_map([user_id], |r| {
            Ok(
                json!({"id": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?,
                      "builtin": r.get::<_, Option<String>>(2)?}),
            )
        })?
        .collect();
    roles
}

/// Whether `user` is an account that exists and is not frozen.
pub fn is_active(conn: &Connection, user: i64) -> rusqlite::Result<bool> {
    conn.query_row("SELECT frozen = 0 FROM users WHERE id = ?1", [user], |r| {
        r.get(0)
    })
    .optional()
    .map(|active| active == Some(true))
}

/// The kinds of notification the server files (`entity::notifications::send` callers), each of
/// which a person may also have sent by email.
pub const NOTIFICATION_KINDS: &[&str] = &[
    "mention",
    "announcement",
    "approval_waiting",
    "approval_approved",
    "approval_rejected",
    "approval_withdrawn",
    "webhook_disabled",
    "automation",
];

/// An address of the form someone@somewhere.tld, short enough to store.
fn valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.chars().count() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text
            .contains(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
        && !domain.contains('@')
}

/// Applies `PATCH /auth/me`. Only preference keys are accepted: anything else (roles, username,
/// owner…) is refused by name, so a user cannot raise their own rights through this route.
pub fn update_preferences(
    conn: &Connection,
    user_id: i64,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let mut updates: Vec<(&'static str, Option<String>)> = Vec::new();
    for (key, value) in body {
        let text = value.as_str();
        match key.as_str() {
            "language" => match text.and_then(Lang::parse) {
                Some(lang) => updates.push(("language", Some(lang.code().into()))),
                None => errors.add(key, "one_of", json!({ "options": "zh-CN, en" })),
            },
            "theme" => match text.filter(|t| THEMES.contains(t)) {
                Some(theme) => updates.push(("theme", Some(theme.into()))),
                None => errors.add(key, "one_of", json!({ "options": THEMES.join(", ") })),
            },
            "font_size" => match text.filter(|t| FONT_SIZES.contains(t)) {
                Some(size) => updates.push(("font_size", Some(size.into()))),
                None => errors.add(key, "one_of", json!({ "options": FONT_SIZES.join(", ") })),
            },
            "timezone" => match value {
                Value::Null => updates.push(("timezone", None)),
                _ => match text.filter(|t| t.parse::<chrono_tz::Tz>().is_ok()) {
                    Some(zone) => updates.push(("timezone", Some(zone.into()))),
                    None => errors.add(key, "invalid_timezone", json!({})),
                },
            },
            "display_name" => match text {
                Some(name) => {
                    check_display_name(name, &mut errors);
                    updates.push(("display_name", Some(name.trim().into())));
                }
                None => errors.add(key, "required", json!({})),
            },
            "email" => match value {
                Value::Null => updates.push(("email", None)),
                _ => match text.map(str::trim).filter(|t| valid_email(t)) {
                    Some(address) => updates.push(("email", Some(address.into()))),
                    None => errors.add(key, "invalid_email", json!({})),
                },
            },
            "email_kinds" => match value.as_array().map(|kinds| {
                kinds
                    .iter()
                    .map(|k| k.as_str().filter(|k| NOTIFICATION_KINDS.contains(k)))
                    .collect::<Option<Vec<_>>>()
            }) {
                Some(Some(kinds)) => updates.push(("email_kinds", Some(json!(kinds).to_string()))),
                _ => errors.add(
                    key,
                    "one_of",
                    json!({ "options": NOTIFICATION_KINDS.join(", ") }),
                ),
            },
            "digest_hour" => match value {
                Value::Null => updates.push(("digest_hour", None)),
                _ => match value.as_i64().filter(|h| (0..24).contains(h)) {
                    Some(hour) => updates.push(("digest_hour", Some(hour.to_string()))),
                    None => errors.add(key, "between", json!({ "min": 0, "max": 23 })),
                },
            },
            "version" => {}
            _ => errors.add(key, "not_editable", json!({})),
        }
    }
    errors.into_result()?;
    for (column, value) in updates {
        // `column` is one of the literal names above, never request text.
        conn.execute(
            &format!("UPDATE users SET {column} = ?1 WHERE id = ?2"),
            params![value, user_id],
        )?;
    }
    conn.execute(
        "UPDATE users SET version = version + 1, updated_at = ?1 WHERE id = ?2",
        params![now_ms(), user_id],
    )?;
    Ok(())
}
