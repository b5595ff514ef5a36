//! The public pool (公海) of customers: customers nobody owns.
//!
//! - An owner, or anyone whose scope covers the customer and who may edit it, releases it to
//!   the pool with a reason.
//! - Anyone with the edit right on customers claims one, up to the company's cap per person and
//!   not within the cooldown after the pool took it from them.
//! - The rules return a customer whose owner has not followed it up in N days or has not won a
//!   deal with it in M days (counted from when they got it, at the latest); the server applies
//!   them every hour, and an administrator can apply them at once.
//!
//! Every move is a `pool_events` row and a line in the customer's history; moves by people are
//! also in the audit log.

use super::customers::CUSTOMERS;
use crate::access::Action;
use crate::audit::{self, Actor};
use crate::auth::session::{Admin, CurrentUser};
use crate::entity::custom;
use crate::entity::routes::{list_where, write_as, Query, Slice};
use crate::entity::store::{self, Caller};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::org::actor;
use crate::time::now_ms;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const SETTINGS_KEY: &str = "pool";
const DAY_MS: i64 = 86_400_000;
const MAX_REASON_CHARS: usize = 500;

/// The company's pool rules. Zero switches a rule (or the cap) off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolSettings {
    pub days_without_followup: i64,
    pub days_without_won: i64,
    pub max_customers_per_user: i64,
    pub reclaim_cooldown_days: i64,
}

/// Each setting with its largest allowed value.
const LIMITS: [(&str, i64); 4] = [
    ("days_without_followup", 3650),
    ("days_without_won", 3650),
    ("max_customers_per_user", 1_000_000),
    ("reclaim_cooldown_days", 3650),
];

impl PoolSettings {
    pub fn load(conn: &Connection) -> rusqlite::Result<PoolSettings> {
        Ok(crate::db::setting(conn, SETTINGS_KEY)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// These settings with the values a request body names; keys it leaves out keep theirs.
    fn with(self, body: &Body) -> Result<PoolSettings, AppError> {
        let mut errors = FieldErrors::new();
        let mut merged = self.json();
        for (key, raw) in &body.0 {
            match LIMITS.iter().find(|(name, _)| name == key) {
                None => errors.add(key, "unknown_field", json!({})),
                Some((_, max)) if raw.as_i64().is_some_and(|v| (0..=*max).contains(&v)) => {
                    merged[key] = raw.clone();
                }
                Some((_, max)) => errors.add(key, "between", json!({ "min": 0, "max": max })),
            }
        }
        errors.into_result()?;
        serde_json::from_value(merged).map_err(AppError::internal)
    }

    fn save(&self, conn: &Connection) -> rusqlite::Result<()> {
        crate::db::set_setting(conn, SETTINGS_KEY, &self.json().to_string())
    }
}

/// How many customers a person holds (the recycle bin does not count).
fn held_by(conn: &Connection, user_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM customers WHERE owner_id = ?1 AND deleted_at IS NULL",
        [user_id],
        |r| r.get(0),
    )
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers/{id}/release", web::post().to(release_route))
        .route("/pool/customers", web::get().to(pool_list))
        .route("/pool/customers/{id}/claim", web::post().to(claim_route))
        .route("/settings/pool", web::get().to(get_settings))
        .route("/settings/pool", web::put().to(put_settings))
        .route("/settings/pool/apply", web::post().to(apply_route));
}

fn event(
    tx: &Connection,
    action: &str,
    id: i64,
    actor: &Actor,
    previous_owner: Option<i64>,
    reason: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO pool_events (entity, record_id, action, user_id, previous_owner_id, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            CUSTOMERS.name,
            id,
            action,
            actor.user_id,
            previous_owner,
            reason,
            now_ms()
        ],
    )?;
    Ok(())
}

/// `release` without a reason, the customers' pool rule (`Pool::release`) that bulk release
/// runs.
pub fn release_to_pool(tx: &Connection, caller: &Caller, id: i64) -> Result<(), AppError> {
    release(tx, caller, id, None).map(|_| ())
}

