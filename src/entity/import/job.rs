//! An import as a job applied in chunks.
//!
//! The file is read and its mapping checked before anything is written; then its rows are
//! applied a chunk at a time (up to `CHUNK_ROWS` rows or about `CHUNK_TIME`), each chunk one
//! write of the shared writer, so other people's saves go in between instead of waiting for
//! the whole file.
//!
//! All or nothing stays the promise: a chunk is kept only while no row so far was bad (and not
//! in a dry run); after the first bad row the remaining chunks are still checked, each rolled
//! back, so the report lists every bad row; then what the kept chunks applied is undone
//! through the batch, as `DELETE /imports/{id}` would. A cancel ends the same way. A server
//! stopped mid-import finishes the undo when it starts again (`recover`).

use super::{
    import_row, lookups, row_body, row_errors, undo_record, unknown_options, Done, Plan, Unknown,
};
use crate::access::Rights;
use crate::audit::{self, Actor};
use crate::db::{savepoint, Db};
use crate::entity::descriptor::Entity;
use crate::entity::picklists;
use crate::entity::registry;
use crate::entity::sheet::{Lookups, Sheet};
use crate::entity::store::Caller;
use crate::http::error::AppError;
use crate::time::now_ms;
use actix_web::http::StatusCode;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows one chunk applies at most.
const CHUNK_ROWS: usize = 1000;
/// How long a chunk runs before it stops early: what another person's save waits at most
/// behind an import, on top of its own commit.
const CHUNK_TIME: Duration = Duration::from_millis(25);
/// Bad rows kept in a report; the count is always complete.
const MAX_REPORTED_ERRORS: usize = 500;
/// Finished dry runs are kept this long for `GET /imports/{id}`, then forgotten.
const DRY_RUNS_KEPT_MS: i64 = 7 * 24 * 3600 * 1000;

/// Where a job's chunks are written: the server's writer, interleaved with everyone's
/// requests, or the command line's own connection.
pub trait Writer {
    fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static;
}

impl Writer for Db {
    fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        self.write_blocking(f)
    }
}

/// `kehu import`'s connection: each chunk in an immediate transaction of its own, so a
/// server running beside it gets the database between chunks.
pub(super) struct OwnConnection<'a>(pub RefCell<&'a mut Connection>);

impl Writer for OwnConnection<'_> {
    fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        let mut conn = self.0.borrow_mut();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done = f(&tx)?;
        tx.commit()?;
        Ok(done)
    }
}

/// Translates an error code for the report, in the importer's language.
pub(super) type Translate = Box<dyn Fn(&str, &Value) -> String + Send + Sync>;

/// An import checked and ready to run: its batch row exists, in state `running`.
pub(super) struct Job {
    pub id: i64,
    entity: &'static Entity,
    user_id: i64,
    actor: Actor,
    file_name: String,
    sheet: Sheet,
    plan: Plan,
    dry_run: bool,
    translate: Translate,
    /// The file's picklist values that are no option yet (found by `run`).
    unknown_options: Unknown,
    add_options: bool,
}

/// What a job is started from, once its file is read and its mapping planned.
pub(super) struct Start {
    pub entity: &'static Entity,
    pub file_name: String,
    pub sheet: Sheet,
    pub plan: Plan,
    pub dry_run: bool,
    pub translate: Translate,
    /// Whether the file's picklist values that are no option yet become options.
    pub add_options: bool,
}

/// Records the job's batch (state `running`) as the caller.
pub(super) fn start(tx: &Connection, caller: &Caller, start: Start) -> Result<Job, AppError> {
    tx.execute(
        "DELETE FROM import_batches WHERE dry_run = 1 AND state != 'running' AND finished_at < ?1",
        [now_ms() - DRY_RUNS_KEPT_MS],
    )?;
    tx.execute(
        "INSERT INTO import_batches (entity, user_id, file_name, rows, created, updated, created_at, state, dry_run)
         VALUES (?1, ?2, ?3, ?4, 0, 0, ?5, 'running', ?6)",
        params![
            start.entity.name,
            caller.rights.user_id,
            start.file_name,
            start.sheet.rows.len() as i64,
            now_ms(),
            start.dry_run
        ],
    )?;
    Ok(Job {
        id: tx.last_insert_rowid(),
        entity: start.entity,
        user_id: caller.rights.user_id,
        actor: caller.actor.clone(),
        file_name: start.file_name,
        sheet: start.sheet,
        plan: start.plan,
        dry_run: start.dry_run,
        translate: start.translate,
        unknown_options: Unknown::new(),
        add_options: start.add_options,
    })
}

/// What one chunk did.
#[derive(Default)]
struct Chunk {
    next: usize,
    done: Vec<Done>,
    errors: Vec<Value>,
    error_count: usize,
}

enum Step {
    Ran(Chunk),
    Cancelled,
}

