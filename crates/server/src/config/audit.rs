//! `[audit]`: how long the audit log is kept.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[audit]` settings.
pub const SETTINGS: &[Setting] = &[Setting::int(
    "audit.retention_days",
    "LATCHKEY_AUDIT_RETENTION_DAYS",
    365,
    0,
    36_500,
    "audit events older than this many days are deleted (0: keep forever)",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    retention_days: Option<u64>,
}

/// Audit log settings.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// How long events are kept; `None`: forever.
    pub retention: Option<time::Duration>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> AuditConfig {
        let retention = c.span_days("audit.retention_days", self.retention_days);
        AuditConfig {
            retention: (!retention.is_zero()).then_some(retention),
        }
    }
}
