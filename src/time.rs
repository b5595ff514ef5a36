//! Instants are stored as UTC unix milliseconds and shown to clients as RFC 3339.

use chrono::{DateTime, SecondsFormat, Utc};
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

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, false)
}
