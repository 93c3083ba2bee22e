//! Shared pieces of Flusso that every other crate may use: wall-clock helpers and
//! human-readable sizes and durations used by configuration.
//!
//! This crate stays tiny and dependency-free so that the embedded log
//! (`flusso-log`) can use it without pulling in the SQL stack.
//!
//! ```
//! use flusso_common::{parse_bytes, parse_duration_ms};
//! assert_eq!(parse_bytes("1KiB").unwrap(), 1024);
//! assert_eq!(parse_duration_ms("2s").unwrap(), 2000);
//! ```

mod units;

pub use units::{parse_bytes, parse_duration_ms};

/// Milliseconds since the Unix epoch, as Kafka timestamps are.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
