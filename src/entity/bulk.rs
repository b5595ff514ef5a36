//! Bulk actions on a list selection (批量操作): change owner, add a tag, release to the pool,
//! delete. Each record goes through the same store function as a single request would, inside
//! its own savepoint: a record that cannot be changed stays untouched and is reported, the
//! others are changed, and ids the caller may not see answer `not_found` and are never changed.
//! The module right for the action is checked once, for the whole request.

use super::descriptor::{Entity, Kind, Release};
use super::routes::{write_as, Entry};
use super::store::{self, Caller};
use super::values;
use crate::access::Action;
use crate::audit;
use crate::auth::session::CurrentUser;
use crate::db::savepoint;
use crate::http::error::{AppError, FieldErrors};
use crate::http::input::Body;
use crate::http::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// The most records one request may change.
const MAX_IDS: usize = 1000;

#[derive(Debug, Clone)]
enum BulkAction {
    Assign(i64),
    Tag(&'static str, String),
    /// The entity's pool rule (`Pool::release`).
    Release(Release),
    Delete,
}

impl BulkAction {
    fn name(&self) -> &'static str {
        match self {
            BulkAction::Assign(_) => "assign",
            BulkAction::Tag(..) => "tag",
            BulkAction::Release(_) => "release",
            BulkAction::Delete => "delete",
        }
    }

    fn right(&self) -> Action {
        match self {
            BulkAction::Delete => Action::Delete,
            _ => Action::Edit,
        }
    }
}

/// The actions this entity offers.
fn offered(entity: &Entity) -> Vec<&'static str> {
    [
        ("assign", entity.is_owned()),
        ("delete", true),
        ("tag", tags_field(entity).is_some()),
        ("release", entity.is_pooled()),
    ]
    .into_iter()
    .filter_map(|(name, offered)| offered.then_some(name))
    .collect()
}

fn tags_field(entity: &Entity) -> Option<&'static str> {
    entity
        .fields
        .iter()
        .find(|f| f.kind == Kind::Tags)
        .map(|f| f.name)
}

fn parse(entity: &Entity, body: &Body) -> Result<(Vec<i64>, BulkAction), AppError> {
    let mut errors = FieldErrors::new();
    body.refuse_others(&["ids", "action", "owner_id", "tag"], &mut errors);
    let mut ids = body.ids("ids", &mut errors).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    if !errors.has("ids") && (ids.is_empty() || ids.len() > MAX_IDS) {
        errors.add("ids", "count_between", json!({ "min": 1, "max": MAX_IDS }));
    }
    let offered = offered(entity);
    let action = match body.text("action") {
        Some(name) if offered.contains(&name) => match name {
            "assign" => body
                .optional_id("owner_id", &mut errors)
                .map(BulkAction::Assign)
                .or_else(|| {
                    if !errors.has("owner_id") {
                        errors.add("owner_id", "required", json!({}));
                    }
                    None
                }),
            "tag" => tag(entity, body, &mut errors),
            "release" => entity.pool.map(|pool| BulkAction::Release(pool.release)),
            _ => Some(BulkAction::Delete),
        },
        _ => {
            errors.add("action", "one_of", json!({ "options": offered.join(", ") }));
            None
        }
    };
    errors.into_result()?;
    let action = action.ok_or_else(|| AppError::bad_request("invalid_body"))?;
    Ok((ids, action))
}

fn tag(entity: &Entity, body: &Body, errors: &mut FieldErrors) -> Option<BulkAction> {
    let field = entity.field(tags_field(entity)?)?;
    let text = body.text("tag").map(str::trim).unwrap_or_default();
    if text.is_empty() {
        errors.add("tag", "required", json!({}));
        return None;
    }
    match values::parse(field, &json!([text]), &[]) {
        Ok(_) => Some(BulkAction::Tag(field.name, text.to_string())),
        Err((code, params)) => {
            errors.add("tag", code, params);
            None
        }
    }
}

/// A write through the same path as a single request, with the version the record has now.
fn update_current(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
    change: impl FnOnce(&Value) -> Option<Map<String, Value>>,
) -> Result<(), AppError> {
    let record =
        store::fetch(tx, entity, caller.rights, id, false)?.ok_or_else(AppError::not_found)?;
    let Some(mut body) = change(&record) else {
        return Ok(());
    };
    body.insert("version".into(), record["version"].clone());
    store::update(tx, entity, caller, id, &body).map(|_| ())
}

fn apply(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    id: i64,
    action: &BulkAction,
) -> Result<(), AppError> {
    match action {
        BulkAction::Assign(owner) => update_current(tx, entity, caller, id, |record| {
            (record["owner_id"] != *owner)
                .then(|| Map::from_iter([("owner_id".to_string(), json!(owner))]))
        }),
        BulkAction::Tag(field, tag) => update_current(tx, entity, caller, id, |record| {
            let mut tags = record[*field].as_array().cloned().unwrap_or_default();
            if tags.iter().any(|t| t == tag) {
                return None;
            }
            tags.push(json!(tag));
            Some(Map::from_iter([(field.to_string(), Value::Array(tags))]))
        }),
        BulkAction::Release(release) => release(tx, caller, id),
        BulkAction::Delete => store::delete(tx, entity, caller, id),
    }
}

/// How one record fared: `ok`, or why not. Server faults are not a record's outcome; they
/// fail the whole request.
fn outcome(result: Result<(), AppError>) -> Result<Value, AppError> {
    let error = match result {
        Ok(()) => return Ok(json!({ "status": "ok" })),
        Err(error) => error,
    };
    let status = match error.status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::CONFLICT => "conflict",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        _ => return Err(error),
    };
    let mut answer = json!({ "status": status, "code": error.code });
    if let Some(field) = error.fields.iter().next() {
        answer["field"] = json!(field.field);
        answer["code"] = json!(field.code);
    }
    Ok(answer)
}

fn run(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    ids: &[i64],
    action: &BulkAction,
) -> Result<Value, AppError> {
    caller.rights.require(entity.name, Action::View)?;
    caller.rights.require(entity.name, action.right())?;
    if let BulkAction::Assign(owner) = action {
        store::owner(tx, entity, caller.rights, &json!(owner))
            .map_err(|(code, params)| AppError::field("owner_id", code, params))?;
    }
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let result = savepoint(tx, || apply(tx, entity, caller, *id, action), Result::is_ok);
        let mut answer = outcome(result)?;
        answer["id"] = json!(id);
        results.push(answer);
    }
    let done = results.iter().filter(|r| r["status"] == "ok").count();
    audit::record_for_entity(
        tx,
        caller.actor,
        "bulk_action",
        entity.name,
        json!({ "action": action.name(), "requested": ids.len(), "done": done }),
    )?;
    Ok(json!({ "results": results, "done": done }))
}

pub async fn bulk(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let body = Body::parse(body.into_inner())?;
    let (ids, action) = parse(entity, &body)?;
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        run(
            tx,
            super::custom::schema(tx, entity)?,
            caller,
            &ids,
            &action,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
