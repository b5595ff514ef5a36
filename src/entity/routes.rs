//! The generic record API of API.md "Records", for every entity in the registry. Each handler
//! loads the caller's rights inside its database call and hands them to `store`, which applies
//! them to every statement.

use super::descriptor::Entity;
use super::query::ListQuery;
use super::registry;
use super::{approvals, attachments, comments, custom, export, history, store};
use crate::access::{Action, ModuleRights, Rights};
use crate::audit::Actor;
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::db::memo::Memo;
use crate::db::query::Total;
use crate::http::error::AppError;
use crate::http::input::{Body, ListAnswer, ListParams};
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::i18n::Texts;
use crate::org::actor;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{Connection, Row};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// The entity a scope of routes serves, so handlers need no entity name from the path and an
/// unknown name is simply an unknown route.
pub struct Target(pub &'static Entity);

pub fn configure(cfg: &mut web::ServiceConfig) {
    for entity in registry::entities() {
        let target = web::Data::new(Target(entity));
        cfg.service(
            web::scope(&format!("/recycle-bin/{}", entity.name))
                .app_data(target.clone())
                .route("", web::get().to(recycle_bin))
                .route("/{id}/restore", web::post().to(restore)),
        )
        .service(with_approval(
            web::scope(&format!("/{}", entity.name))
                .app_data(target)
                .route("", web::get().to(list))
                .route("", web::post().to(create))
                .route("/export", web::get().to(export))
                .route("/summary", web::get().to(super::summary::summary))
                .route("/bulk", web::post().to(super::bulk::bulk))
                .route("/import", web::post().to(super::import::import))
                .route("/import/preview", web::post().to(super::import::preview))
                .route("/{id}", web::get().to(get))
                .route("/{id}", web::patch().to(update))
                .route("/{id}", web::delete().to(remove))
                .route("/{id}/history", web::get().to(history))
                .route("/{id}/attachments", web::get().to(attachments::list))
                .route("/{id}/attachments", web::post().to(attachments::upload))
                .route("/{id}/comments", web::get().to(comments::list))
                .route("/{id}/comments", web::post().to(comments::create)),
            entity,
        ));
    }
}

/// The approval routes of a record, for an entity that takes part in approval flows.
fn with_approval(scope: actix_web::Scope, entity: &Entity) -> actix_web::Scope {
    if entity.approval.is_none() {
        return scope;
    }
    scope
        .route("/{id}/approval", web::get().to(approvals::of_record))
        .route("/{id}/approval", web::post().to(approvals::submit_route))
}

pub type Query = web::Query<HashMap<String, String>>;
pub type Entry = web::Data<Target>;

/// Which records a list reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// Records in use that the caller's scope admits (without a pooled entity's pool).
    Active,
    /// The caller's deleted records.
    RecycleBin,
    /// Unowned records of a pooled entity, open to everyone with the view right.
    Pool,
}

impl Slice {
    fn conditions(self, entity: &Entity, rights: &Rights) -> Vec<String> {
        let visible = store::visible(rights, entity, "t");
        match self {
            Slice::Active if entity.is_pooled() => vec![
                "t.deleted_at IS NULL".into(),
                "t.owner_id IS NOT NULL".into(),
                visible,
            ],
            Slice::Active => vec!["t.deleted_at IS NULL".into(), visible],
            Slice::RecycleBin => vec!["t.deleted_at IS NOT NULL".into(), visible],
            Slice::Pool => vec!["t.deleted_at IS NULL".into(), "t.owner_id IS NULL".into()],
        }
    }
}

/// A list query narrowed to a slice of the records.
pub fn scoped_query(
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    params: HashMap<String, String>,
    zone: chrono_tz::Tz,
    slice: Slice,
) -> Result<ListQuery, AppError> {
    let mut query = ListQuery::parse(entity, module, params, zone)?;
    for condition in slice.conditions(entity, rights) {
        query.conditions.add_raw(condition);
    }
    Ok(query)
}

/// One page of the records of a slice matching a list query, each record read by `read`:
/// `Reader::record` for a `Value`, or `Reader::record_json` for an answer, which serialises it
/// straight from its row (building a `Value` per record, then serialising and dropping it, was
/// half of a list's time).
///
/// With a `memo`, the page's count is kept there until a table it reads changes.
pub fn list_page<T>(
    conn: &Connection,
    memo: Option<Arc<Memo>>,
    entity: &Entity,
    (rights, module): (&Rights, &ModuleRights),
    params: HashMap<String, String>,
    slice: Slice,
    read: impl Fn(&store::Reader, &Row) -> rusqlite::Result<T>,
) -> Result<ListAnswer<T>, AppError> {
    let reader = store::Reader::new(entity, rights).for_caller(module);
    let zone = company_zone(conn)?;
    let mut query = scoped_query(entity, rights, module, params, zone, slice)?;
    if let Some(memo) = memo {
        query.conditions.count_in(memo, store::tables_read(entity));
    }
    let paging = (query.paging.per_page, query.paging.offset());
    let from = format!("{} t", entity.name);
    let (items, total) = query.conditions.page_by_key(
        conn,
        &reader.select(),
        (&from, "t.id"),
        &query.order,
        paging,
        |r| read(&reader, r),
    )?;
    Ok(query.paging.answer(items, total))
}

/// How many records of the active slice match a list query, counted exactly however many they
/// are (an export's progress; a list page counts only up to `COUNT_CAP`).
pub fn exact_total(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    params: HashMap<String, String>,
) -> Result<i64, AppError> {
    let zone = company_zone(conn)?;
    let query = scoped_query(entity, rights, module, params, zone, Slice::Active)?;
    Ok(query
        .conditions
        .count_exact(conn, &format!("{} t", entity.name))?)
}

