//! The list query of API.md "Records": `q`, `sort`, `page`, `per_page` and
//! `filter[FIELD]` / `filter[FIELD][OP]`. Every field, operator and sort key is looked up in the
//! descriptor (and must be visible to the caller); every value is a bound parameter.

use super::bigrams;
use super::descriptor::{Entity, Field, Kind};
use super::registry;
use crate::access::{FieldAccess, ModuleRights};
use crate::db::query::{like_pattern, Conditions};
use crate::http::error::AppError;
use crate::http::input::ListParams;
use chrono::{DateTime, NaiveDate, TimeZone};
use rusqlite::types::Value as Sql;
use std::collections::HashMap;

/// Bookkeeping columns every entity has, usable in filters and sort like its fields.
const ID: Field = Field::new("id", Kind::Integer).sortable();
const CREATED_AT: Field = Field::new("created_at", Kind::DateTime).sortable();
const UPDATED_AT: Field = Field::new("updated_at", Kind::DateTime).sortable();
const OWNER: Field = Field::new("owner_id", Kind::User).sortable();
const CREATED_BY: Field = Field::new("created_by", Kind::User);
const DEPARTMENT: Field = Field::new("department_id", Kind::Department).sortable();

/// A field of `entity` (or a bookkeeping column) as the caller may query it.
pub fn queryable(entity: &Entity, rights: &ModuleRights, name: &str) -> Option<Field> {
    let base = match name {
        "id" => Some(ID),
        "created_at" => Some(CREATED_AT),
        "updated_at" => Some(UPDATED_AT),
        "created_by" => Some(CREATED_BY),
        "owner_id" if entity.is_owned() => Some(OWNER),
        "department_id" if entity.is_owned() => Some(DEPARTMENT),
        _ => None,
    };
    base.or_else(|| entity.field(name).copied())
        .filter(|f| rights.field(f.name) != FieldAccess::Hidden)
}

/// A search without `sort` lists the newest matches first (see `Conditions::page_by_key`).
const SEARCH_ORDER: &str = "t.id DESC";

/// A parsed list request, ready to run.
pub struct ListQuery {
    pub paging: ListParams,
    pub conditions: Conditions,
    pub order: String,
}

impl ListQuery {
    pub fn parse(
        entity: &Entity,
        rights: &ModuleRights,
        params: HashMap<String, String>,
        zone: chrono_tz::Tz,
    ) -> Result<ListQuery, AppError> {
        let mut conditions = Conditions::default();
        let mut order = None;
        let mut searched = false;
        let mut paging = HashMap::new();
        for (key, value) in params {
            match key.as_str() {
                "page" | "per_page" => {
                    paging.insert(key, value);
                }
                "q" => {
                    searched |= !value.trim().is_empty();
                    search(entity, rights, &value, &mut conditions);
                }
                "sort" => order = Some(sort(entity, rights, &value)?),
                _ => filter(entity, rights, &key, &value, zone, &mut conditions)?,
            }
        }
        let order = match order {
            Some(order) => order,
            // The search order: newest matches first, the order the full-text index keeps.
            None if searched => SEARCH_ORDER.to_string(),
            None => sort(entity, rights, entity.default_sort)?,
        };
        Ok(ListQuery {
            paging: ListParams::parse(paging, &[])?,
            conditions,
            order,
        })
    }
}

/// `name,-created_at` → `t.name ASC, t.created_at DESC, t.id DESC`.
fn sort(entity: &Entity, rights: &ModuleRights, value: &str) -> Result<String, AppError> {
    let mut keys = Vec::new();
    for key in value.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let (name, direction) = match key.strip_prefix('-') {
            Some(name) => (name, "DESC"),
            None => (key, "ASC"),
        };
        let field = queryable(entity, rights, name)
            .filter(|f| f.sortable)
            .ok_or_else(|| AppError::invalid_query(format!("sort {name}")))?;
        keys.push(format!("{} {direction}", field.column("t")));
    }
    keys.push("t.id DESC".into());
    Ok(keys.join(", "))
}

