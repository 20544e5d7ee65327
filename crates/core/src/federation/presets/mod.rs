//! The catalogue of well-known providers: one small file each. A preset
//! fills what the provider's documentation fixes (issuer or endpoints,
//! scopes, claim names, whether it vouches for the addresses it asserts);
//! the configuration adds the client id and secret and may override the
//! rest. Adding a provider is one file here and one line in [`ALL`].

use super::model::{LinkPolicy, ProviderKind};

mod apple;
mod discord;
mod facebook;
mod github;
mod gitlab;
mod google;
mod microsoft;

/// What the catalogue knows of a provider.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The `kind` value that selects it.
    pub name: &'static str,
    /// What the sign-in button says.
    pub display_name: &'static str,
    /// OpenID Connect or plain OAuth 2.0.
    pub kind: ProviderKind,
    /// The issuer (OpenID Connect; `{tenant}` is replaced by the setting).
    pub issuer: Option<&'static str>,
    /// The authorization endpoint (OAuth 2.0).
    pub authorization_endpoint: Option<&'static str>,
    /// The token endpoint (OAuth 2.0).
    pub token_endpoint: Option<&'static str>,
    /// The userinfo endpoint (OAuth 2.0).
    pub userinfo_endpoint: Option<&'static str>,
    /// The scopes asked for.
    pub scopes: &'static [&'static str],
    /// The claim holding the subject, if not `sub`.
    pub subject_claim: &'static str,
    /// The claim saying the address is verified, if not `email_verified`.
    pub email_verified_claim: &'static str,
    /// The default linking policy: `Verified` only for providers that vouch
    /// for the addresses they assert.
    pub link_policy: LinkPolicy,
}

/// Every preset.
pub const ALL: &[Preset] = &[
    google::PRESET,
    microsoft::PRESET,
    apple::PRESET,
    github::PRESET,
    gitlab::PRESET,
    facebook::PRESET,
    discord::PRESET,
];

/// What `kind` selects: a generic kind (`oidc`, `oauth2`) or a preset.
pub fn preset(kind: &str) -> Option<&'static Preset> {
    [&GENERIC_OIDC, &GENERIC_OAUTH2]
        .into_iter()
        .chain(ALL)
        .find(|p| p.name == kind)
}

/// `kind = "oidc"`: any OpenID Connect provider; never links on its own.
pub const GENERIC_OIDC: Preset = Preset {
    name: "oidc",
    display_name: "",
    kind: ProviderKind::Oidc,
    issuer: None,
    authorization_endpoint: None,
    token_endpoint: None,
    userinfo_endpoint: None,
    scopes: &["openid", "email", "profile"],
    subject_claim: "sub",
    email_verified_claim: "email_verified",
    link_policy: LinkPolicy::Never,
};

/// `kind = "oauth2"`: any OAuth 2.0 provider with a userinfo endpoint.
pub const GENERIC_OAUTH2: Preset = Preset {
    name: "oauth2",
    kind: ProviderKind::OAuth2,
    scopes: &[],
    ..GENERIC_OIDC
};