async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    list_where(state, user, target.0, query.into_inner(), Slice::Active).await
}

/// The caller's deleted records; restoring needs the delete right, so seeing them does too.
async fn recycle_bin(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    list_where(state, user, target.0, query.into_inner(), Slice::RecycleBin).await
}

pub async fn list_where(
    state: web::Data<AppState>,
    user: CurrentUser,
    entity: &'static Entity,
    params: HashMap<String, String>,
    slice: Slice,
) -> Result<HttpResponse, AppError> {
    let action = match slice {
        Slice::RecycleBin => Action::Delete,
        Slice::Active | Slice::Pool => Action::View,
    };
    let memo = state.db.memo();
    let body = state
        .db
        .read(move |conn| {
            let rights = Rights::kept(conn, &memo, user.id)?;
            let module = rights.require(entity.name, action)?;
            let entity = custom::schema(conn, entity)?;
            // Every record is written into this one buffer, straight from its row.
            let records = RefCell::new(Vec::with_capacity(64 * 1024));
            let page = list_page(
                conn,
                Some(memo),
                entity,
                (&rights, &module),
                params,
                slice,
                |reader, r| {
                    let mut records = records.borrow_mut();
                    if !records.is_empty() {
                        records.push(b',');
                    }
                    reader.write_json(r, &mut records)
                },
            )?;
            Ok(page.json_around(&records.into_inner()))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (entity, id) = (target.0, id.into_inner());
    let memo = state.db.memo();
    let record = state
        .db
        .read(move |conn| {
            let rights = Rights::kept(conn, &memo, user.id)?;
            let module = rights.require(entity.name, Action::View)?;
            let entity = custom::schema(conn, entity)?;
            store::fetch_json(conn, entity, &rights, &module, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(record))
}

/// Runs a write as the caller, in one transaction.
pub async fn write_as<T, F>(
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
        store::create(tx, custom::schema(tx, entity)?, caller, &body.0)
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
        store::update(tx, custom::schema(tx, entity)?, caller, id, &body.0)
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
        store::delete(tx, custom::schema(tx, entity)?, caller, id)
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
        store::restore(tx, custom::schema(tx, entity)?, caller, id)
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
            let entity = custom::schema(conn, entity)?;
            store::fetch(conn, entity, &rights, id, false)?.ok_or_else(AppError::not_found)?;
            let limits = (paging.per_page, paging.offset());
            let (items, total) = history::page(conn, entity, &module, id, limits)?;
            Ok(paging.answer(items, Total::exact(total)))
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
            let texts = Texts {
                i18n: &shared.i18n,
                lang,
            };
            let entity = custom::schema(conn, entity)?;
            let output = export::Output {
                format,
                texts,
                progress: &|_, _| {},
            };
            export::write(conn, entity, &rights, &module, query, output)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations;
    use rusqlite::params_from_iter;

    /// A database with one user (id 1, department 1) holding `permissions` on every module.
    fn database(scope: &str) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::app::install();
        migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
        let modules: serde_json::Map<String, Value> = registry::entities()
            .iter()
            .map(|e| {
                (
                    e.name.to_string(),
                    json!({"actions": ["view"], "scope": scope}),
                )
            })
            .collect();
        conn.execute_batch(&format!(
            "INSERT INTO departments (id, name, path, created_at, updated_at) VALUES (1, 'd', '/1/', 0, 0);
             INSERT INTO users (id, username, display_name, password_hash, department_id, created_at, updated_at)
                 VALUES (1, 'u', 'u', '', 1, 0, 0);
             INSERT INTO roles (id, name, permissions, created_at, updated_at) VALUES (9, 'r', '{}', 0, 0);
             INSERT INTO user_roles VALUES (1, 9);",
            Value::Object(modules)
        ))
        .unwrap();
        conn
    }

    /// Every sort key of every entity, under every scope, reads through an index: no step of
    /// the plan scans a record table without one.
    #[test]
    fn every_list_ordering_uses_an_index() {
        for scope in ["own", "department", "department_tree", "all"] {
            let conn = database(scope);
            let rights = Rights::load(&conn, 1).unwrap();
            for entity in registry::entities() {
                let module = rights.module(entity.name).unwrap();
                let keys = entity
                    .fields
                    .iter()
                    .filter(|f| f.sortable)
                    .map(|f| f.name)
                    .chain(["created_at", "updated_at", "id"]);
                for key in keys {
                    for sort in [key.to_string(), format!("-{key}")] {
                        let params = HashMap::from([("sort".to_string(), sort.clone())]);
                        let zone = chrono_tz::Asia::Shanghai;
                        let query =
                            scoped_query(entity, &rights, &module, params, zone, Slice::Active)
                                .unwrap();
                        let sql = query.conditions.page_sql(
                            &format!("SELECT t.id FROM {} t", entity.name),
                            &query.order,
                            (20, 0),
                        );
                        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                        let plan: Vec<String> = stmt
                            .query_map(params_from_iter(query.conditions.values()), |r| {
                                r.get::<_, String>(3)
                            })
                            .unwrap()
                            .collect::<Result<_, _>>()
                            .unwrap();
                        let by_rowid = key == "id";
                        let full_scan = plan.iter().any(|step| step == "SCAN t" && !by_rowid);
                        // Over the whole table the order itself must come from an index; a
                        // narrower scope reads its own index and sorts the caller's share.
                        let sorted_in_memory = scope == "all"
                            && plan
                                .iter()
                                .any(|step| step == "USE TEMP B-TREE FOR ORDER BY");
                        assert!(
                            !full_scan && !sorted_in_memory,
                            "{} sort {sort} scope {scope}: {plan:?}",
                            entity.name
                        );
                    }
                }
            }
        }
    }
}
