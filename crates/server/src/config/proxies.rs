//! `[proxies]`: the reverse proxies whose forwarding headers are believed.

use latchkey_http::IpList;
use serde::Deserialize;

use super::setting::{Checker, List, Setting};

/// The `[proxies]` settings.
pub const SETTINGS: &[Setting] = &[Setting::text(
    "proxies.trusted",
    "LATCHKEY_PROXIES_TRUSTED",
    "",
    "CIDRs of proxies whose Forwarded / X-Forwarded-For is believed",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    trusted: Option<List>,
}

/// Trusted proxies.
#[derive(Debug, Clone)]
pub struct ProxiesConfig {
    /// Networks whose `Forwarded` / `X-Forwarded-For` is believed.
    pub trusted: IpList,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> ProxiesConfig {
        ProxiesConfig {
            trusted: ip_list(c, "proxies.trusted", self.trusted),
        }
    }
}

/// A list of networks (empty when unset); shown as parsed.
pub(super) fn ip_list(c: &mut Checker, key: &'static str, raw: Option<List>) -> IpList {
    let text = raw.map(|l| l.joined()).unwrap_or_default();
    let list = text.parse::<IpList>().unwrap_or_else(|e| {
        c.fail(key, Some(&text), e);
        IpList::default()
    });
    c.show_str(key, &list.to_string());
    list
}
