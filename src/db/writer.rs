//! Group commit: one thread owns the writes. It takes every write request waiting in its queue,
//! runs each inside a savepoint of one shared transaction, commits once, and only then answers
//! them all. A commit's cost is its fsync (`synchronous = FULL`), so sixteen writers waiting on
//! each other's fsyncs become sixteen writes behind one fsync, with the same guarantees: a
//! request is answered only once its writes are durable, and a request that fails (or panics)
//! is rolled back to its savepoint without touching the others.

use super::locked;
use super::memo::Memo;
use super::{Cached, StorageError};
use crate::http::error::AppError;
use rusqlite::Connection;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// The most requests one commit answers: enough to absorb every concurrent writer of a busy
/// office, few enough that the first of them does not wait long for the last.
const MOST_PER_COMMIT: usize = 32;

/// What a request's run left to do once the shared transaction has ended: answer the request,
/// given the commit's failure if it failed.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// One write request: runs on the writer's connection inside the open transaction.
pub struct Job {
    run: Box<dyn FnOnce(&Connection) -> Answer + Send>,
    /// A step of a long job (an import's chunk, tens of milliseconds): it commits on its own,
    /// so the requests queued behind it wait for it alone, not for the next step as well.
    alone: bool,
}

/// How often the writer, when idle, looks for commits made by other processes.
const LOOK_OUTSIDE_EVERY: Duration = Duration::from_secs(1);

