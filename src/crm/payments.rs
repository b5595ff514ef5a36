//! Money after the signature (回款与发票): payment plans (instalments with due dates), payments
//! received and invoices, all per contract and visible exactly when their contract is. A payment
//! that would take the received total above the contract amount is refused unless the request
//! confirms it, and so is an invoice past the contract amount; an instalment number is used
//! once per contract; every payment keeps its contract's `received` and its instalment's `paid`
//! current, and an instalment past its due date and not fully paid is `overdue`.

use super::contracts::CONTRACTS;
use crate::access::{Action, Rights};
use crate::db::Cached;
use crate::entity::descriptor::{Approval, Entity, Field, Kind, Visibility, Wrote};
use crate::entity::store::visible;
use crate::http::error::AppError;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

const UNDER_CONTRACT: Visibility = Visibility::Child {
    field: "contract_id",
    parent: "contracts",
};

pub const PAYMENT_PLANS: Entity = Entity {
    name: "payment_plans",
    fields: &[
        Field::new("contract_id", Kind::Reference("contracts"))
            .required()
            .create_only(),
        Field::new("instalment", Kind::Integer).required(),
        Field::new("due_date", Kind::Date).required().sortable(),
        Field::new("amount", Kind::Money).required().sortable(),
        Field::new("paid", Kind::Money).system(),
        Field::computed(
            "overdue",
            Kind::Bool,
            concat!(
                "{t}.due_date < ",
                crate::company_today!(),
                " AND {t}.paid < {t}.amount"
            ),
        ),
        Field::new("notes", Kind::LongText).searchable(),
    ],
    visibility: UNDER_CONTRACT,
    title: "instalment",
    subtitle: "due_date",
    list_columns: &[
        "contract_id",
        "instalment",
        "due_date",
        "amount",
        "paid",
        "overdue",
    ],
    default_sort: "due_date",
    after_write: None,
    check: Some(distinct_instalment),
    prepare: None,
    instructions: &[],
    pool: None,
    approval: None,
};

pub const PAYMENTS: Entity = Entity {
    name: "payments",
    fields: &[
        Field::new("contract_id", Kind::Reference("contracts"))
            .required()
            .create_only(),
        Field::new("plan_id", Kind::Reference("payment_plans")),
        Field::new("amount", Kind::Money).required().sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("received_at", Kind::Date).required().sortable(),
        Field::new("method", Kind::Picklist),
        Field::new("notes", Kind::LongText).searchable(),
    ],
    visibility: UNDER_CONTRACT,
    title: "amount",
    subtitle: "received_at",
    list_columns: &["received_at", "contract_id", "amount", "method", "plan_id"],
    default_sort: "-received_at",
    after_write: Some(refresh_contract),
    check: Some(within_contract),
    prepare: None,
    instructions: &["confirm_overpayment"],
    pool: None,
    approval: Some(Approval { status: None }),
};

pub const INVOICES: Entity = Entity {
    name: "invoices",
    fields: &[
        Field::new("contract_id", Kind::Reference("contracts"))
            .required()
            .create_only(),
        Field::new("type", Kind::Picklist).required(),
        Field::new("number", Kind::Text { max: 60 })
            .searchable()
            .sortable(),
        Field::new("title", Kind::Text { max: 200 }).searchable(),
        Field::new("tax_number", Kind::Text { max: 40 }).searchable(),
        Field::new("amount", Kind::Money).required().sortable(),
        Field::new("currency", Kind::Currency),
        Field::new("issued_on", Kind::Date).sortable(),
        Field::new("status", Kind::Picklist),
        Field::new("notes", Kind::LongText),
    ],
    visibility: UNDER_CONTRACT,
    title: "number",
    subtitle: "title",
    list_columns: &[
        "number",
        "contract_id",
        "type",
        "amount",
        "issued_on",
        "status",
    ],
    default_sort: "-updated_at",
    after_write: None,
    check: Some(within_invoiceable),
    prepare: None,
    instructions: &["confirm_overinvoicing"],
    pool: None,
    approval: Some(Approval { status: None }),
};

/// An amount above zero (a payment, an invoice, an expense claim, a purchase).
pub fn positive_amount(
    _conn: &Connection,
    _rights: &Rights,
    record: &Value,
    _body: &Map<String, Value>,
) -> Result<(), AppError> {
    if record["amount"].as_i64().is_some_and(|a| a > 0) {
        Ok(())
    } else {
        Err(AppError::field("amount", "positive", json!({})))
    }
}

/// A payment is positive, belongs to an instalment of its own contract, and keeps the received
/// total within the contract amount unless `confirm_overpayment` is true.
fn within_contract(
    conn: &Connection,
    rights: &Rights,
    payment: &Value,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    positive_amount(conn, rights, payment, body)?;
    let contract = payment["contract_id"].as_i64().unwrap_or_default();
    if let Some(plan) = payment["plan_id"].as_i64() {
        let plan_contract: Option<i64> = conn
            .one(
                "SELECT contract_id FROM payment_plans WHERE id = ?1 AND deleted_at IS NULL",
                [plan],
                |r| r.get(0),
            )
            .optional()?;
        if plan_contract != Some(contract) {
            return Err(AppError::field("plan_id", "not_in_contract", json!({})));
        }
    }
    within_cap(conn, payment, body, &PAYMENTS_CAP)
}

