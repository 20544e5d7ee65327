//! `[tokens]`: access-token signing, audience and lifetimes, refresh grace,
//! key rotation.

use serde::Deserialize;

use super::setting::{Checker, Setting};

/// The `[tokens]` settings.
pub const SETTINGS: &[Setting] = &[
    Setting::text(
        "tokens.alg",
        "LATCHKEY_TOKENS_ALG",
        "EdDSA",
        "signature algorithm of access tokens: `EdDSA`, `ES256` or `RS256`",
    ),
    Setting::derived(
        "tokens.audience",
        "LATCHKEY_TOKENS_AUDIENCE",
        "<public_url>",
        "the `aud` of first-party access tokens",
    ),
    Setting::int(
        "tokens.access_ttl_secs",
        "LATCHKEY_TOKENS_ACCESS_TTL_SECS",
        900,
        30,
        86_400,
        "lifetime of access tokens",
    ),
    Setting::int(
        "tokens.refresh_grace_secs",
        "LATCHKEY_TOKENS_REFRESH_GRACE_SECS",
        10,
        0,
        300,
        "a refresh token presented again within this time gets the same new pair instead of ending the session",
    ),
    Setting::int(
        "tokens.key_rotation_days",
        "LATCHKEY_TOKENS_KEY_ROTATION_DAYS",
        30,
        0,
        3650,
        "make a new signing key after this many days (0: only by `latchkey keys rotate`)",
    ),
    Setting::flag(
        "tokens.include_permissions",
        "LATCHKEY_TOKENS_INCLUDE_PERMISSIONS",
        false,
        "access tokens also carry a `permissions` claim (every permission of the user's roles)",
    ),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    alg: Option<String>,
    audience: Option<String>,
    access_ttl_secs: Option<u64>,
    refresh_grace_secs: Option<u64>,
    key_rotation_days: Option<u64>,
    include_permissions: Option<bool>,
}

/// Token settings.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Signature algorithm for new keys.
    pub alg: latchkey_tokens::Alg,
    /// `aud` of first-party tokens; `None`: the public URL.
    pub audience: Option<String>,
    /// Access token lifetime.
    pub access_ttl: time::Duration,
    /// Refresh grace window.
    pub refresh_grace: time::Duration,
    /// Automatic key rotation period; `None`: manual only.
    pub key_rotation: Option<time::Duration>,
    /// Whether access tokens carry a `permissions` claim.
    pub include_permissions: bool,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> TokenConfig {
        let alg_text = c.text("tokens.alg", self.alg);
        let alg = alg_text
            .parse::<latchkey_tokens::Alg>()
            .unwrap_or_else(|_| {
                c.fail(
                    "tokens.alg",
                    Some(&alg_text),
                    "expected `EdDSA`, `ES256` or `RS256`",
                );
                latchkey_tokens::Alg::EdDSA
            });
        c.show_str("tokens.alg", alg.as_str());
        let audience = self.audience.filter(|a| {
            let ok = !a.trim().is_empty();
            if !ok {
                c.fail("tokens.audience", Some(a), "must not be empty");
            }
            ok
        });
        c.show_str(
            "tokens.audience",
            audience.as_deref().unwrap_or("<public_url>"),
        );
        let key_rotation = c.span_days("tokens.key_rotation_days", self.key_rotation_days);
        TokenConfig {
            alg,
            audience,
            access_ttl: c.span_secs("tokens.access_ttl_secs", self.access_ttl_secs),
            refresh_grace: c.span_secs("tokens.refresh_grace_secs", self.refresh_grace_secs),
            key_rotation: (!key_rotation.is_zero()).then_some(key_rotation),
            include_permissions: c.flag("tokens.include_permissions", self.include_permissions),
        }
    }
}
