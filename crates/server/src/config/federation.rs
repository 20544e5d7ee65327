//! `[federation]`: sign-in with other providers (issue 17). Each provider
//! is a table `[federation.providers.<name>]`; `<name>` is the
//! `{provider}` of `/v1/auth/oauth/{provider}/…`. `kind` is `oidc`,
//! `oauth2`, or a preset of `latchkey_core::federation::presets` (`google`,
//! `microsoft`, `apple`, `github`, `gitlab`, `facebook`, `discord`) that
//! fills what the provider's documentation fixes. Every provider is checked
//! here, at start-up: a bad one stops the server with a message naming it.

use std::collections::BTreeMap;

use latchkey_core::federation::presets;
use latchkey_core::federation::{FederationConfig, Provider};
use serde::Deserialize;
use url::Url;

use super::setting::{Checker, List, Setting};

const PROVIDERS: &str = "federation.providers";
const REDIRECTS: &str = "federation.api_redirect_uris";
const TIMEOUT: &str = "federation.timeout_secs";

/// The `[federation]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        PROVIDERS,
        "LATCHKEY_FEDERATION_PROVIDERS",
        "",
        "upstream providers, one table `[federation.providers.<name>]` each (file only; see below)",
    ),
    Setting::text(
        REDIRECTS,
        "LATCHKEY_FEDERATION_API_REDIRECT_URIS",
        "",
        "where the API mode may send its one-time code, exact URIs (none: API mode off)",
    ),
    Setting::int(
        TIMEOUT,
        "LATCHKEY_FEDERATION_TIMEOUT_SECS",
        10,
        1,
        60,
        "the bound of every call to an upstream provider, in seconds",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    providers: Option<BTreeMap<String, RawProvider>>,
    api_redirect_uris: Option<List>,
    timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: String,
    display_name: Option<String>,
    issuer: Option<String>,
    tenant: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    emails_endpoint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scopes: Option<List>,
    link_policy: Option<String>,
    sign_up: Option<bool>,
    store_tokens: Option<bool>,
    sync_profile: Option<bool>,
    #[serde(default)]
    claims: RawClaims,
    native_client_ids: Option<List>,
    team_id: Option<String>,
    key_id: Option<String>,
    private_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaims {
    subject: Option<String>,
    email: Option<String>,
    email_verified: Option<String>,
    name: Option<String>,
    picture: Option<String>,
}

fn split(list: Option<List>) -> Option<Vec<String>> {
    list.map(|l| {
        l.joined()
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> FederationConfig {
        let mut problems = Vec::new();
        let mut providers = Vec::new();
        for (name, raw) in self.providers.unwrap_or_default() {
            match provider(&name, raw) {
                Ok(p) => providers.push(p),
                Err(e) => problems.push(format!("[federation.providers.{name}]: {e}")),
            }
        }
        for p in problems {
            c.fail(PROVIDERS, None, p);
        }
        let names: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
        c.show(PROVIDERS, format!("{names:?}"));
        let api_redirect_uris = split(self.api_redirect_uris).unwrap_or_default();
        for uri in &api_redirect_uris {
            if let Err(e) = Url::parse(uri) {
                c.fail(REDIRECTS, Some(uri), format!("not an absolute URI: {e}"));
            }
        }
        c.show(REDIRECTS, format!("{api_redirect_uris:?}"));
        FederationConfig {
            providers,
            api_redirect_uris,
            upstream_timeout: std::time::Duration::from_secs(c.int(TIMEOUT, self.timeout_secs)),
        }
    }
}

fn provider(name: &str, raw: RawProvider) -> Result<Provider, String> {
    let c = raw.claims;
    presets::build(
        name,
        presets::Settings {
            kind: raw.kind,
            display_name: raw.display_name,
            issuer: raw.issuer,
            tenant: raw.tenant,
            authorization_endpoint: raw.authorization_endpoint,
            token_endpoint: raw.token_endpoint,
            userinfo_endpoint: raw.userinfo_endpoint,
            emails_endpoint: raw.emails_endpoint,
            client_id: raw.client_id,
            client_secret: raw.client_secret,
            scopes: split(raw.scopes),
            link_policy: raw.link_policy,
            sign_up: raw.sign_up,
            store_tokens: raw.store_tokens,
            sync_profile: raw.sync_profile,
            claims: presets::ClaimOverrides {
                subject: c.subject,
                email: c.email,
                email_verified: c.email_verified,
                name: c.name,
                picture: c.picture,
            },
            native_client_ids: split(raw.native_client_ids).unwrap_or_default(),
            team_id: raw.team_id,
            key_id: raw.key_id,
            private_key: raw.private_key,
        },
    )
}

#[cfg(test)]
mod tests {
    use latchkey_core::federation::{LinkPolicy, ProviderKind};

    use super::*;

    fn parse(toml_text: &str) -> Result<Provider, String> {
        let raw: RawProvider = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        provider("p", raw)
    }

    #[test]
    fn tokens_are_kept_only_when_asked_and_the_profile_syncs_by_default() {
        let base = "kind = \"oidc\"\nissuer = \"https://idp.example\"\nclient_id = \"id\"\nclient_secret = \"s\"";
        let p = parse(base).unwrap();
        assert_eq!(
            (p.store_tokens, p.sync_profile, p.claims.picture.as_str()),
            (false, true, "picture")
        );
        let p = parse(&format!(
            "{base}\nstore_tokens = true\nsync_profile = false\nclaims.picture = \"avatar_url\""
        ))
        .unwrap();
        assert_eq!(
            (p.store_tokens, p.sync_profile, p.claims.picture.as_str()),
            (true, false, "avatar_url")
        );
    }

    #[test]
    fn presets_fill_and_settings_override() {
        let g = parse("kind = \"google\"\nclient_id = \"id\"\nclient_secret = \"s\"").unwrap();
        assert_eq!(g.issuer.as_deref(), Some("https://accounts.google.com"));
        assert_eq!(g.link_policy, LinkPolicy::Verified);
        let g = parse(
            "kind = \"google\"\nclient_id = \"id\"\nclient_secret = \"s\"\nlink_policy = \"never\"",
        )
        .unwrap();
        assert_eq!(g.link_policy, LinkPolicy::Never);
        let gh = parse("kind = \"github\"\nclient_id = \"id\"\nclient_secret = \"s\"").unwrap();
        assert_eq!(
            (gh.kind, gh.claims.subject.as_str()),
            (ProviderKind::OAuth2, "id")
        );
        let ms = parse(
            "kind = \"microsoft\"\ntenant = \"t1\"\nclient_id = \"id\"\nclient_secret = \"s\"",
        )
        .unwrap();
        assert_eq!(
            ms.issuer.as_deref(),
            Some("https://login.microsoftonline.com/t1/v2.0")
        );
        let generic = parse("kind = \"oidc\"\nissuer = \"http://127.0.0.1:3200\"\nclient_id = \"id\"\nclient_secret = \"s\"").unwrap();
        assert_eq!(
            generic.link_policy,
            LinkPolicy::Never,
            "generic kinds never link on their own"
        );
    }

    #[test]
    fn bad_providers_are_refused_with_the_reason() {
        for (text, says) in [
            (
                "kind = \"myspace\"\nclient_id = \"i\"\nclient_secret = \"s\"",
                "not oidc, oauth2 or a preset",
            ),
            (
                "kind = \"oidc\"\nclient_id = \"i\"\nclient_secret = \"s\"",
                "`issuer` is required",
            ),
            (
                "kind = \"oidc\"\nissuer = \"http://idp.example\"\nclient_id = \"i\"\nclient_secret = \"s\"",
                "must be https",
            ),
            (
                "kind = \"google\"\nclient_secret = \"s\"",
                "`client_id` is required",
            ),
            (
                "kind = \"google\"\nclient_id = \"i\"",
                "`client_secret` is required",
            ),
            (
                "kind = \"oauth2\"\nclient_id = \"i\"\nclient_secret = \"s\"",
                "are required",
            ),
            (
                "kind = \"microsoft\"\nclient_id = \"i\"\nclient_secret = \"s\"",
                "`tenant` is required",
            ),
            (
                "kind = \"google\"\nclient_id = \"i\"\nclient_secret = \"s\"\nlink_policy = \"email\"",
                "link_policy",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
