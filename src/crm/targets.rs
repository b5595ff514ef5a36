//! Targets and attainment (业绩目标): monthly targets per user or department for four metrics,
//! and what was actually achieved, computed from the records themselves:
//! - `won_amount`: the amount of opportunities that entered a won stage in the month;
//! - `received_amount`: payments received in the month, credited to the contract's owner;
//! - `new_customers`: customers created in the month, by their owner;
//! - `followups`: follow-ups made in the month, by who wrote them.
//!
//! Months are calendar months in the company's time zone. A record counts for its owner's
//! department as it is now. Administrators set targets; everyone reads the targets and
//! attainment of the people and departments their opportunity scope reaches, counting only
//! records in their scope.

use super::opportunities::OPPORTUNITIES;
use super::{contracts::CONTRACTS, customers::CUSTOMERS, followups::FOLLOWUPS};
use crate::access::{Rights, Scope};
use crate::auth::session::{Admin, CurrentUser};
use crate::auth::users::company_zone;
use crate::entity::store::visible;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, TimeZone};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

pub const METRICS: [&str; 4] = [
    "won_amount",
    "received_amount",
    "new_customers",
    "followups",
];
const ITEMS_MAX: usize = 12 * 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/targets", web::get().to(list))
        .route("/targets", web::put().to(replace))
        .route("/targets/attainment", web::get().to(attainment));
}

fn number_param(
    query: &HashMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, AppError> {
    query
        .get(name)
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|n| range.contains(n))
        .ok_or_else(|| AppError::invalid_query(name))
}

/// Whether the caller's opportunity scope reaches this user or department.
fn reaches(rights: &Rights, user: Option<i64>, department: Option<i64>) -> bool {
    let Some(module) = rights.module(OPPORTUNITIES.name) else {
        return false;
    };
    match (module.scope, user, department) {
        (Scope::All, ..) => true,
        (_, Some(user), department) => rights.may_assign_to(OPPORTUNITIES.name, user, department),
        (Scope::Department, None, Some(d)) => rights.department_id == Some(d),
        (Scope::DepartmentTree, None, Some(d)) => rights.department_tree.contains(&d),
        _ => false,
    }
}

/// A target row of a year, as the API shows it.
struct Target {
    user_id: Option<i64>,
    department_id: Option<i64>,
    month: i64,
    values: [i64; 4],
}

impl Target {
    fn json(&self) -> Value {
        let mut item = Map::new();
        match (self.user_id, self.department_id) {
            (Some(user), _) => item.insert("user_id".into(), json!(user)),
            (_, department) => item.insert("department_id".into(), json!(department)),
        };
        item.insert("month".into(), json!(self.month));
        for (metric, value) in METRICS.iter().zip(self.values) {
            item.insert((*metric).into(), json!(value));
        }
        Value::Object(item)
    }
}

/// The targets of `year` (and `month`, when given) the caller may see, with each row's
/// department (a user's current one).
fn targets(
    conn: &Connection,
    rights: &Rights,
    year: i64,
    month: Option<i64>,
) -> Result<Vec<Target>, AppError> {
    let mut stmt = conn.prepare(
        "SELECT t.user_id, coalesce(t.department_id, u.department_id), t.month, t.won_amount,
                t.received_amount, t.new_customers, t.followups, t.department_id IS NOT NULL
         FROM targets t LEFT JOIN users u ON u.id = t.user_id
         WHERE t.year = ?1 AND (?2 IS NULL OR t.month = ?2)
         ORDER BY t.month, t.user_id, t.department_id",
    )?;
    let rows = stmt
        .query_map(params![year, month], |r| {
            let user: Option<i64> = r.get(0)?;
            let department: Option<i64> = r.get(1)?;
            let is_department: bool = r.get(7)?;
            Ok((
                Target {
                    user_id: user,
                    department_id: is_department.then_some(department).flatten(),
                    month: r.get(2)?,
                    values: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?],
                },
                department,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(t, department)| reaches(rights, t.user_id, *department))
        .map(|(t, _)| t)
        .collect())
}

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let year = number_param(&query, "year", 2000..=2100)?;
    let items = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let items: Vec<Value> = targets(conn, &rights, year, None)?
                .iter()
                .map(Target::json)
                .collect();
            Ok(json!({ "year": year, "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(items))
}

fn parse_items(body: &Body) -> Result<Vec<Target>, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["items"], &mut errors);
    let Some(raw) = body.0.get("items").and_then(Value::as_array) else {
        return Err(AppError::field("items", "required", json!({})));
    };
    if raw.len() > ITEMS_MAX {
        errors.add("items", "too_many", json!({ "max": ITEMS_MAX }));
    }
    let mut items = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        let key = |k: &str| format!("items.{i}.{k}");
        let id = |k: &str| item.get(k).and_then(Value::as_i64).filter(|n| *n > 0);
        let (user, department) = (id("user_id"), id("department_id"));
        if user.is_some() == department.is_some() {
            errors.add(&key("user_id"), "user_or_department", json!({}));
        }
        let month = item["month"].as_i64().filter(|m| (1..=12).contains(m));
        if month.is_none() {
            errors.add(&key("month"), "between", json!({ "min": 1, "max": 12 }));
        }
        let mut values = [0; 4];
        for (slot, metric) in values.iter_mut().zip(METRICS) {
            match item.get(metric) {
                None | Some(Value::Null) => {}
                Some(v) => match v.as_i64().filter(|n| *n >= 0) {
                    Some(n) => *slot = n,
                    None => errors.add(&key(metric), "not_negative", json!({})),
                },
            }
        }
        items.push(Target {
            user_id: user,
            department_id: department,
            month: month.unwrap_or(1),
            values,
        });
    }
    errors.into_result()?;
    Ok(items)
}

