//! Embedded schema migrations. The schema version is the number of steps applied (kept in
//! `PRAGMA user_version`); each step runs in its own transaction. A database written by a newer
//! binary is refused rather than guessed at, and an existing database is backed up before any
//! step touches it.

use super::{backup, StorageError, APPLICATION_ID};
use rusqlite::Connection;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_core.sql"),
    include_str!("migrations/002_audit.sql"),
    include_str!("migrations/003_organisation.sql"),
    include_str!("migrations/004_customers.sql"),
    include_str!("migrations/005_pool.sql"),
    include_str!("migrations/006_saved_views.sql"),
    include_str!("migrations/007_imports.sql"),
    include_str!("migrations/008_custom_fields.sql"),
    include_str!("migrations/009_sales.sql"),
    include_str!("migrations/010_bigrams.sql"),
    include_str!("migrations/011_owned_at_on_insert.sql"),
    include_str!("migrations/012_list_indexes.sql"),
    include_str!("migrations/013_collaboration.sql"),
    include_str!("migrations/014_announcements.sql"),
    include_str!("migrations/015_change_marks.sql"),
    include_str!("migrations/016_approvals.sql"),
    include_str!("migrations/017_mail.sql"),
    include_str!("migrations/018_webhooks.sql"),
    include_str!("migrations/019_automation.sql"),
    include_str!("migrations/020_office.sql"),
    include_str!("migrations/021_import_jobs.sql"),
];

/// The schema version this binary writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn schema_version(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub fn application_id(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn.query_row("PRAGMA application_id", [], |r| r.get(0))?)
}

/// Brings the database at `db_path` (open as `conn`) to the latest schema.
pub fn migrate(
    conn: &mut Connection,
    db_path: &Path,
    backup_dir: &Path,
) -> Result<(), StorageError> {
    let version = schema_version(conn)?;
    check_is_ours(conn, db_path, version)?;
    if version > latest_version() {
        return Err(StorageError(format!(
            "{} has schema version {version}, but this Kehu binary only knows up to version {}. \
             It was written by a newer Kehu: run that version, or restore a backup made for this one.",
            db_path.display(),
            latest_version()
        )));
    }
    if version == latest_version() {
        return Ok(());
    }
    if version > 0 {
        let file = backup::write_backup(db_path, backup_dir, &format!("pre-migration-v{version}"))?;
        tracing::info!(backup = %file.display(), from = version, to = latest_version(), "backed up before migrating");
    }
    apply_up_to(conn, latest_version())
}

/// Applies the steps after the current version up to `target`. Tests use it to build an
/// older schema.
pub fn apply_up_to(conn: &mut Connection, target: i64) -> Result<(), StorageError> {
    // Migration 010 fills the pairs index with the search tokenizer; whoever migrates needs it.
    super::define_sql_functions(conn)?;
    let current = schema_version(conn)?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let step = index as i64 + 1;
        if step <= current || step > target {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StorageError(format!("migration {step} failed: {e}")))?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {step}; PRAGMA application_id = {APPLICATION_ID};"
        ))?;
        tx.commit()?;
        tracing::info!(version = step, "schema migrated");
    }
    Ok(())
}

/// A version-0 file must be empty (a new database); anything else must carry our application id.
fn check_is_ours(conn: &Connection, db_path: &Path, version: i64) -> Result<(), StorageError> {
    let id = application_id(conn)?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    let ours = id == APPLICATION_ID || (id == 0 && version == 0 && tables == 0);
    if ours {
        Ok(())
    } else {
        Err(StorageError(format!(
            "{} is not a Kehu database (application id {id:#x}); refusing to touch it",
            db_path.display()
        )))
    }
}