/// Releases a customer the caller may edit to the pool.
pub fn release(
    tx: &Connection,
    caller: &Caller,
    id: i64,
    reason: Option<&str>,
) -> Result<Value, AppError> {
    let module = caller.rights.require(CUSTOMERS.name, Action::Edit)?;
    let customers = custom::schema(tx, &CUSTOMERS)?;
    let record = store::fetch(tx, customers, caller.rights, id, false)?
        .filter(|r| !r["owner_id"].is_null())
        .ok_or_else(AppError::not_found)?;
    let previous = record["owner_id"].as_i64();
    let after = store::set_owner(tx, customers, caller.actor, id, None, "released")?;
    event(tx, "released", id, caller.actor, previous, reason)?;
    audit::record(
        tx,
        caller.actor,
        "pool_released",
        Some((CUSTOMERS.name, id)),
        json!({ "reason": reason, "previous_owner_id": previous }),
    )?;
    Ok(store::for_caller(after, &module))
}

/// The reason of a release: optional text of reasonable length.
fn reason_of(body: &Body) -> Result<Option<String>, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["reason"], &mut errors);
    let reason = match body.0.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() <= MAX_REASON_CHARS => {
            Some(text.trim().to_string()).filter(|t| !t.is_empty())
        }
        Some(Value::String(_)) => {
            errors.add("reason", "too_long", json!({ "max": MAX_REASON_CHARS }));
            None
        }
        Some(_) => {
            errors.add("reason", "text", json!({}));
            None
        }
    };
    errors.into_result()?;
    Ok(reason)
}

