//! A small builder for filtered, paged lists: conditions are fixed SQL text written in the code,
//! values are always bound parameters.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};

/// `%text%` for `LIKE … ESCAPE '\'`, with the wildcards in `text` taken literally.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
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
        if self.parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.parts.join(" AND "))
        }
    }

    /// The statement that reads one page (for `page`, and for checking its query plan).
    pub fn page_sql(&self, select: &str, order: &str, (limit, offset): (i64, i64)) -> String {
        format!(
            "{select}{} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            self.clause()
        )
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
    ) -> rusqlite::Result<(Vec<T>, i64)> {
        let keys = self.page_sql(
            &format!("SELECT {key} AS page_key FROM {from}"),
            order,
            limits,
        );
        let mut stmt = conn.prepare_cached(&format!(
            "{select} JOIN ({keys}) AS page ON page.page_key = {key} ORDER BY {order}"
        ))?;
        let items = stmt
            .query_map(params_from_iter(self.values.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        Ok((items, self.count(conn, from)?))
    }

    fn count(&self, conn: &Connection, from: &str) -> rusqlite::Result<i64> {
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
    ) -> rusqlite::Result<(Vec<T>, i64)> {
        let total = self.count(conn, from)?;
        let mut stmt = conn.prepare_cached(&self.page_sql(select, order, (limit, offset)))?;
        let items = stmt
            .query_map(params_from_iter(self.values.iter()), map)?
            .collect::<rusqlite::Result<Vec<T>>>()?;
        Ok((items, total))
    }
}
