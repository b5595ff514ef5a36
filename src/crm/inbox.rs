//! The 待办 inbox: everything waiting on the caller, gathered from the modules that know it,
//! by the caller's own calendar day and only within their data scope. Customers due for a
//! follow-up (overdue, today, the coming week), approvals waiting for them, their tasks due,
//! unpaid instalments and contracts about to end, and customers the pool rules will soon take
//! back. `counts` says how much is due now (not what is merely coming), for the menu.

use super::customers::CUSTOMERS;
use super::tasks::TASKS;
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::db::Cached;
use crate::entity::approvals;
use crate::entity::store::visible;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::i18n::{Lang, Translations};
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpResponse};
use chrono::{Days, TimeZone, Timelike, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reminders", web::get().to(reminders));
}

/// Days ahead the "upcoming" lists reach.
const UPCOMING_DAYS: u64 = 7;
/// Days ahead the inbox warns of customers going back to the pool.
const POOL_NOTICE_DAYS: i64 = 7;
/// The most approvals the inbox lists (the count covers them all).
const APPROVALS_LISTED: i64 = 50;

/// Instants of the caller's calendar: the start of today, of tomorrow, and of the day after the
/// upcoming window.
struct Calendar {
    today: chrono::NaiveDate,
    today_start: i64,
    tomorrow: i64,
    horizon: i64,
}

impl Calendar {
    fn of(zone: chrono_tz::Tz) -> Calendar {
        let today = Utc::now().with_timezone(&zone).date_naive();
        let start = |days: u64| -> i64 {
            let day = today.checked_add_days(Days::new(days)).unwrap_or(today);
            day.and_hms_opt(0, 0, 0)
                .and_then(|t| zone.from_local_datetime(&t).earliest())
                .map_or(0, |t| t.timestamp_millis())
        };
        Calendar {
            today,
            today_start: start(0),
            tomorrow: start(1),
            horizon: start(UPCOMING_DAYS + 1),
        }
    }

    /// `overdue`, `today` or `upcoming` for a due instant.
    fn when(&self, due: i64) -> &'static str {
        if due < self.today_start {
            "overdue"
        } else if due < self.tomorrow {
            "today"
        } else {
            "upcoming"
        }
    }
}

/// The most follow-ups the inbox lists in each of its three buckets (`counts` has them all).
const FOLLOWUPS_LISTED: i64 = 50;

