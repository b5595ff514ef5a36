//! Import (导入) of a CSV or XLSX file into any entity, as API.md "Import" describes.
//!
//! - Every row goes through `store::create` or `store::update` exactly as a request would:
//!   the caller's rights and scope, field validation, the entity's checks (the customers'
//!   duplicate check), history and the search index.
//! - **All or nothing per file.** Each row runs in its own savepoint so every bad row is found
//!   and reported (row number as the spreadsheet shows it, field, code, translated message);
//!   if any row is bad, nothing of the file is kept. A dry run does the same work and always
//!   rolls it back, so what it reports is exactly what the import would do.
//! - With `upsert_key` (a mapped field), a row whose key matches one visible record updates it;
//!   other rows create records.
//! - A kept import is a batch that remembers what it created and changed:
//!   `DELETE /imports/{id}` moves the created records to the recycle bin and puts changed fields
//!   back, leaving alone any record someone changed since.

pub mod formats;
mod job;

pub use job::recover;

use super::descriptor::{Entity, Field, Kind};
use super::picklists;
use super::registry;
use super::routes::{write_as, Entry, Query};
use super::sheet::{self, Lookups, Sheet};
use super::store::{self, Caller};
use super::values;
use crate::access::{Action, FieldAccess, ModuleRights, Rights};
use crate::audit;
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::http::error::{AppError, FieldErrors};
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::i18n::{Lang, Texts, Translations};
use crate::time::{now_ms, rfc3339};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
const MAX_PART_BYTES: usize = 64 * 1024;
/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::get().to(batches))
        .route("/imports/{id}", web::get().to(status))
        .route("/imports/{id}", web::delete().to(undo))
        .route("/imports/{id}/cancel", web::post().to(cancel));
}

/// The parts of an upload (or of a file `kehu import` reads).
#[derive(Default)]
pub struct Upload {
    pub file_name: String,
    pub file: Vec<u8>,
    /// Column → field as JSON; `kehu import` guesses it from the headers when absent.
    pub mapping: Option<String>,
    pub upsert_key: Option<String>,
    pub confirm_duplicates: bool,
    /// Whether a row the duplicate check refuses is left out rather than a bad row.
    pub skip_duplicates: bool,
    /// Whether the file's values that are no option of their picklist become options.
    pub add_options: bool,
}

/// The bytes of one multipart part, refused with `file_too_large` on `name` past `limit`.
pub async fn read_part(
    part: &mut actix_multipart::Field,
    name: &str,
    limit: usize,
) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(invalid_upload)?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::field(
                name,
                "file_too_large",
                json!({ "max_mb": limit / (1024 * 1024) }),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

pub fn invalid_upload(error: impl std::fmt::Display) -> AppError {
    AppError::bad_request("invalid_upload").with_params(json!({ "detail": error.to_string() }))
}

async fn read_upload(mut payload: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let mut has_file = false;
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(invalid_upload)?;
        let name = part.name().unwrap_or_default().to_string();
        let limit = if name == "file" {
            MAX_FILE_BYTES
        } else {
            MAX_PART_BYTES
        };
        if name == "file" {
            upload.file_name = part
                .content_disposition()
                .and_then(|d| d.get_filename())
                .unwrap_or_default()
                .to_string();
            has_file = true;
        }
        let bytes = read_part(&mut part, &name, limit).await?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "file" => upload.file = bytes,
            "mapping" => upload.mapping = Some(text()),
            "upsert_key" => upload.upsert_key = Some(text()).filter(|k| !k.is_empty()),
            "confirm_duplicates" => upload.confirm_duplicates = text() == "true",
            "skip_duplicates" => upload.skip_duplicates = text() == "true",
            "add_options" => upload.add_options = text() == "true",
            _ => return Err(AppError::field(&name, "unknown_field", json!({}))),
        }
    }
    if !has_file {
        return Err(AppError::field("file", "required", json!({})));
    }
    Ok(upload)
}

