//! Backup, restore and integrity check: the operator's safety net.
//!
//! A backup is SQLite's online backup of every page in one step into a temporary name (one
//! read transaction: a consistent snapshot however much the server writes meanwhile, where a
//! stepwise copy restarts whenever another connection writes), then fsync,
//! `PRAGMA integrity_check`, and only then a rename to its final name: a file named `kehu-*.db`
//! in a backup directory has always passed the check. Pages are copied as they are, so the
//! copy costs the server little CPU (`VACUUM INTO`, used before, rebuilt every index and took
//! half a core from a busy server for minutes).

use super::{
    lock::DataDirLock, migrations, open_connection, open_read_only, StorageError, APPLICATION_ID,
};
use chrono::Utc;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Label of backups made by `kehu backup`; only these are pruned by `--keep`.
pub const SCHEDULED_LABEL: &str = "backup";

fn timestamp() -> String {
    Utc::now().format("%Y%m%d-%H%M%S-%3f").to_string()
}

/// Writes a verified copy of the database at `db_path` into `out_dir` and returns its path.
pub fn write_backup(db_path: &Path, out_dir: &Path, label: &str) -> Result<PathBuf, StorageError> {
    if !db_path.exists() {
        return Err(StorageError(format!(
            "no database at {}",
            db_path.display()
        )));
    }
    fs::create_dir_all(out_dir)
        .map_err(|e| StorageError(format!("cannot create {}: {e}", out_dir.display())))?;
    let _yielding = Yielding::start();
    let name = format!("kehu-{label}-{}.db", timestamp());
    let final_path = out_dir.join(&name);
    let temp_path = out_dir.join(format!(".{name}.partial"));
    let result = snapshot_into(db_path, &temp_path)
        .and_then(|()| verify_database(&temp_path))
        .and_then(|()| {
            fs::rename(&temp_path, &final_path)?;
            sync_dir(out_dir)
        });
    if result.is_err() {
        let _ = fs::remove_file(&temp_path);
    }
    result.map(|()| final_path)
}

/// While alive, the calling thread reads and writes the disk only when nobody else needs it
/// (Linux's idle I/O class, which the `mq-deadline` and `bfq` schedulers honour): a backup
/// streams the whole database, and the people using the server should not wait behind it.
/// Dropping it restores the thread's class, since the thread may be one of the server's.
struct Yielding {
    before: Option<i64>,
}

#[cfg(target_os = "linux")]
impl Yielding {
    const WHO_THREAD: libc::c_long = 1;
    const IDLE: libc::c_long = 3 << 13;

    fn start() -> Yielding {
        // SAFETY: ioprio_get and ioprio_set take integers only and touch no memory of ours.
        let before = unsafe { libc::syscall(libc::SYS_ioprio_get, Self::WHO_THREAD, 0) };
        let idle = unsafe { libc::syscall(libc::SYS_ioprio_set, Self::WHO_THREAD, 0, Self::IDLE) };
        Yielding {
            before: (before >= 0 && idle == 0).then_some(before),
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Yielding {
    fn drop(&mut self) {
        if let Some(before) = self.before {
            // SAFETY: as in `start`.
            unsafe { libc::syscall(libc::SYS_ioprio_set, Self::WHO_THREAD, 0, before) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Yielding {
    fn start() -> Yielding {
        Yielding { before: None }
    }
}

fn snapshot_into(db_path: &Path, temp_path: &Path) -> Result<(), StorageError> {
    let source = open_connection(db_path)?;
    let mut target = Connection::open(temp_path)?;
    // Durability comes from the fsync below, before the copy is checked and named.
    target.execute_batch("PRAGMA synchronous = OFF")?;
    copy_every_page(&source, &mut target)?;
    // A self-contained file: the rollback journal, not the write-ahead log the source uses.
    target.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
    drop(target);
    File::open(temp_path)?.sync_all()?;
    Ok(())
}

/// Copies all of `source` into `target` in one backup step. Only the start can be refused
/// (a lock held a moment by a checkpoint); it is retried for a few seconds.
fn copy_every_page(source: &Connection, target: &mut Connection) -> Result<(), StorageError> {
    let backup = Backup::new(source, target)?;
    for _ in 0..100 {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            _ => {}
        }
    }
    Err(StorageError("the database stayed locked; try again".into()))
}

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Deletes the oldest scheduled backups in `dir` so that at most `keep` remain; returns the
/// removed files. Backups with other labels (pre-migration, pre-restore) are never pruned.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, StorageError> {
    let prefix = format!("kehu-{SCHEDULED_LABEL}-");
    let mut backups: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".db"))
        })
        .collect();
    // Names embed a sortable UTC timestamp: newest last.
    backups.sort();
    let excess = backups.len().saturating_sub(keep);
    let removed: Vec<PathBuf> = backups.into_iter().take(excess).collect();
    for path in &removed {
        fs::remove_file(path)?;
    }
    Ok(removed)
}

/// Accepts only a sound Kehu database that this binary can open.
pub fn verify_database(path: &Path) -> Result<(), StorageError> {
    let refuse = |why: String| {
        StorageError(format!(
            "{} is not a usable Kehu database: {why}",
            path.display()
        ))
    };
    if !path.is_file() {
        return Err(refuse("no such file".into()));
    }
    let conn = open_read_only(path).map_err(|e| refuse(e.to_string()))?;
    let problems = integrity_problems(&conn).map_err(|e| refuse(e.to_string()))?;
    if !problems.is_empty() {
        return Err(refuse(format!(
            "integrity check failed: {}",
            problems.join("; ")
        )));
    }
    let id = migrations::application_id(&conn)?;
    if id != APPLICATION_ID {
        return Err(refuse(format!("application id {id:#x} is not Kehu's")));
    }
    let version = migrations::schema_version(&conn)?;
    if !(1..=migrations::latest_version()).contains(&version) {
        return Err(refuse(format!(
            "schema version {version}; this binary reads versions 1 to {}",
            migrations::latest_version()
        )));
    }
    Ok(())
}

/// Rows of `PRAGMA integrity_check` other than "ok".
pub fn integrity_problems(conn: &rusqlite::Connection) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            problems.push(row);
        }
    }
    Ok(problems)
}