/// The caller's own customers whose next follow-up falls in `[from, before)`, soonest first,
/// with the gist of the latest follow-up: at most `FOLLOWUPS_LISTED`.
///
/// The inbox's statements are kept prepared (`prepare_cached`) although each person's differ
/// (their scope is in the text): the inbox is read on every page and after each notification,
/// and preparing its statements cost as much as running them.
fn followups_between(
    conn: &Connection,
    rights: &Rights,
    (from, before): (i64, i64),
) -> Result<Vec<Value>, AppError> {
    let sql = format!(
        "SELECT t.id, t.name, t.next_followup_at,
            (SELECT f.content FROM followups f WHERE f.entity = 'customers'
               AND f.record_id = t.id AND f.deleted_at IS NULL
             ORDER BY f.followed_at DESC, f.id DESC LIMIT 1)
         FROM customers t
         WHERE t.owner_id = ?1 AND t.next_followup_at >= ?2 AND t.next_followup_at < ?3
           AND t.deleted_at IS NULL AND {}
         ORDER BY t.next_followup_at LIMIT ?4",
        visible(rights, &CUSTOMERS, "t")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            params![rights.user_id, from, before, FOLLOWUPS_LISTED],
            |r| {
                Ok(json!({
                    "entity": "customers",
                    "id": r.get::<_, i64>(0)?,
                    "title": r.get::<_, String>(1)?,
                    "due_at": rfc3339(r.get(2)?),
                    "last_content": r.get::<_, Option<String>>(3)?,
                }))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// How many of the caller's own customers are due overdue, today and in the coming days.
fn followups_counted(
    conn: &Connection,
    rights: &Rights,
    calendar: &Calendar,
) -> Result<(i64, i64, i64), AppError> {
    let sql = format!(
        "SELECT COUNT(*) FILTER (WHERE t.next_followup_at < ?2),
                COUNT(*) FILTER (WHERE t.next_followup_at >= ?2 AND t.next_followup_at < ?3),
                COUNT(*) FILTER (WHERE t.next_followup_at >= ?3)
         FROM customers t
         WHERE t.owner_id = ?1 AND t.next_followup_at < ?4 AND t.deleted_at IS NULL AND {}",
        visible(rights, &CUSTOMERS, "t")
    );
    let counted = conn.prepare_cached(&sql)?.query_row(
        params![
            rights.user_id,
            calendar.today_start,
            calendar.tomorrow,
            calendar.horizon
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(counted)
}

/// The caller's open tasks due before the horizon (overdue ones included), soonest first.
fn tasks_due(
    conn: &Connection,
    rights: &Rights,
    calendar: &Calendar,
) -> Result<Vec<Value>, AppError> {
    if !rights.can(TASKS.name, Action::View) {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT t.id, t.title, t.due_at, t.priority FROM tasks t
         WHERE t.owner_id = ?1 AND t.deleted_at IS NULL AND t.due_at < ?2
           AND t.status IN ('open', 'in_progress') AND {}
         ORDER BY t.due_at LIMIT 100",
        visible(rights, &TASKS, "t")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![rights.user_id, calendar.horizon], |r| {
            let due: i64 = r.get(2)?;
            Ok(json!({
                "entity": "tasks", "id": r.get::<_, i64>(0)?, "title": r.get::<_, String>(1)?,
                "due_at": rfc3339(due), "priority": r.get::<_, Option<String>>(3)?,
                "when": calendar.when(due),
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The inbox of `user_id` (see the module's comment), as `GET /reminders` answers it.
pub fn inbox(conn: &Connection, user_id: i64) -> Result<Value, AppError> {
    let rights = Rights::load(conn, user_id)?;
    let calendar = Calendar::of(user_zone(conn, user_id)?);
    let (overdue, due_today, upcoming) = (
        followups_between(conn, &rights, (i64::MIN, calendar.today_start))?,
        followups_between(conn, &rights, (calendar.today_start, calendar.tomorrow))?,
        followups_between(conn, &rights, (calendar.tomorrow, calendar.horizon))?,
    );
    let (overdue_total, today_total, upcoming_total) = followups_counted(conn, &rights, &calendar)?;
    let horizon = calendar
        .today
        .checked_add_days(Days::new(UPCOMING_DAYS))
        .unwrap_or(calendar.today)
        .format("%Y-%m-%d")
        .to_string();
    let payments = super::payments::due(conn, &rights, &horizon)?;
    let tasks = tasks_due(conn, &rights, &calendar)?;
    let (approvals_total, approvals) = approvals::waiting_for(conn, &rights, APPROVALS_LISTED)?;
    let pool = if rights.can(CUSTOMERS.name, Action::View) {
        super::pool::returning_soon(conn, user_id, now_ms(), POOL_NOTICE_DAYS)?
    } else {
        Vec::new()
    };
    let count = |items: &[Value], flag: &str, value: Value| {
        items.iter().filter(|i| i[flag] == value).count()
    };
    let now_count = (overdue_total + today_total + approvals_total) as usize + tasks.len()
        - count(&tasks, "when", json!("upcoming"))
        + count(&payments, "overdue", json!(true))
        + pool.len();
    Ok(json!({
        "overdue": overdue, "today": due_today, "upcoming": upcoming,
        "approvals_waiting": approvals,
        "tasks_due": tasks,
        "payments_due": payments,
        "expiring_contracts": super::contracts::expiring(conn, &rights, calendar.today)?,
        "pool_returning": pool,
        "counts": {
            "now": now_count, "approvals_waiting": approvals_total,
            "overdue": overdue_total, "today": today_total, "upcoming": upcoming_total,
        },
        "windows": {
            "today_start": rfc3339(calendar.today_start),
            "tomorrow": rfc3339(calendar.tomorrow),
            "horizon": rfc3339(calendar.horizon),
        },
    }))
}

/// `GET /reminders`: the caller's inbox.
async fn reminders(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let answer = state.db.read(move |conn| inbox(conn, user.id)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The sections of a digest, in the inbox's order, with the key of their heading.
const DIGEST_SECTIONS: [(&str, &str); 7] = [
    ("overdue", "home.reminders.overdue"),
    ("approvals_waiting", "inbox.approvals"),
    ("today", "home.reminders.today"),
    ("tasks_due", "inbox.tasks"),
    ("pool_returning", "inbox.pool"),
    ("payments_due", "inbox.payments"),
    ("expiring_contracts", "inbox.contracts"),
];
/// The most items a digest lists under one heading.
const DIGEST_ITEMS: usize = 20;

/// The daily digest of an inbox in `lang`: its subject and text, or `None` when nothing is due.
fn digest(inbox: &Value, i18n: &Translations, lang: Lang) -> Option<(String, String)> {
    let mut text = String::new();
    let mut total = 0;
    for (key, heading) in DIGEST_SECTIONS {
        let items = inbox[key].as_array().map(Vec::as_slice).unwrap_or_default();
        if items.is_empty() {
            continue;
        }
        let count = inbox["counts"][key]
            .as_u64()
            .map_or(items.len(), |total| total as usize);
        total += count;
        text.push_str(&i18n.text(lang, heading, &json!({ "count": count })));
        text.push('\n');
        for item in items.iter().take(DIGEST_ITEMS) {
            text.push_str(&format!(
                "  · {}\n",
                item["title"].as_str().unwrap_or_default()
            ));
        }
        text.push('\n');
    }
    if total == 0 {
        return None;
    }
    text.push_str(&i18n.text(lang, "mail.digest_footer", &Value::Null));
    let subject = i18n.text(lang, "mail.digest_subject", &json!({ "count": total }));
    Some((subject, text))
}

/// Queues today's digest for everyone whose chosen hour (in their own time zone) has come and
/// who has not had one today; answers how many were queued.
pub fn queue_digests(
    conn: &Connection,
    i18n: &Translations,
    default_lang: Lang,
) -> Result<usize, AppError> {
    if crate::org::mail::MailSettings::load(conn)?.is_none() {
        return Ok(0);
    }
    let mut stmt = conn.prepare(
        "SELECT id, digest_hour, digest_sent_on, language FROM users
         WHERE digest_hour IS NOT NULL AND email IS NOT NULL AND frozen = 0",
    )?;
    let people = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut queued = 0;
    for (user, hour, sent_on, language) in people {
        let local = Utc::now().with_timezone(&user_zone(conn, user)?);
        let today = local.date_naive().format("%Y-%m-%d").to_string();
        if i64::from(local.hour()) < hour || sent_on.as_deref() == Some(today.as_str()) {
            continue;
        }
        let lang = language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(default_lang);
        if let Some((subject, body)) = digest(&inbox(conn, user)?, i18n, lang) {
            crate::org::mail::enqueue_text(conn, user, &subject, &body)?;
            queued += 1;
        }
        conn.run(
            "UPDATE users SET digest_sent_on = ?1 WHERE id = ?2",
            rusqlite::params![today, user],
        )?;
    }
    Ok(queued)
}

/// Looks for digests due every few minutes, until the server stops.
pub async fn queue_digests_hourly(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(std::time::Duration::from_secs(300));
    loop {
        interval.tick().await;
        let shared = state.clone();
        let queued = state
            .db
            .write(move |tx| queue_digests(tx, &shared.i18n, shared.default_lang))
            .await;
        if let Err(error) = queued {
            tracing::warn!(%error, "could not queue the daily digests");
        }
    }
}

/// The caller's own time zone, else the company's.
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
