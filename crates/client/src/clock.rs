//! The SDK's one wall-clock read. Everything else takes `now_ms` from here (or from a test), so
//! the pure parts (fault table, allocation, ids) are deterministic under test.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as Java's `System.currentTimeMillis()`; 0 if the system
/// clock is set before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}
