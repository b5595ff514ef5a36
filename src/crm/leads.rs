//! Leads (线索): people and companies not yet customers. Captured by form, import or the API
//! (a website form posts with an API token), assigned by hand or round-robin within a
//! department, followed up, then converted in one transaction into a customer (or an existing
//! one), a contact and optionally an opportunity, or disqualified with a reason. A converted lead
//! keeps links to what it became, and its follow-ups stay with it.

use super::contacts::CONTACTS;
use super::customers::CUSTOMERS;
use super::opportunities::OPPORTUNITIES;
use crate::access::{Action, ModuleRights, Rights};
use crate::auth::session::CurrentUser;
use crate::entity::custom;
use crate::entity::descriptor::{Entity, Field, Kind, Visibility};
use crate::entity::routes::write_as;
use crate::entity::store::{self, Caller};
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use crate::time::now_ms;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::types::Value as Sql;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

pub const LEADS: Entity = Entity {
    name: "leads",
    fields: &[
        Field::new("name", Kind::Text { max: 100 })
            .required()
            .searchable()
            .sortable(),
        Field::new("company", Kind::Text { max: 200 })
            .searchable()
            .sortable(),
        Field::new("title", Kind::Text { max: 100 }),
        Field::new("phone", Kind::Phone).searchable(),
        Field::new("mobile", Kind::Phone).searchable(),
        Field::new("email", Kind::Email).searchable(),
        Field::new("wechat", Kind::Text { max: 60 }).searchable(),
        Field::new("source", Kind::Picklist),
        Field::new("industry", Kind::Picklist),
        Field::new("region", Kind::Text { max: 100 }),
        Field::new("address", Kind::Text { max: 300 }),
        Field::new("status", Kind::Picklist).sortable(),
        Field::new("notes", Kind::LongText),
        Field::new("disqualify_reason", Kind::Text { max: 500 }).system(),
        Field::new("converted_at", Kind::DateTime).system(),
        Field::new("customer_id", Kind::Reference("customers")).system(),
        Field::new("contact_id", Kind::Reference("contacts")).system(),
        Field::new("opportunity_id", Kind::Reference("opportunities")).system(),
        Field::new("last_followup_at", Kind::DateTime).system(),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "company",
    list_columns: &[
        "name",
        "company",
        "mobile",
        "source",
        "status",
        "owner_id",
        "updated_at",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: None,
    prepare: Some(prepare),
    instructions: &[],
    pool: None,
    approval: None,
};

/// Statuses only the conversion and disqualification actions set.
const CLOSED: [&str; 2] = ["converted", "disqualified"];
const REASON_MAX: usize = 500;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/leads/assign", web::post().to(assign))
        .route("/leads/{id}/convert", web::post().to(convert))
        .route("/leads/{id}/disqualify", web::post().to(disqualify));
}

/// A form may not set a closed status: conversion and disqualification do more than that.
fn prepare(
    _conn: &Connection,
    _rights: &Rights,
    body: &mut Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    let status = body.get("status").and_then(Value::as_str);
    let unchanged = before.is_some_and(|b| b["status"].as_str() == status);
    match status {
        Some(s) if CLOSED.contains(&s) && !unchanged => {
            Err(AppError::field("status", "use_action", json!({})))
        }
        _ => Ok(()),
    }
}

/// The lead the caller may edit, still open, and the caller's rights on leads.
fn open_lead(
    conn: &Connection,
    rights: &Rights,
    id: i64,
) -> Result<(Value, ModuleRights), AppError> {
    let module = rights.require(LEADS.name, Action::Edit)?;
    let entity = custom::schema(conn, &LEADS)?;
    let lead = store::fetch(conn, entity, rights, id, false)?.ok_or_else(AppError::not_found)?;
    match lead["status"].as_str() {
        Some("converted") => Err(AppError::conflict("already_converted")),
        Some("disqualified") => Err(AppError::conflict("lead_disqualified")),
        _ => Ok((lead, module)),
    }
}

/// The lead's values under the names of another entity's fields, leaving out empty ones.
fn carried(lead: &Value, pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .filter(|(from, _)| !lead[*from].is_null())
        .map(|(from, to)| ((*to).to_string(), lead[*from].clone()))
        .collect()
}

/// What a conversion request asks for.
struct Conversion {
    customer_id: Option<i64>,
    confirm_duplicate: bool,
    opportunity: Option<Map<String, Value>>,
}

fn parse_conversion(body: &Body) -> Result<Conversion, AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(
        &[
            "customer_id",
            "create_opportunity",
            "opportunity",
            "confirm_duplicate",
        ],
        &mut errors,
    );
    let customer_id = body.optional_id("customer_id", &mut errors);
    let create = match body.0.get("create_opportunity") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add("create_opportunity", "boolean", json!({}));
            false
        }
    };
    let opportunity = match body.0.get("opportunity") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            errors.add("opportunity", "invalid", json!({}));
            Map::new()
        }
    };
    errors.into_result()?;
    Ok(Conversion {
        customer_id,
        confirm_duplicate: body.0.get("confirm_duplicate") == Some(&Value::Bool(true)),
        opportunity: create.then_some(opportunity),
    })
}