fn cancel_requested(tx: &Connection, batch: i64) -> Result<bool, AppError> {
    let asked: Option<bool> = tx
        .query_row(
            "SELECT cancel_requested FROM import_batches WHERE id = ?1",
            [batch],
            |r| r.get(0),
        )
        .optional()?;
    Ok(asked.unwrap_or(true))
}

/// How a chunk runs its rows.
#[derive(Clone, Copy, PartialEq)]
enum Pace {
    /// Each row in a savepoint of its own, so every bad row is found and reported.
    Careful,
    /// The rows one after the other, with no savepoint each (releasing one costs more than
    /// writing the row): the first bad row ends the chunk, which then runs again carefully.
    Straight,
}

/// Runs the rows from `from` on until the chunk is full or has run its time.
fn run_chunk(
    tx: &Connection,
    job: &Job,
    (caller, lookups): (&Caller, &Lookups),
    from: usize,
    pace: Pace,
) -> Result<Chunk, AppError> {
    let started = Instant::now();
    let mut chunk = Chunk {
        next: from,
        ..Chunk::default()
    };
    // In every chunk, and kept with it: a dry run checks the file as it would import.
    if job.add_options {
        for (field, values) in &job.unknown_options {
            picklists::add_missing(tx, job.entity.name, field, values)?;
        }
    }
    for (number, row) in job.sheet.rows[from..].iter().take(CHUNK_ROWS) {
        let body = row_body(job.entity, &job.plan, row, lookups);
        let import = || import_row(tx, job.entity, caller, &job.plan, body);
        let result = match pace {
            Pace::Careful => savepoint(tx, import, Result::is_ok),
            Pace::Straight => import(),
        };
        match result {
            Ok(done) => chunk.done.push(done),
            Err(error) if error.status == StatusCode::INTERNAL_SERVER_ERROR => return Err(error),
            // Straight, the refused row may have written part of itself: run again carefully.
            Err(_) if pace == Pace::Straight => {
                chunk.error_count += 1;
                break;
            }
            Err(error) if job.plan.skip_duplicates && error.code == "duplicate" => {
                let matched = error.current.clone().unwrap_or(Value::Null);
                chunk.done.push(Done::Skipped(*number, matched));
            }
            Err(error) => {
                chunk.error_count += 1;
                chunk
                    .errors
                    .extend(row_errors(*number, &error, &*job.translate));
            }
        }
        chunk.next += 1;
        if started.elapsed() >= CHUNK_TIME {
            break;
        }
    }
    Ok(chunk)
}

/// One chunk as one write: kept (with what it did remembered in the batch) only when `keep`
/// and none of its rows is bad. A chunk first runs straight; when a row is bad, what it wrote
/// is rolled back and it runs again carefully, to report every bad row.
fn apply_chunk(
    tx: &Connection,
    job: &Job,
    from: usize,
    (keep, pace): (bool, Pace),
) -> Result<Step, AppError> {
    if cancel_requested(tx, job.id)? {
        return Ok(Step::Cancelled);
    }
    let rights = Rights::load(tx, job.user_id)?;
    let caller = Caller {
        rights: &rights,
        actor: &job.actor,
    };
    let lookups = lookups(tx, job.entity)?;
    let kept =
        |chunk: &Result<Chunk, AppError>| keep && matches!(chunk, Ok(c) if c.error_count == 0);
    let attempt = |pace| {
        savepoint(
            tx,
            || run_chunk(tx, job, (&caller, &lookups), from, pace),
            kept,
        )
    };
    let mut chunk = attempt(pace)?;
    if pace == Pace::Straight && chunk.error_count > 0 {
        chunk = attempt(Pace::Careful)?;
    }
    let kept = keep && chunk.error_count == 0;
    let (created, updated) = if kept {
        remember(tx, job.id, &chunk.done)?
    } else {
        (0, 0)
    };
    tx.execute(
        "UPDATE import_batches SET processed = ?2, error_count = error_count + ?3,
                created = created + ?4, updated = updated + ?5 WHERE id = ?1",
        params![
            job.id,
            chunk.next as i64,
            chunk.error_count as i64,
            created,
            updated
        ],
    )?;
    Ok(Step::Ran(chunk))
}

/// Writes what a kept chunk created and changed into the batch; answers how many of each.
fn remember(tx: &Connection, batch: i64, done: &[Done]) -> Result<(i64, i64), AppError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO import_records (batch_id, record_id, action, version, before) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (batch_id, record_id) DO UPDATE SET version = excluded.version",
    )?;
    let (mut created, mut updated) = (0, 0);
    for done in done {
        match done {
            Done::Created(id, version) => {
                created += 1;
                insert.execute(params![batch, id, "created", version, None::<String>])?
            }
            Done::Updated(id, version, before) => {
                updated += 1;
                insert.execute(params![batch, id, "updated", version, before.to_string()])?
            }
            Done::Skipped(..) => 0,
        };
    }
    Ok((created, updated))
}

