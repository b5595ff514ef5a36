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
use crate::db::savepoint;
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
use std::collections::HashMap;

const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
const MAX_PART_BYTES: usize = 64 * 1024;
/// Bad rows reported in one answer; the count is always complete.
const MAX_REPORTED_ERRORS: usize = 500;
/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/imports", web::get().to(batches))
        .route("/imports/{id}", web::delete().to(undo));
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
    errors.into_result()?;
    Ok(Plan {
        columns,
        upsert,
        confirm_duplicates: upload.confirm_duplicates,
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
    for (index, target) in &plan.columns {
        let cell = row.get(*index).map(|c| c.trim()).unwrap_or_default();
        if cell.is_empty() {
            continue;
        }
        let value = match target {
            Target::Field(field) => sheet::value(field, cell, lookups),
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

/// The visible record whose key field holds the row's key value, if exactly one does.
fn existing(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    field: &Field,
    raw: &Value,
) -> Result<Option<i64>, AppError> {
    let Ok(key) = values::parse(field, raw, &[]) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT t.id FROM {} t WHERE t.{} = ?1 AND t.deleted_at IS NULL AND {} LIMIT 2",
        entity.name,
        field.name,
        store::visible_one(rights, entity, "t")
    );
    let mut stmt = conn.prepare(&sql)?;
    let ids = stmt
        .query_map([key], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    match ids.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        _ => Err(AppError::field(field.name, "ambiguous", json!({}))),
    }
}

/// What happened to one row.
enum Done {
    Created(i64, i64),
    Updated(i64, i64, Value),
}

fn import_row(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    plan: &Plan,
    body: Map<String, Value>,
) -> Result<Done, AppError> {
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

struct Report {
    rows: usize,
    errors: Vec<Value>,
    error_count: usize,
    done: Vec<Done>,
}

impl Report {
    fn created(&self) -> usize {
        self.done
            .iter()
            .filter(|d| matches!(d, Done::Created(..)))
            .count()
    }

    fn updated(&self) -> usize {
        self.done.len() - self.created()
    }
}

/// How an import talks back while it runs: translated messages for the report, and the count
/// of rows done so far (the command line draws a progress line from it).
pub struct Feedback<'a> {
    pub translate: &'a dyn Fn(&str, &Value) -> String,
    pub progress: &'a dyn Fn(usize, usize),
}

fn run_rows(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    sheet: &Sheet,
    plan: &Plan,
    feedback: &Feedback,
) -> Result<Report, AppError> {
    let lookups = lookups(tx, entity)?;
    let mut report = Report {
        rows: sheet.rows.len(),
        errors: Vec::new(),
        error_count: 0,
        done: Vec::new(),
    };
    for (done, (number, row)) in sheet.rows.iter().enumerate() {
        (feedback.progress)(done, sheet.rows.len());
        let body = row_body(entity, plan, row, &lookups);
        let result = savepoint(
            tx,
            || import_row(tx, entity, caller, plan, body),
            Result::is_ok,
        );
        match result {
            Ok(done) => report.done.push(done),
            Err(error) if error.status == StatusCode::INTERNAL_SERVER_ERROR => return Err(error),
            Err(error) => {
                report.error_count += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    report
                        .errors
                        .extend(row_errors(*number, &error, feedback.translate));
                }
            }
        }
    }
    (feedback.progress)(sheet.rows.len(), sheet.rows.len());
    Ok(report)
}

fn save_batch(
    tx: &Connection,
    entity: &Entity,
    caller: &Caller,
    file_name: &str,
    report: &Report,
) -> Result<i64, AppError> {
    let (created, updated) = (report.created() as i64, report.updated() as i64);
    tx.execute(
        "INSERT INTO import_batches (entity, user_id, file_name, rows, created, updated, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![entity.name, caller.rights.user_id, file_name, report.rows as i64, created, updated, now_ms()],
    )?;
    let batch = tx.last_insert_rowid();
    let mut insert = tx.prepare(
        "INSERT INTO import_records (batch_id, record_id, action, version, before) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (batch_id, record_id) DO UPDATE SET version = excluded.version",
    )?;
    for done in &report.done {
        match done {
            Done::Created(id, version) => {
                insert.execute(params![batch, id, "created", version, None::<String>])?
            }
            Done::Updated(id, version, before) => {
                insert.execute(params![batch, id, "updated", version, before.to_string()])?
            }
        };
    }
    audit::record_for_entity(
        tx,
        caller.actor,
        "import",
        entity.name,
        json!({ "batch_id": batch, "file": file_name, "rows": report.rows, "created": created, "updated": updated }),
    )?;
    Ok(batch)
}

/// Imports a file into `entity` as the caller, or, in a dry run, reports what that would do.
/// `created`/`updated` count what the file does (or, in a dry run, would do) when it has no
/// bad row; `would_*` count the good rows either way.
fn run(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    sheet: &Sheet,
    upload: &Upload,
    dry_run: bool,
    feedback: &Feedback,
) -> Result<Value, AppError> {
    caller.rights.require(entity.name, Action::View)?;
    let module = caller.rights.require(entity.name, Action::Import)?;
    let plan = plan(entity, &module, sheet, upload)?;
    let keep = |report: &Result<Report, AppError>| matches!(report, Ok(r) if r.error_count == 0 && !dry_run);
    let report = savepoint(
        tx,
        || run_rows(tx, entity, caller, sheet, &plan, feedback),
        keep,
    )?;
    let batch_id = if report.error_count == 0 && !dry_run {
        Some(save_batch(tx, entity, caller, &upload.file_name, &report)?)
    } else {
        None
    };
    let clean = report.error_count == 0;
    Ok(json!({
        "batch_id": batch_id,
        "dry_run": dry_run,
        "rows": report.rows,
        "created": if clean { report.created() } else { 0 },
        "updated": if clean { report.updated() } else { 0 },
        "would_create": report.created(),
        "would_update": report.updated(),
        "error_count": report.error_count,
        "errors": report.errors,
    }))
}

/// `kehu import`: the same all-or-nothing import as `POST /E/import`, as `caller`.
pub fn import_file(
    tx: &Connection,
    entity: &'static Entity,
    caller: &Caller,
    mut upload: Upload,
    dry_run: bool,
    texts: Texts,
    progress: &dyn Fn(usize, usize),
) -> Result<Value, AppError> {
    let entity = super::custom::schema(tx, entity)?;
    let sheet = sheet::read(&upload.file_name, &upload.file)?;
    guess_mapping_if_none(entity, caller, &sheet, &mut upload, texts.i18n)?;
    let translate = |key: &str, params: &Value| texts.i18n.text(texts.lang, key, params);
    let feedback = Feedback {
        translate: &translate,
        progress,
    };
    run(tx, entity, caller, &sheet, &upload, dry_run, &feedback)
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

fn dry_run_flag(query: &HashMap<String, String>) -> Result<bool, AppError> {
    match query.get("dry_run").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(AppError::bad_request("invalid_query")
            .with_params(json!({ "detail": format!("dry_run={other}") }))),
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

pub async fn import(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let dry_run = dry_run_flag(&query)?;
    let (mut upload, sheet) = read_sheet(read_upload(payload).await?).await?;
    let lang = request_lang(&req, state.default_lang);
    let texts = state.clone();
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        let translate = |key: &str, params: &Value| texts.i18n.text(lang, key, params);
        let feedback = Feedback {
            translate: &translate,
            progress: &|_, _| {},
        };
        let entity = super::custom::schema(tx, entity)?;
        guess_mapping_if_none(entity, caller, &sheet, &mut upload, &texts.i18n)?;
        run(tx, entity, caller, &sheet, &upload, dry_run, &feedback)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
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
    sheet
        .headers
        .iter()
        .map(|h| {
            (
                h.clone(),
                json!(suggest(entity, module, h, (&label, &aliases)).unwrap_or("")),
            )
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
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

fn batch_json(r: &rusqlite::Row) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, i64>(0)?,
        "entity": r.get::<_, String>(1)?,
        "user_id": r.get::<_, Option<i64>>(2)?,
        "file_name": r.get::<_, String>(3)?,
        "rows": r.get::<_, i64>(4)?,
        "created": r.get::<_, i64>(5)?,
        "updated": r.get::<_, i64>(6)?,
        "created_at": rfc3339(r.get(7)?),
        "undone_at": r.get::<_, Option<i64>>(8)?.map(rfc3339),
        "user_name": r.get::<_, Option<String>>(9)?,
    }))
}

/// The caller's import batches (an administrator sees everyone's), newest first.
async fn batches(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = query.get("entity").cloned().unwrap_or_default();
    let items = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let mut stmt = conn.prepare(
                "SELECT id, entity, user_id, file_name, rows, created, updated, created_at, undone_at,
                        (SELECT display_name FROM users u WHERE u.id = b.user_id)
                   FROM import_batches b WHERE (?1 OR user_id = ?2) AND (?3 = '' OR entity = ?3)
                  ORDER BY id DESC LIMIT 50",
            )?;
            let items = stmt.query_map(params![rights.is_admin, user.id, entity], batch_json)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
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

async fn undo(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let batch = id.into_inner();
    let answer = write_as(&state, &req, &user, move |tx, caller| {
        let found: Option<(String, Option<i64>, Option<i64>)> = tx
            .query_row("SELECT entity, user_id, undone_at FROM import_batches WHERE id = ?1", [batch], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((entity_name, owner, undone)) = found else {
            return Err(AppError::not_found());
        };
        if owner != Some(caller.rights.user_id) && !caller.rights.is_admin {
            return Err(AppError::not_found());
        }
        if undone.is_some() {
            return Err(AppError::conflict("already_undone"));
        }
        let entity = registry::find(&entity_name).ok_or_else(AppError::not_found)?;
        let entity = super::custom::schema(tx, entity)?;
        // The importer may undo their own batch even without the delete right: what they
        // created is put back as it was, which is what they are entitled to ask.
        let everything = Rights::system_for(caller.rights.user_id);
        let system = Caller { rights: &everything, actor: caller.actor };
        let mut stmt = tx.prepare("SELECT record_id, action, version, before FROM import_records WHERE batch_id = ?1")?;
        let records = stmt
            .query_map([batch], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (mut deleted, mut reverted, mut skipped) = (0, 0, Vec::new());
        for (id, action, version, before) in records {
            let record = (id, action.as_str(), version, before);
            let result = savepoint(tx, || undo_record(tx, entity, &system, record), |r| matches!(r, Ok(Ok(_))))?;
            match result {
                Ok("deleted") => deleted += 1,
                Ok(_) => reverted += 1,
                Err(reason) => skipped.push(json!({ "id": id, "reason": reason })),
            }
        }
        tx.execute("UPDATE import_batches SET undone_at = ?1 WHERE id = ?2", params![now_ms(), batch])?;
        audit::record_for_entity(tx, caller.actor, "import_undone", entity.name, json!({ "batch_id": batch, "deleted": deleted, "reverted": reverted, "skipped": skipped.len() }))?;
        Ok(json!({ "batch_id": batch, "deleted": deleted, "reverted": reverted, "skipped": skipped }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
