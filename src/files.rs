//! `kehu import` and `kehu export` (part of the `kehu` binary, not the library): the same
//! import and export as the browser's, run as a named user so their rights and data scope
//! apply, with a progress line on stderr.

use crate::Failure;
use clap::Args;
use kehu::access::{Action, Rights};
use kehu::audit::{self, Actor};
use kehu::auth::users::company_settings;
use kehu::entity::descriptor::Entity;
use kehu::entity::export::{self, Format, Output};
use kehu::entity::import::{self, Upload};
use kehu::entity::registry;
use kehu::entity::{custom, store};
use kehu::i18n::{Lang, Texts, Translations};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// A progress line on stderr: redrawn in place on a terminal, a line per tenth otherwise.
struct ProgressLine {
    label: &'static str,
    terminal: bool,
    shown: Cell<Option<usize>>,
}

impl ProgressLine {
    fn new(label: &'static str) -> ProgressLine {
        ProgressLine {
            label,
            terminal: std::io::stderr().is_terminal(),
            shown: Cell::new(None),
        }
    }

    fn show(&self, done: usize, total: usize) {
        if total == 0 {
            return;
        }
        let percent = done * 100 / total;
        let step = if self.terminal { percent } else { percent / 10 };
        if self.shown.get() == Some(step) {
            return;
        }
        self.shown.set(Some(step));
        if self.terminal {
            eprint!("\r{}: {done} / {total} rows ({percent}%)", self.label);
        } else {
            eprintln!("{}: {done} / {total} rows ({percent}%)", self.label);
        }
    }

    fn finish(&self) {
        if self.terminal && self.shown.get().is_some() {
            eprintln!();
        }
    }
}

fn entity_named(name: &str) -> Result<&'static Entity, Failure> {
    registry::find(name).ok_or_else(|| {
        let known: Vec<&str> = registry::entities().iter().map(|e| e.name).collect();
        Failure::usage(format!(
            "unknown module '{name}'; one of: {}",
            known.join(", ")
        ))
    })
}

/// The active user named `username`, as the one who acts.
/// The acting user's rights on `entity` for `action`, or a sentence saying which right is
/// missing (a refusal is the operation failing, not bad usage: exit 1).
fn required(
    rights: &Rights,
    username: &str,
    entity: &Entity,
    action: Action,
) -> Result<kehu::access::ModuleRights, Failure> {
    rights.require(entity.name, action).map_err(|_| {
        Failure::operation(format!(
            "{username} may not {} {}: none of their roles gives the '{}' right on {} \
             (an administrator grants it under Settings → Roles)",
            action.name(),
            entity.name,
            action.name(),
            entity.name
        ))
    })
}

