//! Reading request input at the edge: JSON bodies and list query parameters. Anything the
//! handler did not ask for is refused by name instead of silently ignored.

use super::error::{AppError, FieldErrors};
use crate::db::query::Total;
use chrono::{NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 200;

/// A JSON object body.
pub struct Body(pub Map<String, Value>);

impl Body {
    pub fn parse(value: Value) -> Result<Body, AppError> {
        match value {
            Value::Object(map) => Ok(Body(map)),
            _ => Err(AppError::bad_request("invalid_body")),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A required text of at most `max` characters, trimmed; `required`, `text` or `too_long`
    /// in `errors` otherwise.
    pub fn required_text(&self, key: &str, max: usize, errors: &mut FieldErrors) -> String {
        match self.0.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                if s.trim().chars().count() > max {
                    errors.add(key, "too_long", json!({ "max": max }));
                }
                s.trim().to_string()
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {
                errors.add(key, "required", json!({}));
                String::new()
            }
            Some(_) => {
                errors.add(key, "text", json!({}));
                String::new()
            }
        }
    }

    /// Adds `not_editable` for every key outside `allowed`.
    pub fn refuse_others(&self, allowed: &[&str], errors: &mut FieldErrors) {
        for key in self.0.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.add(key, "not_editable", json!({}));
            }
        }
    }

    /// An optional id: absent or null is `None`; anything but a positive integer is an error.
    pub fn optional_id(&self, key: &str, errors: &mut FieldErrors) -> Option<i64> {
        match self.0.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_i64().filter(|id| *id > 0) {
                Some(id) => Some(id),
                None => {
                    errors.add(key, "invalid_id", json!({}));
                    None
                }
            },
        }
    }

    /// A list of ids (`[1, 2]`); `None` when absent.
    pub fn ids(&self, key: &str, errors: &mut FieldErrors) -> Option<Vec<i64>> {
        let value = self.0.get(key)?;
        let ids: Option<Vec<i64>> = value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_i64().filter(|id| *id > 0))
                    .collect::<Option<Vec<i64>>>()
            })
            .unwrap_or(None);
        if ids.is_none() {
            errors.add(key, "invalid_id", json!({}));
        }
        ids
    }

    /// The `version` an update was based on (optimistic concurrency); required.
    pub fn version(&self, errors: &mut FieldErrors) -> i64 {
        match self.0.get("version").and_then(Value::as_i64) {
            Some(version) => version,
            None => {
                errors.add("version", "required", json!({}));
                0
            }
        }
    }
}

/// A 409 `version_conflict` carrying the record as it is now.
pub fn version_conflict(current: Value) -> AppError {
    let mut error = AppError::conflict("version_conflict");
    error.current = Some(current);
    error
}

/// List query parameters: paging plus the filters a list accepts.
pub struct ListParams {
    params: HashMap<String, String>,
    pub page: i64,
    pub per_page: i64,
}

