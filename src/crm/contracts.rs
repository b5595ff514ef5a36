//! Contracts (合同): what a customer signed, with line items, a number from the company's
//! pattern, dates, terms and a status that moves draft → in approval → active → completed or
//! terminated. Approval (in approval → active) is the contract's approval flow, which every
//! company starts with (migration 016) and its administrator designs. `received` is kept from the payments; `outstanding` is
//! the rest of the amount.

use crate::access::{Action, Rights};
use crate::auth::session::{Admin, CurrentUser};
use crate::auth::users::company_zone;
use crate::db::Cached;
use crate::entity::descriptor::{Approval, ApprovalStatus, Entity, Field, Kind, Visibility};
use crate::entity::lines;
use crate::entity::store::visible;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::org::actor;
use crate::time::now_ms;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Datelike, Days, Utc};
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

pub const CONTRACTS: Entity = Entity {
    name: "contracts",
    fields: &[
        Field::new("number", Kind::Text { max: 60 })
            .searchable()
            .sortable(),
        Field::new("name", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("customer_id", Kind::Reference("customers")).required(),
        Field::new("opportunity_id", Kind::Reference("opportunities")),
        Field::new("contact_id", Kind::Reference("contacts")),
        Field::new("lines", Kind::Lines),
        Field::new("amount", Kind::Money).sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("received", Kind::Money).system(),
        Field::computed("outstanding", Kind::Money, "{t}.amount - {t}.received"),
        Field::new("status", Kind::Picklist).sortable(),
        Field::new("signed_on", Kind::Date).sortable(),
        Field::new("starts_on", Kind::Date),
        Field::new("ends_on", Kind::Date).sortable(),
        Field::new("delivery_on", Kind::Date),
        Field::new("payment_terms", Kind::Text { max: 500 }),
        Field::new("notes", Kind::LongText),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "number",
    list_columns: &[
        "number",
        "name",
        "customer_id",
        "amount",
        "received",
        "outstanding",
        "status",
        "signed_on",
        "owner_id",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: None,
    prepare: Some(prepare),
    instructions: &[],
    pool: None,
    approval: Some(Approval {
        status: Some(ApprovalStatus {
            field: "status",
            submit_from: &["draft"],
            pending: "in_approval",
            approved: "active",
            returned: "draft",
        }),
    }),
};

const PATTERN_KEY: &str = "contracts.number_pattern";
const PATTERN_MAX: usize = 40;
/// Days before its end an active contract appears among the reminders.
pub const EXPIRY_NOTICE_DAYS: u64 = 30;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/contracts", web::get().to(settings))
        .route("/settings/contracts", web::put().to(save_settings));
}

/// The status moves a request may make. Into and out of `in_approval`, and on to `active`,
/// only the contract's approval flow moves it (`entity::approvals`).
fn may_move(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        ("draft", "terminated") | ("active", "completed") | ("active", "terminated")
    ) || from == to
}

fn prepare(
    conn: &Connection,
    rights: &Rights,
    body: &mut Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    lines::settle(conn, rights, body, before)?;
    let mut errors = FieldErrors::new();
    if let (Some(before), Some(to)) = (before, body.get("status").and_then(Value::as_str)) {
        let from = before["status"].as_str().unwrap_or("draft");
        if !may_move(from, to) {
            errors.add("status", "status_move", json!({ "from": from, "to": to }));
        }
    }
    let date = |key: &str| {
        body.get(key)
            .or_else(|| before.map(|b| &b[key]))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if let (Some(starts), Some(ends)) = (date("starts_on"), date("ends_on")) {
        if ends < starts {
            errors.add("ends_on", "before_start", json!({}));
        }
    }
    let number = body.get("number").and_then(Value::as_str).map(str::trim);
    match number {
        Some(n) if !n.is_empty() => {
            let id = before.and_then(|b| b["id"].as_i64()).unwrap_or_default();
            if number_taken(conn, n, id)? {
                errors.add("number", "taken", json!({}));
            }
        }
        _ if before.is_none() => {
            body.insert("number".into(), json!(next_number(conn)?));
        }
        Some(_) => errors.add("number", "required", json!({})),
        None => {}
    }
    errors.into_result()
}

fn number_taken(conn: &Connection, number: &str, except: i64) -> rusqlite::Result<bool> {
    conn.one(
        "SELECT EXISTS (SELECT 1 FROM contracts WHERE number = ?1 AND id <> ?2)",
        params![number, except],
        |r| r.get(0),
    )
}

fn pattern(conn: &Connection) -> rusqlite::Result<String> {
    let stored = crate::db::setting(conn, PATTERN_KEY)?;
    Ok(stored.unwrap_or_else(|| "HT-{YYYY}{MM}{DD}-{SEQ:4}".into()))
}

/// The pattern with today's date (company time zone) filled in, and the width of its sequence.
fn expand_date(pattern: &str, today: chrono::NaiveDate) -> (String, usize) {
    let expanded = pattern
        .replace("{YYYY}", &format!("{:04}", today.year()))
        .replace("{YY}", &format!("{:02}", today.year() % 100))
        .replace("{MM}", &format!("{:02}", today.month()))
        .replace("{DD}", &format!("{:02}", today.day()));
    let width = expanded
        .split_once("{SEQ:")
        .and_then(|(_, rest)| rest.split_once('}'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(4);
    (expanded, width)
}

/// The next free number of the pattern: its sequence counts per expanded prefix (so a pattern
/// with the day restarts every day) and skips numbers someone typed by hand.
pub fn next_number(conn: &Connection) -> Result<String, AppError> {
    let now = chrono::DateTime::<Utc>::from_timestamp_millis(now_ms()).unwrap_or_default();
    let today = now.with_timezone(&company_zone(conn)?).date_naive();
    let (expanded, width) = expand_date(&pattern(conn)?, today);
    let token = format!("{{SEQ:{width}}}");
    let key = format!("contracts:{expanded}");
    loop {
        let value = next_in_sequence(conn, &key)?;
        let number = expanded.replace(&token, &format!("{value:0width$}"));
        if !number_taken(conn, &number, 0)? {
            return Ok(number);
        }
    }
}

/// Counts the sequence `key` up by one (from 1) and answers its value. Three plain statements,
/// not an upsert with `RETURNING`: that one opens a statement savepoint, and the full-text
/// indexes write their pending terms to disk at every savepoint (see `store::reindex`).
fn next_in_sequence(conn: &Connection, key: &str) -> rusqlite::Result<i64> {
    let counted = conn.run(
        "UPDATE number_sequences SET value = value + 1 WHERE key = ?1",
        [key],
    )?;
    if counted == 0 {
        conn.run(
            "INSERT INTO number_sequences (key, value) VALUES (?1, 1)",
            [key],
        )?;
    }
    conn.one(
        "SELECT value FROM number_sequences WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
}

/// A pattern is text with date tokens and exactly one `{SEQ:n}` (n from 1 to 9).
fn valid_pattern(pattern: &str) -> bool {
    let mut rest = pattern.to_string();
    for token in ["{YYYY}", "{YY}", "{MM}", "{DD}"] {
        rest = rest.replace(token, "");
    }
    let seq: Vec<&str> = rest.matches("{SEQ:").collect();
    let width_ok = rest
        .split_once("{SEQ:")
        .and_then(|(_, r)| r.split_once('}'))
        .is_some_and(|(n, _)| {
            n.len() == 1 && ('1'..='9').contains(&n.chars().next().unwrap_or('0'))
        });
    let without_seq = (1..=9).fold(rest.clone(), |r, n| r.replace(&format!("{{SEQ:{n}}}"), ""));
    seq.len() == 1
        && width_ok
        && !without_seq.contains(['{', '}'])
        && pattern.chars().count() <= PATTERN_MAX
        && !pattern.chars().any(char::is_control)
}

async fn settings(
    state: web::Data<AppState>,
    _user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let answer = state
        .db
        .read(|conn| {
            let pattern = pattern(conn)?;
            let today = Utc::now().with_timezone(&company_zone(conn)?).date_naive();
            let (expanded, width) = expand_date(&pattern, today);
            let example = expanded.replace(&format!("{{SEQ:{width}}}"), &format!("{:0width$}", 1));
            Ok(json!({ "number_pattern": pattern, "example": example }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn save_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["number_pattern"], &mut errors);
    let pattern = body
        .text("number_pattern")
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if !valid_pattern(&pattern) {
        errors.add(
            "number_pattern",
            "invalid_pattern",
            json!({ "max": PATTERN_MAX }),
        );
    }
    errors.into_result()?;
    let who = actor(&req, &admin);
    state
        .db
        .write(move |tx| {
            crate::db::set_setting(tx, PATTERN_KEY, &pattern)?;
            crate::audit::record(
                tx,
                &who,
                "settings_changed",
                None,
                json!({ PATTERN_KEY: pattern }),
            )?;
            Ok(())
        })
        .await?;
    settings(state, admin.0).await
}

/// The caller's active contracts ending within the notice period (or already past their end),
/// for the reminders.
pub fn expiring(
    conn: &Connection,
    rights: &Rights,
    today: chrono::NaiveDate,
) -> Result<Vec<Value>, AppError> {
    if !rights.can(CONTRACTS.name, Action::View) {
        return Ok(Vec::new());
    }
    let horizon = today
        .checked_add_days(Days::new(EXPIRY_NOTICE_DAYS))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let sql = format!(
        "SELECT t.id, t.name, t.number, t.ends_on FROM contracts t
         WHERE t.owner_id = ?1 AND t.status = 'active' AND t.ends_on <= ?2
           AND t.deleted_at IS NULL AND {}
         ORDER BY t.ends_on LIMIT 100",
        visible(rights, &CONTRACTS, "t")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![rights.user_id, horizon], |r| {
            Ok(json!({
                "entity": "contracts", "id": r.get::<_, i64>(0)?, "title": r.get::<_, String>(1)?,
                "number": r.get::<_, String>(2)?, "ends_on": r.get::<_, String>(3)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_expand_and_validate() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
        assert_eq!(
            expand_date("HT-{YYYY}{MM}{DD}-{SEQ:4}", day),
            ("HT-20260309-{SEQ:4}".to_string(), 4)
        );
        assert_eq!(
            expand_date("{YY}/{SEQ:6}", day),
            ("26/{SEQ:6}".to_string(), 6)
        );
        assert!(valid_pattern("HT-{YYYY}-{SEQ:5}"));
        assert!(!valid_pattern("HT-{YYYY}"));
        assert!(!valid_pattern("{SEQ:4}{SEQ:4}"));
        assert!(!valid_pattern("{SEQ:0}"));
        assert!(!valid_pattern("{SEQ:12}"));
        assert!(!valid_pattern("{WHO}{SEQ:3}"));
    }
}
