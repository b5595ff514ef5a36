//! Field values between JSON (the API) and SQLite (the table): each kind knows how to parse a
//! request value, how it is stored and how it reads back.

use super::descriptor::{Field, Kind};
use crate::time::Rfc3339;
use chrono::{DateTime, NaiveDate};
use rusqlite::types::{Value as Sql, ValueRef};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Why a value was refused: a field error code and the values its message needs.
pub type Refusal = (&'static str, Value);

const LONG_TEXT_MAX: usize = 20_000;
const TAG_MAX_CHARS: usize = 30;
const TAGS_MAX: usize = 20;

fn refuse(code: &'static str) -> Result<Sql, Refusal> {
    Err((code, json!({})))
}

/// Parses a request value for `field`. `options` are the active picklist values of the field.
/// Null and empty text mean "no value" (refused for required fields).
pub fn parse(field: &Field, raw: &Value, options: &[String]) -> Result<Sql, Refusal> {
    let blank = match raw {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty() && !field.kind.is_list(),
        _ => false,
    };
    if blank {
        return if field.required {
            refuse("required")
        } else if field.kind.is_json() {
            Ok(Sql::Text("[]".into()))
        } else if field.kind == Kind::Bool {
            Ok(Sql::Integer(0))
        } else {
            Ok(Sql::Null)
        };
    }
    match field.kind {
        Kind::Text { max } => text(raw, max),
        Kind::LongText => text(raw, LONG_TEXT_MAX),
        Kind::Integer | Kind::Money => raw.as_i64().map(Sql::Integer).ok_or(("integer", json!({}))),
        Kind::Date => raw
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
            .map(|d| Sql::Text(d.format("%Y-%m-%d").to_string()))
            .ok_or(("invalid_date", json!({}))),
        Kind::DateTime => raw
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|t| Sql::Integer(t.timestamp_millis()))
            .ok_or(("invalid_datetime", json!({}))),
        Kind::Bool => raw
            .as_bool()
            .map(|b| Sql::Integer(b.into()))
            .ok_or(("boolean", json!({}))),
        Kind::Picklist => match raw.as_str().map(str::trim) {
            Some(v) if options.iter().any(|o| o == v) => Ok(Sql::Text(v.into())),
            _ => Err(("one_of", json!({ "options": options.join(", ") }))),
        },
        Kind::MultiPicklist => list(raw, |v| options.iter().any(|o| o == v))
            .ok_or(("one_of", json!({ "options": options.join(", ") }))),
        Kind::Tags => list(raw, |v| v.chars().count() <= TAG_MAX_CHARS).ok_or((
            "invalid_tags",
            json!({ "max": TAG_MAX_CHARS, "count": TAGS_MAX }),
        )),
        Kind::User | Kind::Department | Kind::Reference(_) | Kind::Lookup(_) => raw
            .as_i64()
            .filter(|id| *id > 0)
            .map(Sql::Integer)
            .ok_or(("invalid_id", json!({}))),
        Kind::Phone => phone(raw),
        Kind::Email => email(raw),
        Kind::Url => url(raw),
        Kind::EntityName(names) => match raw.as_str().map(str::trim) {
            Some(name) if names.contains(&name) => Ok(Sql::Text(name.into())),
            _ => Err(("one_of", json!({ "options": names.join(", ") }))),
        },
        Kind::Currency => raw
            .as_str()
            .map(str::trim)
            .filter(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()))
            .map(|c| Sql::Text(c.into()))
            .ok_or(("invalid_currency", json!({}))),
        // Settled by `lines::settle` before parsing; here they are only stored.
        Kind::Lines => match raw {
            Value::Array(_) => Ok(Sql::Text(raw.to_string())),
            _ => refuse("invalid_lines"),
        },
    }
}

fn text(raw: &Value, max: usize) -> Result<Sql, Refusal> {
    let Some(s) = raw.as_str() else {
        return refuse("text");
    };
    let s = s.trim();
    if s.chars().count() > max {
        return Err(("too_long", json!({ "max": max })));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return refuse("invalid_characters");
    }
    Ok(Sql::Text(s.into()))
}

/// A JSON array of distinct, trimmed, non-empty strings that each pass `ok`.
fn list(raw: &Value, ok: impl Fn(&str) -> bool) -> Option<Sql> {
    let mut values: Vec<String> = Vec::new();
    for item in raw.as_array()? {
        let v = item.as_str()?.trim();
        if v.is_empty() || !ok(v) {
            return None;
        }
        if !values.iter().any(|x| x == v) {
            values.push(v.into());
        }
    }
    (values.len() <= TAGS_MAX).then(|| Sql::Text(json!(values).to_string()))
}

fn phone(raw: &Value) -> Result<Sql, Refusal> {
    let s = raw.as_str().map(str::trim).unwrap_or_default();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || " +-()#.,转ext".contains(c));
    if allowed && (3..=20).contains(&digits) && s.chars().count() <= 40 {
        Ok(Sql::Text(s.into()))
    } else {
        refuse("invalid_phone")
    }
}

fn email(raw: &Value) -> Result<Sql, Refusal> {
    let s = raw.as_str().map(str::trim).unwrap_or_default();
    let valid = s.len() <= 254
        && !s.contains(char::is_whitespace)
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(Sql::Text(s.into()))
    } else {
        refuse("invalid_email")
    }
}

