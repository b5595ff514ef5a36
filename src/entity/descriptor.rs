//! What an entity is, as data: its table, fields and how its records are seen. The generic code
//! (list, get, create, update, delete, history, search, export, meta) reads only this, so a new
//! entity is a descriptor plus whatever rules are its own.

use super::store::Caller;
use crate::access::Rights;
use crate::i18n::{Lang, Texts};
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::http::error::AppError;

/// The kind of value a field holds: how it is stored, parsed and filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One line of text, at most `max` characters.
    Text {
        max: usize,
    },
    LongText,
    Integer,
    /// Integer minor units (分/cents).
    Money,
    /// `YYYY-MM-DD`, stored as text.
    Date,
    /// An instant: RFC 3339 in the API, unix milliseconds in the table.
    DateTime,
    Bool,
    /// One value from the entity's picklist for this field.
    Picklist,
    /// Several values from the picklist, stored as a JSON array.
    MultiPicklist,
    /// A user id.
    User,
    /// A department id.
    Department,
    /// The id of a record of the named entity.
    Reference(&'static str),
    Phone,
    Email,
    Url,
    /// Free labels, stored as a JSON array of strings.
    Tags,
    /// The name of one of the listed entities (the parent of a polymorphic link such as
    /// follow-ups, or the record a task is about).
    EntityName(&'static [&'static str]),
    /// The id of a row of a configuration table with `id` and `name` columns (pipelines and
    /// their stages): options an administrator keeps, not records.
    Lookup(&'static str),
    /// A three-letter currency code beside money fields; the company's currency when a create
    /// leaves it out.
    Currency,
    /// Line items (`product_id`, `quantity`, `unit_price`, `discount_bp`, with each line's
    /// `total`) as a JSON array; `lines::settle` parses them and keeps `amount` equal to their sum.
    Lines,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text { .. } => "text",
            Kind::LongText => "long_text",
            Kind::Integer => "integer",
            Kind::Money => "money",
            Kind::Date => "date",
            Kind::DateTime => "datetime",
            Kind::Bool => "bool",
            Kind::Picklist => "picklist",
            Kind::MultiPicklist => "multi_picklist",
            Kind::User => "user",
            Kind::Department => "department",
            Kind::Reference(_) => "reference",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Url => "url",
            Kind::Tags => "tags",
            Kind::EntityName(_) => "entity",
            Kind::Lookup(_) => "lookup",
            Kind::Currency => "currency",
            Kind::Lines => "lines",
        }
    }

    /// Stored as a JSON array of strings.
    pub fn is_list(self) -> bool {
        matches!(self, Kind::MultiPicklist | Kind::Tags)
    }

    /// Stored as JSON text that reads back as an array or object.
    pub fn is_json(self) -> bool {
        self.is_list() || self == Kind::Lines
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The API name, which is also the column name.
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Part of the entity's full-text index (its `{table}_fts` table has a column of this name).
    pub searchable: bool,
    /// Sortable fields must have an index that starts with their column (a test checks it).
    pub sortable: bool,
    /// Kept by the system (e.g. the last follow-up time): shown, never written by a request.
    pub system: bool,
    /// Written at creation only.
    pub create_only: bool,
    /// An instant that is "now" when a create leaves it out.
    pub defaults_to_now: bool,
    /// Defined by an administrator; its value lives in the record's `extra` JSON column.
    pub custom: bool,
    /// Left out of forms, list columns and filters by an administrator (the data stays).
    pub hidden: bool,
    /// The administrator's label, Chinese and English, instead of the translation files'.
    pub label: Option<[&'static str; 2]>,
    /// Computed, not stored: an SQL expression over the record's columns, with `{t}` standing
    /// for the table's alias (a contract's outstanding amount). Always a system field.
    pub expr: Option<&'static str>,
    /// A computed field a write may name anyway: the entity's `prepare` hook turns it into
    /// stored columns (a task's assignee becomes its owner), so forms offer it.
    pub written_by_prepare: bool,
}

impl Field {
    pub const fn new(name: &'static str, kind: Kind) -> Field {
        Field {
            name,
            kind,
            required: false,
            searchable: false,
            sortable: false,
            system: false,
            create_only: false,
            defaults_to_now: false,
            custom: false,
            hidden: false,
            label: None,
            expr: None,
            written_by_prepare: false,
        }
    }

    /// A field computed by `expr` (see `Field::expr`).
    pub const fn computed(name: &'static str, kind: Kind, expr: &'static str) -> Field {
        let mut field = Field::new(name, kind);
        field.expr = Some(expr);
        field.system = true;
        field
    }

    /// The field's label: the administrator's, else the translation files'.
    pub fn display_label(&self, entity: &str, texts: Texts) -> String {
        match self.label {
            Some([zh, _]) if texts.lang == Lang::ZhCn => zh.into(),
            Some([_, en]) => en.into(),
            None => texts.text(&format!("field.{entity}.{}", self.name)),
        }
    }

    /// The SQL expression of the field's value in the table aliased `alias`.
    pub fn column(&self, alias: &str) -> String {
        if let Some(expr) = self.expr {
            format!("({})", expr.replace("{t}", alias))
        } else if self.custom {
            format!("json_extract({alias}.extra, '$.{}')", self.name)
        } else {
            format!("{alias}.{}", self.name)
        }
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub const fn searchable(mut self) -> Field {
        self.searchable = true;
        self
    }

    pub const fn sortable(mut self) -> Field {
        self.sortable = true;
        self
    }

    pub const fn system(mut self) -> Field {
        self.system = true;
        self
    }

    pub const fn defaults_to_now(mut self) -> Field {
        self.defaults_to_now = true;
        self
    }

    pub const fn written_by_prepare(mut self) -> Field {
        self.written_by_prepare = true;
        self
    }

    /// Whether a request may carry this field (directly, or through the prepare hook).
    pub fn writable(&self) -> bool {
        !self.system || self.written_by_prepare
    }

    pub const fn create_only(mut self) -> Field {
        self.create_only = true;
        self
    }
}

/// Whose records these are, which decides who sees them.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// The record has `owner_id` and `department_id`; the module's data scope applies to them.
    Owned,
    /// The record belongs to a parent record through `field`, and is visible exactly when that
    /// parent is (contacts of a customer). Its own module grants only the actions.
    Child {
        field: &'static str,
        parent: &'static str,
    },
    /// Like `Child`, but the parent's entity is named per record in `entity_field`
    /// (follow-ups may hang off any entity listed in `parents`).
    AnyParent {
        entity_field: &'static str,
        id_field: &'static str,
        parents: &'static [&'static str],
    },
}