/// Where a column goes.
#[derive(Clone, Copy)]
enum Target {
    Field(&'static Field),
    Owner,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Field(f) => f.name,
            Target::Owner => "owner_id",
        }
    }
}

/// Columns mapped to fields, checked against the file and the caller's rights.
struct Plan {
    columns: Vec<(usize, Target)>,
    upsert: Option<(usize, &'static Field)>,
    confirm_duplicates: bool,
    skip_duplicates: bool,
    /// The other system's export the file is, whose picklist values are read as ours.
    format: Option<&'static formats::Format>,
    /// Per mapped column, the columns of the same field in the format that fill an empty cell.
    stand_ins: HashMap<usize, Vec<usize>>,
}

fn importable(entity: &Entity, module: &ModuleRights, name: &str) -> Option<Target> {
    if name == "owner_id" && entity.is_owned() {
        return Some(Target::Owner);
    }
    entity
        .field(name)
        .filter(|f| !f.system && module.field(f.name) == FieldAccess::Full)
        .map(Target::Field)
}

fn plan(
    entity: &Entity,
    module: &ModuleRights,
    sheet: &Sheet,
    upload: &Upload,
) -> Result<Plan, AppError> {
    let mut errors = FieldErrors::new();
    let mapping: Map<String, Value> =
        match upload.mapping.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(map))) => map,
            None => return Err(AppError::field("mapping", "required", json!({}))),
            Some(_) => return Err(AppError::field("mapping", "invalid", json!({}))),
        };
    let mut columns: Vec<(usize, Target)> = Vec::new();
    for (header, field) in &mapping {
        let Some(field) = field.as_str().filter(|f| !f.is_empty()) else {
            continue;
        };
        let Some(index) = sheet.headers.iter().position(|h| h == header) else {
            errors.add("mapping", "unknown_column", json!({ "column": header }));
            continue;
        };
        match importable(entity, module, field) {
            Some(target) if columns.iter().any(|(_, t)| t.name() == target.name()) => {
                errors.add("mapping", "mapped_twice", json!({ "field": field }));
            }
            Some(target) => columns.push((index, target)),
            None => errors.add("mapping", "not_importable", json!({ "field": field })),
        }
    }
    if columns.is_empty() && !errors.has("mapping") {
        errors.add("mapping", "required", json!({}));
    }
    let upsert = upload.upsert_key.as_deref().and_then(|key| {
        let found = columns.iter().find_map(|(i, t)| match t {
            Target::Field(f) if f.name == key && is_key_like(f.kind) => Some((*i, *f)),
            _ => None,
        });
        if found.is_none() {
            errors.add("upsert_key", "invalid", json!({}));
        }
        found
    });
    if upload.skip_duplicates && upload.confirm_duplicates {
        errors.add("skip_duplicates", "invalid", json!({}));
    }
    errors.into_result()?;
    let format = formats::recognise(entity.name, &sheet.headers);
    Ok(Plan {
        confirm_duplicates: upload.confirm_duplicates,
        skip_duplicates: upload.skip_duplicates,
        stand_ins: format.map_or_else(HashMap::new, |format| {
            let mapped: Vec<usize> = columns.iter().map(|(i, _)| *i).collect();
            mapped
                .iter()
                .map(|&i| {
                    let others = format.stand_ins(&sheet.headers, i);
                    (
                        i,
                        others.into_iter().filter(|o| !mapped.contains(o)).collect(),
                    )
                })
                .collect()
        }),
        columns,
        upsert,
        format,
    })
}

/// Fields whose value can name one record.
fn is_key_like(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Text { .. } | Kind::Phone | Kind::Email | Kind::Url | Kind::Integer
    )
}

