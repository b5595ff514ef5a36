//! The database: a pool of read connections beside one writer connection.
//!
//! SQLite allows one writer at a time; funnelling every write through one connection (the
//! `writer` thread, which commits the requests waiting together) means writers queue in-process
//! instead of failing with `SQLITE_BUSY`, and a request's writes commit or roll back together.
//! All blocking work runs off the async workers.

pub mod backup;
pub mod lock;
pub mod memo;
pub mod migrations;
pub mod query;
mod writer;

use crate::http::error::AppError;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

/// `PRAGMA application_id` of every Kehu database ("KEHU"), so restore can tell ours from others.
pub const APPLICATION_ID: i64 = 0x4B45_4855;

/// Failure of an operator-level storage job (open, migrate, backup, restore, check).
#[derive(Debug)]
pub struct StorageError(pub String);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StorageError {}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError(format!("database error: {e}"))
    }
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError(format!("file error: {e}"))
    }
}

impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        StorageError(format!("connection pool error: {e}"))
    }
}

/// SQL functions the layers above define on every connection, migrations included (the search
/// index's tokenizer): set once at start-up, before the first connection opens. The database
/// layer runs them without knowing what they are.
pub type SqlFunctions = fn(&Connection) -> rusqlite::Result<()>;

static SQL_FUNCTIONS: OnceLock<SqlFunctions> = OnceLock::new();

/// Sets the functions `SqlFunctions` describes; later calls keep the first.
pub fn set_sql_functions(functions: SqlFunctions) {
    let _ = SQL_FUNCTIONS.set(functions);
}

/// Defines the functions set at start-up (none before).
pub(crate) fn define_sql_functions(conn: &Connection) -> rusqlite::Result<()> {
    SQL_FUNCTIONS.get().map_or(Ok(()), |define| define(conn))
}

/// Per-connection settings. `synchronous=FULL`: in WAL mode NORMAL may lose the last commits on
/// power loss; a CRM that says "saved" must mean it, and with one writer the extra fsync per
/// commit costs little.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    // Room for every entity's hot statements (see `Cached`); the default keeps 16.
    conn.set_prepared_statement_cache_capacity(256);
    // Plans do not depend on bound values. Without this, with the `sqlite_stat4` statistics
    // `PRAGMA optimize` gathers, every cached statement with a range or LIKE on a bound value
    // is prepared again on each run (SQLite expires it when the value is rebound).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    define_sql_functions(conn)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -8000;",
    )
}

/// The writer's page cache keeps the index pages every insert touches: twice a reader's.
/// Readers' caches are small because there are many of them (`read_pool_size`), each private,
/// and the operating system's cache behind them is shared.
///
/// No `journal_size_limit`: under steady writes the log outgrows a small limit between
/// restarts, and cutting it back at each restart to grow it again took the benchmark's updates
/// from 6,400 to 3,100 a second, p99 5 → 79 ms (64 MiB limit, large set). A stopped server
/// leaves no log (`Db::checkpoint`).
const WRITER_CACHE: &str = "PRAGMA cache_size = -16000";