fn acting_user(conn: &Connection, username: &str) -> Result<(Rights, Actor, Lang), Failure> {
    let found: Option<(i64, Option<String>)> = conn
        .query_row(
            "SELECT id, language FROM users WHERE username = ?1 AND frozen = 0",
            [username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, language) =
        found.ok_or_else(|| Failure::usage(format!("no active user '{username}'")))?;
    let company = company_settings(conn)?;
    let lang = language
        .as_deref()
        .or(company["language"].as_str())
        .and_then(Lang::parse)
        .unwrap_or(Lang::ZhCn);
    let actor = Actor {
        user_id: Some(id),
        username: Some(username.to_string()),
        ip: Some("cli".into()),
    };
    Ok((Rights::load(conn, id)?, actor, lang))
}

fn translations() -> Result<Translations, Failure> {
    Translations::load().map_err(Failure::operation)
}

#[derive(Args)]
pub struct ImportArgs {
    /// The module: customers, contacts or followups
    entity: String,
    /// The CSV (UTF-8 or GB18030), XLSX or XLS file
    file: PathBuf,
    /// The user who imports (their rights apply; records are theirs unless a column says)
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
    /// Column → field as JSON, e.g. '{"客户名称":"name"}' (default: guessed from the headers)
    #[arg(long, value_name = "JSON")]
    mapping: Option<String>,
    /// Update the record whose FIELD matches instead of creating one
    #[arg(long, value_name = "FIELD")]
    upsert_key: Option<String>,
    /// Import rows the duplicate check flags
    #[arg(long)]
    confirm_duplicates: bool,
    /// Leave out the rows the duplicate check flags instead of refusing the file
    #[arg(long, conflicts_with = "confirm_duplicates")]
    skip_duplicates: bool,
    /// Add the file's values that are no option of their picklist as new options (administrators)
    #[arg(long)]
    add_options: bool,
    /// Check every row and report, write nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn run_import(conn: &mut Connection, args: ImportArgs) -> Result<(), Failure> {
    let entity = entity_named(&args.entity)?;
    let file = std::fs::read(&args.file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let i18n = std::sync::Arc::new(translations()?);
    let upload = Upload {
        file_name,
        file,
        mapping: args.mapping,
        upsert_key: args.upsert_key,
        confirm_duplicates: args.confirm_duplicates,
        skip_duplicates: args.skip_duplicates,
        add_options: args.add_options,
    };
    let progress = ProgressLine::new("importing");
    let (rights, actor, _) = acting_user(conn, &args.user)?;
    required(&rights, &args.user, entity, Action::Import)?;
    let caller = store::Caller {
        rights: &rights,
        actor: &actor,
    };
    let show = |done, total| progress.show(done, total);
    let texts = (i18n, Lang::En);
    let report = import::import_file(conn, entity, &caller, upload, args.dry_run, texts, &show);
    progress.finish();
    print_import_report(&report?)
}

fn print_import_report(report: &Value) -> Result<(), Failure> {
    let count = |key: &str| report[key].as_u64().unwrap_or_default();
    if count("error_count") > 0 {
        for error in report["errors"].as_array().into_iter().flatten() {
            let field = error["field"].as_str().unwrap_or("-");
            let message = error["message"].as_str().unwrap_or_default();
            eprintln!("row {}: {field}: {message}", error["row"]);
        }
        return Err(Failure::operation(format!(
            "{} bad row(s) of {}; nothing was imported",
            count("error_count"),
            count("rows")
        )));
    }
    if report["dry_run"] == true {
        println!(
            "dry run: {} rows would create {} and update {} records, {} duplicates left out; nothing was written",
            count("rows"),
            count("would_create"),
            count("would_update"),
            count("skipped")
        );
    } else {
        println!(
            "imported {} rows: {} created, {} updated, {} duplicates left out (batch {})",
            count("rows"),
            count("created"),
            count("updated"),
            count("skipped"),
            report["batch_id"]
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    /// The module: customers, contacts or followups
    entity: String,
    /// The user who exports
    #[arg(long = "as", value_name = "USERNAME")]
    user: String,
    /// csv or xlsx
    #[arg(long, default_value = "xlsx")]
    format: String,
    /// Output file (default: MODULE-YYYYMMDD-HHMMSS.FORMAT here)
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// A list parameter as in the API, repeatable: 'filter[level]=A', 'q=华为', 'sort=name'
    #[arg(long, value_name = "KEY=VALUE")]
    query: Vec<String>,
}

/// `KEY=VALUE` list parameters, as the API's list query takes them.
fn query_params(pairs: &[String]) -> Result<HashMap<String, String>, Failure> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Failure::usage(format!("--query wants KEY=VALUE, not '{pair}'")))
        })
        .collect()
}

pub fn run_export(conn: &Connection, args: ExportArgs) -> Result<(), Failure> {
    let entity = entity_named(&args.entity)?;
    let format =
        Format::parse(Some(&args.format)).map_err(|_| Failure::usage("--format is csv or xlsx"))?;
    let params = query_params(&args.query)?;
    let (rights, actor, lang) = acting_user(conn, &args.user)?;
    required(&rights, &args.user, entity, Action::View)?;
    let module = required(&rights, &args.user, entity, Action::Export)?;
    let i18n = translations()?;
    let progress = ProgressLine::new("exporting");
    let output = Output {
        format,
        texts: Texts { i18n: &i18n, lang },
        progress: &|done, total| progress.show(done, total),
    };
    let entity = custom::schema(conn, entity)?;
    let file = export::write(conn, entity, &rights, &module, params.clone(), output);
    progress.finish();
    let file = file?;
    let out = args
        .out
        .unwrap_or_else(|| default_name(entity.name, format));
    write_file(&out, &file.bytes)?;
    let detail = json!({ "format": format.extension(), "rows": file.rows, "query": params });
    audit::record_for_entity(conn, &actor, "export", entity.name, detail)?;
    println!("{} ({} rows)", out.display(), file.rows);
    Ok(())
}

fn default_name(entity: &str, format: Format) -> PathBuf {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    PathBuf::from(format!("{entity}-{stamp}.{}", format.extension()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::operation(format!("cannot write {}: {e}", path.display())))
}
