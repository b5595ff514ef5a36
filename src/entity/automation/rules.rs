//! What a rule says, as an administrator designs it and the engine checks it: a trigger, the
//! conditions that must hold on the record, and the actions to take.

use crate::entity::conditions::{check_condition, Condition};
use crate::entity::descriptor::{Entity, Field, Kind};
use crate::entity::values::{self, Refusal};
use crate::entity::{custom, picklists, registry};
use crate::http::error::{AppError, FieldErrors};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const NAME_MAX: usize = 100;
const CONDITIONS_MAX: usize = 10;
const ACTIONS_MAX: usize = 10;
const USERS_MAX: usize = 20;
const MESSAGE_MAX: usize = 500;
const TITLE_MAX: usize = 200;
/// How far ahead a date rule may look, and how long a record may go without a follow-up.
const DAYS_MAX: i64 = 365;
/// The entity whose records the `task` action creates, and the field that counts the days
/// without a follow-up; both are the business's, found through the registry when installed.
pub const TASKS: &str = "tasks";
pub const LAST_FOLLOWUP: &str = "last_followup_at";

/// When a rule looks at a record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    Created {},
    /// A change of the record: of any field, of `field`, or `field` taking the value `to`.
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Value>,
    },
    /// `days` before the date in `field` (a contract's end, a payment's due date).
    DateApproaches {
        field: String,
        days: i64,
    },
    /// `days` since the last follow-up (or since the record was made, without one).
    NoFollowup {
        days: i64,
    },
}

impl Trigger {
    /// Whether the trigger is a time condition, checked by the clock rather than on a write.
    pub fn is_timed(&self) -> bool {
        matches!(
            self,
            Trigger::DateApproaches { .. } | Trigger::NoFollowup { .. }
        )
    }
}

/// What a rule does to (or about) the record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Gives the record to a colleague, or to the next active member of a department in turn.
    Assign {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        department_id: Option<i64>,
    },
    /// Tells the record's owner, named colleagues and a role's members, with a message.
    Notify {
        #[serde(default)]
        owner: bool,
        #[serde(default)]
        user_ids: Vec<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_id: Option<i64>,
        message: String,
    },
    /// A task about the record, due in `due_in_days`, for the owner or a named colleague.
    Task {
        title: String,
        #[serde(default)]
        due_in_days: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<i64>,
    },
    SetField {
        field: String,
        value: Value,
    },
    /// Sends the record to one of the company's webhooks, signed like its other events.
    Webhook {
        webhook_id: i64,
    },
}

/// A rule's design: everything but its bookkeeping.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Design {
    pub trigger: Trigger,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

fn exists(conn: &Connection, table: &str, id: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        &format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)"),
        [id],
        |r| r.get(0),
    )
}