/// A total a contract's money records keep within its amount unless the request confirms it.
struct Cap {
    /// The contract's total so far (this record's write included), over `c`.
    total: &'static str,
    confirm: &'static str,
    code: &'static str,
    /// The name the refusal gives what was left before this record.
    left: &'static str,
}

const PAYMENTS_CAP: Cap = Cap {
    total: "SELECT coalesce(sum(p.amount), 0) FROM payments p
            WHERE p.contract_id = c.id AND p.deleted_at IS NULL",
    confirm: "confirm_overpayment",
    code: "exceeds_contract",
    left: "outstanding",
};

const INVOICES_CAP: Cap = Cap {
    total: "SELECT coalesce(sum(i.amount), 0) FROM invoices i
            WHERE i.contract_id = c.id AND i.deleted_at IS NULL AND coalesce(i.status, '') <> 'void'",
    confirm: "confirm_overinvoicing",
    code: "exceeds_invoiceable",
    left: "remaining",
};

fn within_cap(
    conn: &Connection,
    record: &Value,
    body: &Map<String, Value>,
    cap: &Cap,
) -> Result<(), AppError> {
    if body.get(cap.confirm) == Some(&Value::Bool(true)) {
        return Ok(());
    }
    let (amount, total): (i64, i64) = conn.one(
        &format!(
            "SELECT c.amount, ({}) FROM contracts c WHERE c.id = ?1",
            cap.total
        ),
        [record["contract_id"].as_i64().unwrap_or_default()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if total > amount {
        let before = total - record["amount"].as_i64().unwrap_or_default();
        let params = json!({ cap.left: (amount - before).max(0) });
        return Err(AppError::field("amount", cap.code, params));
    }
    Ok(())
}

/// An instalment is positive and its number is not taken by another one of the same contract.
fn distinct_instalment(
    conn: &Connection,
    rights: &Rights,
    plan: &Value,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    positive_amount(conn, rights, plan, body)?;
    let taken: bool = conn.one(
        "SELECT EXISTS (SELECT 1 FROM payment_plans WHERE contract_id = ?1 AND instalment = ?2
             AND id <> ?3 AND deleted_at IS NULL)",
        params![
            plan["contract_id"].as_i64(),
            plan["instalment"].as_i64(),
            plan["id"].as_i64()
        ],
        |r| r.get(0),
    )?;
    if taken {
        return Err(AppError::field("instalment", "taken", json!({})));
    }
    Ok(())
}

/// An invoice is positive and keeps the contract's invoiced total (void invoices aside) within
/// its amount, unless `confirm_overinvoicing` is true (a contract invoiced ahead of a change).
fn within_invoiceable(
    conn: &Connection,
    rights: &Rights,
    invoice: &Value,
    body: &Map<String, Value>,
) -> Result<(), AppError> {
    positive_amount(conn, rights, invoice, body)?;
    within_cap(conn, invoice, body, &INVOICES_CAP)
}

/// Keeps the contract's received total and its instalments' paid amounts equal to its live
/// payments (after any create, edit, delete or restore of one).
fn refresh_contract(conn: &Connection, payment: &Value) -> Result<Wrote, AppError> {
    let contract = payment["contract_id"].as_i64().unwrap_or_default();
    conn.run(
        "UPDATE contracts SET received = (SELECT coalesce(sum(amount), 0) FROM payments
             WHERE contract_id = ?1 AND deleted_at IS NULL) WHERE id = ?1",
        [contract],
    )?;
    // One instalment per statement: an UPDATE that may change several rows opens a statement
    // savepoint, at which the full-text indexes write their pending terms to disk.
    let plans: Vec<i64> = conn
        .prepare_cached("SELECT id FROM payment_plans WHERE contract_id = ?1")?
        .query_map([contract], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for plan in plans {
        conn.run(
            "UPDATE payment_plans SET paid = (SELECT coalesce(sum(amount), 0) FROM payments
                 WHERE plan_id = ?1 AND deleted_at IS NULL)
             WHERE id = ?1",
            [plan],
        )?;
    }
    Ok(Wrote::OtherRecords)
}

/// Unpaid instalments of the caller's contracts due by `horizon` (overdue ones included), for
/// the reminders and the home page.
pub fn due(conn: &Connection, rights: &Rights, horizon: &str) -> Result<Vec<Value>, AppError> {
    if !rights.can(PAYMENT_PLANS.name, Action::View) || !rights.can(CONTRACTS.name, Action::View) {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT p.id, p.contract_id, t.name, p.instalment, p.due_date, p.amount - p.paid,
                p.due_date < {}
         FROM payment_plans p JOIN contracts t ON t.id = p.contract_id
         WHERE t.owner_id = ?1 AND p.deleted_at IS NULL AND t.deleted_at IS NULL
           AND p.paid < p.amount AND p.due_date <= ?2 AND {}
         ORDER BY p.due_date LIMIT 100",
        crate::company_today!(),
        visible(rights, &CONTRACTS, "t")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![rights.user_id, horizon], |r| {
            Ok(json!({
                "entity": "payment_plans", "id": r.get::<_, i64>(0)?,
                "contract_id": r.get::<_, i64>(1)?, "title": r.get::<_, String>(2)?,
                "instalment": r.get::<_, i64>(3)?, "due_date": r.get::<_, String>(4)?,
                "outstanding": r.get::<_, i64>(5)?, "overdue": r.get::<_, bool>(6)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
