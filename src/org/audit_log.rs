//! `GET /api/v1/audit-log`: the operation log for administrators, newest first, filtered by
//! user, action, entity and a date range read in the company's time zone.

use crate::app::AppState;
use crate::auth::session::CurrentUser;
use crate::auth::users::company_settings;
use crate::http::error::AppError;
use crate::http::input::ListParams;
use crate::time::rfc3339;
use actix_web::{web, HttpResponse};
use rusqlite::params_from_iter;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-log", web::get().to(list));
}

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    user.require_admin()?;
    let list = ListParams::parse(
        query.into_inner(),
        &["user_id", "action", "entity", "from", "to"],
    )?;
    let zone = state.db.read(|conn| Ok(company_settings(conn)?)).await?["timezone"]
        .as_str()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let mut conditions = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut condition = |sql: &str, value: rusqlite::types::Value| {
        values.push(value);
        conditions.push(sql.replace('?', &format!("?{}", values.len())));
    };
    if let Some(id) = list.id("user_id")? {
        condition("user_id = ?", id.into());
    }
    if let Some(action) = list.text("action") {
        condition("action = ?", action.to_string().into());
    }
    if let Some(entity) = list.text("entity") {
        condition("entity = ?", entity.to_string().into());
    }
    if let Some(from) = list.day_start("from", zone, false)? {
        condition("at >= ?", from.into());
    }
    if let Some(to) = list.day_start("to", zone, true)? {
        condition("at < ?", to.into());
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let (limit, offset) = (list.per_page, list.offset());
    let (items, total) = state
        .db
        .read(move |conn| {
            let total: i64 = conn.query_row(
                &format!("SELECT count(*) FROM audit_log{filter}"),
                params_from_iter(values.iter()),
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare(&format!(
                "SELECT id, at, user_id, username, action, entity, record_id, ip, detail
                 FROM audit_log{filter} ORDER BY at DESC, id DESC LIMIT {limit} OFFSET {offset}"
            ))?;
            let items = stmt
                .query_map(params_from_iter(values.iter()), |r| {
                    let detail: String = r.get(8)?;
                    Ok(json!({
                        "id": r.get::<_, i64>(0)?, "at": rfc3339(r.get(1)?),
                        "user_id": r.get::<_, Option<i64>>(2)?, "username": r.get::<_, Option<String>>(3)?,
                        "action": r.get::<_, String>(4)?, "entity": r.get::<_, Option<String>>(5)?,
                        "record_id": r.get::<_, Option<i64>>(6)?, "ip": r.get::<_, Option<String>>(7)?,
                        "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null),
                    }))
                })?
                .collect::<rusqlite::Result<Vec<Value>>>()?;
            Ok((items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(list.answer(items, total)))
}
