//! The generic record API of API.md "Records", for every entity in `crm::ENTITIES`. Each handler
//! loads the caller's rights inside its database call and hands them to `store`, which applies
//! them to every statement.

use super::descriptor::Entity;
use super::query::ListQuery;
use super::{export, history, store};
use crate::access::{Action, ModuleRights, Rights};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::crm;
use crate::http::error::AppError;
use crate::http::input::{Body, ListParams};
use crate::http::request_lang;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The entity a scope of routes serves, so handlers need no entity name from the path and an
/// unknown name is simply an unknown route.
pub struct Target(pub &'static Entity);

pub fn configure(cfg: &mut web::ServiceConfig) {
    for entity in crm::ENTITIES {
        let target = web::Data::new(Target(entity));
        cfg.service(
            web::scope(&format!("/recycle-bin/{}", entity.name))
                .app_data(target.clone())
                .route("", web::get().to(recycle_bin))
                .route("/{id}/restore", web::post().to(restore)),
        )
        .service(
            web::scope(&format!("/{}", entity.name))
                .app_data(target)
                .route("", web::get().to(list))
                .route("", web::post().to(create))
                .route("/export", web::get().to(export))
                .route("/{id}", web::get().to(get))
                .route("/{id}", web::patch().to(update))
                .route("/{id}", web::delete().to(remove))
                .route("/{id}/history", web::get().to(history)),
        );
    }
}

type Query = web::Query<HashMap<String, String>>;
type Entry = web::Data<Target>;

/// One page of visible records matching a list query.
pub fn list_page(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    params: HashMap<String, String>,
    deleted: bool,
) -> Result<Value, AppError> {
    let zone = company_zone(conn)?;
    let mut query = ListQuery::parse(entity, module, params, zone)?;
    let bin = if deleted { "IS NOT NULL" } else { "IS NULL" };
    query.conditions.add_raw(format!("t.deleted_at {bin}"));
    query
        .conditions
        .add_raw(store::visible(rights, entity, "t"));
    let reader = store::Reader::new(entity, rights);
    let paging = (query.paging.per_page, query.paging.offset());
    let from = format!("{} t", entity.name);
    let (items, total) =
        query
            .conditions
            .page(conn, &reader.select(), &from, &query.order, paging, |r| {
                reader.record(r)
            })?;
    let items = items
        .into_iter()
        .map(|r| store::for_caller(r, module))
        .collect();
    Ok(query.paging.answer(items, total))
}

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let params = query.into_inner();
    let page = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::View)?;
            list_page(conn, entity, &rights, &module, params, false)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn recycle_bin(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let params = query.into_inner();
    let page = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::Delete)?;
            list_page(conn, entity, &rights, &module, params, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let record = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::View)?;
            let record =
                store::fetch(conn, entity, &rights, id, false)?.ok_or_else(AppError::not_found)?;
            Ok(store::for_caller(record, &module))
        })
        .await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Runs a write as the caller, in one transaction.
async fn write_as<T, F>(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    f: F,
) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&Connection, &store::Caller) -> Result<T, AppError> + Send + 'static,
{
    let who: Actor = actor(req, user);
    let user_id = user.id;
    state
        .db
        .write(move |tx| {
            let rights = Rights::load(tx, user_id)?;
            let caller = store::Caller {
                rights: &rights,
                actor: &who,
            };
            f(tx, &caller)
        })
        .await
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let body = Body::parse(body.into_inner())?;
    let record = write_as(&state, &req, &user, move |tx, caller| {
        store::create(tx, entity, caller, &body.0)
    })
    .await?;
    Ok(HttpResponse::Created().json(record))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let body = Body::parse(body.into_inner())?;
    let record = write_as(&state, &req, &user, move |tx, caller| {
        store::update(tx, entity, caller, id, &body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

async fn remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    write_as(&state, &req, &user, move |tx, caller| {
        store::delete(tx, entity, caller, id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn restore(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let record = write_as(&state, &req, &user, move |tx, caller| {
        store::restore(tx, entity, caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(record))
}

async fn history(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let paging = ListParams::parse(query.into_inner(), &[])?;
    let page = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::View)?;
            store::fetch(conn, entity, &rights, id, false)?.ok_or_else(AppError::not_found)?;
            let limits = (paging.per_page, paging.offset());
            let (items, total) = history::page(conn, entity, &module, id, limits)?;
            Ok(paging.answer(items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let mut params = query.into_inner();
    let format = export::Format::parse(params.remove("format").as_deref())?;
    let lang = request_lang(&req, state.default_lang);
    let who = actor(&req, &user);
    let shared = state.clone();
    let query = params.clone();
    // Built on a read connection so a large export never holds up writers; the audit entry is
    // written before the file is handed out.
    let file = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            rights.require(entity.name, Action::View)?;
            let module = rights.require(entity.name, Action::Export)?;
            let labels = |key: &str| shared.i18n.text(lang, key, &json!({}));
            export::write(conn, entity, &rights, &module, query, format, &labels)
        })
        .await?;
    let rows = file.rows;
    state
        .db
        .write(move |tx| {
            let detail = json!({ "format": format.extension(), "rows": rows, "query": params });
            Ok(crate::audit::record_for_entity(
                tx,
                &who,
                "export",
                entity.name,
                detail,
            )?)
        })
        .await?;
    let name = format!(
        "{}-{}.{}",
        entity.name,
        chrono::Utc::now().format("%Y%m%d-%H%M%S"),
        format.extension()
    );
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(file.bytes))
}
