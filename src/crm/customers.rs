//! Customers (客户): companies or individuals, owned by a sales rep and their department.
//! Duplicate check (查重): a customer with the same name, phone or email as another is refused
//! with 409 `duplicate` unless the request confirms it; the existing record is named only when
//! the caller may see it.

use super::pool;
use crate::access::{Action, Rights};
use crate::auth::session::CurrentUser;
use crate::entity::descriptor::{Entity, Field, Kind, Pool, Visibility};
use crate::entity::store::is_visible;
use crate::http::error::AppError;
use crate::http::state::AppState;
use actix_web::{web, HttpResponse};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const CUSTOMERS: Entity = Entity {
    name: "customers",
    fields: &[
        Field::new("name", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("kind", Kind::Picklist),
        Field::new("level", Kind::Picklist).sortable(),
        Field::new("stage", Kind::Picklist).sortable(),
        Field::new("industry", Kind::Picklist),
        Field::new("size", Kind::Picklist),
        Field::new("source", Kind::Picklist),
        Field::new("tags", Kind::Tags).searchable(),
        Field::new("phone", Kind::Phone).searchable().sortable(),
        Field::new("email", Kind::Email).searchable().sortable(),
        Field::new("website", Kind::Url).searchable(),
        Field::new("region", Kind::Text { max: 100 }).searchable(),
        Field::new("address", Kind::Text { max: 300 }).searchable(),
        Field::new("notes", Kind::LongText),
        Field::new("last_followup_at", Kind::DateTime)
            .system()
            .sortable(),
        Field::new("next_followup_at", Kind::DateTime)
            .system()
            .sortable(),
        Field::new("pooled_at", Kind::DateTime).system(),
    ],
    visibility: Visibility::Owned,
    title: "name",
    subtitle: "region",
    list_columns: &[
        "name",
        "level",
        "stage",
        "phone",
        "owner_id",
        "next_followup_at",
        "updated_at",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: Some(refuse_duplicates),
    prepare: None,
    instructions: &["confirm_duplicate"],
    pool: Some(Pool {
        release: pool::release_to_pool,
    }),
    approval: None,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers/duplicates", web::get().to(duplicates_route));
}

/// A phone number as digits only, so "021-5080 1234" and "02150801234" match.
fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The phone column reduced to digits in SQL, matching `digits`.
const PHONE_DIGITS: &str =
    "replace(replace(replace(replace(replace(replace(replace(t.phone, ' ', ''), \
    '-', ''), '(', ''), ')', ''), '+', ''), '.', ''), '#', '')";

/// One existing customer that matches, and whether the caller may see it.
struct Match {
    id: i64,
    name: String,
    matched_on: Vec<&'static str>,
    visible: bool,
}

/// The query for live visible customers other than `except` with the name, phone digits or
/// email (any case); `None` when there is nothing to compare.
fn duplicates_query(
    (name, phone, email): (Option<&str>, Option<&str>, Option<&str>),
    except: i64,
) -> Option<(String, Vec<Sql>)> {
    let mut tests = Vec::new();
    let mut values: Vec<Sql> = vec![Sql::Integer(except)];
    for (column, value) in [
        ("t.name", name),
        (PHONE_DIGITS, phone),
        ("t.email COLLATE NOCASE", email),
    ] {
        if let Some(value) = value {
            values.push(Sql::Text(value.to_string()));
            tests.push(format!(
                "SELECT t.id FROM customers t WHERE {column} = ?{}",
                values.len()
            ));
        }
    }
    if tests.is_empty() {
        return None;
    }
    // One index lookup per key, united: the planner cannot fall back to reading every row, as
    // it may for an OR of the same tests. The caller's scope is not in the text, so every
    // caller shares one cached statement; the rare match is checked against it afterwards.
    let sql = format!(
        "SELECT t.id, t.name, t.phone, t.email FROM customers t
         WHERE t.id IN ({}) AND t.deleted_at IS NULL AND t.id <> ?1 LIMIT 20",
        tests.join(" UNION ")
    );
    Some((sql, values))
}

/// Live customers other than `except` sharing the name, phone digits or email (any case).
fn find_duplicates(
    conn: &Connection,
    rights: &Rights,
    (name, phone, email): (Option<&str>, Option<&str>, Option<&str>),
    except: i64,
) -> Result<Vec<Match>, AppError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let phone = phone.map(digits).filter(|p| p.len() >= 5);
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let Some((sql, values)) = duplicates_query((name, phone.as_deref(), email), except) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(values), |r| {
            let found_name: String = r.get(1)?;
            let found_phone: Option<String> = r.get(2)?;
            let found_email: Option<String> = r.get(3)?;
            let mut matched_on = Vec::new();
            if name == Some(found_name.as_str()) {
                matched_on.push("name");
            }
            if phone.is_some() && found_phone.as_deref().map(digits) == phone {
                matched_on.push("phone");
            }
            if email.is_some_and(|e| found_email.is_some_and(|f| f.eq_ignore_ascii_case(e))) {
                matched_on.push("email");
            }
            Ok((r.get::<_, i64>(0)?, found_name, matched_on))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(id, name, matched_on)| {
            Ok(Match {
                id,
                name,
                matched_on,
                visible: is_visible(conn, rights, CUSTOMERS.name, id)?,
            })
        })
        .collect()
}

/// The `check` of customers: refuse a duplicate unless `confirm_duplicate` is true.
fn refuse_duplicates(
    conn: &Connection,
    rights: &Rights,
    record: &Value,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    if body.get("confirm_duplicate") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    let touched = ["name", "phone", "email"]
        .iter()
        .any(|k| body.contains_key(*k));
    if !touched {
        return Ok(());
    }
    let key = (
        record["name"].as_str(),
        record["phone"].as_str(),
        record["email"].as_str(),
    );
    let id = record["id"].as_i64().unwrap_or_default();
    let found = find_duplicates(conn, rights, key, id)?;
    let Some(first) = found.iter().find(|m| m.visible).or(found.first()) else {
        return Ok(());
    };
    let mut error = AppError::conflict("duplicate")
        .with_params(json!({ "matched": first.matched_on.join(", ") }));
    if first.visible {
        error.message_key = Some("error.duplicate_named");
        error.params["name"] = json!(first.name);
        error.current =
            Some(json!({ "id": first.id, "name": first.name, "matched_on": first.matched_on }));
    }
    Err(error)
}

async fn duplicates_route(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    if let Some(unknown) = query
        .keys()
        .find(|k| !["name", "phone", "email"].contains(&k.as_str()))
    {
        return Err(
            AppError::bad_request("invalid_query").with_params(json!({ "detail": unknown }))
        );
    }
    let items = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            rights.require(CUSTOMERS.name, Action::View)?;
            let key = (
                query.get("name").map(String::as_str),
                query.get("phone").map(String::as_str),
                query.get("email").map(String::as_str),
            );
            Ok(find_duplicates(conn, &rights, key, 0)?
                .into_iter()
                .filter(|m| m.visible)
                .map(|m| json!({ "id": m.id, "name": m.name, "matched_on": m.matched_on }))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrations;

    /// The check runs on every create and update of a customer, so it must find candidates
    /// through indexes (name, phone digits, email in any case), never by reading every row.
    #[test]
    fn the_duplicate_check_reads_indexes_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::app::install();
        migrations::apply_up_to(&mut conn, migrations::latest_version()).unwrap();
        let key = (Some("华为"), Some("075528780808"), Some("a@b.cn"));
        let (sql, values) = duplicates_query(key, 0).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN t")),
            "{sql} {plan:?}"
        );
        for index in [
            "customers_name",
            "customers_phone_digits",
            "customers_email_nocase",
        ] {
            assert!(
                plan.iter().any(|step| step.contains(index)),
                "{index}: {plan:?}"
            );
        }
    }
}
