//! Administrative forms 办公审批: expense claims 报销, leave requests 请假 and purchase requests
//! 采购, each an entity on the engine that goes through its approval flow (drafted, submitted,
//! approved or returned to draft). The company adds its own fields to each form as custom
//! fields, so a form is built from the same field kinds as every other record.
//!
//! A form is owned by whoever files it: they see their own, a manager their team's, and an
//! approver any form put in front of them.

use super::payments::positive_amount;
use crate::access::Rights;
use crate::entity::descriptor::{Approval, ApprovalStatus, Entity, Field, Kind, Visibility};
use crate::http::error::AppError;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

/// A form's life: a draft, in approval, then approved, or back to draft when returned.
const FORM_APPROVAL: Approval = Approval {
    status: Some(ApprovalStatus {
        field: "status",
        submit_from: &["draft"],
        pending: "in_approval",
        approved: "approved",
        returned: "draft",
    }),
};

const STATUS: Field = Field::new("status", Kind::Picklist).sortable();

pub const EXPENSES: Entity = Entity {
    name: "expenses",
    fields: &[
        Field::new("title", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("category", Kind::Picklist).required().sortable(),
        Field::new("amount", Kind::Money).required().sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("spent_on", Kind::Date).required().sortable(),
        Field::new("customer_id", Kind::Reference("customers")),
        Field::new("notes", Kind::LongText).searchable(),
        STATUS,
    ],
    visibility: Visibility::Owned,
    title: "title",
    subtitle: "spent_on",
    list_columns: &[
        "title", "category", "amount", "spent_on", "status", "owner_id",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: Some(positive_amount),
    prepare: None,
    instructions: &[],
    pool: None,
    approval: Some(FORM_APPROVAL),
};

pub const LEAVES: Entity = Entity {
    name: "leaves",
    fields: &[
        Field::new("title", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("kind", Kind::Picklist).required().sortable(),
        Field::new("starts_on", Kind::Date).required().sortable(),
        Field::new("ends_on", Kind::Date).required().sortable(),
        Field::new("days", Kind::Integer).required(),
        Field::new("reason", Kind::LongText).searchable(),
        STATUS,
    ],
    visibility: Visibility::Owned,
    title: "title",
    subtitle: "starts_on",
    list_columns: &[
        "title",
        "kind",
        "starts_on",
        "ends_on",
        "days",
        "status",
        "owner_id",
    ],
    default_sort: "-starts_on",
    after_write: None,
    check: Some(leave_adds_up),
    prepare: None,
    instructions: &[],
    pool: None,
    approval: Some(FORM_APPROVAL),
};

pub const PURCHASES: Entity = Entity {
    name: "purchases",
    fields: &[
        Field::new("title", Kind::Text { max: 200 })
            .required()
            .searchable()
            .sortable(),
        Field::new("supplier", Kind::Text { max: 200 })
            .searchable()
            .sortable(),
        Field::new("amount", Kind::Money).required().sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("needed_by", Kind::Date).sortable(),
        Field::new("notes", Kind::LongText).searchable(),
        STATUS,
    ],
    visibility: Visibility::Owned,
    title: "title",
    subtitle: "supplier",
    list_columns: &[
        "title",
        "supplier",
        "amount",
        "needed_by",
        "status",
        "owner_id",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: Some(positive_amount),
    prepare: None,
    instructions: &[],
    pool: None,
    approval: Some(FORM_APPROVAL),
};

/// A leave ends on or after the day it starts and lasts at least one day.
fn leave_adds_up(
    _conn: &Connection,
    _rights: &Rights,
    record: &Value,
    _body: &Map<String, Value>,
) -> Result<(), AppError> {
    let (starts, ends) = (record["starts_on"].as_str(), record["ends_on"].as_str());
    if let (Some(starts), Some(ends)) = (starts, ends) {
        // ISO dates order as the days do.
        if ends < starts {
            return Err(AppError::field("ends_on", "before_start", json!({})));
        }
    }
    if record["days"].as_i64().is_some_and(|d| d < 1) {
        return Err(AppError::field("days", "positive", json!({})));
    }
    Ok(())
}