/// `PUT /targets?year=`: the year's targets become exactly the items sent.
async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<HashMap<String, String>>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let year = number_param(&query, "year", 2000..=2100)?;
    let items = parse_items(&Body::parse(body.into_inner())?)?;
    let who = actor(&req, &admin);
    let answer = state
        .db
        .write(move |tx| {
            tx.execute("DELETE FROM targets WHERE year = ?1", [year])?;
            let mut errors = FieldErrors::new();
            for (i, t) in items.iter().enumerate() {
                let exists: bool = match (t.user_id, t.department_id) {
                    (Some(u), _) => tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
                        [u],
                        |r| r.get(0),
                    )?,
                    (_, d) => tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM departments WHERE id = ?1)",
                        [d],
                        |r| r.get(0),
                    )?,
                };
                if !exists {
                    errors.add(&format!("items.{i}.user_id"), "not_found", json!({}));
                    continue;
                }
                let written = tx.execute(
                    "INSERT INTO targets (year, month, user_id, department_id, won_amount,
                         received_amount, new_customers, followups)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        year,
                        t.month,
                        t.user_id,
                        t.department_id,
                        t.values[0],
                        t.values[1],
                        t.values[2],
                        t.values[3]
                    ],
                );
                if let Err(rusqlite::Error::SqliteFailure(e, _)) = &written {
                    if e.code == rusqlite::ErrorCode::ConstraintViolation {
                        errors.add(&format!("items.{i}.month"), "duplicate_target", json!({}));
                        continue;
                    }
                }
                written?;
            }
            errors.into_result()?;
            crate::audit::record(tx, &who, "targets_saved", None, json!({ "year": year }))?;
            let rights = Rights::load(tx, admin.id)?;
            let items: Vec<Value> = targets(tx, &rights, year, None)?
                .iter()
                .map(Target::json)
                .collect();
            Ok(json!({ "year": year, "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The month's bounds: as `YYYY-MM-DD` dates (inclusive start, exclusive end) and as instants
/// in the company's time zone.
struct Month {
    first: String,
    next: String,
    start_ms: i64,
    end_ms: i64,
}

fn month_bounds(conn: &Connection, year: i64, month: i64) -> Result<Month, AppError> {
    let zone = company_zone(conn)?;
    let first = NaiveDate::from_ymd_opt(year as i32, month as u32, 1)
        .ok_or_else(|| AppError::invalid_query("month"))?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year as i32 + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year as i32, month as u32 + 1, 1)
    }
    .ok_or_else(|| AppError::invalid_query("month"))?;
    let instant = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| zone.from_local_datetime(&t).earliest())
            .map(|t| t.timestamp_millis())
            .ok_or_else(|| AppError::invalid_query("month"))
    };
    Ok(Month {
        first: first.format("%Y-%m-%d").to_string(),
        next: next.format("%Y-%m-%d").to_string(),
        start_ms: instant(first)?,
        end_ms: instant(next)?,
    })
}

