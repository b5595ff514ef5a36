//! Reading an uploaded spreadsheet (CSV, XLSX or XLS) into a header row and text cells, and turning
//! a cell into the JSON value a request would carry for a field. People import what they
//! exported or typed in Excel, so cells take the forms people write: picklist labels in either
//! language, colleagues by name, money in yuan with separators, dates as Excel stores them.

use super::descriptor::{Field, Kind};
use super::picklists::Choice;
use crate::http::error::AppError;
use calamine::{Data, Reader, Xls, Xlsx};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Cursor;

/// The most data rows one file may carry.
pub const MAX_ROWS: usize = 200_000;

/// A file's header and data rows; `rows` keeps each row's number as the person sees it in
/// their spreadsheet (the header is row 1).
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
}

fn unreadable(detail: impl std::fmt::Display) -> AppError {
    AppError::field(
        "file",
        "unreadable",
        json!({ "detail": detail.to_string() }),
    )
}

/// Reads CSV (UTF-8 with or without BOM, or GB18030 as Chinese Excel saves it) or XLSX.
pub fn read(name: &str, bytes: &[u8]) -> Result<Sheet, AppError> {
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let is_xls = bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    let mut grid = if is_xls {
        workbook_rows::<Xls<_>>(bytes)?
    } else if is_zip || name.to_lowercase().ends_with(".xlsx") {
        workbook_rows::<Xlsx<_>>(bytes)?
    } else {
        csv_rows(bytes)?
    };
    if grid.is_empty() {
        return Err(AppError::field("file", "empty_file", json!({})));
    }
    if is_title_row(&grid) {
        grid.remove(0);
    }
    let headers: Vec<String> = grid
        .remove(0)
        .1
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    let rows: Vec<(usize, Vec<String>)> = grid
        .into_iter()
        .filter(|(_, row)| row.iter().any(|c| !c.trim().is_empty()))
        .map(|(number, row)| (number, row.into_iter().map(unneutralise).collect()))
        .collect();
    if rows.len() > MAX_ROWS {
        return Err(AppError::field(
            "file",
            "too_many_rows",
            json!({ "max": MAX_ROWS }),
        ));
    }
    Ok(Sheet { headers, rows })
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// Export puts an apostrophe before a cell that a spreadsheet would run as a formula; reading
/// the file back takes it off again, so a round trip keeps the text as it was.
fn unneutralise(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => cell,
    }
}

/// Rows with the row number a spreadsheet shows for them: every line is a row, blank ones
/// too, and a quoted cell that spans lines is still one row.
fn csv_rows(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, AppError> {
    let mut text = decode(bytes);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let (mut row, mut line_after_previous) = (0, 1);
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(unreadable)? {
        let line_after = reader.position().line();
        let inside: u64 = record.iter().map(|f| f.matches('\n').count() as u64).sum();
        let blank_lines = (line_after - line_after_previous).saturating_sub(1 + inside);
        row += blank_lines as usize + 1;
        line_after_previous = line_after;
        rows.push((row, record.iter().map(String::from).collect()));
    }
    Ok(rows)
}

/// Whether the first row is a title above the header (one cell, as WukongCRM's exports and
/// import templates have it: 客户信息), not the header itself.
fn is_title_row(grid: &[(usize, Vec<String>)]) -> bool {
    let filled = |row: &[String]| row.iter().filter(|c| !c.trim().is_empty()).count();
    match grid {
        [(_, first), (_, second), ..] => filled(first) == 1 && filled(second) > 1,
        _ => false,
    }
}

/// The first sheet of an XLSX workbook, or of an XLS one (Excel 97–2003, as WukongCRM exports).
fn workbook_rows<'a, R>(bytes: &'a [u8]) -> Result<Vec<(usize, Vec<String>)>, AppError>
where
    R: Reader<Cursor<&'a [u8]>>,
    R::Error: std::fmt::Display,
{
    let mut book: R = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| AppError::field("file", "empty_file", json!({})))?;
    let range = book.worksheet_range(&first).map_err(unreadable)?;
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, row)| (first_row + i + 1, row.iter().map(xlsx_cell).collect()))
        .collect())
}

