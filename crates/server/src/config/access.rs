//! `[access]`: the networks served, and those that may reach the admin API.

use latchkey_http::IpList;
use serde::Deserialize;

use super::proxies::ip_list;
use super::setting::{Checker, List, Setting};

/// The `[access]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "access.allow",
        "LATCHKEY_ACCESS_ALLOW",
        "",
        "CIDRs served (empty: all)",
    ),
    Setting::text(
        "access.deny",
        "LATCHKEY_ACCESS_DENY",
        "",
        "CIDRs never served",
    ),
    Setting::text(
        "access.admin_allow",
        "LATCHKEY_ACCESS_ADMIN_ALLOW",
        "",
        "CIDRs that may reach /v1/admin and /admin (empty: all)",
    ),
    Setting::text(
        "access.admin_deny",
        "LATCHKEY_ACCESS_ADMIN_DENY",
        "",
        "CIDRs that may never reach /v1/admin and /admin",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    allow: Option<List>,
    deny: Option<List>,
    admin_allow: Option<List>,
    admin_deny: Option<List>,
}

/// IP allow and deny lists.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    /// Server-wide allow list (empty: all).
    pub allow: IpList,
    /// Server-wide deny list.
    pub deny: IpList,
    /// Admin allow list (empty: all).
    pub admin_allow: IpList,
    /// Admin deny list.
    pub admin_deny: IpList,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> AccessConfig {
        AccessConfig {
            allow: ip_list(c, "access.allow", self.allow),
            deny: ip_list(c, "access.deny", self.deny),
            admin_allow: ip_list(c, "access.admin_allow", self.admin_allow),
            admin_deny: ip_list(c, "access.admin_deny", self.admin_deny),
        }
    }
}