/// The words of a search box as a person means them: split at spaces, except inside double
/// quotes (ASCII or Chinese), which keep a phrase together; a quote left open is ignored, and so
/// are the bare words AND, OR and NOT, which people type as if they were operators (every word
/// must match anyway). Nothing of FTS5's syntax reaches the index unquoted (see `search`).
pub fn user_words(q: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_phrase = false;
    for c in q.chars() {
        match c {
            '"' | '“' | '”' => {
                words.push((std::mem::take(&mut current), in_phrase));
                in_phrase = !in_phrase;
            }
            c if c.is_whitespace() && !in_phrase => {
                words.push((std::mem::take(&mut current), false))
            }
            c => current.push(c),
        }
    }
    words.push((current, false));
    let operator = |w: &str| ["AND", "OR", "NOT"].contains(&w.to_uppercase().as_str());
    words
        .into_iter()
        .flat_map(|(word, phrase)| {
            if phrase {
                vec![word.trim().to_string()]
            } else {
                word.split_whitespace()
                    .filter(|w| !operator(w))
                    .map(str::to_string)
                    .collect()
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Full-text search: each word must match. Words of three characters or more use the trigram
/// index over every searchable field; shorter ones (two-character Chinese names are common, and
/// trigrams cannot see them) use the pairs index over the name fields (`entity::bigrams`), so
/// no search reads every row.
///
/// Searchable custom fields share the full-text column `custom`, so it is searched only when
/// the caller may see every one of them.
pub fn search(entity: &Entity, rights: &ModuleRights, q: &str, conditions: &mut Conditions) {
    let visible = |f: &&Field| rights.field(f.name) != FieldAccess::Hidden;
    let custom: Vec<&Field> = entity.searchable_custom().collect();
    let custom_visible = !custom.is_empty() && custom.iter().all(visible);
    let with_custom = |mut columns: Vec<&'static str>| {
        if custom_visible {
            columns.push("custom");
        }
        columns
    };
    let long = with_custom(
        entity
            .searchable()
            .filter(visible)
            .map(|f| f.name)
            .collect(),
    );
    let short = with_custom(
        entity
            .pair_searchable()
            .filter(visible)
            .map(|f| f.name)
            .collect(),
    );
    for word in user_words(q).iter().take(8).map(String::as_str) {
        let found = if word.chars().count() < 3 {
            bigrams::query(word)
                .filter(|_| !short.is_empty())
                .map(|query| {
                    (
                        entity.bigram_table(),
                        format!("{{{}}} : ({query})", short.join(" ")),
                    )
                })
        } else {
            (!long.is_empty()).then(|| {
                let phrase = word.replace('"', "\"\"");
                (
                    entity.fts_table(),
                    format!("{{{}}} : \"{phrase}\"", long.join(" ")),
                )
            })
        };
        match found {
            Some((table, query)) => conditions.add_search(&table, query),
            None => conditions.add_raw("0"),
        }
    }
}

/// `filter[name]` or `filter[name][op]`.
fn filter(
    entity: &Entity,
    rights: &ModuleRights,
    key: &str,
    raw: &str,
    zone: chrono_tz::Tz,
    conditions: &mut Conditions,
) -> Result<(), AppError> {
    let inner = key
        .strip_prefix("filter[")
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| AppError::invalid_query(key))?;
    let (name, op) = match inner.split_once("][") {
        Some((name, op)) => (name, op),
        None => (inner, "eq"),
    };
    if let Some((reference, through)) = name.split_once('.') {
        return filter_through(entity, rights, (reference, through, op), raw, conditions);
    }
    let field = queryable(entity, rights, name)
        .ok_or_else(|| AppError::invalid_query(format!("filter {name}")))?;
    let column = field.column("t");
    let bad_value = || AppError::invalid_query(format!("filter {name}: {raw}"));
    let value = |text: &str| filter_value(field.kind, text, zone).ok_or_else(bad_value);
    let list = field.kind.is_list();
    match op {
        "empty" => {
            let empty = format!("({column} IS NULL OR {column} = '' OR {column} = '[]')");
            match raw {
                "true" | "1" => conditions.add_raw(empty),
                "false" | "0" => conditions.add_raw(format!("NOT {empty}")),
                _ => return Err(bad_value()),
            }
        }
        "eq" | "contains" if list => conditions.add(
            &format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?)"),
            Sql::Text(raw.trim().into()),
        ),
        // Any of the values: they go in as one JSON array, so the statement keeps one shape.
        "in" if list => {
            let values: Vec<&str> = raw
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(bad_value());
            }
            conditions.add(
                &format!(
                    "EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN (SELECT value FROM json_each(?)))"
                ),
                Sql::Text(serde_json::to_string(&values).map_err(AppError::internal)?),
            );
        }
        "ne" if list => conditions.add(
            &format!("NOT EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?)"),
            Sql::Text(raw.trim().into()),
        ),
        "contains" if is_text(field.kind) => conditions.add(
            &format!("{column} LIKE ? ESCAPE '\\'"),
            Sql::Text(like_pattern(raw.trim())),
        ),
        "in" if !list => {
            let values = raw
                .split(',')
                .map(|v| value(v.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            conditions.add_in(&column, values);
        }
        "eq" | "ne" | "lt" | "lte" | "gt" | "gte" if !list => {
            let sql_op = match op {
                "eq" => "=",
                "ne" => "IS NOT",
                "lt" => "<",
                "lte" => "<=",
                "gt" => ">",
                _ => ">=",
            };
            conditions.add(&format!("{column} {sql_op} ?"), value(raw.trim())?);
        }
        _ => return Err(AppError::invalid_query(format!("filter {name} {op}"))),
    }
    Ok(())
}

/// `filter[REFERENCE.FIELD]=ID`: records whose referenced record (a payment's contract) has
/// FIELD, itself a reference, equal to ID (the contract's customer), so a customer's page lists
/// the payments and invoices of its contracts. Only references are followed, one step, and the
/// referenced record must be live; what the caller may see is bounded as for any list.
fn filter_through(
    entity: &Entity,
    rights: &ModuleRights,
    (reference, through, op): (&str, &str, &str),
    raw: &str,
    conditions: &mut Conditions,
) -> Result<(), AppError> {
    let unknown = || AppError::invalid_query(format!("filter {reference}.{through}"));
    let target = match queryable(entity, rights, reference).map(|f| f.kind) {
        Some(Kind::Reference(target)) => registry::find(target).ok_or_else(unknown)?,
        _ => return Err(unknown()),
    };
    let field = target
        .field(through)
        .filter(|f| matches!(f.kind, Kind::Reference(_)))
        .ok_or_else(unknown)?;
    let id = raw
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid_query(format!("filter {reference}.{through}: {raw}")))?;
    if op != "eq" {
        return Err(AppError::invalid_query(format!(
            "filter {reference}.{through} {op}"
        )));
    }
    conditions.add(
        &format!(
            "t.{reference} IN (SELECT r.id FROM {} r WHERE r.{} = ? AND r.deleted_at IS NULL)",
            target.name, field.name
        ),
        Sql::Integer(id),
    );
    Ok(())
}

fn is_text(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Text { .. } | Kind::LongText | Kind::Phone | Kind::Email | Kind::Url
    )
}

