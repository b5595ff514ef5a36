//! Follow-ups (跟进记录): what was done with a customer (or, later, any record), and when to follow
//! up next. A follow-up is visible exactly when its parent record is. Writing one keeps the
//! parent's last and next follow-up times current, which drives the reminders on the home page.

use crate::access::Rights;
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::db::Cached;
use crate::entity::descriptor::{Entity, Field, Kind, Visibility, Wrote};
use crate::entity::store::visible;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::time::rfc3339;
use actix_web::{web, HttpResponse};
use chrono::{Days, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::customers::CUSTOMERS;
use super::leads::LEADS;

/// The records a follow-up may be about.
const PARENTS: &[&str] = &["customers", "leads", "opportunities", "contracts"];

pub const FOLLOWUPS: Entity = Entity {
    name: "followups",
    fields: &[
        Field::new("entity", Kind::EntityName(PARENTS))
            .required()
            .create_only(),
        Field::new("record_id", Kind::Integer)
            .required()
            .create_only(),
        Field::new("method", Kind::Picklist).required(),
        Field::new("content", Kind::LongText)
            .required()
            .searchable(),
        Field::new("followed_at", Kind::DateTime)
            .sortable()
            .defaults_to_now(),
        Field::new("next_at", Kind::DateTime).sortable(),
    ],
    visibility: Visibility::AnyParent {
        entity_field: "entity",
        id_field: "record_id",
        parents: PARENTS,
    },
    title: "content",
    subtitle: "method",
    list_columns: &["followed_at", "method", "content", "record_id", "next_at"],
    default_sort: "-followed_at",
    after_write: Some(refresh_parent),
    check: None,
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};

/// Sets the parent's last follow-up time (the latest one) and, for a customer, next follow-up
/// time (what the latest follow-up planned), counting only follow-ups outside the recycle bin.
fn refresh_parent(conn: &Connection, followup: &Value) -> Result<Wrote, AppError> {
    let parent = followup["entity"].as_str().unwrap_or_default();
    let id = followup["record_id"].as_i64().unwrap_or_default();
    if parent == LEADS.name {
        conn.run(
            "UPDATE leads SET last_followup_at = (SELECT max(followed_at) FROM followups
                 WHERE entity = 'leads' AND record_id = ?1 AND deleted_at IS NULL) WHERE id = ?1",
            [id],
        )?;
        return Ok(Wrote::OtherRecords);
    }
    if parent != CUSTOMERS.name {
        return Ok(Wrote::OtherRecords);
    }
    let latest: Option<(i64, Option<i64>)> = conn
        .one(
            "SELECT followed_at, next_at FROM followups
             WHERE entity = ?1 AND record_id = ?2 AND deleted_at IS NULL
             ORDER BY followed_at DESC, id DESC LIMIT 1",
            params![parent, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    conn.run(
        "UPDATE customers SET last_followup_at = ?1, next_followup_at = ?2 WHERE id = ?3",
        params![latest.map(|l| l.0), latest.and_then(|l| l.1), id],
    )?;
    Ok(Wrote::OtherRecords)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reminders", web::get().to(reminders));
}

/// Days ahead the "upcoming" list reaches.
const UPCOMING_DAYS: u64 = 7;

/// The caller's customers due for a follow-up (overdue, today and the coming week, by the
/// caller's own calendar day), their active contracts about to end and their unpaid
/// instalments due within the week.
async fn reminders(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let zone = user_zone(conn, user.id)?;
            let today = Utc::now().with_timezone(&zone).date_naive();
            let start = |days: u64| -> i64 {
                let day = today.checked_add_days(Days::new(days)).unwrap_or(today);
                day.and_hms_opt(0, 0, 0)
                    .and_then(|t| zone.from_local_datetime(&t).earliest())
                    .map_or(0, |t| t.timestamp_millis())
            };
            let (today_start, tomorrow, horizon) = (start(0), start(1), start(UPCOMING_DAYS + 1));
            let sql = format!(
                "SELECT t.id, t.name, t.next_followup_at,
                    (SELECT f.content FROM followups f WHERE f.entity = 'customers'
                       AND f.record_id = t.id AND f.deleted_at IS NULL
                     ORDER BY f.followed_at DESC, f.id DESC LIMIT 1)
                 FROM customers t
                 WHERE t.owner_id = ?1 AND t.next_followup_at < ?2 AND t.deleted_at IS NULL AND {}
                 ORDER BY t.next_followup_at LIMIT 500",
                visible(&rights, &CUSTOMERS, "t")
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map(params![user.id, horizon], |r| {
                    Ok((
                        r.get::<_, i64>(2)?,
                        json!({
                            "entity": "customers",
                            "id": r.get::<_, i64>(0)?,
                            "title": r.get::<_, String>(1)?,
                            "due_at": rfc3339(r.get(2)?),
                            "last_content": r.get::<_, Option<String>>(3)?,
                        }),
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let (mut overdue, mut due_today, mut upcoming) = (vec![], vec![], vec![]);
            for (due, item) in rows {
                if due < today_start {
                    overdue.push(item);
                } else if due < tomorrow {
                    due_today.push(item);
                } else {
                    upcoming.push(item);
                }
            }
            let horizon = today
                .checked_add_days(Days::new(UPCOMING_DAYS))
                .unwrap_or(today)
                .format("%Y-%m-%d")
                .to_string();
            Ok(json!({
                "overdue": overdue, "today": due_today, "upcoming": upcoming,
                "expiring_contracts": super::contracts::expiring(conn, &rights, today)?,
                "payments_due": super::payments::due(conn, &rights, &horizon)?,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

fn user_zone(conn: &Connection, user_id: i64) -> Result<chrono_tz::Tz, AppError> {
    let own: Option<String> = conn
        .one("SELECT timezone FROM users WHERE id = ?1", [user_id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    match own.and_then(|z| z.parse().ok()) {
        Some(zone) => Ok(zone),
        None => Ok(company_zone(conn)?),
    }
}