/// Starts the thread that runs `jobs` on `conn` until every sender is gone, telling `memo`
/// which tables each commit changed, and that anything may have changed when another process
/// (`kehu import` or `kehu user` beside the running server) committed.
pub fn start(
    conn: Arc<Mutex<Connection>>,
    memo: Arc<Memo>,
) -> Result<mpsc::Sender<Job>, StorageError> {
    let touched = Arc::new(Mutex::new(HashSet::<String>::new()));
    let noted = touched.clone();
    locked(&conn).update_hook(Some(move |_, _: &str, table: &str, _| {
        // A mark table stands for the WITHOUT ROWID table it marks (migration 015).
        let table = table.strip_prefix("changed_").unwrap_or(table);
        let mut noted = locked(&noted);
        if !noted.contains(table) {
            noted.insert(table.to_owned());
        }
    }))?;
    let (queue, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("kehu-writer".into())
        .spawn(move || {
            let mut outside = OutsideCommits::default();
            let mut held_back: Option<Job> = None;
            loop {
                let next = held_back
                    .take()
                    .map_or_else(|| jobs.recv_timeout(LOOK_OUTSIDE_EVERY), Ok);
                match next {
                    Ok(first) => {
                        let (batch, after) = take_batch(first, &jobs);
                        held_back = after;
                        // Counted before anyone is answered, so a request that reads right
                        // after its write never gets an answer remembered from before it.
                        let tell_memo = || memo.changed(&mut locked(&touched));
                        commit_together(&locked(&conn), batch, tell_memo);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if outside.seen(&locked(&conn)) {
                    memo.changed_outside();
                }
            }
        })?;
    Ok(queue)
}

/// The jobs one commit runs: `first` and those waiting behind it, up to a job that must run
/// alone (answered as the second value, for the next commit). A job that must run alone and
/// comes first is the whole batch.
fn take_batch(first: Job, jobs: &mpsc::Receiver<Job>) -> (Vec<Job>, Option<Job>) {
    if first.alone {
        return (vec![first], None);
    }
    let mut batch = vec![first];
    while batch.len() < MOST_PER_COMMIT {
        match jobs.try_recv() {
            Ok(job) if job.alone => return (batch, Some(job)),
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    (batch, None)
}

/// `PRAGMA data_version` of the writer's connection, which changes only when another
/// connection commits: the server's own writes all go through this one.
#[derive(Default)]
struct OutsideCommits {
    last: Option<i64>,
}

impl OutsideCommits {
    /// Whether another connection committed since the last look.
    fn seen(&mut self, conn: &Connection) -> bool {
        let Ok(version) = conn.one("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) else {
            return true;
        };
        let changed = self.last.is_some_and(|last| last != version);
        self.last = Some(version);
        changed
    }
}

/// A job that runs `f` in its own savepoint and answers through `reply`: with `f`'s result when
/// the transaction commits (or when `f` failed, whose writes are already undone), with an
/// internal error when the commit fails.
pub fn job<T, F>(f: F, reply: tokio::sync::oneshot::Sender<Result<T, AppError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
{
    let run = Box::new(move |conn: &Connection| -> Answer {
        let outcome = in_savepoint(conn, f);
        Box::new(move |commit_failure: Option<&str>| {
            let answer = match (outcome, commit_failure) {
                (Ok(_), Some(failure)) => Err(AppError::internal(failure)),
                (outcome, _) => outcome,
            };
            // The request may have gone (client disconnected); its writes stand either way.
            let _ = reply.send(answer);
        })
    });
    Job { run, alone: false }
}

/// `job` for a step of a long job, committed on its own.
pub fn step<T, F>(f: F, reply: tokio::sync::oneshot::Sender<Result<T, AppError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
{
    Job {
        alone: true,
        ..job(f, reply)
    }
}

/// Runs `batch` in one `BEGIN IMMEDIATE` transaction and answers each job after the commit
/// (and after `committed`, which runs whether the commit succeeded or not). A job whose answer
/// is dropped unsent reaches its request as an internal error.
fn commit_together(conn: &Connection, batch: Vec<Job>, committed: impl FnOnce()) {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(%error, "could not begin a write transaction");
        return;
    }
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    for job in batch {
        if conn.is_autocommit() {
            // SQLite ended the transaction itself (disk full, I/O error): what the jobs before
            // this one wrote is gone, so they must not be told it was saved.
            tracing::error!("a write transaction was rolled back by SQLite; its requests fail");
            answers.clear();
            if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
                tracing::error!(%error, "could not begin a write transaction");
                return;
            }
        }
        answers.push((job.run)(conn));
    }
    let failure = finish(conn);
    committed();
    for answer in answers {
        answer(failure.as_deref());
    }
}

/// Commits the open transaction (if SQLite has not already ended it); on failure rolls back
/// and says why.
fn finish(conn: &Connection) -> Option<String> {
    if conn.is_autocommit() {
        return Some("the write transaction was rolled back".into());
    }
    let error = conn.execute_batch("COMMIT").err()?;
    tracing::error!(%error, "could not commit a write transaction");
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    Some(error.to_string())
}

/// Runs `f` inside a savepoint, keeping its writes only when it succeeds. A panic in `f` is an
/// internal error of this request alone.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    conn.execute_batch("SAVEPOINT kehu_request")?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(AppError::internal("a write request panicked")));
    if conn.is_autocommit() {
        return outcome;
    }
    let kept = outcome.is_ok() && conn.execute_batch("RELEASE kehu_request").is_ok();
    if kept {
        return outcome;
    }
    conn.execute_batch("ROLLBACK TO kehu_request; RELEASE kehu_request")?;
    outcome.and_then(|_| Err(AppError::internal("could not keep a request's writes")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    type Request = Box<dyn FnOnce(&Connection) -> Result<i64, AppError> + Send>;

    fn temp_writer() -> (tempfile::TempDir, Arc<Mutex<Connection>>) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER NOT NULL);")
            .unwrap();
        (dir, Arc::new(Mutex::new(conn)))
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> Result<i64, AppError> + Send + 'static {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    fn stored(conn: &Arc<Mutex<Connection>>) -> Vec<i64> {
        let conn = conn.lock().unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn requests_committed_together_fail_or_panic_alone() {
        let (_dir, conn) = temp_writer();
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        let mut add = |f: Request| {
            let (reply, answered) = tokio::sync::oneshot::channel();
            batch.push(job(f, reply));
            replies.push(answered);
        };
        add(Box::new(insert(1)));
        add(Box::new(|conn| {
            conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
            Err(AppError::not_found())
        }));
        add(Box::new(|conn| {
            conn.execute("INSERT INTO t (v) VALUES (3)", [])?;
            panic!("a bug in one request")
        }));
        add(Box::new(|conn| {
            // A constraint failure after this request's first row was written.
            conn.execute("INSERT INTO t (v) VALUES (4)", [])?;
            conn.execute("INSERT INTO t (v) VALUES (NULL)", [])?;
            Ok(4)
        }));
        add(Box::new(insert(5)));
        commit_together(&conn.lock().unwrap(), batch, || ());
        let answers: Vec<_> = replies
            .into_iter()
            .map(|answered| answered.blocking_recv().unwrap())
            .collect();
        assert_eq!(answers[0].as_ref().unwrap(), &1);
        assert_eq!(answers[1].as_ref().unwrap_err().code, "not_found");
        assert_eq!(answers[2].as_ref().unwrap_err().code, "internal_error");
        assert_eq!(answers[3].as_ref().unwrap_err().code, "internal_error");
        assert_eq!(answers[4].as_ref().unwrap(), &5);
        assert_eq!(stored(&conn), vec![1, 5]);
    }

    #[test]
    fn a_long_job_step_commits_alone() {
        let (queue, jobs) = mpsc::channel::<Job>();
        let mut replies = Vec::new();
        for (v, long) in [
            (1, false),
            (2, false),
            (3, true),
            (4, false),
            (5, true),
            (6, true),
        ] {
            let (reply, answered) = tokio::sync::oneshot::channel();
            let make = if long { step } else { job };
            queue.send(make(insert(v), reply)).unwrap();
            replies.push(answered);
        }
        let mut sizes = Vec::new();
        let mut held_back = None;
        while let Some(first) = held_back.take().or_else(|| jobs.try_recv().ok()) {
            let (batch, after) = take_batch(first, &jobs);
            sizes.push(batch.len());
            held_back = after;
        }
        assert_eq!(
            sizes,
            [2, 1, 1, 1, 1],
            "a step neither joins the requests before it nor takes those after"
        );
    }

    #[test]
    fn a_failed_commit_fails_every_request_of_the_batch() {
        let (_dir, conn) = temp_writer();
        conn.lock()
            .unwrap()
            .execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
                 PRAGMA foreign_keys = ON;",
            )
            .unwrap();
        let (first, first_answered) = tokio::sync::oneshot::channel();
        let (second, second_answered) = tokio::sync::oneshot::channel();
        let batch = vec![
            job(insert(1), first),
            // A deferred foreign key fails only at COMMIT, taking the whole batch with it.
            job(
                |conn: &Connection| Ok(conn.execute("INSERT INTO child (p) VALUES (9)", [])? as i64),
                second,
            ),
        ];
        commit_together(&conn.lock().unwrap(), batch, || ());
        assert!(first_answered.blocking_recv().unwrap().is_err());
        assert!(second_answered.blocking_recv().unwrap().is_err());
        assert_eq!(stored(&conn), Vec::<i64>::new());
        assert!(conn.lock().unwrap().is_autocommit());
    }

    #[test]
    fn concurrent_writers_are_all_answered_after_their_commit() {
        let (_dir, conn) = temp_writer();
        let queue = start(conn.clone(), Arc::default()).unwrap();
        let writers = 8;
        let barrier = Arc::new(Barrier::new(writers));
        let threads: Vec<_> = (0..writers as i64)
            .map(|w| {
                let queue = queue.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    for i in 0..25 {
                        let (reply, answered) = tokio::sync::oneshot::channel();
                        queue.send(job(insert(w * 100 + i), reply)).unwrap();
                        assert_eq!(answered.blocking_recv().unwrap().unwrap(), w * 100 + i);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let mut expected: Vec<i64> = (0..writers as i64)
            .flat_map(|w| (0..25).map(move |i| w * 100 + i))
            .collect();
        expected.sort();
        assert_eq!(stored(&conn), expected);
    }
}