/// Integrity and foreign-key problems of the database at `db_path`, for `kehu check`.
pub fn check(db_path: &Path) -> Result<Vec<String>, StorageError> {
    if !db_path.is_file() {
        return Err(StorageError(format!(
            "no database at {}",
            db_path.display()
        )));
    }
    let conn = open_read_only(db_path)?;
    let mut problems = integrity_problems(&conn)?;
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            "row {} of table {} points to a missing row of {}",
            r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
            r.get::<_, String>(0)?,
            r.get::<_, String>(2)?
        ))
    })?;
    for row in rows {
        problems.push(row?);
    }
    Ok(problems)
}

/// Replaces the database in `data_dir` with the backup `file`. Refuses while a server holds the
/// data dir, and refuses a file that is not a sound Kehu database; the replaced database is kept
/// beside the new one and its path returned.
pub fn restore(
    data_dir: &Path,
    db_name: &str,
    file: &Path,
) -> Result<Option<PathBuf>, StorageError> {
    let _lock = DataDirLock::acquire(data_dir)?;
    verify_database(file)?;
    let db_path = data_dir.join(db_name);
    let staged = data_dir.join(format!("{db_name}.restoring"));
    fs::copy(file, &staged)?;
    File::open(&staged)?.sync_all()?;
    if let Err(e) = verify_database(&staged) {
        let _ = fs::remove_file(&staged);
        return Err(e);
    }
    let kept = if db_path.exists() {
        // Best effort: the database being replaced may be the damaged one.
        if let Err(e) = fold_wal_into(&db_path) {
            tracing::warn!(error = %e, "could not checkpoint the replaced database; keeping its log beside it");
        }
        let kept = data_dir.join(format!("{db_name}.replaced-{}", timestamp()));
        fs::rename(&db_path, &kept)?;
        Some(kept)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let leftover = data_dir.join(format!("{db_name}{suffix}"));
        if !leftover.exists() {
            continue;
        }
        match &kept {
            Some(kept) => fs::rename(&leftover, format!("{}{suffix}", kept.display()))?,
            None => fs::remove_file(&leftover)?,
        }
    }
    fs::rename(&staged, &db_path)?;
    sync_dir(data_dir)?;
    Ok(kept)
}

/// Moves every committed page from the write-ahead log into the main file, so the file alone
/// is the whole database.
fn fold_wal_into(db_path: &Path) -> Result<(), StorageError> {
    let conn = open_connection(db_path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn io_class() -> libc::c_long {
        // SAFETY: as in `Yielding::start`.
        unsafe { libc::syscall(libc::SYS_ioprio_get, Yielding::WHO_THREAD, 0) >> 13 }
    }

    #[test]
    fn a_backup_thread_yields_the_disk_and_gets_its_class_back() {
        std::thread::spawn(|| {
            let before = io_class();
            let yielding = Yielding::start();
            assert_eq!(io_class(), 3, "idle while the backup runs");
            drop(yielding);
            assert_eq!(io_class(), before);
        })
        .join()
        .unwrap();
    }
}