fn lookups(conn: &Connection, entity: &Entity) -> Result<Lookups, AppError> {
    let mut options = picklists::choices(conn, entity.name)?;
    for choices in options.values_mut() {
        choices.retain(|c| c.active);
    }
    let mut users = HashMap::new();
    let mut shared = Vec::new();
    let mut stmt = conn.prepare("SELECT id, username, display_name FROM users WHERE frozen = 0")?;
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (id, username, display) = row?;
        users.insert(username, id);
        if users
            .insert(display.clone(), id)
            .is_some_and(|other| other != id)
        {
            shared.push(display);
        }
    }
    for name in shared {
        users.remove(&name);
    }
    let mut departments = HashMap::new();
    let mut stmt = conn.prepare("SELECT id, name FROM departments")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, name) = row?;
        departments.insert(name, id);
    }
    Ok(Lookups {
        options,
        users,
        departments,
        zone: company_zone(conn)?,
    })
}

/// The request body one row stands for.
fn row_body(entity: &Entity, plan: &Plan, row: &[String], lookups: &Lookups) -> Map<String, Value> {
    let mut body = Map::new();
    let cell_at = |index: usize| row.get(index).map(|c| c.trim()).unwrap_or_default();
    for (index, target) in &plan.columns {
        let stand_ins = plan.stand_ins.get(index).into_iter().flatten();
        let cell = std::iter::once(index)
            .chain(stand_ins)
            .map(|&i| cell_at(i))
            .find(|c| !c.is_empty())
            .unwrap_or_default();
        if cell.is_empty() {
            continue;
        }
        let value = match target {
            Target::Field(field) => {
                let ours = plan.format.and_then(|f| f.value(field.name, cell));
                sheet::value(field, ours.unwrap_or(cell), lookups)
            }
            Target::Owner => lookups
                .users
                .get(cell)
                .map_or_else(|| json!(cell), |id| json!(id)),
        };
        body.insert(target.name().to_string(), value);
    }
    if plan.confirm_duplicates && entity.instructions.contains(&"confirm_duplicate") {
        body.insert("confirm_duplicate".into(), json!(true));
    }
    body
}

/// The visible records (two at most) whose `field` holds `raw`.
fn matching(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    field: &Field,
    raw: &Value,
) -> Result<Vec<i64>, AppError> {
    let Ok(key) = values::parse(field, raw, &[]) else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT t.id FROM {} t WHERE t.{} = ?1 AND t.deleted_at IS NULL AND {} LIMIT 2",
        entity.name,
        field.name,
        store::visible_one(rights, entity, "t")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let ids = stmt
        .query_map([key], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}

/// The visible record whose key field holds the row's key value, if exactly one does.
fn existing(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    field: &Field,
    raw: &Value,
) -> Result<Option<i64>, AppError> {
    match matching(conn, entity, rights, field, raw)?.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        _ => Err(AppError::field(field.name, "ambiguous", json!({}))),
    }
}

/// A reference cell that names its record instead of giving its number (a contact's customer
/// by the customer's name, as other systems export it) becomes the id of the one visible
/// record of that name; a name nobody visible has, or several share, is the row's error.
fn link_by_name(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    body: &mut Map<String, Value>,
) -> Result<(), AppError> {
    for field in entity.fields {
        let Kind::Reference(target) = field.kind else {
            continue;
        };
        let Some(name) = body.get(field.name).and_then(Value::as_str) else {
            continue;
        };
        let Some(target) = registry::find(target) else {
            continue;
        };
        let Some(title) = target.field(target.title) else {
            continue;
        };
        let params = json!({ "name": name });
        let id = match matching(conn, target, rights, title, &json!(name))?.as_slice() {
            [id] => *id,
            [] => return Err(AppError::field(field.name, "unknown_name", params)),
            _ => return Err(AppError::field(field.name, "name_shared", params)),
        };
        body.insert(field.name.to_string(), json!(id));
    }
    Ok(())
}

