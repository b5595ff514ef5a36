//! `GET /api/v1/E/summary?group_by=FIELD[&sum=FIELD]` plus any list parameters: how many of the
//! records a list would show fall under each value of a field (a picklist, tags, yes/no, the
//! owner or the department), and optionally the total of a money or integer field per group.
//! The browser draws it as a bar chart above the list. Counted within the caller's scope, like
//! the list itself.

use super::custom;
use super::descriptor::{Entity, Field, Kind};
use super::picklists;
use super::query::queryable;
use super::routes::{scoped_query, Entry, Query, Slice};
use crate::access::{Action, ModuleRights, Rights};
use crate::auth::session::CurrentUser;
use crate::auth::users::company_zone;
use crate::http::error::AppError;
use crate::http::request_lang;
use crate::http::state::AppState;
use crate::i18n::Lang;
use actix_web::{web, HttpRequest, HttpResponse};
use rusqlite::{params_from_iter, Connection};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Groups in one answer; the rest are summed into one "other" group.
const GROUPS_MAX: usize = 30;

fn groupable(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Picklist
            | Kind::MultiPicklist
            | Kind::Tags
            | Kind::Bool
            | Kind::User
            | Kind::Department
            | Kind::Lookup(_)
    )
}

/// The SQL that names a group's value for people.
fn label_sql(field: &Field) -> Option<String> {
    match field.kind {
        Kind::User => Some("(SELECT display_name FROM users WHERE id = g)".into()),
        Kind::Department => Some("(SELECT name FROM departments WHERE id = g)".into()),
        Kind::Lookup(table) => Some(format!("(SELECT name FROM {table} WHERE id = g)")),
        _ => None,
    }
}

struct Summary {
    group: Field,
    sum: Option<Field>,
}

fn parse(
    entity: &Entity,
    module: &ModuleRights,
    params: &mut HashMap<String, String>,
) -> Result<Summary, AppError> {
    let group_name = params.remove("group_by").unwrap_or_default();
    let group = queryable(entity, module, &group_name)
        .filter(|f| groupable(f.kind))
        .ok_or_else(|| AppError::invalid_query(format!("group_by {group_name}")))?;
    let sum = match params.remove("sum") {
        None => None,
        Some(name) => Some(
            queryable(entity, module, &name)
                .filter(|f| matches!(f.kind, Kind::Money | Kind::Integer))
                .ok_or_else(|| AppError::invalid_query(format!("sum {name}")))?,
        ),
    };
    params.remove("page");
    params.remove("per_page");
    params.remove("sort");
    Ok(Summary { group, sum })
}

fn summarise(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    mut params: HashMap<String, String>,
    lang: Lang,
) -> Result<Value, AppError> {
    let Summary { group, sum } = parse(entity, module, &mut params)?;
    let zone = company_zone(conn)?;
    let query = scoped_query(entity, rights, module, params, zone, Slice::Active)?;
    let column = group.column("t");
    let (from, value) = if group.kind.is_list() {
        (
            format!("{} t, json_each({column}) j", entity.name),
            "j.value".to_string(),
        )
    } else {
        (format!("{} t", entity.name), column)
    };
    let total = sum.map_or("NULL".into(), |f| format!("sum({})", f.column("t")));
    let sql = format!(
        "SELECT g, n, s{label} FROM (SELECT {value} AS g, count(*) AS n, {total} AS s \
         FROM {from} {where_} GROUP BY g) ORDER BY n DESC, g IS NULL, g",
        label = label_sql(&group).map_or(String::new(), |l| format!(", {l}")),
        where_ = query.conditions.clause(),
    );
    let mut stmt = conn.prepare(&sql)?;
    let labelled = label_sql(&group).is_some();
    let rows = stmt
        .query_map(params_from_iter(query.conditions.values()), |r| {
            let value: Value = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) if group.kind == Kind::Bool => json!(i != 0),
                rusqlite::types::ValueRef::Integer(i) => json!(i),
                other => json!(other.as_str().unwrap_or_default()),
            };
            let label: Option<String> = if labelled { r.get(3)? } else { None };
            Ok((
                value,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                label,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let options = picklists::choices(conn, entity.name)?
        .remove(group.name)
        .unwrap_or_default();
    let label_of = |value: &Value, label: Option<String>| -> Value {
        match (value, label) {
            (_, Some(label)) => json!(label),
            (Value::String(v), None) => options
                .iter()
                .find(|o| &o.value == v)
                .map_or(json!(v), |o| json!(o.label(lang))),
            _ => Value::Null,
        }
    };
    let mut groups: Vec<Value> = Vec::new();
    let mut other = (0, 0, false);
    for (i, (value, count, total, label)) in rows.into_iter().enumerate() {
        if i < GROUPS_MAX {
            let mut item =
                json!({ "value": value, "label": label_of(&value, label), "count": count });
            if sum.is_some() {
                item["sum"] = json!(total.unwrap_or(0));
            }
            groups.push(item);
        } else {
            other = (other.0 + count, other.1 + total.unwrap_or(0), true);
        }
    }
    Ok(json!({
        "group_by": group.name,
        "sum": sum.map(|f| f.name),
        "groups": groups,
        "other": other.2.then(|| json!({ "count": other.0, "sum": sum.map(|_| other.1) })),
    }))
}

pub async fn summary(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: CurrentUser,
    target: Entry,
    query: Query,
) -> Result<HttpResponse, AppError> {
    let entity = target.0;
    let lang = request_lang(&req, state.default_lang);
    let params = query.into_inner();
    let answer = state
        .db
        .read(move |conn| {
            let rights = Rights::load(conn, user.id)?;
            let module = rights.require(entity.name, Action::View)?;
            let entity = custom::schema(conn, entity)?;
            summarise(conn, entity, &rights, &module, params, lang)
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
