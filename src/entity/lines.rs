//! Line items (明细) of opportunities and contracts: products with quantity, unit price and
//! discount. Money stays in integer minor units and the arithmetic is exact:
//!
//! line total = round_half_even(quantity × unit_price × (10000 − discount_bp) / 10000)
//!
//! computed in 128-bit integers, and the record's `amount` is the sum of its line totals. A body
//! that states an amount its lines do not add up to is refused (`amount_mismatch`), so an amount
//! can never silently diverge from its lines.

use super::store::is_visible;
use crate::access::Rights;
use crate::db::Cached;
use crate::http::error::{AppError, FieldErrors};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Map, Value};

const LINES_MAX: usize = 200;
const QUANTITY_MAX: i64 = 1_000_000;
/// 100 million yuan per unit, in fen.
const UNIT_PRICE_MAX: i64 = 10_000_000_000;
const FULL_DISCOUNT_BP: i64 = 10_000;

/// `numerator / denominator` rounded to the nearest integer, halves to the even neighbour
/// (banker's rounding), for a non-negative numerator and a positive denominator.
pub fn round_half_even(numerator: i128, denominator: i128) -> i128 {
    let (quotient, remainder) = (numerator / denominator, numerator % denominator);
    match (2 * remainder).cmp(&denominator) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal if quotient % 2 == 1 => quotient + 1,
        _ => quotient,
    }
}

pub fn line_total(quantity: i64, unit_price: i64, discount_bp: i64) -> i64 {
    let gross = i128::from(quantity) * i128::from(unit_price);
    let net = round_half_even(
        gross * i128::from(FULL_DISCOUNT_BP - discount_bp),
        i128::from(FULL_DISCOUNT_BP),
    );
    // At most QUANTITY_MAX × UNIT_PRICE_MAX = 10^16 per line, 2 × 10^18 per record: inside i64.
    i64::try_from(net).unwrap_or(i64::MAX)
}