/// One metric's actual value per group (user or department), in the caller's scope.
fn actuals(
    conn: &Connection,
    rights: &Rights,
    metric: &str,
    by_department: bool,
    month: &Month,
) -> Result<HashMap<i64, i64>, AppError> {
    let owner = if by_department {
        "department_id"
    } else {
        "owner_id"
    };
    let (sql, bounds): (String, [Sql; 2]) = match metric {
        "won_amount" => (
            format!(
                "SELECT g, sum(amount) FROM (SELECT DISTINCT o.id, o.{owner} AS g, o.amount
                 FROM opportunity_stages h
                 JOIN pipeline_stages s ON s.id = h.stage_id AND s.kind = 'won'
                 JOIN opportunities o ON o.id = h.opportunity_id
                 WHERE h.entered_at >= ?1 AND h.entered_at < ?2 AND o.deleted_at IS NULL
                   AND o.stage_id = h.stage_id AND {}) GROUP BY g",
                visible(rights, &OPPORTUNITIES, "o")
            ),
            [month.start_ms.into(), month.end_ms.into()],
        ),
        "received_amount" => (
            format!(
                "SELECT c.{owner}, sum(p.amount) FROM payments p
                 JOIN contracts c ON c.id = p.contract_id
                 WHERE p.received_at >= ?1 AND p.received_at < ?2 AND p.deleted_at IS NULL
                   AND c.deleted_at IS NULL AND {} GROUP BY 1",
                visible(rights, &CONTRACTS, "c")
            ),
            [month.first.clone().into(), month.next.clone().into()],
        ),
        "new_customers" => (
            format!(
                "SELECT t.{owner}, count(*) FROM customers t
                 WHERE t.created_at >= ?1 AND t.created_at < ?2 AND t.deleted_at IS NULL
                   AND {} GROUP BY 1",
                visible(rights, &CUSTOMERS, "t")
            ),
            [month.start_ms.into(), month.end_ms.into()],
        ),
        _ => (
            format!(
                "SELECT {}, count(*) FROM followups t
                 WHERE t.followed_at >= ?1 AND t.followed_at < ?2 AND t.deleted_at IS NULL
                   AND {} GROUP BY 1",
                if by_department {
                    "(SELECT department_id FROM users WHERE id = t.created_by)"
                } else {
                    "t.created_by"
                },
                visible(rights, &FOLLOWUPS, "t")
            ),
            [month.start_ms.into(), month.end_ms.into()],
        ),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(bounds), |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, i64>(1)?))
        })?
        .filter_map(|row| match row {
            Ok((Some(group), n)) => Some(Ok((group, n))),
            Ok((None, _)) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<HashMap<_, _>>>()?;
    Ok(rows)
}

/// `GET /targets/attainment?year=&month=&group_by=user|department`.
async fn attainment(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let year = number_param(&query, "year", 2000..=2100)?;
    let month = number_param(&query, "month", 1..=12)?;
    let by_department = match query.get("group_by").map(String::as_str) {
        None | Some("user") => false,
        Some("department") => true,
        Some(_) => return Err(AppError::invalid_query("group_by")),
    };
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let bounds = month_bounds(conn, year, month)?;
            let mut goals: BTreeMap<i64, [i64; 4]> = BTreeMap::new();
            for t in targets(conn, &rights, year, Some(month))? {
                let group = if by_department {
                    t.department_id
                } else {
                    t.user_id
                };
                if let Some(group) = group {
                    goals.insert(group, t.values);
                }
            }
            let mut done: Vec<HashMap<i64, i64>> = Vec::new();
            for metric in METRICS {
                done.push(actuals(conn, &rights, metric, by_department, &bounds)?);
            }
            let mut groups: Vec<i64> = goals.keys().copied().collect();
            groups.extend(done.iter().flat_map(|m| m.keys().copied()));
            groups.sort_unstable();
            groups.dedup();
            let key = if by_department {
                "department_id"
            } else {
                "user_id"
            };
            let names = crate::org::names(conn, by_department)?;
            let mut rows = Vec::new();
            for group in groups {
                for (i, metric) in METRICS.iter().enumerate() {
                    let target = goals.get(&group).map_or(0, |g| g[i]);
                    let actual = done[i].get(&group).copied().unwrap_or_default();
                    let ratio = (target > 0).then(|| actual as f64 / target as f64);
                    rows.push(json!({
                        key: group, "name": names.get(&group), "metric": metric,
                        "target": target, "actual": actual, "ratio": ratio,
                    }));
                }
            }
            Ok(json!({ "year": year, "month": month, "rows": rows }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
