//! First run: creates the company and its first administrator, once. Used by the setup page
//! (`POST /api/v1/setup`) and by `kehu setup`, so both obey the same rules.

use super::{passwords, users};
use crate::entity::registry;
use crate::http::error::{AppError, FieldErrors};
use crate::i18n::Lang;
use crate::org::company::{check_company_name, check_currency, check_timezone};
use rusqlite::Connection;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct SetupInput {
    pub company: String,
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub language: Lang,
    pub timezone: String,
    pub currency: String,
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

impl SetupInput {
    /// Parses the setup form; every bad field is reported at once.
    pub fn parse(body: &Value, default_language: Lang) -> Result<SetupInput, AppError> {
        let mut errors = FieldErrors::new();
        let company = text(body, "company").unwrap_or_default().trim().to_string();
        check_company_name("company", &company, &mut errors);
        let username = text(body, "username")
            .unwrap_or_default()
            .trim()
            .to_string();
        users::check_username(&username, &mut errors);
        let display_name = text(body, "display_name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&username)
            .to_string();
        users::check_display_name(&display_name, &mut errors);
        let password = text(body, "password").unwrap_or_default().to_string();
        passwords::check_rules(&password, &username, "password", &mut errors);
        let language = match body.get("language") {
            None | Some(Value::Null) => default_language,
            Some(value) => value.as_str().and_then(Lang::parse).unwrap_or_else(|| {
                errors.add("language", "one_of", json!({ "options": "zh-CN, en" }));
                default_language
            }),
        };
        let timezone = text(body, "timezone")
            .unwrap_or("Asia/Shanghai")
            .to_string();
        check_timezone(&timezone, &mut errors);
        let currency = text(body, "currency").unwrap_or("CNY").to_string();
        check_currency(&currency, &mut errors);
        errors.into_result()?;
        Ok(SetupInput {
            company,
            username,
            display_name,
            password,
            language,
            timezone,
            currency,
        })
    }
}

pub fn is_needed(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
}

/// Creates the company settings and the administrator; 409 `already_set_up` once any user
/// exists. Run it inside a write transaction so two concurrent setups cannot both succeed.
pub fn perform(
    conn: &Connection,
    input: &SetupInput,
    password_hash: &str,
) -> Result<i64, AppError> {
    if !is_needed(conn)? {
        return Err(AppError::conflict("already_set_up"));
    }
    let settings = [
        ("company.name", input.company.as_str()),
        ("company.default_language", input.language.code()),
        ("company.timezone", input.timezone.as_str()),
        ("company.currency", input.currency.as_str()),
    ];
    for (key, value) in settings {
        crate::db::set_setting(conn, key, value)?;
    }
    registry::company_created(conn, input.language)?;
    users::create(
        conn,
        &input.username,
        &input.display_name,
        password_hash,
        true,
        Some(input.language),
    )
}