/// A filter value typed like the column. Instants accept RFC 3339 or a date (the day's start in
/// the company's time zone).
fn filter_value(kind: Kind, text: &str, zone: chrono_tz::Tz) -> Option<Sql> {
    match kind {
        Kind::Integer
        | Kind::Money
        | Kind::User
        | Kind::Department
        | Kind::Reference(_)
        | Kind::Lookup(_) => text.parse::<i64>().ok().map(Sql::Integer),
        Kind::Lines => None,
        Kind::Bool => match text {
            "true" | "1" => Some(Sql::Integer(1)),
            "false" | "0" => Some(Sql::Integer(0)),
            _ => None,
        },
        Kind::DateTime => DateTime::parse_from_rfc3339(text)
            .map(|t| t.timestamp_millis())
            .ok()
            .or_else(|| {
                let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                let start = zone
                    .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
                    .earliest()?;
                Some(start.timestamp_millis())
            })
            .map(Sql::Integer),
        Kind::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| Sql::Text(d.format("%Y-%m-%d").to_string())),
        _ => Some(Sql::Text(text.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::user_words;

    #[test]
    fn a_search_box_is_read_as_words_and_phrases() {
        let words = |q: &str| user_words(q);
        assert_eq!(words("北京"), ["北京"]);
        assert_eq!(words("\"北京"), ["北京"], "a quote left open");
        assert_eq!(words("北京 AND"), ["北京"], "a trailing operator");
        assert_eq!(words("北京 and 上海 OR not"), ["北京", "上海"]);
        assert_eq!(words("\"上海 科技\" 张江"), ["上海 科技", "张江"]);
        assert_eq!(words("“张江 科技”"), ["张江 科技"], "Chinese quotes");
        assert_eq!(words("\"AND\""), ["AND"], "a quoted word is meant");
        assert_eq!(words("  \"\"  "), Vec::<String>::new());
    }
}
