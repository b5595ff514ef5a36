//! Follow-ups (跟进记录): what was done with a customer (or, later, any record), and when to follow
//! up next. A follow-up is visible exactly when its parent record is. Writing one keeps the
//! parent's last and next follow-up times current, which drives the 待办 inbox (`inbox`).

use crate::db::Cached;
use crate::entity::descriptor::{Entity, Field, Kind, Visibility, Wrote};
use crate::http::error::AppError;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::customers::CUSTOMERS;
use super::leads::LEADS;

/// The records a follow-up may be about.
const PARENTS: &[&str] = &["customers", "leads", "opportunities", "contracts"];

pub const FOLLOWUPS: Entity = Entity {
    name: "followups",
    fields: &[
        Field::new("entity", Kind::EntityName(PARENTS))
            .required()
            .create_only(),
        Field::new("record_id", Kind::Integer)
            .required()
            .create_only(),
        Field::new("method", Kind::Picklist).required(),
        Field::new("content", Kind::LongText)
            .required()
            .searchable(),
        Field::new("followed_at", Kind::DateTime)
            .sortable()
            .defaults_to_now(),
        Field::new("next_at", Kind::DateTime).sortable(),
    ],
    visibility: Visibility::AnyParent {
        entity_field: "entity",
        id_field: "record_id",
        parents: PARENTS,
    },
    title: "content",
    subtitle: "method",
    list_columns: &["followed_at", "method", "content", "record_id", "next_at"],
    default_sort: "-followed_at",
    after_write: Some(refresh_parent),
    check: None,
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};

/// Sets the parent's last follow-up time (the latest one) and, for a customer, next follow-up
/// time (what the latest follow-up planned), counting only follow-ups outside the recycle bin.
fn refresh_parent(conn: &Connection, followup: &Value) -> Result<Wrote, AppError> {
    let parent = followup["entity"].as_str().unwrap_or_default();
    let id = followup["record_id"].as_i64().unwrap_or_default();
    if parent == LEADS.name {
        conn.run(
            "UPDATE leads SET last_followup_at = (SELECT max(followed_at) FROM followups
                 WHERE entity = 'leads' AND record_id = ?1 AND deleted_at IS NULL) WHERE id = ?1",
            [id],
        )?;
        return Ok(Wrote::OtherRecords);
    }
    if parent != CUSTOMERS.name {
        return Ok(Wrote::OtherRecords);
    }
    let latest: Option<(i64, Option<i64>)> = conn
        .one(
            "SELECT followed_at, next_at FROM followups
             WHERE entity = ?1 AND record_id = ?2 AND deleted_at IS NULL
             ORDER BY followed_at DESC, id DESC LIMIT 1",
            params![parent, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    conn.run(
        "UPDATE customers SET last_followup_at = ?1, next_followup_at = ?2 WHERE id = ?3",
        params![latest.map(|l| l.0), latest.and_then(|l| l.1), id],
    )?;
    Ok(Wrote::OtherRecords)
}