/// The customer a conversion lands on: the one named (which the caller must see) or a new one
/// from the lead's company, through the customer duplicate check.
fn land_customer(
    tx: &Connection,
    caller: &Caller,
    lead: &Value,
    request: &Conversion,
) -> Result<Value, AppError> {
    let customers = custom::schema(tx, &CUSTOMERS)?;
    if let Some(id) = request.customer_id {
        caller.rights.require(CUSTOMERS.name, Action::View)?;
        return store::fetch(tx, customers, caller.rights, id, false)?
            .ok_or_else(|| AppError::field("customer_id", "not_found", json!({})));
    }
    let mut body = carried(
        lead,
        &[
            ("phone", "phone"),
            ("email", "email"),
            ("industry", "industry"),
            ("source", "source"),
            ("region", "region"),
            ("address", "address"),
        ],
    );
    let name = lead["company"]
        .as_str()
        .unwrap_or(lead["name"].as_str().unwrap_or_default());
    body.insert("name".into(), json!(name));
    if request.confirm_duplicate {
        body.insert("confirm_duplicate".into(), json!(true));
    }
    store::create(tx, customers, caller, &body).map_err(|e| e.within("customer"))
}

fn convert_lead(
    tx: &Connection,
    caller: &Caller,
    id: i64,
    request: Conversion,
) -> Result<Value, AppError> {
    let (lead, _) = open_lead(tx, caller.rights, id)?;
    let customer = land_customer(tx, caller, &lead, &request)?;
    let customer_id = customer["id"].as_i64().unwrap_or_default();
    let mut contact = carried(
        &lead,
        &[
            ("name", "name"),
            ("title", "title"),
            ("phone", "phone"),
            ("mobile", "mobile"),
            ("email", "email"),
            ("wechat", "wechat"),
        ],
    );
    contact.insert("customer_id".into(), json!(customer_id));
    let contacts = custom::schema(tx, &CONTACTS)?;
    let contact = store::create(tx, contacts, caller, &contact).map_err(|e| e.within("contact"))?;
    let opportunity = match request.opportunity {
        Some(mut body) => {
            body.insert("customer_id".into(), json!(customer_id));
            body.insert("contact_id".into(), contact["id"].clone());
            if !body.contains_key("name") {
                body.insert("name".into(), customer["name"].clone());
            }
            let opportunities = custom::schema(tx, &OPPORTUNITIES)?;
            let created = store::create(tx, opportunities, caller, &body)
                .map_err(|e| e.within("opportunity"))?;
            Some(created)
        }
        None => None,
    };
    let id_of = |record: Option<&Value>| {
        record
            .and_then(|r| r["id"].as_i64())
            .map_or(Sql::Null, Sql::Integer)
    };
    let values = [
        ("status", Sql::Text("converted".into())),
        ("converted_at", Sql::Integer(now_ms())),
        ("customer_id", id_of(Some(&customer))),
        ("contact_id", id_of(Some(&contact))),
        ("opportunity_id", id_of(opportunity.as_ref())),
    ];
    let leads = custom::schema(tx, &LEADS)?;
    store::set_system_fields(tx, leads, caller.actor, id, &values, "converted")?;
    Ok(json!({ "customer": customer, "contact": contact, "opportunity": opportunity }))
}