/// Completes or corrects a create or update body before it is parsed, with the caller's rights,
/// the body and, on update, the record as it is: e.g. an opportunity's probability follows its
/// stage, line items set the amount, a contract gets its number. Its errors refuse the write.
pub type Prepare =
    fn(&Connection, &Rights, &mut Map<String, Value>, Option<&Value>) -> Result<(), AppError>;

/// Rules of one entity beyond the generic ones, run inside the write transaction; they say
/// whether they changed the record itself (then it is read again for the answer).
pub type AfterWrite = fn(&Connection, &Value) -> Result<Wrote, AppError>;

/// What an `AfterWrite` rule changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrote {
    /// Other records only (a follow-up's customer, a payment's contract).
    OtherRecords,
    /// The record itself (an opportunity's close time, a task's completion).
    TheRecord,
}

/// A rule checked after a create or update, before it commits, with the caller's rights, the
/// record as written and the request body (for confirmations such as `confirm_duplicate`).
/// An error rolls the write back.
pub type Check = fn(&Connection, &Rights, &Value, &Map<String, Value>) -> Result<(), AppError>;

#[derive(Clone, Copy)]
pub struct Entity {
    /// API name, table name and permission module at once (`customers`).
    pub name: &'static str,
    pub fields: &'static [Field],
    pub visibility: Visibility,
    /// The field a record is known by in lists, search results and references.
    pub title: &'static str,
    /// Shown under the title in search results.
    pub subtitle: &'static str,
    /// The columns a new user's list shows.
    pub list_columns: &'static [&'static str],
    /// Default order when the request names none.
    pub default_sort: &'static str,
    /// Runs after every create, update, delete and restore of a record (with the record as it
    /// is afterwards), e.g. follow-ups keep their customer's next follow-up time.
    pub after_write: Option<AfterWrite>,
    pub check: Option<Check>,
    pub prepare: Option<Prepare>,
    /// Request keys that are not fields but instructions to `check` (never stored).
    pub instructions: &'static [&'static str],
    /// Records without an owner form a public pool (公海) that anyone with the view right may
    /// browse and claim; the ordinary list leaves them out.
    pub pool: Option<Pool>,
    /// The entity's records may go through an approval flow (审批) an administrator designs;
    /// while one is under way the record is locked (`entity::approvals`).
    pub approval: Option<Approval>,
}