impl ListParams {
    /// Accepts `page`, `per_page` and the names in `filters`; any other name is a 400.
    pub fn parse(
        params: HashMap<String, String>,
        filters: &[&str],
    ) -> Result<ListParams, AppError> {
        if let Some(unknown) = params
            .keys()
            .find(|k| !filters.contains(&k.as_str()) && *k != "page" && *k != "per_page")
        {
            return Err(AppError::invalid_query(unknown));
        }
        let number = |name: &str, default: i64, max: i64| match params.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| AppError::invalid_query(name)),
        };
        let page = number("page", 1, i64::MAX / MAX_PER_PAGE)?;
        let per_page = number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?;
        Ok(ListParams {
            params,
            page,
            per_page,
        })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn id(&self, name: &str) -> Result<Option<i64>, AppError> {
        self.text(name)
            .map(|raw| {
                raw.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| AppError::invalid_query(name))
            })
            .transpose()
    }

    pub fn flag(&self, name: &str) -> Result<Option<bool>, AppError> {
        self.text(name)
            .map(|raw| match raw {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(AppError::invalid_query(name)),
            })
            .transpose()
    }

    /// A `YYYY-MM-DD` date as the unix-millisecond instant its day starts in `zone`;
    /// `end_of_day` gives the start of the next day instead (for inclusive `to`).
    pub fn day_start(
        &self,
        name: &str,
        zone: chrono_tz::Tz,
        end_of_day: bool,
    ) -> Result<Option<i64>, AppError> {
        let Some(raw) = self.text(name) else {
            return Ok(None);
        };
        let mut date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| AppError::invalid_query(name))?;
        if end_of_day {
            date = date
                .succ_opt()
                .ok_or_else(|| AppError::invalid_query(name))?;
        }
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| AppError::invalid_query(name))?;
        zone.from_local_datetime(&midnight)
            .earliest()
            .map(|t| Some(t.timestamp_millis()))
            .ok_or_else(|| AppError::invalid_query(name))
    }

    /// The list answer of API.md: items, total, page, per_page; `total_exact` is false when
    /// the list matches more than `total` rows (see `COUNT_CAP`).
    pub fn answer<T>(&self, items: Vec<T>, total: Total) -> ListAnswer<T> {
        ListAnswer {
            total: total.count,
            total_exact: total.exact,
            page: self.page,
            per_page: self.per_page,
            items,
        }
    }
}

/// One page of a list as API.md answers it.
#[derive(Serialize)]
pub struct ListAnswer<T> {
    pub total: i64,
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
    pub items: Vec<T>,
}

impl ListAnswer<()> {
    /// The answer's JSON around `records`, the page's records already written as JSON and
    /// separated by commas (`Reader::write_json`): the same text serde writes for a
    /// `ListAnswer` of those records, without holding each record on its own.
    pub fn json_around(&self, records: &[u8]) -> Vec<u8> {
        let head = format!(
            r#"{{"total":{},"total_exact":{},"page":{},"per_page":{},"items":["#,
            self.total, self.total_exact, self.page, self.per_page
        );
        let mut body = Vec::with_capacity(head.len() + records.len() + 2);
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(records);
        body.extend_from_slice(b"]}");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_around_written_records_is_the_answer_serde_writes() {
        let records = [
            serde_json::json!({"id": 1, "name": "甲"}),
            serde_json::json!({"id": 2}),
        ];
        fn answer<T>(items: Vec<T>) -> ListAnswer<T> {
            ListAnswer {
                total: 1000,
                total_exact: false,
                page: 3,
                per_page: 2,
                items,
            }
        }
        let written: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        let around = answer(vec![(), ()]).json_around(written.join(",").as_bytes());
        let whole = serde_json::to_vec(&answer(records.to_vec())).unwrap();
        assert_eq!(
            String::from_utf8(around).unwrap(),
            String::from_utf8(whole).unwrap()
        );
        let empty = answer(Vec::new()).json_around(b"");
        let whole = serde_json::to_vec(&answer(Vec::<serde_json::Value>::new())).unwrap();
        assert_eq!(empty, whole);
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_is_bounded_and_unknown_names_refused() {
        let list = ListParams::parse(params(&[("page", "3"), ("per_page", "50")]), &[]).unwrap();
        assert_eq!((list.page, list.per_page, list.offset()), (3, 50, 100));
        for bad in [
            ("page", "0"),
            ("page", "x"),
            ("per_page", "201"),
            ("per_page", "-1"),
            ("colour", "red"),
        ] {
            assert!(ListParams::parse(params(&[bad]), &[]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn days_are_read_in_the_company_zone() {
        let list = ListParams::parse(params(&[("from", "2026-01-01")]), &["from"]).unwrap();
        let start = list
            .day_start("from", chrono_tz::Asia::Shanghai, false)
            .unwrap()
            .unwrap();
        assert_eq!(start, 1_767_196_800_000, "2025-12-31T16:00:00Z");
        let end = list
            .day_start("from", chrono_tz::Asia::Shanghai, true)
            .unwrap()
            .unwrap();
        assert_eq!(end - start, 86_400_000);
    }
}