/// The report a job builds as its chunks come back.
#[derive(Default)]
struct Tally {
    would_create: usize,
    would_update: usize,
    errors: Vec<Value>,
    error_count: usize,
    skipped: usize,
    skipped_rows: Vec<Value>,
}

impl Tally {
    fn add(&mut self, chunk: Chunk) {
        for done in &chunk.done {
            match done {
                Done::Created(..) => self.would_create += 1,
                Done::Updated(..) => self.would_update += 1,
                Done::Skipped(row, matched) => {
                    self.skipped += 1;
                    if self.skipped_rows.len() < MAX_REPORTED_ERRORS {
                        self.skipped_rows
                            .push(json!({ "row": row, "duplicate_of": matched }));
                    }
                }
            }
        }
        self.error_count += chunk.error_count;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(chunk.errors.into_iter().take(room));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Done,
    Failed,
    Cancelled,
}

impl Ending {
    fn state(self) -> &'static str {
        match self {
            Ending::Done => "done",
            Ending::Failed => "failed",
            Ending::Cancelled => "cancelled",
        }
    }
}

/// Runs the job to its end and answers its report (the shape `POST /E/import` answers).
/// `progress` hears the rows done after each chunk.
pub(super) fn run(
    writer: &impl Writer,
    job: Job,
    progress: &dyn Fn(usize, usize),
) -> Result<Value, AppError> {
    let job = Arc::new(with_unknown_options(writer, job));
    let total = job.sheet.rows.len();
    let mut tally = Tally::default();
    let mut next = 0;
    progress(0, total);
    while next < total {
        let keep = !job.dry_run && tally.error_count == 0;
        // Once the file has a bad row, bad rows are likely: straight runs would mostly be lost.
        let pace = if tally.error_count == 0 {
            Pace::Straight
        } else {
            Pace::Careful
        };
        let shared = job.clone();
        match writer.write(move |tx| apply_chunk(tx, &shared, next, (keep, pace))) {
            Ok(Step::Ran(chunk)) => {
                next = chunk.next;
                tally.add(chunk);
            }
            Ok(Step::Cancelled) => return end(writer, &job, Ending::Cancelled, tally),
            Err(error) => {
                if let Err(also) = end(writer, &job, Ending::Failed, tally) {
                    tracing::error!(%also, batch = job.id, "an interrupted import was not undone; it will be at the next start");
                }
                return Err(error);
            }
        }
        progress(next, total);
    }
    let ending = if tally.error_count > 0 {
        Ending::Failed
    } else {
        Ending::Done
    };
    end(writer, &job, ending, tally)
}

/// The job with the file's picklist values that are no option yet, scanned on the job's own
/// thread rather than in the writer's transaction (a pass over every row). When the options
/// cannot be read, none are listed: the first chunk then fails on the same database.
fn with_unknown_options(writer: &impl Writer, mut job: Job) -> Job {
    let entity = job.entity;
    if let Ok(known) = writer.write(move |tx| lookups(tx, entity)) {
        job.unknown_options = unknown_options(entity, &job.plan, &job.sheet, &known);
    }
    job
}

/// Undoes what a failed or cancelled import applied, records its ending and answers the report.
fn end(
    writer: &impl Writer,
    job: &Arc<Job>,
    ending: Ending,
    tally: Tally,
) -> Result<Value, AppError> {
    if ending != Ending::Done && !job.dry_run {
        undo_all(writer, job.id, &job.actor)?;
        if job.add_options {
            let shared = job.clone();
            writer.write(move |tx| {
                for (field, values) in &shared.unknown_options {
                    picklists::remove_unused(tx, shared.entity, field, values)?;
                }
                Ok(())
            })?;
        }
    }
    let kept = ending == Ending::Done && !job.dry_run;
    let unknown: Vec<Value> = job
        .unknown_options
        .iter()
        .map(|(field, values)| json!({ "field": field, "values": values }))
        .collect();
    let report = json!({
        "id": job.id,
        "batch_id": kept.then_some(job.id),
        "state": ending.state(),
        "dry_run": job.dry_run,
        "rows": job.sheet.rows.len(),
        "created": if kept { tally.would_create } else { 0 },
        "updated": if kept { tally.would_update } else { 0 },
        "would_create": tally.would_create,
        "would_update": tally.would_update,
        "error_count": tally.error_count,
        "errors": tally.errors,
        "unknown_options": unknown,
        "skipped": tally.skipped,
        "skipped_rows": tally.skipped_rows,
        "options_added": kept && job.add_options,
    });
    let shared = job.clone();
    let stored = report.clone();
    writer.write(move |tx| finish(tx, &shared, ending, &stored))?;
    Ok(report)
}

