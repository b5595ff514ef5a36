//! The entities the engine serves and the business's hooks around them, as the layer above
//! (`crm`) declares them. The engine never names a business module: it knows entities only
//! through the registry the composition root installs at start-up (`app::install`), before the
//! first request or job.
//!
//! A process-wide value rather than an argument: descriptors are `'static` constants, the
//! registry never changes once installed, and the visibility condition of a related record is
//! built from it (its parent's descriptor) deep inside pure functions every module calls.

use super::bigrams;
use super::descriptor::Entity;
use super::import::formats::Format;
use crate::i18n::Lang;
use rusqlite::Connection;
use std::sync::OnceLock;

/// Run in the transaction that creates the company, in the company's language: what a new
/// company starts with (the default sales pipeline).
pub type CompanyCreated = fn(&Connection, Lang) -> rusqlite::Result<()>;

pub struct Registry {
    /// Every entity, in menu order. A module joins the API, the metadata, search, export, the
    /// access matrix and the roles page by being listed here.
    pub entities: &'static [&'static Entity],
    pub company_created: &'static [CompanyCreated],
    /// The other systems' export files an import recognises.
    pub import_formats: &'static [Format],
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();

/// Installs the registry, and the engine's SQL functions on every connection the database
/// opens. Several servers in one process (the tests) install the same registry; the first
/// stays.
pub fn install(registry: Registry) {
    crate::db::set_sql_functions(sql_functions);
    INSTALLED.get_or_init(|| registry);
}

/// `kehu_bigrams` for the search index, and `kehu_today(zone)`: today's date in a time zone
/// (the company's, read in the same statement by `company_today!`), so that "overdue" turns
/// at the company's midnight, not at UTC's.
fn sql_functions(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    bigrams::register(conn)?;
    conn.create_scalar_function(
        "kehu_today",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8,
        |ctx| {
            Ok(crate::time::today_in(
                ctx.get::<Option<String>>(0)?.as_deref(),
            ))
        },
    )
}

/// The SQL of today's date in the company's time zone.
#[macro_export]
macro_rules! company_today {
    () => {
        "kehu_today((SELECT value FROM settings WHERE key = 'company.timezone'))"
    };
}

fn installed() -> &'static Registry {
    INSTALLED
        .get()
        .expect("app::install runs at start-up, before any record is read")
}

/// Every entity, in menu order.
pub fn entities() -> &'static [&'static Entity] {
    installed().entities
}

/// The built-in descriptor of an entity (without the company's custom fields, see
/// `custom::schema`).
pub fn find(name: &str) -> Option<&'static Entity> {
    entities().iter().copied().find(|e| e.name == name)
}

/// The export formats of other systems that imports recognise.
pub fn import_formats() -> &'static [Format] {
    installed().import_formats
}

/// Module names, as role permissions use them.
pub fn module_names() -> Vec<&'static str> {
    entities().iter().map(|e| e.name).collect()
}

/// Runs every hook of a company's creation.
pub fn company_created(conn: &Connection, lang: Lang) -> rusqlite::Result<()> {
    installed()
        .company_created
        .iter()
        .try_for_each(|hook| hook(conn, lang))
}
