//! A small builder for filtered, paged lists: conditions are fixed SQL text written in the code,
//! values are always bound parameters.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// `%text%` for `LIKE … ESCAPE '\'`, with the wildcards in `text` taken literally.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Lists count their matches exactly up to this many. Beyond it the answer says "more than":
/// counting a million index entries for every page view would cost more than the page itself.
pub const COUNT_CAP: i64 = 1_000;

/// How many rows a list matches: exact, or at least `count` (capped at `COUNT_CAP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub exact: bool,
}

impl Total {
    pub fn exact(count: i64) -> Total {
        Total { count, exact: true }
    }

    /// From a count of at most `COUNT_CAP + 1` rows.
    fn capped(counted: i64) -> Total {
        Total {
            count: counted.min(COUNT_CAP),
            exact: counted <= COUNT_CAP,
        }
    }
}

/// ` WHERE a AND b`, or nothing without conditions.
fn where_clause(parts: impl Iterator<Item = String>) -> String {
    let parts: Vec<String> = parts.collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    }
}

fn paged(select: &str, clause: &str, order: &str, (limit, offset): (i64, i64)) -> String {
    format!("{select}{clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}")
}

/// Whether the first key of `order` (`t.updated_at DESC, …`) is a column of the table in
/// `from` (`customers t`) that leads a full index, so rows can be read in that order.
fn sorted_by_index(conn: &Connection, from: &str, order: &str) -> rusqlite::Result<bool> {
    let table = from.split_whitespace().next().unwrap_or_default();
    let first = order.split([',', ' ']).next().unwrap_or_default();
    let column = first.rsplit('.').next().unwrap_or_default();
    if !column
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Ok(false);
    }
    // Indexes on plain columns come from the migrations alone (custom fields index
    // expressions), so the answer for a table and column never changes while the process runs.
    static KNOWN: OnceLock<Mutex<HashMap<(String, String), bool>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (table.to_string(), column.to_string());
    if let Some(&indexed) = known.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(indexed);
    }
    let indexed = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
              WHERE i.seqno = 0 AND i.name = ?2 AND NOT l.partial)",
        )?
        .query_row([table, column], |r| r.get(0))?;
    known
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, indexed);
    Ok(indexed)
}

#[derive(Default)]
pub struct Conditions {
    parts: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    /// Adds `sql` (every `?` in it stands for `value`) to the conditions, joined by AND.
    pub fn add(&mut self, sql: &str, value: impl Into<Value>) {
        self.values.push(value.into());
        self.parts
            .push(sql.replace('?', &format!("?{}", self.values.len())));
    }

    /// Adds a condition that binds nothing (fixed SQL from the code).
    pub fn add_raw(&mut self, sql: impl Into<String>) {
        self.parts.push(sql.into());
    }

    /// Adds `{sql} IN (…)` with one bound parameter per value.
    pub fn add_in(&mut self, sql: &str, values: Vec<Value>) {
        let mut slots = Vec::with_capacity(values.len());
        for value in values {
            self.values.push(value);
            slots.push(format!("?{}", self.values.len()));
        }
        self.parts.push(format!("{sql} IN ({})", slots.join(", ")));
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn clause(&self) -> String {
        where_clause(self.parts.iter().cloned())
    }

    /// The conditions with none usable for an index lookup (each one `+(…)`): the query then
    /// reads the rows in the order of the sort's index and tests each.
    fn clause_in_sort_order(&self) -> String {
        where_clause(self.parts.iter().map(|p| format!("+({p})")))
    }

    /// The statement that reads one page (for `page`, and for checking its query plan).
    pub fn page_sql(&self, select: &str, order: &str, limits: (i64, i64)) -> String {
        paged(select, &self.clause(), order, limits)
    }

    /// Like `page`, but sorts and pages only the keys (`key` of `from`, e.g. `t.id`) and reads the full
    /// `select` columns for the rows of the page alone. Expensive columns (subqueries for names)
    /// are then computed for twenty rows, not for every row the sort has to look at.
    pub fn page_by_key<T>(
        &self,
        conn: &Connection,
        select: &str,
        (from, key): (&str, &str),
        order: &str,
        limits: (i64, i64),
        map: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<(Vec<T>, Total)> {
        let total = self.count(conn, from)?;
        // Few matches: the planner's choice (an index on a condition, then sorting the
        // matches) is cheap. Many: the planner still picks that index and would sort every
        // match (seconds at a million rows), where reading the sort's index and testing each
        // row fills a page after a few hundred rows.
        let clause = if total.exact || !sorted_by_index(conn, from, order)? {
            self.clause()
        } else {
            self.clause_in_sort_order()
        };
        let keys = paged(
            &format!("SELECT {key} AS page_key FROM {from}"),
            &clause,
            order,
            limits,
        );
        let mut stmt = conn.prepare_cached(&format!(
            "{select} JOIN ({keys}) AS page ON page.page_key = {key} ORDER BY {order}"
        ))?;
        let items = stmt
            .query_map(params_from_iter(self.values.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        Ok((items, total))
    }

    /// The matching rows of `from`, counted up to `COUNT_CAP + 1`.
    fn count(&self, conn: &Connection, from: &str) -> rusqlite::Result<Total> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from}{} LIMIT {})",
            self.clause(),
            COUNT_CAP + 1
        );
        let counted = conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(self.values.iter()), |r| r.get(0))?;
        Ok(Total::capped(counted))
    }

    /// Every matching row of `from`, however many (for long jobs such as an export).
    pub fn count_exact(&self, conn: &Connection, from: &str) -> rusqlite::Result<i64> {
        conn.prepare_cached(&format!("SELECT count(*) FROM {from}{}", self.clause()))?
            .query_row(params_from_iter(self.values.iter()), |r| r.get(0))
    }

    /// The total matching rows of `from`, and one page of `select` (which must read from the
    /// same tables) in `order`.
    pub fn page<T>(
        &self,
        conn: &Connection,
        select: &str,
        from: &str,
        order: &str,
        (limit, offset): (i64, i64),
        map: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<(Vec<T>, Total)> {
        let total = self.count(conn, from)?;
        let mut stmt = conn.prepare_cached(&self.page_sql(select, order, (limit, offset)))?;
        let items = stmt
            .query_map(params_from_iter(self.values.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        Ok((items, total))
    }
}
