//! The `kehu` command: the server and the operator's jobs. Exit codes: 0 ok, 1 the operation
//! failed, 2 bad usage or bad configuration. Messages go to stderr in plain words.

mod files;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kehu::app::Application;
use kehu::audit::{self, Actor};
use kehu::auth::setup::{self, SetupInput};
use kehu::auth::{passwords, session, users};
use kehu::config::{Config, Overrides};
use kehu::db::{backup, migrations, open_connection, StorageError};
use kehu::http::error::AppError;
use kehu::i18n::Lang;
use rusqlite::{Connection, TransactionBehavior};
use serde_json::json;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kehu",
    version,
    about = "Kehu CRM: an on-premise CRM in one file.",
    long_about = "Kehu CRM: an on-premise CRM in one file.\n\nWith no command, serves the web UI and API \
                  (http://localhost:8080, data in ./data). Settings: built-in defaults, then \
                  config.toml (or --config), then KEHU_<SECTION>_<KEY> environment variables, then flags; \
                  see config.example.toml.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Configuration file (default: ./config.toml when it exists)
    #[arg(long, global = true, env = "KEHU_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory holding the database (default: ./data)
    #[arg(long, global = true, env = "KEHU_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080
    #[arg(long, env = "KEHU_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and API (the default)
    Serve(ServeArgs),
    /// Write a verified copy of the database, safe while the server runs
    Backup {
        /// Directory for the backup file (default: backup.dir, or DATA_DIR/backups)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Keep only the newest N scheduled backups in that directory (0 = keep all)
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
    },
    /// Replace the database with a backup (the server must be stopped)
    Restore {
        /// The backup file to restore
        file: PathBuf,
    },
    /// Check the database's integrity and foreign keys; exit 0 when clean
    Check,
    /// Create the company and its first administrator without the setup page
    Setup {
        /// Company name
        #[arg(long)]
        company: String,
        /// Administrator's username
        #[arg(long, value_name = "USERNAME")]
        admin: String,
        /// Default language: zh-CN or en
        #[arg(long, default_value = "zh-CN")]
        language: String,
        /// Company time zone (IANA name)
        #[arg(long, default_value = "Asia/Shanghai")]
        timezone: String,
    },
    /// Manage user accounts (password read from stdin, or prompted)
    #[command(subcommand)]
    User(UserCommand),
    /// Import a CSV or XLSX file into a module as a user: all rows or none
    Import(files::ImportArgs),
    /// Export a module's records as a user (their data scope applies)
    Export(files::ExportArgs),
    /// Fill an empty data directory with a demo company: `small` to try Kehu, `large` (a
    /// million customers and eight million more records) to measure it
    Demo {
        #[arg(long, value_enum, default_value = "small")]
        size: DemoSize,
        /// The same seed makes the same company
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DemoSize {
    Small,
    Large,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user
    Create {
        /// Give the user the administrator role
        #[arg(long)]
        admin: bool,
        /// Display name (default: the username)
        #[arg(long)]
        display_name: Option<String>,
        username: String,
    },
    /// Set a new password for a user and end their sessions
    ResetPassword { username: String },
}

/// A failed command: what to tell the operator and the exit code.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn operation(message: impl ToString) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }

    fn usage(message: impl ToString) -> Failure {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::operation(e)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::operation(format!("database error: {e}"))
    }
}

/// Field errors and conflicts from the shared validation, in plain English for the terminal.
impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| format!("{}: {} {}", f.field, f.code.replace('_', " "), f.params))
            .collect();
        let message = if fields.is_empty() {
            e.to_string().replace('_', " ")
        } else {
            format!("invalid input — {}", fields.join("; "))
        };
        Failure {
            code: if e.status.is_client_error() { 2 } else { 1 },
            message,
        }
    }
}

/// glibc's allocator gives each thread that allocates its own arena (up to eight per core),
/// and memory freed in one arena serves only its threads: with the blocking pool's threads
/// taking turns on requests, a server under load kept 180 MB resident. Four arenas: about
/// 130 MB at the same throughput (two cost 12 % of a list's throughput in lock waits).
fn tune_malloc() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

