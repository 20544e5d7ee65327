//! `[mfa]`: who must use a second factor.

use latchkey_core::mfa::MfaPolicy;
use latchkey_core::roles::valid_role_name;
use serde::Deserialize;

use super::cors::origin_list;
use super::setting::{Checker, List, Setting};

/// The `[mfa]` settings.
pub const SETTINGS: &[Setting] = &[Setting::text(
    "mfa.required_for_roles",
    "LATCHKEY_MFA_REQUIRED_FOR_ROLES",
    "",
    "roles whose accounts must enrol a second factor before anything else",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    required_for_roles: Option<List>,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> MfaPolicy {
        let roles = origin_list(self.required_for_roles);
        for r in &roles {
            if !valid_role_name(r) {
                c.fail(
                    "mfa.required_for_roles",
                    Some(r),
                    "expected role names such as `admin` (2 to 32 of a-z, 0-9, `_`, `-`, starting with a letter), separated by commas",
                );
            }
        }
        c.show_str("mfa.required_for_roles", &roles.join(", "));
        MfaPolicy {
            required_for_roles: roles,
        }
    }
}