fn parse_part<T: serde::de::DeserializeOwned>(
    raw: Option<&Value>,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<T> {
    match raw {
        None | Some(Value::Null) => {
            errors.add(key, "required", json!({}));
            None
        }
        Some(raw) => serde_json::from_value(raw.clone())
            .map_err(|_| errors.add(key, "invalid", json!({})))
            .ok(),
    }
}

/// Reads and checks a rule's trigger, conditions and actions for `entity`: every field,
/// colleague, department, role and webhook they name must exist, and every value fit its field.
pub fn parse_design(
    conn: &Connection,
    entity: &'static Entity,
    trigger: Option<&Value>,
    conditions: Option<&Value>,
    actions: Option<&Value>,
) -> Result<Design, AppError> {
    let mut errors = FieldErrors::new();
    let schema = custom::schema(conn, entity)?;
    let trigger: Option<Trigger> = parse_part(trigger, "trigger", &mut errors);
    let conditions: Vec<Condition> = match conditions {
        None | Some(Value::Null) => Vec::new(),
        raw => parse_part(raw, "conditions", &mut errors).unwrap_or_default(),
    };
    let actions: Vec<Action> = parse_part(actions, "actions", &mut errors).unwrap_or_default();
    if let Some(trigger) = &trigger {
        check_trigger(conn, schema, trigger, &mut errors)?;
    }
    if conditions.len() > CONDITIONS_MAX {
        errors.add("conditions", "too_many", json!({ "max": CONDITIONS_MAX }));
    }
    for (index, condition) in conditions.iter().enumerate() {
        check_condition(
            schema,
            condition,
            &format!("conditions.{index}"),
            &mut errors,
        );
    }
    if actions.is_empty() && !errors.has("actions") {
        errors.add("actions", "required", json!({}));
    } else if actions.len() > ACTIONS_MAX {
        errors.add("actions", "too_many", json!({ "max": ACTIONS_MAX }));
    }
    for (index, action) in actions.iter().enumerate() {
        check_action(
            conn,
            schema,
            action,
            &format!("actions.{index}"),
            &mut errors,
        )?;
    }
    errors.into_result()?;
    Ok(Design {
        trigger: trigger.ok_or_else(|| AppError::field("trigger", "required", json!({})))?,
        conditions,
        actions,
    })
}

fn days_fit(days: i64, min: i64, key: &str, errors: &mut FieldErrors) {
    if !(min..=DAYS_MAX).contains(&days) {
        errors.add(key, "between", json!({ "min": min, "max": DAYS_MAX }));
    }
}

/// Whether `value` is one `field` may take (a picklist's active values, a date's form…).
fn fits(
    conn: &Connection,
    entity: &Entity,
    field: &Field,
    value: &Value,
) -> rusqlite::Result<Result<(), Refusal>> {
    let allowed = match field.kind {
        Kind::Picklist | Kind::MultiPicklist => {
            picklists::active_values(conn, entity.name, field.name)?
        }
        _ => Vec::new(),
    };
    Ok(values::parse(field, value, &allowed).map(|_| ()))
}

fn check_trigger(
    conn: &Connection,
    entity: &Entity,
    trigger: &Trigger,
    errors: &mut FieldErrors,
) -> rusqlite::Result<()> {
    match trigger {
        Trigger::Created {} => Ok(()),
        Trigger::Updated { field, to } => {
            let Some(name) = field else {
                if to.is_some() {
                    errors.add("trigger.field", "required", json!({}));
                }
                return Ok(());
            };
            match entity.field(name).filter(|f| !f.hidden) {
                None => errors.add("trigger.field", "unknown_field", json!({})),
                Some(field) => {
                    if let Some(to) = to {
                        if let Err((code, params)) = fits(conn, entity, field, to)? {
                            errors.add("trigger.to", code, params);
                        }
                    }
                }
            }
            Ok(())
        }
        Trigger::DateApproaches { field, days } => {
            let dated = entity
                .field(field)
                .is_some_and(|f| matches!(f.kind, Kind::Date | Kind::DateTime) && !f.custom);
            if !dated {
                errors.add("trigger.field", "not_a_date", json!({}));
            }
            days_fit(*days, 0, "trigger.days", errors);
            Ok(())
        }
        Trigger::NoFollowup { days } => {
            if entity.field(LAST_FOLLOWUP).is_none() {
                errors.add("trigger.on", "no_followups", json!({}));
            }
            days_fit(*days, 1, "trigger.days", errors);
            Ok(())
        }
    }
}

fn check_users(
    conn: &Connection,
    users: &[i64],
    key: &str,
    errors: &mut FieldErrors,
) -> rusqlite::Result<()> {
    if users.len() > USERS_MAX {
        errors.add(key, "too_many", json!({ "max": USERS_MAX }));
    }
    for &user in users {
        if !crate::auth::users::is_active(conn, user)? {
            errors.add(key, "unknown_user", json!({ "id": user }));
        }
    }
    Ok(())
}

fn check_text(text: &str, max: usize, key: &str, errors: &mut FieldErrors) {
    let length = text.trim().chars().count();
    if length == 0 {
        errors.add(key, "required", json!({}));
    } else if length > max {
        errors.add(key, "too_long", json!({ "max": max }));
    }
}

fn check_action(
    conn: &Connection,
    entity: &'static Entity,
    action: &Action,
    key: &str,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    match action {
        Action::Assign {
            user_id,
            department_id,
        } => {
            if !entity.is_owned() {
                errors.add(key, "not_owned", json!({}));
            }
            match (user_id, department_id) {
                (Some(user), None) => {
                    check_users(conn, &[*user], &format!("{key}.user_id"), errors)?
                }
                (None, Some(department)) => {
                    if !exists(conn, "departments", *department)? {
                        errors.add(&format!("{key}.department_id"), "not_found", json!({}));
                    }
                }
                _ => errors.add(key, "one_assignee", json!({})),
            }
        }
        Action::Notify {
            owner,
            user_ids,
            role_id,
            message,
        } => {
            check_text(message, MESSAGE_MAX, &format!("{key}.message"), errors);
            check_users(conn, user_ids, &format!("{key}.user_ids"), errors)?;
            if let Some(role) = role_id {
                if !exists(conn, "roles", *role)? {
                    errors.add(&format!("{key}.role_id"), "not_found", json!({}));
                }
            }
            if !owner && user_ids.is_empty() && role_id.is_none() {
                errors.add(key, "no_recipient", json!({}));
            }
        }
        Action::Task {
            title,
            due_in_days,
            user_id,
        } => {
            check_text(title, TITLE_MAX, &format!("{key}.title"), errors);
            days_fit(*due_in_days, 0, &format!("{key}.due_in_days"), errors);
            if let Some(user) = user_id {
                check_users(conn, &[*user], &format!("{key}.user_id"), errors)?;
            }
            if !tasks_may_be_about(entity.name) {
                errors.add(key, "no_tasks", json!({}));
            }
        }
        Action::SetField { field, value } => {
            let at = format!("{key}.field");
            match entity.field(field) {
                Some(f) if !f.system && !f.hidden && f.expr.is_none() => {
                    if let Err((code, params)) = fits(conn, entity, f, value)? {
                        errors.add(&format!("{key}.value"), code, params);
                    }
                    let by_flow = entity
                        .approval
                        .and_then(|a| a.status)
                        .is_some_and(|s| s.field == f.name);
                    if by_flow {
                        errors.add(&at, "set_by_approval", json!({}));
                    }
                }
                _ => errors.add(&at, "unknown_field", json!({})),
            }
        }
        Action::Webhook { webhook_id } => {
            let subscribed: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = ?1 AND entity = ?2)",
                rusqlite::params![webhook_id, entity.name],
                |r| r.get(0),
            )?;
            if !subscribed {
                errors.add(&format!("{key}.webhook_id"), "not_found", json!({}));
            }
        }
    }
    Ok(())
}

