//! Timestamps as clients see them.

use time::format_description::well_known::Rfc3339;

/// RFC 3339, e.g. `2026-11-22T10:00:00Z`.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