/// How an entity takes part in approval flows.
#[derive(Clone, Copy)]
pub struct Approval {
    /// The picklist field that tells where a record stands, if the entity has one: the flow
    /// alone moves it to `pending` and `approved`; no request may.
    pub status: Option<ApprovalStatus>,
}

#[derive(Clone, Copy)]
pub struct ApprovalStatus {
    pub field: &'static str,
    /// The values a record may be submitted from.
    pub submit_from: &'static [&'static str],
    pub pending: &'static str,
    pub approved: &'static str,
    /// Where a rejected or withdrawn record goes back to.
    pub returned: &'static str,
}

/// The rules of a pooled entity that the engine runs on its behalf.
#[derive(Clone, Copy)]
pub struct Pool {
    /// Puts one record back in the pool as the caller (rights, history, the owner's notice):
    /// bulk release runs it per record.
    pub release: Release,
}

pub type Release = fn(&Connection, &Caller, i64) -> Result<(), AppError>;

impl Entity {
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn is_pooled(&self) -> bool {
        self.pool.is_some()
    }

    pub fn is_owned(&self) -> bool {
        matches!(self.visibility, Visibility::Owned)
    }

    /// Built-in searchable fields: each is a column of the full-text table. Searchable custom
    /// fields share its `custom` column.
    pub fn searchable(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().filter(|f| f.searchable && !f.custom)
    }

    /// The searchable short texts (names, titles, numbers, addresses, tags), which words of one
    /// or two characters search too (`entity::bigrams`); long texts, phones, e-mail addresses and
    /// links need three characters.
    pub fn pair_searchable(&self) -> impl Iterator<Item = &'static Field> {
        self.searchable()
            .filter(|f| matches!(f.kind, Kind::Text { .. } | Kind::Tags))
    }

    pub fn searchable_custom(&self) -> impl Iterator<Item = &'static Field> {
        self.fields.iter().filter(|f| f.searchable && f.custom)
    }

    /// The pair of fields that name another record by entity and id: a follow-up's parent, the
    /// record a task is about.
    pub fn record_link(&self) -> Option<(&'static str, &'static str)> {
        match self.visibility {
            Visibility::AnyParent {
                entity_field,
                id_field,
                ..
            } => Some((entity_field, id_field)),
            _ => self
                .fields
                .iter()
                .find(|f| matches!(f.kind, Kind::EntityName(_)))
                .map(|f| (f.name, "record_id")),
        }
    }

    pub fn fts_table(&self) -> String {
        format!("{}_fts", self.name)
    }

    /// The one- and two-character index (see `entity::bigrams`).
    pub fn bigram_table(&self) -> String {
        format!("{}_bigrams", self.name)
    }
}
