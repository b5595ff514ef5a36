//! A small builder for filtered, paged lists: conditions are fixed SQL text written in the code,
//! values are always bound parameters.

use super::memo::Memo;
use super::{locked, Cached};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    if let Some(&indexed) = locked(known).get(&key) {
        return Ok(indexed);
    }
    let indexed = conn.one(
        "SELECT EXISTS (SELECT 1 FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
          WHERE i.seqno = 0 AND i.name = ?2 AND NOT l.partial)",
        [table, column],
        |r| r.get(0),
    )?;
    locked(known).insert(key, indexed);
    Ok(indexed)
}

#[derive(Default)]
pub struct Conditions {
    parts: Vec<String>,
    values: Vec<Value>,
    /// The first full-text condition: its table, its place in `parts` and its parameter.
    search: Option<Search>,
    /// Where counts are kept, and the tables the conditions read (`count_in`).
    counts: Option<(Arc<Memo>, Vec<String>)>,
}

/// Matches the planner may sort rather than reading in the sort's order (a sales rep's own
/// customers, a few thousand, sort in a millisecond or two).
const FEW_ROWS: i64 = 10_000;

/// How a plan's `SEARCH` finds rows by equal values in its leading columns.
#[derive(Debug, PartialEq)]
enum Lookup<'a> {
    /// `SEARCH t USING INTEGER PRIMARY KEY (rowid=?)`: one row.
    Row,
    /// `SEARCH t USING [COVERING] INDEX name (a=? AND b=?)`: the index, and how many leading
    /// columns are equal to a value.
    Index(&'a str, usize),
}

/// The equality lookup of one plan line; `None` for a scan, a range, or an index SQLite would
/// build for the query alone.
fn equality_lookup(read: &str) -> Option<Lookup<'_>> {
    let (_, using) = read.strip_prefix("SEARCH ")?.split_once(" USING ")?;
    let (how, terms) = using.split_once(" (")?;
    let equal = terms
        .strip_suffix(')')?
        .split(" AND ")
        .take_while(|t| {
            t.strip_suffix("=?")
                .is_some_and(|column| !column.ends_with(['<', '>', '!']))
        })
        .count();
    match how.split_once("INDEX ") {
        _ if equal == 0 || how.starts_with("AUTOMATIC") => None,
        _ if how == "INTEGER PRIMARY KEY" => Some(Lookup::Row),
        Some((_, index)) => Some(Lookup::Index(index, equal)),
        None => None,
    }
}

/// How long a broad search may spend counting with another condition's index before the
/// full-text index drives instead. Steps are no measure here: the slow case is a filter index
/// reaching a hundred thousand rows, each a read from disk. A sales rep's own customers take
/// about 10 ms at a million customers.
const TESTED_SEARCH_TIME: Duration = Duration::from_millis(20);