/// An XLSX cell as the text a person would see: whole numbers without ".0", dates as ISO.
fn xlsx_cell(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| {
                if t.time() == chrono::NaiveTime::MIN {
                    t.format("%Y-%m-%d").to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            })
            .unwrap_or_default(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// What the cells of a file are matched against: picklist labels, colleagues and departments
/// by name, the company's time zone.
pub struct Lookups {
    /// Per picklist field, its active options.
    pub options: HashMap<String, Vec<Choice>>,
    /// Active users by username and by display name (a name two people share is left out).
    pub users: HashMap<String, i64>,
    pub departments: HashMap<String, i64>,
    pub zone: chrono_tz::Tz,
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', ';', '，', '；', '、', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A picklist cell: the stored value or a label in either language, any case.
fn option_value(lookups: &Lookups, field: &str, text: &str) -> String {
    lookups
        .options
        .get(field)
        .and_then(|options| {
            options.iter().find(|c| {
                c.value.eq_ignore_ascii_case(text)
                    || c.label_zh == text
                    || c.label_en.eq_ignore_ascii_case(text)
            })
        })
        .map_or_else(|| text.to_string(), |c| c.value.clone())
}

/// Yuan (or any major unit) with optional currency sign and separators → minor units.
fn money(text: &str) -> Option<i64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '¥' | '￥' | '$' | '€'))
        .collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !(whole.chars().chain(fraction.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    let value = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)?;
    Some(if negative { -value } else { value })
}

fn date(text: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
}

/// RFC 3339 as is; a local date and time (or a date) in the company's zone.
fn datetime(text: &str, zone: chrono_tz::Tz) -> Option<String> {
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Some(text.to_string());
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| date(text).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    let instant = zone.from_local_datetime(&local).earliest()?;
    Some(instant.to_rfc3339())
}

/// The JSON a request would carry for `field`, from a non-empty cell. A cell that cannot be
/// read is passed on as text, so the field's own validation names the problem.
pub fn value(field: &Field, text: &str, lookups: &Lookups) -> Value {
    let text = text.trim();
    match field.kind {
        Kind::Integer => text
            .replace([',', ' '], "")
            .parse::<i64>()
            .map_or(json!(text), |n| json!(n)),
        Kind::Money => money(text).map_or(json!(text), |n| json!(n)),
        Kind::Bool => match text.to_lowercase().as_str() {
            "是" | "true" | "yes" | "y" | "1" | "✓" => json!(true),
            "否" | "false" | "no" | "n" | "0" => json!(false),
            _ => json!(text),
        },
        Kind::Date => date(text).map_or(json!(text), |d| json!(d.format("%Y-%m-%d").to_string())),
        Kind::DateTime => datetime(text, lookups.zone).map_or(json!(text), |t| json!(t)),
        Kind::Picklist => json!(option_value(lookups, field.name, text)),
        Kind::MultiPicklist => json!(split_list(text)
            .iter()
            .map(|t| option_value(lookups, field.name, t))
            .collect::<Vec<_>>()),
        Kind::Tags => json!(split_list(text)),
        Kind::User => lookups
            .users
            .get(text)
            .map_or_else(|| json!(text), |id| json!(id)),
        Kind::Department => lookups
            .departments
            .get(text)
            .map_or_else(|| json!(text), |id| json!(id)),
        Kind::Lines => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
        Kind::Reference(_) | Kind::Lookup(_) => text
            .trim_start_matches('#')
            .parse::<i64>()
            .map_or(json!(text), |id| json!(id)),
        _ => json!(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_what_people_type() {
        assert_eq!(money("1,234.5"), Some(123_450));
        assert_eq!(money("¥ 88"), Some(8_800));
        assert_eq!(money("-0.07"), Some(-7));
        assert_eq!(money("1.234"), None);
        assert_eq!(money("abc"), None);
        assert_eq!(money(""), None);
    }

    #[test]
    fn csv_in_gb18030_and_with_a_bom_reads_alike() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("客户名称,电话\n华为,123\n");
        let a = read("a.csv", &gbk).unwrap();
        let b = read("b.csv", "\u{FEFF}客户名称,电话\n华为,123\n\n".as_bytes()).unwrap();
        for sheet in [a, b] {
            assert_eq!(sheet.headers, ["客户名称", "电话"]);
            assert_eq!(
                sheet.rows,
                [(2, vec!["华为".to_string(), "123".to_string()])]
            );
        }
    }

    #[test]
    fn local_times_are_read_in_the_company_zone() {
        let zone = chrono_tz::Asia::Shanghai;
        assert_eq!(
            datetime("2026-11-23 09:30", zone).as_deref(),
            Some("2026-11-23T09:30:00+08:00")
        );
        assert_eq!(datetime("yesterday", zone), None);
    }
}
