//! Conditions on a record's fields, as approval steps and automation rules state them: a field,
//! a comparison and a value of the field's kind (amount above 100,000; status is `won`).

use crate::entity::descriptor::{Entity, Kind};
use crate::http::error::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Ne,
}

/// A step applies only when the record's `field` compares to `value` by `op`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: Value,
}

/// Whether a condition holds for a record (a missing value meets none).
pub fn holds(condition: &Condition, record: &Value) -> bool {
    let value = &record[condition.field.as_str()];
    let ordering = match (value, &condition.value) {
        (Value::Number(a), Value::Number(b)) => a.as_i64().zip(b.as_i64()).map(|(a, b)| a.cmp(&b)),
        (Value::Null, _) => None,
        // Only dates are compared by order among strings (`check_condition`), and their ISO
        // text orders as the days do.
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) => Some(if a == b {
            std::cmp::Ordering::Equal
        } else {
            std::cmp::Ordering::Less
        }),
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match condition.op {
        Op::Gt => ordering.is_gt(),
        Op::Gte => ordering.is_ge(),
        Op::Lt => ordering.is_lt(),
        Op::Lte => ordering.is_le(),
        Op::Eq => ordering.is_eq(),
        Op::Ne => !ordering.is_eq(),
    }
}

/// Numbers, money and dates compare by size; picklists, texts and switches by equality only.
pub fn check_condition(
    entity: &Entity,
    condition: &Condition,
    key: &str,
    errors: &mut FieldErrors,
) {
    let Some(field) = entity.field(&condition.field).filter(|f| !f.hidden) else {
        errors.add(key, "unknown_field", json!({}));
        return;
    };
    let ordered = matches!(condition.op, Op::Gt | Op::Gte | Op::Lt | Op::Lte);
    let fits = match field.kind {
        Kind::Money | Kind::Integer => condition.value.is_i64(),
        Kind::Picklist | Kind::Text { .. } | Kind::Currency => {
            !ordered && condition.value.is_string()
        }
        Kind::Bool => !ordered && condition.value.is_boolean(),
        Kind::Date => condition
            .value
            .as_str()
            .is_some_and(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()),
        _ => false,
    };
    if !fits {
        errors.add(key, "invalid_condition", json!({}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(op: Op, value: Value) -> Condition {
        Condition {
            field: "amount".into(),
            op,
            value,
        }
    }

    #[test]
    fn conditions_compare_numbers_by_size_and_others_by_equality() {
        let record = json!({ "amount": 15_000_000, "status": "draft", "notes": null });
        assert!(holds(&condition(Op::Gt, json!(10_000_000)), &record));
        assert!(!holds(&condition(Op::Lte, json!(10_000_000)), &record));
        assert!(holds(&condition(Op::Gte, json!(15_000_000)), &record));
        assert!(!holds(&condition(Op::Lt, json!(15_000_000)), &record));
        let status = |op, v: &str| Condition {
            field: "status".into(),
            op,
            value: json!(v),
        };
        assert!(holds(&status(Op::Eq, "draft"), &record));
        assert!(holds(&status(Op::Ne, "active"), &record));
        assert!(!holds(&status(Op::Eq, "active"), &record));
        let missing = Condition {
            field: "notes".into(),
            op: Op::Ne,
            value: json!("x"),
        };
        assert!(
            !holds(&missing, &record),
            "a missing value meets no condition"
        );
    }
}
