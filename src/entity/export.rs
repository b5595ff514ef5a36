//! Export of a filtered list to CSV or xlsx, with the caller's visible fields as columns and
//! names instead of ids. Text cells that a spreadsheet would run as a formula are neutralised.

use super::descriptor::{Entity, Kind};
use super::routes::{exact_total, list_page, Slice};
use super::values::to_cell;
use crate::access::{FieldAccess, ModuleRights, Rights};
use crate::http::error::AppError;
use crate::i18n::Texts;
use rusqlite::Connection;
use rust_xlsxwriter::Workbook;
use serde_json::{json, Value};
use std::collections::HashMap;

/// At most this many rows per file; a bigger export must be narrowed by filters.
const MAX_ROWS: usize = 100_000;
const PAGE: i64 = 200;

#[derive(Debug, Clone, Copy)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(raw: Option<&str>) -> Result<Format, AppError> {
        match raw.unwrap_or("csv") {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(AppError::bad_request("invalid_query")
                .with_params(json!({ "detail": format!("format {other}") }))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

pub struct File {
    pub bytes: Vec<u8>,
    pub rows: usize,
}

/// A column of the file: the record key it reads and whether a name replaces the id.
struct Column {
    key: &'static str,
    kind: Kind,
    label: String,
    by_name: bool,
}

fn columns(entity: &Entity, module: &ModuleRights, texts: Texts) -> Vec<Column> {
    let mut columns = vec![Column {
        key: "id",
        kind: Kind::Integer,
        label: "ID".into(),
        by_name: false,
    }];
    for field in entity.fields {
        if module.field(field.name) == FieldAccess::Hidden {
            continue;
        }
        let by_name = matches!(
            field.kind,
            Kind::User | Kind::Department | Kind::Reference(_) | Kind::Lookup(_)
        );
        columns.push(Column {
            key: field.name,
            kind: field.kind,
            label: field.display_label(entity.name, texts),
            by_name,
        });
    }
    if entity.is_owned() {
        for key in ["owner_id", "department_id"] {
            columns.push(Column {
                key,
                kind: Kind::Text { max: 0 },
                label: texts.text(&format!("field.common.{key}")),
                by_name: true,
            });
        }
    }
    for key in ["created_at", "updated_at"] {
        columns.push(Column {
            key,
            kind: Kind::DateTime,
            label: texts.text(&format!("field.common.{key}")),
            by_name: false,
        });
    }
    columns
}

/// Spreadsheets run a cell that starts with `= + - @` (or a tab/CR before them) as a formula.
pub fn neutralise(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn cell(column: &Column, record: &Value) -> String {
    let value = if column.by_name {
        &record["display"][column.key]
    } else {
        &record[column.key]
    };
    neutralise(to_cell(column.kind, value))
}

/// What an export writes and how it reports its progress (rows read, rows in all).
pub struct Output<'a> {
    pub format: Format,
    pub texts: Texts<'a>,
    pub progress: &'a dyn Fn(usize, usize),
}

fn too_large() -> AppError {
    AppError::bad_request("export_too_large").with_params(json!({ "max": MAX_ROWS }))
}

/// Writes every visible record matching `params` (filters, `q`, `sort`) to a file.
pub fn write(
    conn: &Connection,
    entity: &Entity,
    rights: &Rights,
    module: &ModuleRights,
    mut params: HashMap<String, String>,
    output: Output,
) -> Result<File, AppError> {
    let columns = columns(entity, module, output.texts);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let total = exact_total(conn, entity, rights, module, params.clone())? as usize;
    if total > MAX_ROWS {
        return Err(too_large());
    }
    params.insert("per_page".into(), PAGE.to_string());
    for page in 1.. {
        params.insert("page".into(), page.to_string());
        let params = params.clone();
        let items = list_page(
            conn,
            None,
            entity,
            (rights, module),
            params,
            Slice::Active,
            |reader, r| reader.record(r),
        )?
        .items;
        let last = items.len() < PAGE as usize;
        rows.extend(
            items
                .iter()
                .map(|record| columns.iter().map(|c| cell(c, record)).collect()),
        );
        // Records written while the export reads can still push it over.
        if rows.len() > MAX_ROWS {
            return Err(too_large());
        }
        (output.progress)(rows.len(), total);
        if last {
            break;
        }
    }
    let headers: Vec<String> = columns.iter().map(|c| c.label.clone()).collect();
    let count = rows.len();
    let bytes = match output.format {
        Format::Csv => csv_bytes(&headers, &rows)?,
        Format::Xlsx => xlsx_bytes(&headers, &rows, &columns)?,
    };
    Ok(File { bytes, rows: count })
}

fn csv_bytes(headers: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, AppError> {
    // The byte-order mark makes Excel read the file as UTF-8 (Chinese text stays readable).
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(headers).map_err(AppError::internal)?;
    for row in rows {
        out.write_record(row).map_err(AppError::internal)?;
    }
    out.into_inner().map_err(AppError::internal)
}

fn xlsx_bytes(
    headers: &[String],
    rows: &[Vec<String>],
    columns: &[Column],
) -> Result<Vec<u8>, AppError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, header) in headers.iter().enumerate() {
        sheet
            .write_string(0, c as u16, header)
            .map_err(AppError::internal)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, text) in row.iter().enumerate() {
            let (row, col) = (r as u32 + 1, c as u16);
            let number = matches!(columns[c].kind, Kind::Integer | Kind::Money)
                .then(|| text.parse::<f64>().ok())
                .flatten();
            match number {
                Some(n) => sheet.write_number(row, col, n),
                None => sheet.write_string(row, col, text),
            }
            .map_err(AppError::internal)?;
        }
    }
    book.save_to_buffer().map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formulas_are_neutralised() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1"] {
            assert!(neutralise(risky.into()).starts_with('\''), "{risky}");
        }
        assert_eq!(neutralise("Acme 1+1".into()), "Acme 1+1");
    }
}