/// Whether a task may be about a record of `entity` (its `entity` field names the entities).
pub fn tasks_may_be_about(entity: &str) -> bool {
    registry::find(TASKS)
        .and_then(|tasks| tasks.field("entity"))
        .is_some_and(|f| matches!(f.kind, Kind::EntityName(about) if about.contains(&entity)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_and_actions_read_from_their_json() {
        let trigger: Trigger =
            serde_json::from_value(json!({"on": "updated", "field": "level", "to": "A"})).unwrap();
        assert_eq!(
            trigger,
            Trigger::Updated {
                field: Some("level".into()),
                to: Some(json!("A"))
            }
        );
        let timed: Trigger =
            serde_json::from_value(json!({"on": "no_followup", "days": 14})).unwrap();
        assert!(timed.is_timed());
        let unknown: Result<Trigger, _> =
            serde_json::from_value(json!({"on": "created", "field": "x"}));
        assert!(unknown.is_err(), "a key the trigger does not take");
        let action: Action =
            serde_json::from_value(json!({"kind": "assign", "department_id": 2})).unwrap();
        assert_eq!(
            action,
            Action::Assign {
                user_id: None,
                department_id: Some(2)
            }
        );
        let missing: Result<Action, _> = serde_json::from_value(json!({"kind": "notify"}));
        assert!(missing.is_err(), "a notice needs its message");
    }
}