/// One integer of a line, within `range`; `None` when absent.
fn integer(
    line: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<i64>,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Option<i64> {
    let value = line.get(key).filter(|v| !v.is_null())?;
    match value.as_i64().filter(|n| range.contains(n)) {
        Some(n) => Some(n),
        None => {
            let params = json!({ "min": range.start(), "max": range.end() });
            errors.add(&format!("{prefix}.{key}"), "between", params);
            None
        }
    }
}

/// A product the caller may see: its name, list price and whether it is on sale.
fn product(
    conn: &Connection,
    rights: &Rights,
    id: i64,
) -> Result<Option<(String, i64, bool)>, AppError> {
    if !is_visible(conn, rights, "products", id)? {
        return Ok(None);
    }
    Ok(conn
        .one(
            "SELECT name, price, active FROM products WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Parses one line: a visible product (on sale, unless the record already sells it), a
/// quantity, a unit price (the product's list price when left out) and a discount.
fn parse_line(
    conn: &Connection,
    rights: &Rights,
    (index, raw): (usize, &Value),
    held: &[i64],
    errors: &mut FieldErrors,
) -> Result<Option<Value>, AppError> {
    let prefix = format!("lines.{index}");
    let Some(line) = raw.as_object() else {
        errors.add(&prefix, "invalid_lines", json!({}));
        return Ok(None);
    };
    const KEYS: [&str; 6] = [
        "product_id",
        "product_name",
        "quantity",
        "unit_price",
        "discount_bp",
        "total",
    ];
    if let Some(unknown) = line.keys().find(|k| !KEYS.contains(&k.as_str())) {
        errors.add(&format!("{prefix}.{unknown}"), "unknown_field", json!({}));
    }
    let product_id = line.get("product_id").and_then(Value::as_i64);
    let found = match product_id {
        Some(id) if id > 0 => product(conn, rights, id)?,
        _ => None,
    };
    let Some((name, list_price, active)) = found else {
        errors.add(&format!("{prefix}.product_id"), "not_found", json!({}));
        return Ok(None);
    };
    let product_id = product_id.unwrap_or_default();
    if !active && !held.contains(&product_id) {
        errors.add(&format!("{prefix}.product_id"), "inactive", json!({}));
    }
    let quantity = integer(line, "quantity", 1..=QUANTITY_MAX, &prefix, errors);
    if quantity.is_none() && !errors.has(&format!("{prefix}.quantity")) {
        errors.add(&format!("{prefix}.quantity"), "required", json!({}));
    }
    let unit_price =
        integer(line, "unit_price", 0..=UNIT_PRICE_MAX, &prefix, errors).unwrap_or(list_price);
    let discount_bp =
        integer(line, "discount_bp", 0..=FULL_DISCOUNT_BP, &prefix, errors).unwrap_or(0);
    let Some(quantity) = quantity else {
        return Ok(None);
    };
    Ok(Some(json!({
        "product_id": product_id,
        "product_name": name,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount_bp": discount_bp,
        "total": line_total(quantity, unit_price, discount_bp),
    })))
}

fn sum(lines: &[Value]) -> i64 {
    lines.iter().filter_map(|l| l["total"].as_i64()).sum()
}

/// Settles a create or update body of an entity with `lines` and `amount`: the lines are parsed
/// and priced, and `amount` becomes their sum. An `amount` the lines do not add up to (the body's
/// own lines, or the record's when the body leaves them alone) is refused.
pub fn settle(
    conn: &Connection,
    rights: &Rights,
    body: &mut Map<String, Value>,
    before: Option<&Value>,
) -> Result<(), AppError> {
    let held: Vec<Value> = before
        .and_then(|b| b["lines"].as_array().cloned())
        .unwrap_or_default();
    let stated = body.get("amount").filter(|a| !a.is_null()).cloned();
    if stated
        .as_ref()
        .and_then(Value::as_i64)
        .is_some_and(|a| a < 0)
    {
        return Err(AppError::field("amount", "not_negative", json!({})));
    }
    let lines = match body.get("lines") {
        None => held.clone(),
        Some(Value::Null) => Vec::new(),
        Some(Value::Array(raw)) if raw.len() <= LINES_MAX => {
            let held_products: Vec<i64> = held
                .iter()
                .filter_map(|l| l["product_id"].as_i64())
                .collect();
            let mut errors = FieldErrors::new();
            let mut lines = Vec::new();
            for item in raw.iter().enumerate() {
                if let Some(line) = parse_line(conn, rights, item, &held_products, &mut errors)? {
                    lines.push(line);
                }
            }
            errors.into_result()?;
            body.insert("lines".into(), json!(lines));
            lines
        }
        Some(_) => {
            let params = json!({ "max": LINES_MAX });
            return Err(AppError::field("lines", "invalid_lines", params));
        }
    };
    if lines.is_empty() {
        return Ok(());
    }
    let total = sum(&lines);
    match stated {
        Some(amount) if amount.as_i64() != Some(total) => Err(AppError::field(
            "amount",
            "amount_mismatch",
            json!({ "total": total }),
        )),
        _ => {
            body.insert("amount".into(), json!(total));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_to_even() {
        assert_eq!(round_half_even(5, 2), 2);
        assert_eq!(round_half_even(7, 2), 4);
        assert_eq!(round_half_even(26, 10), 3);
        assert_eq!(round_half_even(24, 10), 2);
        assert_eq!(round_half_even(0, 7), 0);
    }

    #[test]
    fn line_totals_are_exact() {
        // 3 × ¥19.99 at 15 % off = 5097.45 fen → 5097 (half rounds to the even neighbour).
        assert_eq!(line_total(3, 1999, 1500), 5097);
        // 1 × 0.25 yuan at 50 % off = 12.5 fen → 12; 1 × 0.35 yuan = 17.5 fen → 18.
        assert_eq!(line_total(1, 25, 5000), 12);
        assert_eq!(line_total(1, 35, 5000), 18);
        assert_eq!(line_total(7, 100_000, 0), 700_000);
        assert_eq!(line_total(2, 999, 10_000), 0);
        let huge = line_total(QUANTITY_MAX, UNIT_PRICE_MAX, 1);
        assert_eq!(huge, 9_999_000_000_000_000);
    }
}
