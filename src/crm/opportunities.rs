//! Opportunities (商机): deals in a stage of a pipeline, with line items, the kanban board, the
//! funnel, the stage history and the weighted forecast. Every aggregate is the list query of
//! the caller (scope, filters and search included), so a board never counts what its viewer
//! could not list.

use super::pipelines::{self, Stage};
use crate::access::{Action, ModuleRights, Rights};
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::db::query::Conditions;
use crate::db::Cached;
use crate::entity::descriptor::{Approval, Entity, Field, Kind, Visibility, Wrote};
use crate::entity::lines::{self, round_half_even};
use crate::entity::routes::{scoped_query, Query, Slice};
use crate::entity::{custom, store};
use crate::http::error::AppError;
use crate::http::input::ListParams;
use crate::http::state::AppState;
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpResponse};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

pub const OPPORTUNITIES: Entity = Entity {
    name: "opportunities",
    fields: &[
        Field::new("name", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("customer_id", Kind::Reference("customers")),
        Field::new("contact_id", Kind::Reference("contacts")),
        Field::new("pipeline_id", Kind::Lookup("pipelines")),
        Field::new("stage_id", Kind::Lookup("pipeline_stages")),
        Field::new("probability", Kind::Integer),
        Field::new("amount", Kind::Money).sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("expected_close", Kind::Date).sortable(),
        Field::new("source", Kind::Picklist),
        Field::new("competitor", Kind::Text { max: 100 }).searchable(),
        Field::new("lines", Kind::Lines),
        Field::new("win_loss_reason", Kind::Text { max: 500 }),
        Field::new("closed_at", Kind::DateTime).system(),
        Field::new("notes", Kind::LongText),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "amount",
    list_columns: &[
        "name",
        "customer_id",
        "stage_id",
        "amount",
        "expected_close",
        "owner_id",
        "updated_at",
    ],
    default_sort: "-updated_at",
    after_write: Some(record_stage),
    check: None,
    prepare: Some(prepare),
    instructions: &[],
    pool: None,
    approval: Some(Approval { status: None }),
};

/// Items a board column shows when the request does not say.
const PER_COLUMN: i64 = 20;
const PER_COLUMN_MAX: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/opportunities/board", web::get().to(board))
        .route("/opportunities/funnel", web::get().to(funnel))
        .route("/opportunities/{id}/stages", web::get().to(stage_history))
        .route("/forecast", web::get().to(forecast));
}

/// Puts an opportunity in a pipeline and stage (the default pipeline's first stage when the body
/// names none), makes its probability follow a new stage unless the body sets one, and prices
/// its line items.
fn prepare(
    conn: &Connection,
    rights: &Rights,
    body: &mut Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    lines::settle(conn, rights, body, before)?;
    let was = |key: &str| before.and_then(|b| b[key].as_i64());
    let named = |key: &str| body.get(key).and_then(Value::as_i64);
    let Some(pipeline) = named("pipeline_id")
        .or_else(|| was("pipeline_id"))
        .map_or_else(|| pipelines::default_pipeline(conn), |p| Ok(Some(p)))?
    else {
        return Err(AppError::field("pipeline_id", "required", json!({})));
    };
    let stage_id = match named("stage_id") {
        Some(stage) => Some(stage),
        None if named("pipeline_id").is_some_and(|p| Some(p) != was("pipeline_id")) => None,
        None => was("stage_id"),
    };
    let stage = match stage_id {
        Some(id) => pipelines::stage(conn, id)?,
        None => pipelines::stages(conn, pipeline)?.into_iter().next(),
    };
    let Some(stage) = stage else {
        return Err(AppError::field("stage_id", "not_found", json!({})));
    };
    if stage.pipeline_id != pipeline {
        return Err(AppError::field("stage_id", "not_in_pipeline", json!({})));
    }
    body.insert("pipeline_id".into(), json!(pipeline));
    body.insert("stage_id".into(), json!(stage.id));
    match body.get("probability") {
        Some(p) if !p.is_null() => {
            if !p.as_i64().is_some_and(|p| (0..=100).contains(&p)) {
                let range = json!({ "min": 0, "max": 100 });
                return Err(AppError::field("probability", "between", range));
            }
        }
        _ if Some(stage.id) != was("stage_id") || before.is_none() => {
            body.insert("probability".into(), json!(stage.probability));
        }
        _ => {
            body.remove("probability");
        }
    }
    Ok(())
}

/// Records a stage the opportunity has just entered (its history, its furthest stage, its close
/// time, and a won deal's customer's last win, which the pool rules read).
fn record_stage(conn: &Connection, opportunity: &Value) -> Result<Wrote, AppError> {
    let id = opportunity["id"].as_i64().unwrap_or_default();
    let stage_id = opportunity["stage_id"].as_i64().unwrap_or_default();
    let last: Option<i64> = conn
        .one(
            "SELECT stage_id FROM opportunity_stages WHERE opportunity_id = ?1
             ORDER BY entered_at DESC, id DESC LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if last == Some(stage_id) {
        return Ok(Wrote::OtherRecords);
    }
    let Some(stage) = pipelines::stage(conn, stage_id)? else {
        return Ok(Wrote::OtherRecords);
    };
    let now = now_ms();
    conn.run(
        "INSERT INTO opportunity_stages (opportunity_id, stage_id, entered_at) VALUES (?1, ?2, ?3)",
        params![id, stage_id, now],
    )?;
    let furthest = if stage.kind == "lost" {
        0
    } else {
        stage.position
    };
    conn.run(
        "UPDATE opportunities SET closed_at = ?1, furthest_position = max(furthest_position, ?2)
         WHERE id = ?3",
        params![(!stage.is_open()).then_some(now), furthest, id],
    )?;
    if let (true, Some(customer)) = (stage.kind == "won", opportunity["customer_id"].as_i64()) {
        conn.run(
            "UPDATE customers SET last_won_at = ?1 WHERE id = ?2",
            params![now, customer],
        )?;
    }
    Ok(Wrote::TheRecord)
}

/// What an aggregate route starts from: the caller's rights on opportunities, their list query
/// (scope, `q`, filters) and the parameters the route reads itself (`own`).
struct Aggregate {
    rights: Rights,
    module: ModuleRights,
    conditions: Conditions,
    order: String,
    own: ListParams,
}

fn aggregate_query(
    conn: &Connection,
    user_id: i64,
    mut params: HashMap<String, String>,
    own: &[&str],
) -> Result<Aggregate, AppError> {
    let rights = Rights::load(conn, user_id)?;
    let module = rights.require(OPPORTUNITIES.name, Action::View)?;
    let taken: HashMap<String, String> = own
        .iter()
        .filter_map(|key| Some((key.to_string(), params.remove(*key)?)))
        .collect();
    let entity = custom::schema(conn, &OPPORTUNITIES)?;
    let zone = company_zone(conn)?;
    let query = scoped_query(entity, &rights, &module, params, zone, Slice::Active)?;
    Ok(Aggregate {
        rights,
        module,
        conditions: query.conditions,
        order: query.order,
        own: ListParams::parse(taken, own)?,
    })
}

/// A `YYYY-MM-DD` parameter, normalised.
fn date_param(params: &ListParams, name: &str) -> Result<Option<String>, AppError> {
    params
        .text(name)
        .map(|v| {
            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| AppError::invalid_query(name))
        })
        .transpose()
}

/// The rows of a two-integer query (a key and a count or sum).
fn pairs(
    conn: &Connection,
    sql: &str,
    conditions: &Conditions,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map(params_from_iter(conditions.values()), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect();
    rows
}

/// What identifies an aggregate of the rows `conditions` admit in the memo of answers.
fn memo_key(aggregate: &str, conditions: &Conditions) -> String {
    format!(
        "opportunities {aggregate}\n{}\n{:?}",
        conditions.clause(),
        conditions.values()
    )
}

/// Count and amount per stage of the rows `conditions` admit.
fn stage_totals(
    conn: &Connection,
    conditions: &Conditions,
) -> Result<HashMap<i64, (i64, i64)>, AppError> {
    let sql = format!(
        "SELECT t.stage_id, count(*), coalesce(sum(t.amount), 0) FROM opportunities t{}
         GROUP BY t.stage_id",
        conditions.clause()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(conditions.values()), |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
        })?
        .collect::<rusqlite::Result<HashMap<_, _>>>()?;
    Ok(rows)
}

/// The kanban board: the pipeline's stages in order, each with its totals and first cards.
#[derive(Serialize)]
struct Board {
    pipeline_id: i64,
    columns: Vec<BoardColumn>,
}

#[derive(Serialize)]
struct BoardColumn {
    stage_id: i64,
    name: String,
    kind: String,
    probability: i64,
    count: i64,
    amount: i64,
    items: Vec<Box<RawValue>>,
}

/// `GET /opportunities/board?pipeline_id=&per_column=` plus the list's own parameters.
async fn board(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let memo = state.db.memo();
    let answer = state
        .db
        .read(move |conn| {
            let Aggregate {
                rights,
                module,
                mut conditions,
                order,
                own,
            } = aggregate_query(
                conn,
                user.id,
                query.into_inner(),
                &["pipeline_id", "per_column"],
            )?;
            let per_column = match own.text("per_column") {
                Some(raw) => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=PER_COLUMN_MAX).contains(n))
                    .ok_or_else(|| AppError::invalid_query("per_column"))?,
                None => PER_COLUMN,
            };
            let pipeline = pipelines::requested(conn, own.id("pipeline_id")?)?;
            conditions.add("t.pipeline_id = ?", pipeline);
            // The totals read the opportunities (and their search index, written with them).
            let totals = memo.answer(&["opportunities"], memo_key("board", &conditions), || {
                stage_totals(conn, &conditions)
            })?;
            let entity = custom::schema(conn, &OPPORTUNITIES)?;
            let reader = store::Reader::new(entity, &rights).for_caller(&module);
            let slot = conditions.values().len() + 1;
            let sql = format!(
                "{}{} AND t.stage_id = ?{slot} ORDER BY {order} LIMIT {per_column}",
                reader.select(),
                conditions.clause()
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut columns = Vec::new();
            for stage in pipelines::stages(conn, pipeline)? {
                let mut values = conditions.values().to_vec();
                values.push(stage.id.into());
                // Cards are written straight from their rows, as a list page's records are.
                let items = stmt
                    .query_map(params_from_iter(values), |r| reader.record_json(r))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let (count, amount) = totals.get(&stage.id).copied().unwrap_or_default();
                columns.push(BoardColumn {
                    stage_id: stage.id,
                    name: stage.name,
                    kind: stage.kind,
                    probability: stage.probability,
                    count,
                    amount,
                    items,
                });
            }
            Ok(Board {
                pipeline_id: pipeline,
                columns,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// How many opportunities reached each stage or a later one: open and won stages by the
/// furthest position an opportunity entered, lost stages by whoever entered them.
fn reached(
    conn: &Connection,
    conditions: &Conditions,
    stages: &[Stage],
) -> Result<HashMap<i64, i64>, AppError> {
    let sql = format!(
        "SELECT t.furthest_position, count(*) FROM opportunities t{} GROUP BY 1",
        conditions.clause()
    );
    let furthest = pairs(conn, &sql, conditions)?;
    let sql = format!(
        "SELECT h.stage_id, count(DISTINCT h.opportunity_id) FROM opportunity_stages h
         JOIN pipeline_stages s ON s.id = h.stage_id AND s.kind = 'lost'
         WHERE h.opportunity_id IN (SELECT t.id FROM opportunities t{}) GROUP BY h.stage_id",
        conditions.clause()
    );
    let lost: HashMap<i64, i64> = pairs(conn, &sql, conditions)?.into_iter().collect();
    Ok(stages
        .iter()
        .map(|stage| {
            let count = if stage.kind == "lost" {
                lost.get(&stage.id).copied().unwrap_or_default()
            } else {
                furthest
                    .iter()
                    .filter(|(position, _)| *position >= stage.position)
                    .map(|(_, n)| n)
                    .sum()
            };
            (stage.id, count)
        })
        .collect())
}

/// `GET /opportunities/funnel?pipeline_id=&from=&to=` (creation dates) plus list parameters.
async fn funnel(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let memo = state.db.memo();
    let answer = state
        .db
        .read(move |conn| {
            let Aggregate {
                mut conditions,
                own,
                ..
            } = aggregate_query(
                conn,
                user.id,
                query.into_inner(),
                &["pipeline_id", "from", "to"],
            )?;
            let pipeline = pipelines::requested(conn, own.id("pipeline_id")?)?;
            conditions.add("t.pipeline_id = ?", pipeline);
            let zone = company_zone(conn)?;
            if let Some(from) = own.day_start("from", zone, false)? {
                conditions.add("t.created_at >= ?", from);
            }
            if let Some(to) = own.day_start("to", zone, true)? {
                conditions.add("t.created_at < ?", to);
            }
            let stages = pipelines::stages(conn, pipeline)?;
            let tables = ["opportunities", "opportunity_stages", "pipeline_stages"];
            let (totals, reached) =
                memo.answer(&tables, memo_key("funnel", &conditions), || {
                    Ok::<_, AppError>((
                        stage_totals(conn, &conditions)?,
                        reached(conn, &conditions, &stages)?,
                    ))
                })?;
            let rows: Vec<Value> = stages
                .iter()
                .map(|stage| {
                    let (count, amount) = totals.get(&stage.id).copied().unwrap_or_default();
                    json!({
                        "stage_id": stage.id, "name": stage.name, "kind": stage.kind,
                        "count": count, "amount": amount, "reached": reached[&stage.id],
                    })
                })
                .collect();
            Ok(json!({ "pipeline_id": pipeline, "stages": rows }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /opportunities/{id}/stages`: the stages the opportunity went through, oldest first,
/// with the time spent in each (up to now for the current one).
async fn stage_history(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            rights.require(OPPORTUNITIES.name, Action::View)?;
            if !store::is_visible(conn, &rights, OPPORTUNITIES.name, id)? {
                return Err(AppError::not_found());
            }
            let mut stmt = conn.prepare(
                "SELECT h.stage_id, s.name, s.kind, h.entered_at FROM opportunity_stages h
                 JOIN pipeline_stages s ON s.id = h.stage_id
                 WHERE h.opportunity_id = ?1 ORDER BY h.entered_at, h.id",
            )?;
            let rows = stmt
                .query_map([id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let now = now_ms();
            let items: Vec<Value> = rows
                .iter()
                .enumerate()
                .map(|(i, (stage, name, kind, entered))| {
                    let left = rows.get(i + 1).map(|next| next.3);
                    json!({
                        "stage_id": stage, "name": name, "kind": kind,
                        "entered_at": rfc3339(*entered),
                        "left_at": left.map(rfc3339),
                        "seconds": (left.unwrap_or(now) - entered) / 1000,
                    })
                })
                .collect();
            Ok(json!({ "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /forecast?group_by=owner|department&from=&to=`: open opportunities by expected close
/// month, amount and weighted amount (Σ round_half_even(amount × probability / 100)).
async fn forecast(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let answer = state
        .db
        .read(move |conn| {
            let Aggregate {
                mut conditions,
                own,
                ..
            } = aggregate_query(
                conn,
                user.id,
                query.into_inner(),
                &["group_by", "from", "to"],
            )?;
            let (group, departments) = match own.text("group_by") {
                None | Some("owner") => ("t.owner_id", false),
                Some("department") => ("t.department_id", true),
                Some(_) => return Err(AppError::invalid_query("group_by")),
            };
            conditions
                .add_raw("t.stage_id IN (SELECT id FROM pipeline_stages WHERE kind = 'open')");
            conditions.add_raw("t.expected_close IS NOT NULL");
            if let Some(from) = date_param(&own, "from")? {
                conditions.add("t.expected_close >= ?", from);
            }
            if let Some(to) = date_param(&own, "to")? {
                conditions.add("t.expected_close <= ?", to);
            }
            let sql = format!(
                "SELECT {group}, substr(t.expected_close, 1, 7), t.amount, t.probability
                 FROM opportunities t{}",
                conditions.clause()
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut sums: BTreeMap<(Option<i64>, String), (i64, i128)> = BTreeMap::new();
            let rows = stmt.query_map(params_from_iter(conditions.values()), |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            for row in rows {
                let (id, month, amount, probability) = row?;
                let weighted =
                    round_half_even(i128::from(amount.max(0)) * i128::from(probability), 100);
                let entry = sums.entry((id, month)).or_default();
                entry.0 += amount;
                entry.1 += weighted;
            }
            let names = crate::org::names(conn, departments)?;
            let mut out = Vec::new();
            for ((id, month), (amount, weighted)) in sums {
                out.push(json!({
                    "group_id": id, "group_name": id.and_then(|id| names.get(&id)), "month": month,
                    "amount": amount, "weighted": i64::try_from(weighted).unwrap_or(i64::MAX),
                }));
            }
            Ok(json!({ "rows": out }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