async fn convert(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let request = parse_conversion(&Body::parse(body.into_inner())?)?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        convert_lead(tx, caller, id, request)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn disqualify(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["reason"], &mut errors);
    let reason = body
        .text("reason")
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if reason.is_empty() {
        errors.add("reason", "required", json!({}));
    } else if reason.chars().count() > REASON_MAX {
        errors.add("reason", "too_long", json!({ "max": REASON_MAX }));
    }
    errors.into_result()?;
    let lead = write_as(&state, &req, &user, move |tx, caller| {
        let (_, module) = open_lead(tx, caller.rights, id)?;
        let values = [
            ("status", Sql::Text("disqualified".into())),
            ("disqualify_reason", Sql::Text(reason)),
        ];
        let leads = custom::schema(tx, &LEADS)?;
        let lead = store::set_system_fields(tx, leads, caller.actor, id, &values, "disqualified")?;
        Ok(store::for_caller(lead, &module))
    })
    .await?;
    Ok(HttpResponse::Ok().json(lead))
}

/// The active members of a department with their department, in a stable order.
fn members(conn: &Connection, department: i64) -> Result<Vec<(i64, Option<i64>)>, AppError> {
    let mut stmt = conn.prepare(
        "SELECT id, department_id FROM users WHERE department_id = ?1 AND frozen = 0 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([department], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// `POST /leads/assign {"ids", "department_id"}`: hands the leads in turn to the department's
/// active members, continuing the rotation where the last assignment there stopped. The answer
/// has the bulk actions' shape: `{"done", "results": [{"id", "status", "owner_id"?}]}`.
fn assign_round_robin(
    tx: &Connection,
    caller: &Caller,
    ids: &[i64],
    department: i64,
) -> Result<Value, AppError> {
    caller.rights.require(LEADS.name, Action::Edit)?;
    let members: Vec<(i64, Option<i64>)> = members(tx, department)?
        .into_iter()
        .filter(|(user, dept)| caller.rights.may_assign_to(LEADS.name, *user, *dept))
        .collect();
    if members.is_empty() {
        return Err(AppError::field(
            "department_id",
            "no_assignable_members",
            json!({}),
        ));
    }
    let key = format!("leads.round_robin.{department}");
    let last: Option<i64> = crate::db::setting(tx, &key)?.and_then(|v| v.parse().ok());
    let mut next = last
        .and_then(|l| members.iter().position(|(u, _)| *u == l))
        .map_or(0, |i| i + 1);
    let leads = custom::schema(tx, &LEADS)?;
    let mut results = Vec::new();
    let mut done = 0;
    for id in ids {
        if !store::is_visible(tx, caller.rights, LEADS.name, *id)? {
            results.push(json!({ "id": id, "status": "not_found" }));
            continue;
        }
        let owner = members[next % members.len()];
        store::set_owner(tx, leads, caller.actor, *id, Some(owner), "assigned")?;
        results.push(json!({ "id": id, "status": "ok", "owner_id": owner.0 }));
        crate::db::set_setting(tx, &key, &owner.0.to_string())?;
        next += 1;
        done += 1;
    }
    Ok(json!({ "done": done, "results": results }))
}

async fn assign(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let body = Body::parse(body.into_inner())?;
    let mut errors = FieldErrors::new();
    body.refuse_others(&["ids", "department_id"], &mut errors);
    let ids = body.ids("ids", &mut errors);
    let department = body.optional_id("department_id", &mut errors);
    if department.is_none() && !errors.has("department_id") {
        errors.add("department_id", "required", json!({}));
    }
    errors.into_result()?;
    let (ids, department) = (ids.unwrap_or_default(), department.unwrap_or_default());
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        assign_round_robin(tx, caller, &ids, department)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