fn finish(tx: &Connection, job: &Job, ending: Ending, report: &Value) -> Result<(), AppError> {
    let kept = ending == Ending::Done && !job.dry_run;
    tx.execute(
        "UPDATE import_batches SET state = ?2, finished_at = ?3, report = ?4,
                created = ?5, updated = ?6 WHERE id = ?1",
        params![
            job.id,
            ending.state(),
            now_ms(),
            report.to_string(),
            report["created"].as_i64(),
            report["updated"].as_i64()
        ],
    )?;
    if kept {
        let detail = json!({ "batch_id": job.id, "file": job.file_name, "rows": report["rows"], "created": report["created"], "updated": report["updated"] });
        audit::record_for_entity(tx, &job.actor, "import", job.entity.name, detail)?;
    }
    Ok(())
}

/// What undoing a batch did.
#[derive(Default)]
pub struct Undone {
    pub deleted: usize,
    pub reverted: usize,
    pub skipped: Vec<Value>,
}

/// Undoes a batch's records a chunk at a time. Each record is forgotten by the batch once
/// undone, so an undo that was interrupted goes on from where it stopped.
pub fn undo_all(writer: &impl Writer, batch: i64, actor: &Actor) -> Result<Undone, AppError> {
    let mut undone = Undone::default();
    loop {
        let actor = actor.clone();
        let (chunk, left) = writer.write(move |tx| undo_chunk(tx, batch, &actor))?;
        undone.deleted += chunk.deleted;
        undone.reverted += chunk.reverted;
        undone.skipped.extend(chunk.skipped);
        if !left {
            return Ok(undone);
        }
    }
}

type Record = (i64, String, i64, Option<String>);

fn undo_chunk(tx: &Connection, batch: i64, actor: &Actor) -> Result<(Undone, bool), AppError> {
    let (entity_name, user_id): (String, Option<i64>) = tx.query_row(
        "SELECT entity, user_id FROM import_batches WHERE id = ?1",
        [batch],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let entity = registry::find(&entity_name).ok_or_else(AppError::not_found)?;
    let entity = crate::entity::custom::schema(tx, entity)?;
    // What the importer created is put back as it was, whoever undoes it and whatever their
    // rights today: they are entitled to ask for that much.
    let everything = Rights::system_for(actor.user_id.or(user_id).unwrap_or_default());
    let system = Caller {
        rights: &everything,
        actor,
    };
    let records: Vec<Record> = tx
        .prepare_cached(
            "SELECT record_id, action, version, before FROM import_records WHERE batch_id = ?1
              ORDER BY record_id DESC LIMIT ?2",
        )?
        .query_map(params![batch, CHUNK_ROWS as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let started = Instant::now();
    let mut undone = Undone::default();
    for (id, action, version, before) in records {
        let record = (id, action.as_str(), version, before);
        let result = savepoint(
            tx,
            || undo_record(tx, entity, &system, record),
            |r| matches!(r, Ok(Ok(_))),
        )?;
        match result {
            Ok("deleted") => undone.deleted += 1,
            Ok(_) => undone.reverted += 1,
            Err(reason) => undone.skipped.push(json!({ "id": id, "reason": reason })),
        }
        tx.execute(
            "DELETE FROM import_records WHERE batch_id = ?1 AND record_id = ?2",
            [batch, id],
        )?;
        if started.elapsed() >= CHUNK_TIME {
            break;
        }
    }
    let left: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM import_records WHERE batch_id = ?1)",
        [batch],
        |r| r.get(0),
    )?;
    Ok((undone, left))
}

/// At start-up: an import the last run left `running` is undone and marked failed, and an
/// undo it left half-way is finished. Only what began before `started` (this run's start,
/// in ms) counts, so an import someone starts meanwhile is left to run.
pub fn recover(db: &Db, started: i64) -> Result<(), AppError> {
    let unfinished: Vec<(i64, String)> = db.write_blocking(move |tx| {
        let mut stmt = tx.prepare(
            "SELECT id, state FROM import_batches b
              WHERE coalesce(undone_at, created_at) < ?1
                AND (state = 'running'
                     OR ((state != 'done' OR undone_at IS NOT NULL)
                         AND EXISTS (SELECT 1 FROM import_records r WHERE r.batch_id = b.id)))",
        )?;
        let found = stmt
            .query_map([started], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(found)
    })?;
    for (batch, state) in unfinished {
        undo_all(db, batch, &Actor::default())?;
        if state == "running" {
            db.write_blocking(move |tx| {
                tx.execute(
                    "UPDATE import_batches SET state = 'failed', finished_at = ?2, created = 0, updated = 0 WHERE id = ?1",
                    params![batch, now_ms()],
                )?;
                Ok(())
            })?;
        }
        tracing::warn!(batch, "an import interrupted by a stop was undone");
    }
    Ok(())
}