fn main() -> ExitCode {
    tune_malloc();
    kehu::app::install();
    let cli = Cli::parse();
    let listen = match &cli.command {
        Some(Command::Serve(args)) => args.listen.clone(),
        _ => cli.serve.listen.clone(),
    };
    let overrides = Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        listen,
    };
    let config = match Config::load(&overrides, |key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("kehu: {e}");
            return ExitCode::from(2);
        }
    };
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_logging(&config, serving);
    let result = match cli.command {
        None | Some(Command::Serve(_)) => serve(config),
        Some(Command::Backup { out, keep }) => run_backup(&config, out, keep),
        Some(Command::Restore { file }) => run_restore(&config, &file),
        Some(Command::Check) => run_check(&config),
        Some(Command::Setup {
            company,
            admin,
            language,
            timezone,
        }) => run_setup(&config, company, admin, language, timezone),
        Some(Command::User(command)) => run_user(&config, command),
        Some(Command::Import(args)) => {
            open_migrated(&config).and_then(|mut conn| files::run_import(&mut conn, args))
        }
        Some(Command::Export(args)) => {
            open_migrated(&config).and_then(|conn| files::run_export(&conn, args))
        }
        Some(Command::Demo { size, seed }) => run_demo(&config, size, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("kehu: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The server logs to stdout (journald picks it up); operator jobs only warn, on stderr.
fn init_logging(config: &Config, serving: bool) {
    let filter = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal() && std::io::stdout().is_terminal());
    if serving {
        builder.init();
    } else {
        builder.with_writer(std::io::stderr).init();
    }
}

fn serve(config: Config) -> Result<(), Failure> {
    let data_dir = config.data_dir().display().to_string();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).map_err(Failure::operation)?;
        tracing::info!(
            port = app.port(),
            data_dir,
            "Kehu is ready: open http://localhost:{} in a browser",
            app.port()
        );
        app.run_until_stopped().await.map_err(Failure::operation)
    })
}

fn run_backup(config: &Config, out: Option<PathBuf>, keep: Option<usize>) -> Result<(), Failure> {
    let out = out.unwrap_or_else(|| config.backup_dir());
    let keep = keep.unwrap_or(config.backup.keep as usize);
    let db_path = config.database_path();
    // Beside a running server, the check of the copy (a core for minutes on a large database)
    // gives way to the people using it; the disk is yielded by `write_backup` itself.
    // SAFETY: setpriority takes integers only; it lowers this thread, the one doing the work.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
    let file = backup::write_backup(&db_path, &out, backup::SCHEDULED_LABEL)?;
    if keep > 0 {
        for removed in backup::prune(&out, keep)? {
            eprintln!("removed old backup {}", removed.display());
        }
    }
    // The backup is good whether or not the log entry can be written.
    let logged = open_connection(&db_path).and_then(|conn| {
        let detail = json!({ "file": file.display().to_string() });
        audit::record(&conn, &Actor::system(), "backup", None, detail).map_err(StorageError::from)
    });
    if let Err(e) = logged {
        eprintln!("warning: backup written but not recorded in the operation log: {e}");
    }
    println!("{}", file.display());
    Ok(())
}

fn run_restore(config: &Config, file: &std::path::Path) -> Result<(), Failure> {
    let kept = backup::restore(config.data_dir(), "kehu.db", file)?;
    println!(
        "restored {} into {}",
        file.display(),
        config.database_path().display()
    );
    if let Some(kept) = kept {
        println!("the replaced database was kept as {}", kept.display());
    }
    Ok(())
}

fn run_check(config: &Config) -> Result<(), Failure> {
    let problems = backup::check(&config.database_path())?;
    if problems.is_empty() {
        println!(
            "ok: {} passed the integrity and foreign-key checks",
            config.database_path().display()
        );
        return Ok(());
    }
    for problem in &problems {
        println!("{problem}");
    }
    Err(Failure::operation(format!(
        "{} problem(s) found",
        problems.len()
    )))
}

/// Opens the database for an operator job, creating and migrating it like the server would.
fn open_migrated(config: &Config) -> Result<Connection, Failure> {
    std::fs::create_dir_all(config.data_dir()).map_err(|e| {
        Failure::operation(format!(
            "cannot create {}: {e}",
            config.data_dir().display()
        ))
    })?;
    let db_path = config.database_path();
    let mut conn = open_connection(&db_path)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    migrations::migrate(&mut conn, &db_path, &config.backup_dir())?;
    Ok(conn)
}

/// A password from the terminal (asked twice, not echoed) or the first line of stdin.
fn read_password(username: &str) -> Result<String, Failure> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {username}: "))
            .map_err(Failure::operation)?;
        let again = rpassword::prompt_password("Repeat it: ").map_err(Failure::operation)?;
        if first != again {
            return Err(Failure::usage("the two passwords differ"));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(Failure::operation)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let mut errors = kehu::http::error::FieldErrors::new();
    passwords::check_rules(&password, username, "password", &mut errors);
    errors.into_result()?;
    Ok(password)
}