/// How a list reads its matches (see `Conditions::drive_and_count`).
enum Drive<'a> {
    /// SQLite's own plan over all conditions.
    Planner,
    /// The search only tests rows another condition's index finds.
    SearchTested(&'a Search),
    /// The full-text index finds the rows and the other conditions test them.
    FullText(&'a Search),
}

struct Search {
    table: String,
    part: usize,
    parameter: usize,
}

impl Conditions {
    /// Keeps the counts of these conditions in `memo` until one of `tables`, every table they
    /// read, changes: the first page of a list counts up to a thousand index entries, for
    /// each person who opens it.
    pub fn count_in(&mut self, memo: Arc<Memo>, tables: Vec<String>) {
        // A condition on today's date (`kehu_today`, in the company's zone) changes with the
        // clock and the company settings, not with the tables: its count is never kept.
        if self.parts.iter().any(|part| part.contains("kehu_today(")) {
            return;
        }
        self.counts = Some((memo, tables));
    }

    /// Adds `sql` (every `?` in it stands for `value`) to the conditions, joined by AND.
    pub fn add(&mut self, sql: &str, value: impl Into<Value>) {
        self.values.push(value.into());
        self.parts
            .push(sql.replace('?', &format!("?{}", self.values.len())));
    }

    /// Adds "the row's id is among the rows of the full-text `table` that match `query`".
    pub fn add_search(&mut self, table: &str, query: String) {
        if self.search.is_none() {
            self.search = Some(Search {
                table: table.to_string(),
                part: self.parts.len(),
                parameter: self.values.len() + 1,
            });
        }
        self.add(
            &format!("t.id IN (SELECT rowid FROM {table} WHERE {table} MATCH ?)"),
            query,
        );
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
        let all_keys = format!("SELECT {key} AS page_key FROM {from}");
        let (drive, total) = self.drive_and_count(conn, (from, key), &all_keys)?;
        // Few matches: the plan of `drive` is cheap. Many: the planner still picks an index on
        // a condition and would sort every match (seconds at a million rows), where reading
        // the sort's index and testing each row fills a page after a few hundred rows. A
        // search listed newest first reads its full-text index, which keeps that order.
        let keys = match (&self.search, &drive) {
            (Some(search), _) if !total.exact && order == format!("{key} DESC") => {
                let keys = self.keys_from_full_text(search, (from, key));
                paged(&keys, "", "s.rowid DESC", limits)
            }
            _ if !total.exact
                && sorted_by_index(conn, from, order)?
                && self.sorts_every_match(conn, &all_keys, &drive, (order, limits))?
                && !self.expects_few_rows(
                    conn,
                    from,
                    &format!("{all_keys}{}", self.clause_for(&drive)),
                )? =>
            {
                paged(&all_keys, &self.clause_in_sort_order(), order, limits)
            }
            (_, Drive::FullText(search)) => {
                let keys = self.keys_from_full_text(search, (from, key));
                paged(&keys, "", order, limits)
            }
            _ => paged(&all_keys, &self.clause_for(&drive), order, limits),
        };
        let mut stmt = conn.prepare_cached(&format!(
            "{select} JOIN ({keys}) AS page ON page.page_key = {key} ORDER BY {order}"
        ))?;
        let items = stmt
            .query_map(params_from_iter(self.values.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        Ok((items, total))
    }

    /// How a list reads its matches, and how many there are. A search of few full-text
    /// matches drives the query: each match is one row to test. A broad one (a common
    /// two-character name matches tens of thousands of rows) would read every match's row, so
    /// another condition's index drives (a sales rep's own records) and the search only tests,
    /// unless no index applies or the one that does reaches too many rows: then the full-text
    /// index drives and each match is tested in its order.
    fn drive_and_count(
        &self,
        conn: &Connection,
        (from, key): (&str, &str),
        all_keys: &str,
    ) -> rusqlite::Result<(Drive<'_>, Total)> {
        let search = match &self.search {
            Some(search) if self.broad(conn, search)? => search,
            _ => {
                let total = self.count_of(conn, &format!("{all_keys}{}", self.clause()))?;
                return Ok((Drive::Planner, total));
            }
        };
        let tested = Drive::SearchTested(search);
        let tested_keys = format!("{all_keys}{}", self.clause_for(&tested));
        if self.found_by_equality(conn, from, &tested_keys)? {
            if let Some(total) = self.count_within_budget(conn, &tested_keys)? {
                return Ok((tested, total));
            }
        }
        let total = self.count_of(conn, &self.keys_from_full_text(search, (from, key)))?;
        Ok((Drive::FullText(search), total))
    }

    /// Whether the full-text condition alone matches more than `COUNT_CAP` rows.
    fn broad(&self, conn: &Connection, search: &Search) -> rusqlite::Result<bool> {
        let table = &search.table;
        let matches: i64 = conn.one(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ?1 LIMIT {})",
                COUNT_CAP + 1
            ),
            [&self.values[search.parameter - 1]],
            |r| r.get(0),
        )?;
        Ok(matches > COUNT_CAP)
    }

    /// Whether SQLite would find the rows of `keys` in `from` by looking up equal values in an
    /// index (`owner_id = 7`), not by scanning the table, an index or a range of one (the
    /// active slice's `owner_id IS NOT NULL` is a range over nearly every row).
    fn found_by_equality(
        &self,
        conn: &Connection,
        from: &str,
        keys: &str,
    ) -> rusqlite::Result<bool> {
        let reads = self.reads_of(conn, from, keys)?;
        Ok(!reads.is_empty() && reads.iter().all(|r| equality_lookup(r).is_some()))
    }

    /// Whether the statistics (`sqlite_stat1`, gathered by `PRAGMA optimize`) expect the plan of
    /// `keys` to find at most `FEW_ROWS` rows of `from`: every read an index lookup by equal
    /// values, each reaching few rows on average. Without statistics, no.
    fn expects_few_rows(
        &self,
        conn: &Connection,
        from: &str,
        keys: &str,
    ) -> rusqlite::Result<bool> {
        let mut expected = 0;
        for read in self.reads_of(conn, from, keys)? {
            let (index, equal) = match equality_lookup(&read) {
                Some(Lookup::Row) => {
                    expected += 1;
                    continue;
                }
                Some(Lookup::Index(index, equal)) => (index, equal),
                None => return Ok(false),
            };
            let stat: Option<String> =
                match conn.prepare_cached("SELECT stat FROM sqlite_stat1 WHERE idx = ?1") {
                    Ok(mut stmt) => stmt.query_row([index], |r| r.get(0)).optional()?,
                    // No statistics yet: the table is created by the first ANALYZE.
                    Err(_) => None,
                };
            let per_value = stat.and_then(|s| {
                s.split_whitespace()
                    .nth(equal)
                    .and_then(|n| n.parse::<i64>().ok())
            });
            match per_value {
                Some(rows) => expected += rows,
                None => return Ok(false),
            }
        }
        Ok(expected > 0 && expected <= FEW_ROWS)
    }

    /// Whether the planner's own plan for a page sorts every match (`USE TEMP B-TREE FOR
    /// ORDER BY`). When an index both finds the matches and holds them in order (a level
    /// filter on `(level, deleted_at, updated_at)`), reading it stops after the page's rows.
    fn sorts_every_match(
        &self,
        conn: &Connection,
        all_keys: &str,
        drive: &Drive,
        (order, limits): (&str, (i64, i64)),
    ) -> rusqlite::Result<bool> {
        let page = paged(all_keys, &self.clause_for(drive), order, limits);
        let details = self.plan_of(conn, &page)?;
        Ok(details.iter().any(|d| d == "USE TEMP B-TREE FOR ORDER BY"))
    }

    /// What the plan of `keys` does on the table of `from`: `SCAN …` or `SEARCH … (a=? AND …)`.
    fn reads_of(&self, conn: &Connection, from: &str, keys: &str) -> rusqlite::Result<Vec<String>> {
        let alias = from.split_whitespace().nth(1).unwrap_or(from);
        let (scan, search) = (format!("SCAN {alias}"), format!("SEARCH {alias} "));
        let details = self.plan_of(conn, keys)?;
        Ok(details
            .iter()
            .filter(|d| **d == scan || d.starts_with(&format!("{scan} ")) || d.starts_with(&search))
            .cloned()
            .collect())
    }

    /// The steps of the query plan of `sql` (`EXPLAIN QUERY PLAN`'s details). With the query
    /// planner stability guarantee on (`db::configure`) a plan never depends on the values
    /// bound, so it is read once per statement text and kept; the indexes and statistics it
    /// depends on change only with a migration, a new custom field or `PRAGMA optimize`, and
    /// a stale plan here only chooses a slower way to the same rows.
    fn plan_of(&self, conn: &Connection, sql: &str) -> rusqlite::Result<Arc<[String]>> {
        static PLANS: OnceLock<Mutex<HashMap<String, Arc<[String]>>>> = OnceLock::new();
        const MOST_PLANS: usize = 1_024;
        let plans = PLANS.get_or_init(Default::default);
        if let Some(plan) = locked(plans).get(sql) {
            return Ok(plan.clone());
        }
        let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let details: Arc<[String]> = explain
            .query_map(params_from_iter(self.values.iter()), |r| {
                r.get::<_, String>(3)
            })?
            .collect::<rusqlite::Result<Vec<String>>>()?
            .into();
        let mut plans = locked(plans);
        if plans.len() >= MOST_PLANS {
            plans.clear();
        }
        plans.insert(sql.to_string(), details.clone());
        Ok(details)
    }

    /// The capped count of `keys`, or `None` when it takes longer than `TESTED_SEARCH_TIME`.
    fn count_within_budget(
        &self,
        conn: &Connection,
        keys: &str,
    ) -> rusqlite::Result<Option<Total>> {
        let started = Instant::now();
        conn.progress_handler(1_000, Some(move || started.elapsed() > TESTED_SEARCH_TIME))?;
        let counted = self.count_of(conn, keys);
        conn.progress_handler(0, None::<fn() -> bool>)?;
        match counted {
            Ok(total) => Ok(Some(total)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The conditions for `drive` (all of them unless the full-text index drives).
    fn clause_for(&self, drive: &Drive) -> String {
        match drive {
            Drive::SearchTested(search) => {
                where_clause(self.parts.iter().enumerate().map(|(at, part)| {
                    if at == search.part {
                        format!("+({part})")
                    } else {
                        part.clone()
                    }
                }))
            }
            _ => self.clause(),
        }
    }

    /// Every match's key, read from the full-text index of `search` (its rowids are the
    /// records' ids) and tested against the other conditions.
    fn keys_from_full_text(&self, search: &Search, (from, key): (&str, &str)) -> String {
        let table = &search.table;
        let others = self
            .parts
            .iter()
            .enumerate()
            .filter(|(at, _)| *at != search.part)
            .map(|(_, part)| format!(" AND +({part})"))
            .collect::<String>();
        format!(
            "SELECT {key} AS page_key FROM {table} s JOIN {from} ON {key} = s.rowid
             WHERE s.{table} MATCH ?{}{others}",
            search.parameter
        )
    }

    /// The rows `keys` selects, counted up to `COUNT_CAP + 1`.
    fn count_of(&self, conn: &Connection, keys: &str) -> rusqlite::Result<Total> {
        let sql = format!("SELECT count(*) FROM ({keys} LIMIT {})", COUNT_CAP + 1);
        let count = || conn.one(&sql, params_from_iter(self.values.iter()), |r| r.get(0));
        let counted: i64 = match &self.counts {
            Some((memo, tables)) => {
                let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
                let key = format!("count\n{sql}\n{:?}", self.values);
                memo.answer(&tables, key, count)?
            }
            None => count()?,
        };
        Ok(Total::capped(counted))
    }

    /// The matching rows of `from`, counted up to `COUNT_CAP + 1`.
    fn count(&self, conn: &Connection, from: &str) -> rusqlite::Result<Total> {
        self.count_of(conn, &format!("SELECT 1 FROM {from}{}", self.clause()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_lookups_are_read_from_the_plan() {
        assert_eq!(
            equality_lookup("SEARCH t USING INDEX customers_owner (owner_id=? AND deleted_at=?)"),
            Some(Lookup::Index("customers_owner", 2))
        );
        assert_eq!(
            equality_lookup("SEARCH t USING COVERING INDEX customers_level (level=?)"),
            Some(Lookup::Index("customers_level", 1))
        );
        assert_eq!(
            equality_lookup(
                "SEARCH t USING INDEX customers_created (created_at=? AND deleted_at>?)"
            ),
            Some(Lookup::Index("customers_created", 1))
        );
        assert_eq!(
            equality_lookup("SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"),
            Some(Lookup::Row)
        );
        for not_a_lookup in [
            "SEARCH t USING COVERING INDEX customers_owner_next_followup (owner_id>?)",
            "SEARCH t USING INDEX customers_created (created_at>=?)",
            "SEARCH t USING INDEX customers_created (created_at<=? AND deleted_at=?)",
            "SEARCH t USING AUTOMATIC COVERING INDEX (owner_id=?)",
            "SCAN t USING INDEX customers_updated",
            "SCAN t",
        ] {
            assert_eq!(equality_lookup(not_a_lookup), None, "{not_a_lookup}");
        }
    }
}
