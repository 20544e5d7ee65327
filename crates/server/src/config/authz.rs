//! `[authz]`: the forward-auth rules of `GET /v1/authz/check`.

use latchkey_http::AuthzPolicy;
use serde::Deserialize;

use super::setting::{Checker, List, Setting};

/// The `[authz]` settings.
pub const SETTINGS: &[Setting] = &[Setting::text(
    "authz.rules",
    "LATCHKEY_AUTHZ_RULES",
    "",
    "forward-auth rules, `host/prefix requirement…` separated by commas",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    rules: Option<List>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> AuthzPolicy {
        let text = self.rules.map(|l| l.joined()).unwrap_or_default();
        let policy = text.parse::<AuthzPolicy>().unwrap_or_else(|e| {
            c.fail("authz.rules", Some(&text), e);
            AuthzPolicy::default()
        });
        c.show_str("authz.rules", &policy.to_string());
        policy
    }
}