async fn release_route(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: Option<web::Json<Value>>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = Body::parse(body.map_or(json!({}), |b| b.into_inner()))?;
    let reason = reason_of(&body)?;
    let record = write_as(&state, &req, &user, move |tx, caller| {
        release(tx, caller, id, reason.as_deref())
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

async fn pool_list(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    list_where(state, user, &CUSTOMERS, query.into_inner(), Slice::Pool).await
}

/// Takes a customer from the pool for the caller.
fn claim(tx: &Connection, caller: &Caller, id: i64) -> Result<Value, AppError> {
    let rights = caller.rights;
    rights.require(CUSTOMERS.name, Action::View)?;
    let module = rights.require(CUSTOMERS.name, Action::Edit)?;
    let in_pool: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM customers
          WHERE id = ?1 AND owner_id IS NULL AND deleted_at IS NULL)",
        [id],
        |r| r.get(0),
    )?;
    if !in_pool {
        return Err(AppError::not_found());
    }
    let settings = PoolSettings::load(tx)?;
    let max = settings.max_customers_per_user;
    if max > 0 && held_by(tx, rights.user_id)? >= max {
        return Err(AppError::conflict("claim_limit_reached").with_params(json!({ "max": max })));
    }
    if settings.reclaim_cooldown_days > 0 {
        let since = now_ms() - settings.reclaim_cooldown_days * DAY_MS;
        let recent: Option<i64> = tx
            .query_row(
                "SELECT max(at) FROM pool_events WHERE entity = ?1 AND record_id = ?2
                   AND previous_owner_id = ?3 AND action IN ('released', 'returned') AND at > ?4",
                params![CUSTOMERS.name, id, rights.user_id, since],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(at) = recent {
            let days = (at + settings.reclaim_cooldown_days * DAY_MS - now_ms()) / DAY_MS + 1;
            return Err(AppError::conflict("claim_cooldown").with_params(json!({ "days": days })));
        }
    }
    let owner = Some((rights.user_id, rights.department_id));
    let customers = custom::schema(tx, &CUSTOMERS)?;
    let after = store::set_owner(tx, customers, caller.actor, id, owner, "claimed")?;
    event(tx, "claimed", id, caller.actor, None, None)?;
    audit::record(
        tx,
        caller.actor,
        "pool_claimed",
        Some((CUSTOMERS.name, id)),
        json!({}),
    )?;
    Ok(store::for_caller(after, &module))
}

async fn claim_route(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let record = write_as(&state, &req, &user, move |tx, caller| claim(tx, caller, id)).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// What the pool page shows besides the list: the rules, and how many the caller holds.
async fn get_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let answer = state
        .db
        .read(move |conn| {
            let settings = PoolSettings::load(conn)?;
            let mut answer = settings.json();
            answer["held_by_me"] = json!(held_by(conn, user.id)?);
            Ok(answer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn put_settings(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let who = actor(&req, &admin);
    let saved = state
        .db
        .write(move |tx| {
            let settings = PoolSettings::load(tx)?.with(&body)?;
            settings.save(tx)?;
            audit::record(tx, &who, "pool_settings_changed", None, settings.json())?;
            Ok(settings.json())
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Customers the rules take back at `now`, with the rule that applies: owned, not deleted, and
/// either not followed up or not won for the configured number of days since the later of that
/// event and the day the owner got the customer.
fn due(
    conn: &Connection,
    settings: &PoolSettings,
    now: i64,
) -> rusqlite::Result<Vec<(i64, i64, String)>> {
    // One pass over the owned customers; a rule that is off has no cutoff (NULL) and admits
    // nobody. A customer due under both rules is returned once, for the follow-up rule.
    let cutoff = |days: i64| (days > 0).then(|| now - days * DAY_MS);
    let mut stmt = conn.prepare(
        "SELECT id, owner_id,
                CASE WHEN owned_at < ?1 AND coalesce(last_followup_at, 0) < ?1
                     THEN 'no_followup' ELSE 'no_won_deal' END
           FROM customers
          WHERE owner_id IS NOT NULL AND deleted_at IS NULL
            AND ((owned_at < ?1 AND coalesce(last_followup_at, 0) < ?1)
              OR (owned_at < ?2 AND coalesce(last_won_at, 0) < ?2))",
    )?;
    let rows = stmt.query_map(
        params![
            cutoff(settings.days_without_followup),
            cutoff(settings.days_without_won)
        ],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    rows.collect()
}

/// The caller's customers that the rules will return to the pool within `days` from `now`
/// (soonest first), each with when: the 待办 inbox warns while there is time to follow them up.
/// The return time is the same arithmetic as `due`, moved to the day it becomes true.
pub fn returning_soon(
    conn: &Connection,
    user_id: i64,
    now: i64,
    days: i64,
) -> Result<Vec<Value>, AppError> {
    let settings = PoolSettings::load(conn)?;
    let at = |rule_days: i64, last: &str| {
        (rule_days > 0).then(|| {
            format!(
                "max(owned_at, coalesce({last}, 0)) + {}",
                rule_days * DAY_MS
            )
        })
    };
    let rules: Vec<String> = [
        at(settings.days_without_followup, "last_followup_at"),
        at(settings.days_without_won, "last_won_at"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let returns_at = match rules.as_slice() {
        [] => return Ok(Vec::new()),
        [one] => one.clone(),
        several => format!("min({})", several.join(", ")),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, name, {returns_at} AS returns_at FROM customers
         WHERE owner_id = ?1 AND deleted_at IS NULL AND {returns_at} < ?2
         ORDER BY returns_at LIMIT 100"
    ))?;
    let rows = stmt
        .query_map(params![user_id, now + days * DAY_MS], |r| {
            Ok(json!({
                "entity": "customers", "id": r.get::<_, i64>(0)?, "title": r.get::<_, String>(1)?,
                "returns_at": crate::time::rfc3339(r.get(2)?),
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Applies the pool rules at `now`; returns how many customers went back to the pool.
pub fn apply_rules(tx: &Connection, actor: &Actor, now: i64) -> Result<usize, AppError> {
    let settings = PoolSettings::load(tx)?;
    let due = due(tx, &settings, now)?;
    let customers = custom::schema(tx, &CUSTOMERS)?;
    for (id, owner, reason) in &due {
        store::set_owner(tx, customers, actor, *id, None, "returned")?;
        event(tx, "returned", *id, actor, Some(*owner), Some(reason))?;
    }
    Ok(due.len())
}

async fn apply_route(
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, AppError> {
    let who = actor(&req, &admin);
    let returned = state
        .db
        .write(move |tx| {
            let returned = apply_rules(tx, &who, now_ms())?;
            audit::record(
                tx,
                &who,
                "pool_rules_applied",
                None,
                json!({ "returned": returned }),
            )?;
            Ok(returned)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "returned": returned })))
}

/// The hourly run inside the server.
pub async fn apply_rules_hourly(state: web::Data<AppState>) {
    let mut interval = actix_web::rt::time::interval(std::time::Duration::from_secs(3600));
    loop {
        interval.tick().await;
        let returned = state
            .db
            .write(|tx| apply_rules(tx, &Actor::system(), now_ms()))
            .await;
        match returned {
            Ok(count) if count > 0 => tracing::info!(count, "customers returned to the pool"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not apply the pool rules"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations;

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::app::install();
        migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, username, display_name, password_hash, created_at, updated_at)
                 VALUES (1, 'rep', 'rep', '', 0, 0);",
        )
        .unwrap();
        conn
    }

    /// A customer owned by user 1 since `owned` (ms), last followed up at `followed`.
    fn customer(conn: &Connection, owned: i64, followed: Option<i64>) -> i64 {
        conn.execute(
            "INSERT INTO customers (name, owner_id, created_at, updated_at, owned_at,
                 last_followup_at)
             VALUES ('c', 1, ?1, ?1, ?1, ?2)",
            params![owned, followed],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    fn settings(conn: &Connection, followup: i64, won: i64) {
        PoolSettings {
            days_without_followup: followup,
            days_without_won: won,
            ..PoolSettings::default()
        }
        .save(conn)
        .unwrap();
    }

    fn owner(conn: &Connection, id: i64) -> Option<i64> {
        conn.query_row("SELECT owner_id FROM customers WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
    }

    /// The rules on a clock the test sets: day 0 is when the rep got the customers.
    #[test]
    fn rules_return_customers_on_the_day_they_fall_due() {
        let conn = database();
        let never_followed = customer(&conn, 0, None);
        let followed_day_20 = customer(&conn, 0, Some(20 * DAY_MS));
        settings(&conn, 30, 0);
        let system = Actor::system();
        assert_eq!(apply_rules(&conn, &system, 30 * DAY_MS).unwrap(), 0);
        assert_eq!(apply_rules(&conn, &system, 30 * DAY_MS + 1).unwrap(), 1);
        assert_eq!(owner(&conn, never_followed), None);
        assert_eq!(owner(&conn, followed_day_20), Some(1));
        assert_eq!(apply_rules(&conn, &system, 50 * DAY_MS + 1).unwrap(), 1);
        assert_eq!(owner(&conn, followed_day_20), None);
        let reasons: Vec<String> = conn
            .prepare("SELECT reason FROM pool_events WHERE action = 'returned' ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(reasons, ["no_followup", "no_followup"]);
    }

    #[test]
    fn no_won_deal_counts_from_when_the_owner_got_the_customer() {
        let conn = database();
        let old = customer(&conn, 0, Some(99 * DAY_MS));
        let recent = customer(&conn, 60 * DAY_MS, None);
        settings(&conn, 0, 90);
        assert_eq!(
            apply_rules(&conn, &Actor::system(), 100 * DAY_MS).unwrap(),
            1
        );
        assert_eq!(owner(&conn, old), None);
        assert_eq!(owner(&conn, recent), Some(1));
    }

    #[test]
    fn rules_switched_off_return_nothing() {
        let conn = database();
        customer(&conn, 0, None);
        settings(&conn, 0, 0);
        assert_eq!(
            apply_rules(&conn, &Actor::system(), 1000 * DAY_MS).unwrap(),
            0
        );
    }
}