/// Per picklist field, values of a file that are none of its options.
type Unknown = Vec<(&'static str, Vec<String>)>;

/// What happened to one row.
enum Done {
    Created(i64, i64),
    Updated(i64, i64, Value),
    /// A duplicate left out: the row's number and the record it duplicates, if visible.
    Skipped(usize, Value),
}

fn import_row(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    plan: &Plan,
    mut body: Map<String, Value>,
) -> Result<Done, AppError> {
    link_by_name(tx, entity, caller.rights, &mut body)?;
    let found = match plan.upsert {
        Some((_, field)) => match body.get(field.name) {
            Some(raw) => existing(tx, entity, caller.rights, field, raw)?,
            None => None,
        },
        None => None,
    };
    match found {
        Some(id) => {
            let before = store::fetch(tx, entity, caller.rights, id, false)?
                .ok_or_else(AppError::not_found)?;
            let previous: Map<String, Value> = body
                .keys()
                .filter(|k| entity.field(k).is_some() || *k == "owner_id")
                .map(|k| (k.clone(), before[k].clone()))
                .collect();
            let mut update = body;
            update.insert("version".into(), before["version"].clone());
            let after = store::update(tx, entity, caller, id, &update)?;
            Ok(Done::Updated(
                id,
                after["version"].as_i64().unwrap_or_default(),
                Value::Object(previous),
            ))
        }
        None => {
            let created = store::create(tx, entity, caller, &body)?;
            let id = created["id"].as_i64().unwrap_or_default();
            Ok(Done::Created(
                id,
                created["version"].as_i64().unwrap_or_default(),
            ))
        }
    }
}

/// One line of the report.
fn row_errors(
    row: usize,
    error: &AppError,
    translate: &dyn Fn(&str, &Value) -> String,
) -> Vec<Value> {
    let body = error.body(translate, "");
    let error_body = &body["error"];
    match error_body["field_codes"].as_object() {
        Some(codes) if !codes.is_empty() => codes
            .iter()
            .map(|(field, code)| json!({ "row": row, "field": field, "code": code, "message": error_body["fields"][field] }))
            .collect(),
        _ => vec![json!({ "row": row, "field": null, "code": error_body["code"], "message": error_body["message"] })],
    }
}

/// `kehu import`: the same import as `POST /E/import`, as `caller`, each chunk in a
/// transaction of its own on `conn`.
pub fn import_file(
    conn: &mut Connection,
    entity: &'static Entity,
    caller: &Caller,
    mut upload: Upload,
    dry_run: bool,
    texts: (Arc<Translations>, Lang),
    progress: &dyn Fn(usize, usize),
) -> Result<Value, AppError> {
    let sheet = sheet::read(&upload.file_name, &upload.file)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (i18n, lang) = texts;
    guess_mapping_if_none(
        super::custom::schema(&tx, entity)?,
        caller,
        &sheet,
        &mut upload,
        &i18n,
    )?;
    let job = prepare(
        &tx,
        entity,
        caller,
        (upload, sheet),
        dry_run,
        translator(i18n, lang),
    )?;
    tx.commit()?;
    job::run(&job::OwnConnection(RefCell::new(conn)), job, progress)
}

fn translator(i18n: Arc<Translations>, lang: Lang) -> job::Translate {
    Box::new(move |key: &str, params: &Value| i18n.text(lang, key, params))
}

/// Checks the caller's rights and the mapping, and records the job's batch.
fn prepare(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    (upload, sheet): (Upload, Sheet),
    dry_run: bool,
    translate: job::Translate,
) -> Result<job::Job, AppError> {
    caller.rights.require(entity.name, Action::View)?;
    let module = caller.rights.require(entity.name, Action::Import)?;
    let entity = super::custom::schema(tx, entity)?;
    let plan = plan(entity, &module, &sheet, &upload)?;
    if upload.add_options && !caller.rights.is_admin {
        return Err(AppError::field("add_options", "admin_only", json!({})));
    }
    let start = job::Start {
        entity,
        file_name: upload.file_name,
        sheet,
        plan,
        dry_run,
        translate,
        add_options: upload.add_options,
    };
    job::start(tx, caller, start)
}

/// Values listed per field at most, however many the file holds.
const MAX_UNKNOWN_OPTIONS: usize = 50;

/// The file's values of each picklist column that are no active option of the field (read as
/// a row is: the format's translation, labels in either language), in the file's order.
fn unknown_options(entity: &Entity, plan: &Plan, sheet: &Sheet, lookups: &Lookups) -> Unknown {
    let mut unknown: Unknown = plan
        .columns
        .iter()
        .filter_map(|(_, target)| match target {
            Target::Field(f) if matches!(f.kind, Kind::Picklist | Kind::MultiPicklist) => {
                Some((f.name, Vec::new()))
            }
            _ => None,
        })
        .collect();
    if unknown.is_empty() {
        return unknown;
    }
    for (_, row) in &sheet.rows {
        let body = row_body(entity, plan, row, lookups);
        for (field, values) in &mut unknown {
            let cells: Vec<&str> = match body.get(*field) {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let options = lookups.options.get(*field);
            for cell in cells {
                let known = options.is_some_and(|o| o.iter().any(|c| c.value == cell));
                let new = !known && !values.iter().any(|v| v == cell);
                if new && values.len() < MAX_UNKNOWN_OPTIONS && cell.chars().count() <= 100 {
                    values.push(cell.to_string());
                }
            }
        }
    }
    unknown.retain(|(_, values)| !values.is_empty());
    unknown
}

/// An upload without a mapping gets the one the preview would suggest, from the headers (the
/// same guess for the browser, the API and the CLI).
fn guess_mapping_if_none(
    entity: &Entity,
    caller: &Caller,
    sheet: &Sheet,
    upload: &mut Upload,
    i18n: &Translations,
) -> Result<(), AppError> {
    if upload.mapping.is_none() {
        let module = caller.rights.require(entity.name, Action::Import)?;
        let guessed = suggested_mapping(entity, &module, sheet, i18n);
        upload.mapping = Some(json!(guessed).to_string());
    }
    Ok(())
}

fn flag(query: &HashMap<String, String>, name: &str, default: bool) -> Result<bool, AppError> {
    match query.get(name).map(String::as_str) {
        None => Ok(default),
        Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(AppError::bad_request("invalid_query")
            .with_params(json!({ "detail": format!("{name}={other}") }))),
    }
}

async fn read_sheet(upload: Upload) -> Result<(Upload, Sheet), AppError> {
    web::block(move || {
        let sheet = sheet::read(&upload.file_name, &upload.file)?;
        Ok::<_, AppError>((upload, sheet))
    })
    .await
    .map_err(AppError::internal)?
}

/// Runs `f` on a thread of its own, which waits on the writer between chunks without holding
/// an executor thread.
fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<tokio::sync::oneshot::Receiver<Result<T, AppError>>, AppError> {
    let (reply, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("kehu-import".into())
        .spawn(move || {
            let _ = reply.send(f());
        })
        .map_err(AppError::internal)?;
    Ok(answered)
}

/// `POST /E/import`: answers the report once the import has ended or, with `wait=false`,
/// 202 with the running job at once (`GET /imports/{id}` then tells its progress).
pub async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let dry_run = flag(&query, "dry_run", false)?;
    let wait = flag(&query, "wait", true)?;
    let (mut upload, sheet) = read_sheet(read_upload(payload).await?).await?;
    let lang = request_lang(&req, state.default_lang);
    let texts = state.clone();
    let job = write_as(&state, &req, &user, move |tx, caller| {
        let words = texts.clone();
        let translate: job::Translate =
            Box::new(move |key: &str, params: &Value| words.i18n.text(lang, key, params));
        guess_mapping_if_none(
            super::custom::schema(tx, entity)?,
            caller,
            &sheet,
            &mut upload,
            &texts.i18n,
        )?;
        prepare(tx, entity, caller, (upload, sheet), dry_run, translate)
    })
    .await?;
    let id = job.id;
    let runner = state.clone();
    let answered = on_own_thread(move || job::run(&runner.db, job, &|_, _| {}))?;
    if wait {
        let report = answered
            .await
            .map_err(|_| AppError::internal("the import stopped"))??;
        return Ok(HttpResponse::Ok().json(report));
    }
    let status = batch_status(&state, user, id).await?;
    Ok(HttpResponse::Accepted().json(status))
}

/// A field's label in Chinese and in English.
type Labels<'a> = dyn Fn(&str) -> [String; 2] + 'a;
/// The other headers that name a field.
type Aliases<'a> = dyn Fn(&str) -> Vec<String> + 'a;

/// A field a column header names: its name or its label in either language, else the one
/// field whose label contains the header or is contained in it ("级别" → "客户级别").
///
/// `aliases` are the other headers other systems' exports use for a field (公司名称 for a
/// customer's name), matched whole only.
fn suggest(
    entity: &Entity,
    module: &ModuleRights,
    header: &str,
    (label, aliases): (&Labels<'_>, &Aliases<'_>),
) -> Option<&'static str> {
    let wanted = header.trim().to_lowercase();
    if wanted.chars().count() < 2 {
        return None;
    }
    let names: Vec<&'static str> = entity
        .fields
        .iter()
        .map(|f| f.name)
        .chain(entity.is_owned().then_some("owner_id"))
        .filter(|name| importable(entity, module, name).is_some())
        .collect();
    let labels = |name: &str| label(name).map(|l| l.to_lowercase());
    let alias = |name: &str| {
        aliases(name)
            .iter()
            .any(|a| a.trim().to_lowercase() == wanted)
    };
    if let Some(exact) = names
        .iter()
        .find(|name| **name == wanted || labels(name).contains(&wanted) || alias(name))
    {
        return Some(exact);
    }
    let partial: Vec<&&str> = names
        .iter()
        .filter(|name| {
            labels(name)
                .iter()
                .any(|l| l.contains(&wanted) || wanted.contains(l.as_str()))
        })
        .collect();
    match partial.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

/// Each column header with the field it seems to name ("" when none).
fn suggested_mapping(
    entity: &Entity,
    module: &ModuleRights,
    sheet: &Sheet,
    i18n: &Translations,
) -> Map<String, Value> {
    let label = |name: &str| {
        [Lang::ZhCn, Lang::En].map(|lang| {
            let texts = Texts { i18n, lang };
            match entity.field(name) {
                Some(field) => field.display_label(entity.name, texts),
                None => texts.text(&format!("field.common.{name}")),
            }
        })
    };
    // In the translation files as `import_alias.ENTITY.FIELD`, comma-separated, each language
    // with its own; a field without any has none.
    let aliases = |name: &str| {
        let key = format!("import_alias.{}.{name}", entity.name);
        [Lang::ZhCn, Lang::En]
            .iter()
            .map(|&lang| i18n.text(lang, &key, &Value::Null))
            .filter(|text| *text != key)
            .flat_map(|text| text.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    let format = formats::recognise(entity.name, &sheet.headers);
    let known = |h: &str| format.and_then(|f| f.field_for(h, &sheet.headers));
    // The format's columns first; a guess never takes a field another column already fills.
    let mut taken: Vec<&str> = sheet.headers.iter().filter_map(|h| known(h)).collect();
    sheet
        .headers
        .iter()
        .map(|h| {
            let field = match known(h) {
                Some(field) => Some(field).filter(|f| importable(entity, module, f).is_some()),
                None => {
                    suggest(entity, module, h, (&label, &aliases)).filter(|f| !taken.contains(f))
                }
            };
            taken.extend(field);
            (h.clone(), json!(field.unwrap_or("")))
        })
        .collect()
}

/// The file's columns, its first rows and the fields the columns seem to be, so the browser
/// can offer a mapping before anything is checked.
pub async fn preview(
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let (_, sheet) = read_sheet(read_upload(payload).await?).await?;
    let texts = state.clone();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::Import)?;
            let entity = super::custom::schema(conn, entity)?;
            let mapping = suggested_mapping(entity, &module, &sheet, &texts.i18n);
            let fields: Vec<&str> = entity
                .fields
                .iter()
                .map(|f| f.name)
                .chain(entity.is_owned().then_some("owner_id"))
                .filter(|n| importable(entity, &module, n).is_some())
                .collect();
            Ok(json!({
                "headers": sheet.headers,
                "rows": sheet.rows.len(),
                "sample": sheet.rows.iter().take(PREVIEW_ROWS).map(|(_, r)| r).collect::<Vec<_>>(),
                "mapping": mapping,
                "fields": fields,
                "format": formats::recognise(entity.name, &sheet.headers).map(|f| f.system),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

const BATCH_COLUMNS: &str = "id, entity, user_id, file_name, rows, created, updated, created_at, undone_at,
    (SELECT display_name FROM users u WHERE u.id = b.user_id), state, dry_run, processed, error_count,
    cancel_requested, finished_at";

fn batch_json(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    let (rows, processed): (i64, i64) = (r.get(4)?, r.get(12)?);
    let (started, finished): (i64, Option<i64>) = (r.get(7)?, r.get(15)?);
    let seconds = (finished.unwrap_or_else(now_ms) - started).max(1) as f64 / 1000.0;
    let per_second = processed as f64 / seconds;
    let state: String = r.get(10)?;
    let seconds_left = (state == "running" && per_second > 0.0)
        .then(|| ((rows - processed) as f64 / per_second).ceil());
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "entity": r.get::<_, String>(1)?,
        "user_id": r.get::<_, Option<i64>>(2)?,
        "file_name": r.get::<_, String>(3)?,
        "rows": rows,
        "created": r.get::<_, i64>(5)?,
        "updated": r.get::<_, i64>(6)?,
        "created_at": rfc3339(started),
        "undone_at": r.get::<_, Option<i64>>(8)?.map(rfc3339),
        "user_name": r.get::<_, Option<String>>(9)?,
        "state": state,
        "dry_run": r.get::<_, bool>(11)?,
        "processed": processed,
        "error_count": r.get::<_, i64>(13)?,
        "cancel_requested": r.get::<_, bool>(14)?,
        "finished_at": finished.map(rfc3339),
        "rows_per_second": per_second.round(),
        "seconds_left": seconds_left,
    }))
}

/// The caller's import batches (an administrator sees everyone's), newest first: the kept
/// and running imports, or with `running=true` every running one (dry runs too).
async fn batches(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = query.get("entity").cloned().unwrap_or_default();
    let running = flag(&query, "running", false)?;
    let items = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let sql = format!(
                "SELECT {BATCH_COLUMNS} FROM import_batches b WHERE (?1 OR user_id = ?2) AND (?3 = '' OR entity = ?3)
                    AND (CASE WHEN ?4 THEN state = 'running' ELSE dry_run = 0 AND state IN ('done', 'running') END)
                  ORDER BY id DESC LIMIT 50"
            );
            let mut stmt = conn.prepare(&sql)?;
            let items = stmt.query_map(params![rights.is_admin, user.id, entity, running], batch_json)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// One batch as its importer (or an administrator) may see it, with the report once ended.
async fn batch_status(state: &AppState, user: CurrentUser, id: i64) -> Result<Value, AppError> {
    state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let sql = format!("SELECT {BATCH_COLUMNS}, report FROM import_batches b WHERE id = ?1 AND (?2 OR user_id = ?3)");
            let found = conn
                .query_row(&sql, params![id, rights.is_admin, user.id], |r| {
                    Ok((batch_json(r)?, r.get::<_, Option<String>>(16)?))
                })
                .optional()?;
            let (mut status, report) = found.ok_or_else(AppError::not_found)?;
            if let Some(report) = report.and_then(|r| serde_json::from_str::<Value>(&r).ok()) {
                for key in ["errors", "would_create", "would_update", "batch_id", "unknown_options", "options_added", "skipped", "skipped_rows"] {
                    status[key] = report[key].clone();
                }
            }
            Ok(status)
        })
        .await
}

async fn status(
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(batch_status(&state, user, id.into_inner()).await?))
}

/// Asks a running import to stop; it stops after its current chunk and undoes what it applied.
async fn cancel(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let batch = id.into_inner();
    write_as(&state, &req, &user, move |tx, caller| {
        if batch_of(tx, caller, batch)?.state != "running" {
            return Err(AppError::conflict("import_finished"));
        }
        tx.execute(
            "UPDATE import_batches SET cancel_requested = 1 WHERE id = ?1",
            [batch],
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Accepted().json(batch_status(&state, user, batch).await?))
}

/// Where a batch stands, as its undo and cancel see it.
struct Standing {
    undone: bool,
    state: String,
    dry_run: bool,
}

/// A batch's standing, when the caller imported it or is an administrator.
fn batch_of(tx: &Connection, caller: &Caller, batch: i64) -> Result<Standing, AppError> {
    let found = tx
        .query_row(
            "SELECT user_id, undone_at IS NOT NULL, state, dry_run FROM import_batches WHERE id = ?1",
            [batch],
            |r| {
                let owner: Option<i64> = r.get(0)?;
                let standing = Standing { undone: r.get(1)?, state: r.get(2)?, dry_run: r.get(3)? };
                Ok((owner, standing))
            },
        )
        .optional()?;
    match found {
        Some((owner, standing))
            if owner == Some(caller.rights.user_id) || caller.rights.is_admin =>
        {
            Ok(standing)
        }
        _ => Err(AppError::not_found()),
    }
}

/// Undoes one record of a batch: `Ok(Err(reason))` when it was left alone.
fn undo_record(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    (id, action, version, before): (i64, &str, i64, Option<String>),
) -> Result<Result<&'static str, &'static str>, AppError> {
    let current: Option<(i64, Option<i64>)> = tx
        .query_row(
            &format!(
                "SELECT version, deleted_at FROM {} WHERE id = ?1",
                entity.name
            ),
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match current {
        None | Some((_, Some(_))) => return Ok(Err("not_found")),
        Some((v, None)) if v != version => return Ok(Err("changed_since")),
        _ => {}
    }
    let result = if action == "created" {
        store::delete(tx, entity, caller, id).map(|_| "deleted")
    } else {
        let mut body: Map<String, Value> = before
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or_default();
        body.insert("version".into(), json!(version));
        if entity.instructions.contains(&"confirm_duplicate") {
            body.insert("confirm_duplicate".into(), json!(true));
        }
        store::update(tx, entity, caller, id, &body).map(|_| "reverted")
    };
    match result {
        Ok(done) => Ok(Ok(done)),
        Err(error) if error.status == StatusCode::INTERNAL_SERVER_ERROR => Err(error),
        Err(error) => Ok(Err(error.code)),
    }
}

/// `DELETE /imports/{id}`: undoes a kept batch a chunk at a time (see `job::undo_all`).
async fn undo(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let batch = id.into_inner();
    let actor = write_as(&state, &req, &user, move |tx, caller| {
        let standing = batch_of(tx, caller, batch)?;
        if standing.undone {
            return Err(AppError::conflict("already_undone"));
        }
        if standing.state != "done" || standing.dry_run {
            return Err(AppError::conflict("import_not_kept"));
        }
        tx.execute(
            "UPDATE import_batches SET undone_at = ?1 WHERE id = ?2",
            params![now_ms(), batch],
        )?;
        Ok(caller.actor.clone())
    })
    .await?;
    let runner = state.clone();
    let undone = on_own_thread(move || {
        let undone = job::undo_all(&runner.db, batch, &actor)?;
        let detail = json!({ "batch_id": batch, "deleted": undone.deleted, "reverted": undone.reverted, "skipped": undone.skipped.len() });
        runner.db.write_blocking(move |tx| {
            let entity: String = tx.query_row("SELECT entity FROM import_batches WHERE id = ?1", [batch], |r| r.get(0))?;
            audit::record_for_entity(tx, &actor, "import_undone", &entity, detail)?;
            Ok(())
        })?;
        Ok(undone)
    })?
    .await
    .map_err(|_| AppError::internal("the undo stopped"))??;
    Ok(HttpResponse::Ok().json(json!({ "batch_id": batch, "deleted": undone.deleted, "reverted": undone.reverted, "skipped": undone.skipped })))
}
