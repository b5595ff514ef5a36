//! Instants are stored as UTC unix milliseconds and shown to clients as RFC 3339.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use std::cell::Cell;

thread_local! {
    /// The instant `now_ms` answers on this thread instead of the clock, while `as_of` runs.
    static AS_OF: Cell<Option<i64>> = const { Cell::new(None) };
}

pub fn now_ms() -> i64 {
    AS_OF.get().unwrap_or_else(|| Utc::now().timestamp_millis())
}

/// Runs `f` as if it were `ms`: every record it writes is stamped then, with its history. The
/// demo company is written this way, as two years of work, through the ordinary write path.
pub fn as_of<T>(ms: i64, f: impl FnOnce() -> T) -> T {
    let before = AS_OF.replace(Some(ms));
    let result = f();
    AS_OF.set(before);
    result
}

/// The time zone named `name`; an unknown or missing one is the company default,
/// Asia/Shanghai.
pub fn zone_or_default(name: Option<&str>) -> chrono_tz::Tz {
    name.and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

/// Today's date (`YYYY-MM-DD`) in the named time zone (see `zone_or_default`).
pub fn today_in(zone: Option<&str>) -> String {
    DateTime::<Utc>::from_timestamp_millis(now_ms())
        .unwrap_or_default()
        .with_timezone(&zone_or_default(zone))
        .format("%Y-%m-%d")
        .to_string()
}

pub fn rfc3339(ms: i64) -> String {
    let mut text = Rfc3339::default();
    text.write(ms).into_owned()
}

/// An instant in RFC 3339, UTC with milliseconds ("2026-11-23T09:00:00.000+00:00", as chrono's
/// `to_rfc3339_opts(Millis, false)` writes it), spelt out in a buffer on the stack: a list page
/// shows hundreds, and chrono's general formatter was most of the cost of writing a record.
pub struct Rfc3339([u8; 29]);

impl Default for Rfc3339 {
    fn default() -> Rfc3339 {
        Rfc3339(*b"0000-00-00T00:00:00.000+00:00")
    }
}

impl Rfc3339 {
    /// The text of `ms`; years outside 0–9999, which need more digits or a sign, go through
    /// chrono (the epoch for an instant chrono cannot represent, as before).
    pub fn write(&mut self, ms: i64) -> std::borrow::Cow<'_, str> {
        let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        let Ok(year) = u32::try_from(at.year()) else {
            return at.to_rfc3339_opts(SecondsFormat::Millis, false).into();
        };
        if year > 9999 {
            return at.to_rfc3339_opts(SecondsFormat::Millis, false).into();
        }
        let fields = [
            (0, 4, year),
            (5, 2, at.month()),
            (8, 2, at.day()),
            (11, 2, at.hour()),
            (14, 2, at.minute()),
            (17, 2, at.second()),
            (20, 3, at.timestamp_subsec_millis()),
        ];
        for (start, width, mut value) in fields {
            for digit in self.0[start..start + width].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        // Only ASCII digits were written into an ASCII template.
        std::str::from_utf8(&self.0).unwrap_or_default().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_as_chrono_writes_them() {
        let chrono = |ms| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(SecondsFormat::Millis, false)
        };
        let mut probes = vec![
            0,
            -1,
            1,
            999,
            1_795_395_600_000,
            951_782_400_000,     // 2000-02-29
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // 10000-01-01
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // a year before 0
            i64::MAX,
            i64::MIN,
        ];
        let mut ms: i64 = -86_400_000 * 400;
        while ms < 4_102_444_800_000 {
            probes.push(ms);
            ms += 7_777_777_777 + 123;
        }
        for ms in probes {
            assert_eq!(rfc3339(ms), chrono(ms), "{ms}");
        }
    }
}