fn run_setup(
    config: &Config,
    company: String,
    admin: String,
    language: String,
    timezone: String,
) -> Result<(), Failure> {
    let mut conn = open_migrated(config)?;
    let password = read_password(&admin)?;
    let body = json!({
        "company": company, "username": admin, "password": password,
        "language": language, "timezone": timezone,
    });
    let input = SetupInput::parse(&body, Lang::ZhCn)?;
    let hash = passwords::hash(&input.password)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = setup::perform(&tx, &input, &hash)?;
    let who = Actor {
        user_id: Some(id),
        ..Actor::system()
    };
    audit::record(
        &tx,
        &who,
        "setup",
        None,
        json!({ "company": input.company }),
    )?;
    tx.commit()?;
    println!(
        "created company '{}' and administrator '{}'",
        input.company, input.username
    );
    Ok(())
}

fn run_user(config: &Config, command: UserCommand) -> Result<(), Failure> {
    let mut conn = open_migrated(config)?;
    match command {
        UserCommand::Create {
            admin,
            display_name,
            username,
        } => {
            let mut errors = kehu::http::error::FieldErrors::new();
            users::check_username(&username, &mut errors);
            let display_name = display_name.unwrap_or_else(|| username.clone());
            users::check_display_name(&display_name, &mut errors);
            errors.into_result()?;
            let password = read_password(&username)?;
            let hash = passwords::hash(&password)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = users::create(&tx, &username, &display_name, &hash, admin, None)?;
            let detail = json!({ "username": username, "administrator": admin });
            audit::record(
                &tx,
                &Actor::system(),
                "user_created",
                Some(("users", id)),
                detail,
            )?;
            tx.commit()?;
            let kind = if admin { "administrator" } else { "user" };
            println!("created {kind} '{username}' (id {id})");
        }
        UserCommand::ResetPassword { username } => {
            let account = users::find_credentials(&conn, &username)?
                .ok_or_else(|| Failure::operation(format!("no user named '{username}'")))?;
            let password = read_password(&account.username)?;
            let hash = passwords::hash(&password)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            users::set_password(&tx, account.id, &hash)?;
            let ended = session::delete_for_user(&tx, account.id, None)?;
            audit::record(
                &tx,
                &Actor::system(),
                "password_reset",
                Some(("users", account.id)),
                json!({}),
            )?;
            tx.commit()?;
            println!(
                "password of '{}' reset; {ended} session(s) ended",
                account.username
            );
        }
    }
    Ok(())
}

/// `kehu demo`: refuses a data directory that has a company already or a server running on it;
/// shows a progress line while it writes; prints who can sign in, and how fast it went.
fn run_demo(config: &Config, size: DemoSize, seed: u64) -> Result<(), Failure> {
    std::fs::create_dir_all(config.data_dir()).map_err(Failure::operation)?;
    let _lock = kehu::db::lock::DataDirLock::acquire(config.data_dir())?;
    let mut conn = open_migrated(config)?;
    if !kehu::auth::setup::is_needed(&conn)? {
        return Err(Failure::usage(format!(
            "{} already holds a company; the demo needs an empty data directory (--data-dir)",
            config.data_dir().display()
        )));
    }
    let size = match size {
        DemoSize::Small => kehu::demo::Size::Small,
        DemoSize::Large => kehu::demo::Size::Large,
    };
    let terminal = std::io::stderr().is_terminal();
    let mut last_line = std::time::Instant::now();
    let mut show = |p: &kehu::demo::Progress| {
        let line = format!(
            "demo: {} {}/{} · {} of ~{} rows ({:.0}%) · {:.0} rows/s",
            p.phase,
            p.done,
            p.of,
            p.rows,
            p.planned_rows,
            100.0 * p.rows as f64 / p.planned_rows.max(1) as f64,
            p.rows_per_second
        );
        if terminal {
            eprint!("\r{line}\x1b[K");
        } else if last_line.elapsed().as_secs() >= 5 || p.done == 0 {
            eprintln!("{line}");
            last_line = std::time::Instant::now();
        }
    };
    let summary = kehu::demo::generate(&mut conn, size, seed, &mut show)?;
    if terminal {
        eprintln!();
    }
    println!(
        "demo company written to {}: {} rows in {:.1} s ({:.0} rows/s)",
        config.database_path().display(),
        summary.rows,
        summary.seconds,
        summary.rows as f64 / summary.seconds.max(0.001)
    );
    for (entity, count) in &summary.counts {
        println!("  {entity:<14} {count:>10}");
    }
    println!(
        "sign in as admin with the password {}",
        summary.admin_password
    );
    println!(
        "everyone else signs in with the password {}, for example:",
        summary.staff_password
    );
    for (username, role, department) in &summary.people {
        println!("  {username:<10} {role} · {department}");
    }
    Ok(())
}