/// Web addresses only: a link a colleague clicks must not run script (`javascript:`).
fn url(raw: &Value) -> Result<Sql, Refusal> {
    let s = raw.as_str().map(str::trim).unwrap_or_default();
    let lower = s.to_ascii_lowercase();
    let full = if lower.starts_with("http://") || lower.starts_with("https://") {
        s.to_string()
    } else if s.contains(':') && !s.contains('.') || lower.contains("script:") {
        return refuse("invalid_url");
    } else {
        format!("https://{s}")
    };
    let host = full.split("://").nth(1).unwrap_or_default();
    if full.len() > 500 || full.contains(char::is_whitespace) || !host.contains('.') {
        return refuse("invalid_url");
    }
    Ok(Sql::Text(full))
}

/// A stored value as the API shows it: instants in RFC 3339, lists and line items as the JSON
/// they are stored as (an empty list when absent). It serialises straight from SQLite's value,
/// so a list page writes its JSON without building a `Value` per field.
pub struct Shown<'r>(pub Kind, pub ValueRef<'r>);

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, out: S) -> Result<S::Ok, S::Error> {
        match (self.0, self.1) {
            (kind, ValueRef::Null) if kind.is_json() => out.serialize_seq(Some(0))?.end(),
            (_, ValueRef::Null | ValueRef::Blob(_)) => out.serialize_unit(),
            (Kind::DateTime, ValueRef::Integer(ms)) => {
                out.serialize_str(&Rfc3339::default().write(ms))
            }
            (Kind::Bool, ValueRef::Integer(n)) => out.serialize_bool(n != 0),
            (kind, ValueRef::Text(text)) if kind.is_json() => {
                match serde_json::from_slice::<&RawValue>(text) {
                    Ok(stored) => stored.serialize(out),
                    Err(_) => out.serialize_seq(Some(0))?.end(),
                }
            }
            (_, ValueRef::Integer(n)) => out.serialize_i64(n),
            (_, ValueRef::Real(f)) => out.serialize_f64(f),
            (_, ValueRef::Text(text)) => out.serialize_str(&String::from_utf8_lossy(text)),
        }
    }
}

/// A stored value as plain text for a file cell: lists joined, instants in RFC 3339.
pub fn to_cell(kind: Kind, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(_) if kind == Kind::Lines => value.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Bool(b) if kind == Kind::Bool => if *b { "true" } else { "false" }.into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: Kind) -> Field {
        Field::new("f", kind)
    }

    #[test]
    fn stored_values_show_the_same_as_json_and_as_a_value() {
        let cases = [
            (
                Kind::DateTime,
                ValueRef::Integer(0),
                r#""1970-01-01T00:00:00.000+00:00""#,
            ),
            (Kind::Bool, ValueRef::Integer(2), "true"),
            (Kind::Tags, ValueRef::Null, "[]"),
            (Kind::Tags, ValueRef::Text(br#"["a","b"]"#), r#"["a","b"]"#),
            (Kind::Tags, ValueRef::Text(b"[broken"), "[]"),
            (Kind::Money, ValueRef::Integer(-5), "-5"),
            (Kind::Integer, ValueRef::Real(f64::NAN), "null"),
            (
                Kind::LongText,
                ValueRef::Text("引号\"".as_bytes()),
                r#""引号\"""#,
            ),
            (Kind::Phone, ValueRef::Blob(b"x"), "null"),
        ];
        for (kind, stored, shown) in cases {
            let written = serde_json::to_string(&Shown(kind, stored)).unwrap();
            assert_eq!(written, shown, "{kind:?}");
            let value = serde_json::to_value(Shown(kind, stored)).unwrap();
            assert_eq!(value, serde_json::from_str::<Value>(shown).unwrap());
        }
    }

    #[test]
    fn kinds_parse_and_refuse() {
        let text = field(Kind::Text { max: 3 });
        assert_eq!(
            parse(&text, &json!(" ab "), &[]),
            Ok(Sql::Text("ab".into()))
        );
        assert_eq!(parse(&text, &json!("abcd"), &[]).unwrap_err().0, "too_long");
        assert_eq!(
            parse(&text.required(), &json!(" "), &[]).unwrap_err().0,
            "required"
        );
        assert_eq!(
            parse(&field(Kind::Money), &json!(1.5), &[]).unwrap_err().0,
            "integer"
        );
        assert_eq!(
            parse(&field(Kind::Url), &json!("javascript:alert(1)"), &[])
                .unwrap_err()
                .0,
            "invalid_url"
        );
        assert_eq!(
            parse(&field(Kind::Url), &json!("kehu.example.com"), &[]),
            Ok(Sql::Text("https://kehu.example.com".into()))
        );
        assert!(parse(&field(Kind::Email), &json!("a@b"), &[]).is_err());
        assert!(parse(&field(Kind::Phone), &json!("+86 138-0000-0000"), &[]).is_ok());
        assert_eq!(
            parse(&field(Kind::Tags), &json!(["重点", "重点", "vip"]), &[]),
            Ok(Sql::Text(r#"["重点","vip"]"#.into()))
        );
        let options = vec!["A".to_string()];
        assert!(parse(&field(Kind::Picklist), &json!("A"), &options).is_ok());
        assert_eq!(
            parse(&field(Kind::Picklist), &json!("Z"), &options)
                .unwrap_err()
                .0,
            "one_of"
        );
        assert_eq!(
            parse(
                &field(Kind::DateTime),
                &json!("2026-11-23T09:00:00+08:00"),
                &[]
            ),
            Ok(Sql::Integer(1_795_395_600_000))
        );
    }
}
