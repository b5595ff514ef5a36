//! `GET /api/v1/audit-log`: the operation log for administrators, newest first, filtered by
//! user, action, entity and a date range read in the company's time zone, through the same
//! `filter[...]` names as every list (`filter[at][gte]` and `[lte]` are days).

use crate::auth::session::Admin;
use crate::auth::users::company_zone;
use crate::db::query::Conditions;
use crate::http::error::AppError;
use crate::http::input::ListParams;
use crate::http::state::AppState;
use crate::time::rfc3339;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit-log", web::get().to(list));
}

/// The list filters every other list takes (`filter[FIELD]`, `filter[FIELD][OP]`), as this
/// log's own names; the plain names (`?action=`) still work.
const FILTER_NAMES: [(&str, &str); 6] = [
    ("filter[user_id]", "user_id"),
    ("filter[action]", "action"),
    ("filter[action][in]", "actions"),
    ("filter[entity]", "entity"),
    ("filter[at][gte]", "from"),
    ("filter[at][lte]", "to"),
];

fn in_plain_names(query: HashMap<String, String>) -> HashMap<String, String> {
    query
        .into_iter()
        .map(|(key, value)| {
            let plain = FILTER_NAMES.iter().find(|(filter, _)| *filter == key);
            (plain.map_or(key, |(_, name)| name.to_string()), value)
        })
        .collect()
}

async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let list = ListParams::parse(
        in_plain_names(query.into_inner()),
        &["user_id", "action", "actions", "entity", "from", "to"],
    )?;
    let zone = state.db.read(|conn| Ok(company_zone(conn)?)).await?;
    let mut conditions = Conditions::default();
    if let Some(id) = list.id("user_id")? {
        conditions.add("user_id = ?", id);
    }
    if let Some(action) = list.text("action") {
        conditions.add("action = ?", action.to_string());
    }
    if let Some(actions) = list.text("actions") {
        let actions = actions
            .split(',')
            .map(|a| a.trim().to_string().into())
            .collect();
        conditions.add_in("action", actions);
    }
    if let Some(entity) = list.text("entity") {
        conditions.add("entity = ?", entity.to_string());
    }
    if let Some(from) = list.day_start("from", zone, false)? {
        conditions.add("at >= ?", from);
    }
    if let Some(to) = list.day_start("to", zone, true)? {
        conditions.add("at < ?", to);
    }
    let page = (list.per_page, list.offset());
    let (items, total) = state
        .db
        .read(move |conn| {
            Ok(conditions.page(
                conn,
                "SELECT id, at, user_id, username, action, entity, record_id, ip, detail FROM audit_log",
                "audit_log",
                "at DESC, id DESC",
                page,
                |r| {
                    let detail: String = r.get(8)?;
                    Ok(json!({
                        "id": r.get::<_, i64>(0)?, "at": rfc3339(r.get(1)?),
                        "user_id": r.get::<_, Option<i64>>(2)?, "username": r.get::<_, Option<String>>(3)?,
                        "action": r.get::<_, String>(4)?, "entity": r.get::<_, Option<String>>(5)?,
                        "record_id": r.get::<_, Option<i64>>(6)?, "ip": r.get::<_, Option<String>>(7)?,
                        "detail": serde_json::from_str::<Value>(&detail).unwrap_or(Value::Null),
                    }))
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list.answer(items, total)))
}
