//! Tasks (任务): something to do by a date, with a priority and status, optionally about a
//! record. A task is owned by its assignee, so the assignee always sees it, a manager's
//! department scope covers the team's tasks, and assigning follows the owner rules (a rep may
//! assign to themself, a manager within their reach). `created_by` is who assigned it, which
//! gives "tasks I assigned".

use crate::access::Rights;
use crate::db::Cached;
use crate::entity::descriptor::{Entity, Field, Kind, Visibility, Wrote};
use crate::entity::store;
use crate::http::error::AppError;
use crate::time::now_ms;
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

/// The records a task may be about.
const ABOUT: &[&str] = &["customers", "leads", "opportunities", "contracts"];

pub const TASKS: Entity = Entity {
    name: "tasks",
    fields: &[
        Field::new("title", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("description", Kind::LongText).searchable(),
        Field::computed("assignee_id", Kind::User, "{t}.owner_id")
            .sortable()
            .written_by_prepare(),
        Field::new("priority", Kind::Picklist).sortable(),
        Field::new("status", Kind::Picklist).sortable(),
        Field::new("due_at", Kind::DateTime).sortable(),
        Field::new("completed_at", Kind::DateTime).system(),
        Field::new("entity", Kind::EntityName(ABOUT)),
        Field::new("record_id", Kind::Integer),
    ],
    visibility: Visibility::Owned,
    title: "title",
    subtitle: "due_at",
    list_columns: &[
        "title",
        "assignee_id",
        "priority",
        "status",
        "due_at",
        "record_id",
    ],
    default_sort: "due_at",
    after_write: Some(stamp_completion),
    check: None,
    prepare: Some(prepare),
    instructions: &[],
    pool: None,
    approval: None,
};

/// `assignee_id` is the owner under the name people use; a related record needs both halves.
fn prepare(
    conn: &Connection,
    rights: &Rights,
    body: &mut Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    if let Some(assignee) = body.remove("assignee_id") {
        if body.contains_key("owner_id") && body["owner_id"] != assignee {
            return Err(AppError::field(
                "assignee_id",
                "conflicts_with_owner",
                json!({}),
            ));
        }
        if !assignee.is_null() {
            // Refused here, on the field the request named, rather than on the owner it becomes.
            store::owner(conn, &TASKS, rights, &assignee)
                .map_err(|(code, params)| AppError::field("assignee_id", code, params))?;
            body.insert("owner_id".into(), assignee);
        }
    }
    let set = |key: &str| match body.get(key) {
        Some(v) => !v.is_null() && v.as_str() != Some(""),
        None => before.is_some_and(|b| !b[key].is_null()),
    };
    match (set("entity"), set("record_id")) {
        (true, false) => Err(AppError::field("record_id", "required", json!({}))),
        (false, true) => Err(AppError::field("entity", "required", json!({}))),
        _ => Ok(()),
    }
}

/// A task marked done remembers when; reopening it forgets.
fn stamp_completion(conn: &Connection, task: &Value) -> Result<Wrote, AppError> {
    conn.run(
        "UPDATE tasks SET completed_at = CASE WHEN status = 'done'
             THEN coalesce(completed_at, ?1) END WHERE id = ?2",
        params![now_ms(), task["id"].as_i64().unwrap_or_default()],
    )?;
    Ok(Wrote::TheRecord)
}