/// Copies what the write-ahead log holds into the database file every second, from a connection
/// of its own (a passive checkpoint: it waits for nobody and nobody waits for it). It stops,
/// closing its connection, when told to or when every `Db` is gone.
struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, StorageError> {
        let conn = open_connection(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kehu-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_secs(1))
                {
                    if let Err(error) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(%error, "could not fold the write-ahead log into the database");
                    }
                }
            })?;
        Ok(Checkpointer { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Opens a connection with Kehu's settings, for operator jobs outside the server.
pub fn open_connection(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    Ok(conn)
}

/// Opens an existing file read-only, without creating it.
pub fn open_read_only(path: &Path) -> Result<Connection, StorageError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Where a queued write's result arrives.
type Answered<T> = tokio::sync::oneshot::Receiver<Result<T, AppError>>;
/// Where the writer sends a request's outcome.
type Reply<T> = tokio::sync::oneshot::Sender<Result<T, AppError>>;

#[derive(Clone)]
pub struct Db {
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// One permit per pooled read connection, taken before a read leaves the async executor:
    /// a burst of reads (every open notification stream woken by one announcement) waits here
    /// instead of parking a blocking thread each on the pool, which took 500 threads and a
    /// gigabyte of their stacks for 500 streams.
    read_slots: Arc<tokio::sync::Semaphore>,
    writer: Arc<Mutex<Connection>>,
    write_queue: mpsc::Sender<writer::Job>,
    memo: Arc<memo::Memo>,
    checkpointer: Arc<Mutex<Option<Checkpointer>>>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) and migrates the database in `data_dir`. Before migrating an
    /// existing database, a backup is written to `backup_dir`.
    pub fn open(path: &Path, backup_dir: &Path, read_pool_size: u32) -> Result<Db, StorageError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = open_connection(path)?;
        // WAL is a property of the file: set it once here, before the pool opens connections
        // (setting it in every pooled connection races on a new file).
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError(format!(
                "{} cannot use write-ahead logging (journal mode {mode}); is it on a network filesystem?",
                path.display()
            )));
        }
        migrations::migrate(&mut writer, path, backup_dir)?;
        // The log is folded into the file by the `Checkpointer`, never by a commit:
        // a commit that checkpoints holds the writer (and every queued write) for its fsyncs.
        writer.execute_batch("PRAGMA wal_autocheckpoint = 0")?;
        writer.execute_batch(WRITER_CACHE)?;
        let checkpointer = Checkpointer::start(path)?;
        let manager =
            SqliteConnectionManager::file(path).with_init(|conn: &mut Connection| configure(conn));
        let readers = r2d2::Pool::builder()
            .max_size(read_pool_size)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        let writer = Arc::new(Mutex::new(writer));
        let memo = Arc::new(memo::Memo::default());
        let write_queue = writer::start(writer.clone(), memo.clone())?;
        Ok(Db {
            readers,
            read_slots: Arc::new(tokio::sync::Semaphore::new(read_pool_size as usize)),
            writer,
            write_queue,
            memo,
            checkpointer: Arc::new(Mutex::new(Some(checkpointer))),
            path: path.to_path_buf(),
        })
    }

    /// Answers kept until their tables change (see `memo`).
    pub fn memo(&self) -> Arc<memo::Memo> {
        self.memo.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled read connection off the async executor.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.readers.clone();
        let _slot = self
            .read_slots
            .acquire()
            .await
            .map_err(AppError::internal)?;
        actix_web::web::block(move || {
            let conn = pool.get().map_err(AppError::internal)?;
            f(&conn)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Runs `f` on the writer, inside a transaction it may share with other requests (see
    /// `writer`): its writes are kept only when it returns `Ok`, and it is answered only once
    /// they are committed, so a failed request leaves nothing behind.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        self.queue_write(f, writer::job)?
            .await
            .map_err(|_| AppError::internal("the write transaction failed"))?
    }

    /// `write` for a thread of its own (a long job such as an import, whose steps queue
    /// behind everyone's requests and commit on their own), waiting without an async
    /// executor. Never call it from one.
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        self.queue_write(f, writer::step)?
            .blocking_recv()
            .map_err(|_| AppError::internal("the write transaction failed"))?
    }

    fn queue_write<T, F>(
        &self,
        f: F,
        as_job: fn(F, Reply<T>) -> writer::Job,
    ) -> Result<Answered<T>, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, AppError> + Send + 'static,
    {
        let (reply, answered) = tokio::sync::oneshot::channel();
        self.write_queue
            .send(as_job(f, reply))
            .map_err(|_| AppError::internal("the writer has stopped"))?;
        Ok(answered)
    }

    /// Stops the background checkpoints (closing their connection), then copies everything in
    /// the write-ahead log into the database file and empties the log, so a stopped server
    /// leaves one self-contained file (whatever connection closes last then has nothing left to
    /// write into it).
    pub fn checkpoint(&self) -> rusqlite::Result<()> {
        let background = locked(&self.checkpointer).take();
        if let Some(background) = background {
            background.stop();
        }
        locked(&self.writer).query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
    }

    /// Pool figures for `/metrics`: (connections open, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.readers.state();
        (state.connections, state.idle_connections)
    }
}

/// Runs `step` inside a savepoint of the current transaction and keeps its writes only when
/// `keep` says so; the transaction goes on either way. Bulk actions and imports use it so one
/// record that fails (or a dry run) leaves no trace while the rest of the request continues.
pub fn savepoint<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    step: impl FnOnce() -> Result<T, E>,
    keep: impl FnOnce(&Result<T, E>) -> bool,
) -> Result<T, E> {
    conn.execute_batch("SAVEPOINT kehu_step")?;
    let result = step();
    let end = if keep(&result) {
        "RELEASE kehu_step"
    } else {
        "ROLLBACK TO kehu_step; RELEASE kehu_step"
    };
    conn.execute_batch(end)?;
    result
}

/// Locks `mutex` even if a thread panicked while holding it: every mutex here guards state
/// that stays sound (a connection whose open transaction rolls back, caches and counters).
pub(crate) fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `execute` and `query_row` through the connection's statement cache. SQLite's parse and plan
/// of a statement can cost more than running it, and a record write runs the same handful of
/// statements every time (insert, index, read back, history).
pub trait Cached {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn one<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// The company setting stored under `key`, if any (the `settings` table holds one text per key:
/// plain values, or JSON for a module's group of settings).
pub fn setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.one("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

/// Stores `value` under `key`, replacing what was there.
pub fn set_setting(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.run(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}
