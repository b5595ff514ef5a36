//! `GET|PUT /api/v1/settings/company`: what setup asked once, kept editable by administrators:
//! the company's name, default language, currency and time zone, and how dates are written.
//! Every change is in the operation log with what it was before.

use crate::auth::session::Admin;
use crate::auth::users::company_settings;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

const COMPANY_MAX: usize = 100;

/// The company's name: required, at most `COMPANY_MAX` characters (setup and company settings).
pub fn check_company_name(key: &str, name: &str, errors: &mut FieldErrors) {
    if name.is_empty() {
        errors.add(key, "required", json!({}));
    } else if name.chars().count() > COMPANY_MAX {
        errors.add(key, "too_long", json!({ "max": COMPANY_MAX }));
    }
}

/// An IANA time zone name ("Asia/Shanghai").
pub fn check_timezone(zone: &str, errors: &mut FieldErrors) {
    if zone.parse::<chrono_tz::Tz>().is_err() {
        errors.add("timezone", "invalid_timezone", json!({}));
    }
}

/// A currency code: three capital letters ("CNY").
pub fn check_currency(currency: &str, errors: &mut FieldErrors) {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        errors.add("currency", "invalid_currency", json!({}));
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/company", web::get().to(get_settings))
        .route("/settings/company", web::put().to(put_settings));
}

/// How dates are written: `auto` follows each reader's language (2026年12月7日, Dec 7, 2026);
/// the others are fixed numeric patterns, for companies used to one.
pub const DATE_FORMATS: [&str; 5] = [
    "auto",
    "YYYY-MM-DD",
    "YYYY/MM/DD",
    "DD/MM/YYYY",
    "MM/DD/YYYY",
];

/// The body keys and the setting each one is stored under.
const KEYS: [(&str, &str); 5] = [
    ("name", "company.name"),
    ("default_language", "company.default_language"),
    ("currency", "company.currency"),
    ("timezone", "company.timezone"),
    ("date_format", "company.date_format"),
];

fn current(conn: &Connection) -> Result<Value, AppError> {
    let stored = company_settings(conn)?;
    let mut answer = Map::new();
    for (key, _) in KEYS {
        answer.insert(key.into(), stored.get(key).cloned().unwrap_or(Value::Null));
    }
    if answer["date_format"].is_null() {
        answer.insert("date_format".into(), json!("auto"));
    }
    Ok(Value::Object(answer))
}

/// The changes a body asks for, each checked; all bad fields are reported at once.
fn changes(body: &Body) -> Result<Vec<(&'static str, String)>, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&KEYS.map(|(key, _)| key), &mut errors);
    let mut changes = Vec::new();
    for (key, setting) in KEYS {
        if !body.has(key) {
            continue;
        }
        let Some(value) = body.text(key).map(str::trim) else {
            errors.add(key, "text", json!({}));
            continue;
        };
        match key {
            "name" => check_company_name(key, value, &mut errors),
            "default_language" if Lang::parse(value).is_none() => {
                errors.add(key, "one_of", json!({ "options": "zh-CN, en" }));
            }
            "currency" => check_currency(value, &mut errors),
            "timezone" => check_timezone(value, &mut errors),
            "date_format" if !DATE_FORMATS.contains(&value) => {
                errors.add(key, "one_of", json!({ "options": DATE_FORMATS.join(", ") }));
            }
            _ => {}
        }
        changes.push((setting, value.to_string()));
    }
    errors.into_result()?;
    Ok(changes)
}

async fn get_settings(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let answer = state.db.read(current).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `PUT /settings/company` with any of the keys: 200 with the settings as they now are.
async fn put_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let changes = changes(&Body::parse(body.into_inner())?)?;
    let who = actor(&req, &admin);
    let answer = state
        .db
        .write(move |tx| {
            let before = current(tx)?;
            for (setting, value) in &changes {
                crate::db::set_setting(tx, setting, value)?;
            }
            let after = current(tx)?;
            let detail = json!({ "before": before, "after": after });
            crate::audit::record(tx, &who, "company_settings_changed", None, detail)?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
