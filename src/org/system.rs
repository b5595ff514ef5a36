//! `#/settings/system` for administrators: what is running, how big the database is, and the
//! backups on disk, with "back up now" and download (SPEC §7). Downloads are limited to the
//! names found in the backup directory, so no request can reach another file.

use super::actor;
use crate::audit;
use crate::auth::session::Admin;
use crate::db::{backup, migrations};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::time::rfc3339;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Label of backups made from the browser; `kehu backup --keep` does not prune them.
const MANUAL_LABEL: &str = "manual";
const LISTED_BACKUPS: usize = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/system/status", web::get().to(status))
        .route("/system/backups", web::post().to(create_backup))
        .route("/system/backups/{name}", web::get().to(download_backup));
}

fn file_bytes(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Backups in `dir`, newest first: `kehu-*.db` files only.
fn backups_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            (name.starts_with("kehu-") && name.ends_with(".db")).then_some((name, path))
        })
        .collect();
    found.sort_by(|a, b| {
        modified_ms(&b.1)
            .cmp(&modified_ms(&a.1))
            .then(b.0.cmp(&a.0))
    });
    found
}

/// The full path an operator can find on the server (relative paths depend on where Kehu started).
fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn modified_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

fn backup_json(name: &str, path: &Path) -> Value {
    json!({ "name": name, "bytes": file_bytes(path), "created_at": rfc3339(modified_ms(path)) })
}

async fn status(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let db_path = state.db.path().to_path_buf();
    let backup_dir = state.config.backup_dir();
    let schema = state
        .db
        .read(|conn| migrations::schema_version(conn).map_err(AppError::internal))
        .await?;
    let answer = web::block(move || {
        let wal = PathBuf::from(format!("{}-wal", db_path.display()));
        let backups: Vec<Value> = backups_in(&backup_dir)
            .iter()
            .take(LISTED_BACKUPS)
            .map(|(name, path)| backup_json(name, path))
            .collect();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "schema_version": schema,
            "database_path": absolute(&db_path),
            "database_bytes": file_bytes(&db_path) + file_bytes(&wal),
            "backup_dir": absolute(&backup_dir),
            "backups": backups,
        })
    })
    .await
    .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().json(answer))
}

async fn create_backup(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
) -> Result<HttpResponse, AppError> {
    let db_path = state.db.path().to_path_buf();
    let backup_dir = state.config.backup_dir();
    let file = web::block(move || backup::write_backup(&db_path, &backup_dir, MANUAL_LABEL))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let who = actor(&req, &user);
    let detail = json!({ "file": file.display().to_string() });
    state
        .db
        .write(move |tx| Ok(audit::record(tx, &who, "backup", None, detail)?))
        .await?;
    Ok(HttpResponse::Created().json(backup_json(&name, &file)))
}

async fn download_backup(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: Admin,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let backup_dir = state.config.backup_dir();
    let wanted = name.clone();
    let bytes = web::block(move || {
        let found = backups_in(&backup_dir)
            .into_iter()
            .find(|(n, _)| *n == wanted);
        found.map(|(_, path)| std::fs::read(path)).transpose()
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?
    .ok_or_else(AppError::not_found)?;
    let who = actor(&req, &user);
    let detail = json!({ "file": name });
    state
        .db
        .write(move |tx| Ok(audit::record(tx, &who, "backup_downloaded", None, detail)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/vnd.sqlite3"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}
