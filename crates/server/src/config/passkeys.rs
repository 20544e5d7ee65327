//! `[passkeys]`: the WebAuthn relying party (RP ID and the origins
//! ceremonies may come from).

use serde::Deserialize;
use url::Url;

use super::cors::{origin_list, valid_origin};
use super::setting::{Checker, List, Setting};

/// The `[passkeys]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::derived(
        "passkeys.rp_id",
        "LATCHKEY_PASSKEYS_RP_ID",
        "the host of public_url",
        "the WebAuthn RP ID: the public URL's host or a registrable suffix of it (passkeys registered under one RP ID work only under it)",
    ),
    Setting::text(
        "passkeys.origins",
        "LATCHKEY_PASSKEYS_ORIGINS",
        "",
        "more origins a passkey ceremony may come from (the public URL's origin always may); each on the RP ID or a subdomain of it",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    rp_id: Option<String>,
    origins: Option<List>,
}

/// The relying party's settings.
#[derive(Debug, Clone, Default)]
pub struct PasskeysConfig {
    /// The RP ID; `None`: the public URL's host.
    pub rp_id: Option<String>,
    /// Origins besides the public URL's.
    pub origins: Vec<String>,
}

/// Whether `host` is `rp_id` or a subdomain of it.
fn on_rp_id(host: &str, rp_id: &str) -> bool {
    host == rp_id
        || host
            .strip_suffix(rp_id)
            .is_some_and(|rest| rest.ends_with('.'))
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker, public: Option<&Url>) -> PasskeysConfig {
        let rp_id = c.optional("passkeys.rp_id", self.rp_id);
        let public_host = public.and_then(|u| u.host_str()).map(str::to_owned);
        let shown = rp_id.as_deref().or(public_host.as_deref()).unwrap_or("");
        c.show_str("passkeys.rp_id", shown);
        if let (Some(id), Some(host)) = (&rp_id, &public_host)
            && (id.contains(['/', ':']) || !id.contains('.') || !on_rp_id(host, id))
        {
            c.fail(
                "passkeys.rp_id",
                Some(id),
                format!("the RP ID must be the public URL's host ({host}) or a registrable suffix of it, such as example.com for id.example.com"),
            );
        }
        let origins = origin_list(self.origins);
        let rp = rp_id.clone().or(public_host);
        for o in &origins {
            let host = Url::parse(o)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned));
            let fits = match (&host, &rp) {
                (Some(h), Some(rp)) => on_rp_id(h, rp),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if !valid_origin(o) || !fits {
                c.fail(
                    "passkeys.origins",
                    Some(o),
                    "expected origins such as https://app.example.com (scheme, host and port only) on the RP ID or a subdomain of it",
                );
            }
        }
        c.show_str("passkeys.origins", &origins.join(", "));
        PasskeysConfig { rp_id, origins }
    }
}

#[cfg(test)]
mod tests {
    use super::on_rp_id;

    #[test]
    fn hosts_on_an_rp_id() {
        for (host, rp, want) in [
            ("id.example.com", "example.com", true),
            ("example.com", "example.com", true),
            ("badexample.com", "example.com", false),
            ("example.com.evil.net", "example.com", false),
            ("example.com", "id.example.com", false),
        ] {
            assert_eq!(on_rp_id(host, rp), want, "{host} on {rp}");
        }
    }
}
