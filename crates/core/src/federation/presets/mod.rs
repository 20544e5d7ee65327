//! The catalogue of well-known providers: one small file each. A preset
//! fills what the provider's documentation fixes (issuer or endpoints,
//! scopes, claim names, whether it vouches for the addresses it asserts);
//! the configuration adds the client id and secret and may override the
//! rest. Adding a provider is one file here and one line in [`ALL`].

use std::sync::Arc;

use latchkey_tokens::{Alg, SigningKey};
use url::Url;

use super::model::{
    AppleSecret, ClaimMapping, ClientAuth, Dialect, LinkPolicy, Provider, ProviderKind,
    TenantIssuer,
};

pub(crate) mod apple;
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
    /// The claim holding the display name, if not `name`.
    pub name_claim: &'static str,
    /// How latchkey authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// Where the verified primary address is read (GitHub's emails API).
    pub emails_endpoint: Option<&'static str>,
    /// The `response_mode` asked for (Apple: `form_post`).
    pub response_mode: Option<&'static str>,
    /// Other spellings of the issuer the provider's ID tokens carry
    /// (Google: `accounts.google.com`).
    pub issuer_aliases: &'static [&'static str],
    /// The client secret is an ES256 JWT signed with the `private_key`
    /// (Apple), the person's name comes once in the callback's `user` form
    /// field.
    pub apple: bool,
    /// The issuer has a `{tenant}`; `common` and `organizations` mean any
    /// tenant, the ID token's `iss` then names the tenant of its `tid`
    /// (Microsoft).
    pub tenants: bool,
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
    name_claim: "name",
    client_auth: ClientAuth::Basic,
    emails_endpoint: None,
    response_mode: None,
    issuer_aliases: &[],
    apple: false,
    tenants: false,
};

/// `kind = "oauth2"`: any OAuth 2.0 provider with a userinfo endpoint.
pub const GENERIC_OAUTH2: Preset = Preset {
    name: "oauth2",
    kind: ProviderKind::OAuth2,
    scopes: &[],
    ..GENERIC_OIDC
};

/// A provider's settings as configured (the TOML table, or an API's
/// body): what is not set comes from the preset of `kind`.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `oidc`, `oauth2` or a preset's name.
    pub kind: String,
    /// What the sign-in button says.
    pub display_name: Option<String>,
    /// The issuer (OpenID Connect); a `{tenant}` in it is replaced.
    pub issuer: Option<String>,
    /// Microsoft: the tenant id, or `common` / `organizations` for any.
    pub tenant: Option<String>,
    /// Endpoint overrides.
    pub authorization_endpoint: Option<String>,
    /// The token endpoint.
    pub token_endpoint: Option<String>,
    /// The userinfo endpoint.
    pub userinfo_endpoint: Option<String>,
    /// GitHub: the emails API.
    pub emails_endpoint: Option<String>,
    /// Our client id there.
    pub client_id: Option<String>,
    /// Our client secret there (not for Apple: see `private_key`).
    pub client_secret: Option<String>,
    /// The scopes asked for.
    pub scopes: Option<Vec<String>>,
    /// `never` or `verified`.
    pub link_policy: Option<String>,
    /// Whether a first sign-in may create an account (default true).
    pub sign_up: Option<bool>,
    /// Whether the provider's tokens are kept, sealed (default false).
    pub store_tokens: Option<bool>,
    /// Whether each sign-in sets the account's name (default true).
    pub sync_profile: Option<bool>,
    /// Claim name overrides.
    pub claims: ClaimOverrides,
    /// Native apps: the other client ids an ID token of the platform SDK
    /// may be issued to (iOS bundle id, Android client id).
    pub native_client_ids: Vec<String>,
    /// Apple: the developer team id (the client secret's `iss`).
    pub team_id: Option<String>,
    /// Apple: the key id of `private_key`.
    pub key_id: Option<String>,
    /// Apple: the Sign in with Apple key, PKCS#8 PEM (the `.p8` file).
    pub private_key: Option<String>,
}

/// Claim name overrides of [`Settings`].
#[derive(Debug, Clone, Default)]
pub struct ClaimOverrides {
    /// The subject's claim.
    pub subject: Option<String>,
    /// The address's claim.
    pub email: Option<String>,
    /// The verified flag's claim.
    pub email_verified: Option<String>,
    /// The name's claim.
    pub name: Option<String>,
    /// The picture's claim.
    pub picture: Option<String>,
}

/// An http(s) URL; plain http only on a loopback host (development and
/// the protocol fakes of the tests).
pub fn endpoint(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!(
            "{raw:?} must be https (http only on a loopback host)"
        )),
    }
}

/// The Microsoft tenant of personal accounts (`consumers`).
pub const CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The provider `name` as `s` configures it over its preset; the error
/// says what is wrong.
pub fn build(name: &str, s: Settings) -> Result<Provider, String> {
    let name_ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err("the name must be 1 to 32 of a-z, 0-9, `-`, `_`".into());
    }
    let preset = preset(&s.kind).ok_or_else(|| {
        let known: Vec<&str> = ALL.iter().map(|p| p.name).collect();
        format!(
            "kind {:?} is not oidc, oauth2 or a preset ({})",
            s.kind,
            known.join(", ")
        )
    })?;
    let nonblank = |v: Option<String>, what: &str| {
        v.filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("`{what}` is required"))
    };
    let client_id = nonblank(s.client_id, "client_id")?;
    let apple = if preset.apple {
        let team_id = nonblank(s.team_id, "team_id")?;
        let key_id = nonblank(s.key_id, "key_id")?;
        let pem = nonblank(s.private_key, "private_key")?;
        Some(AppleSecret {
            team_id,
            key: Arc::new(es256_pem(&pem, key_id)?),
        })
    } else {
        None
    };
    let client_secret = match apple {
        Some(_) => String::new(),
        None => nonblank(s.client_secret, "client_secret")?,
    };
    let mut tenant_issuer = None;
    let issuer = match s.issuer.or(preset.issuer.map(str::to_owned)) {
        Some(i) if i.contains("{tenant}") => {
            let tenant = nonblank(s.tenant, "tenant")?;
            if preset.tenants && matches!(tenant.as_str(), "common" | "organizations") {
                tenant_issuer = Some(TenantIssuer {
                    template: i.replace("{tenant}", "{tenantid}"),
                    organizations_only: tenant == "organizations",
                });
            }
            Some(i.replace("{tenant}", &tenant))
        }
        i => i,
    };
    let url = |own: Option<String>, preset: Option<&str>| {
        own.or(preset.map(str::to_owned))
            .map(|u| endpoint(&u))
            .transpose()
    };
    let authorization_endpoint = url(s.authorization_endpoint, preset.authorization_endpoint)?;
    let token_endpoint = url(s.token_endpoint, preset.token_endpoint)?;
    let userinfo_endpoint = url(s.userinfo_endpoint, preset.userinfo_endpoint)?;
    let emails_endpoint = url(s.emails_endpoint, preset.emails_endpoint)?;
    match preset.kind {
        ProviderKind::Oidc => {
            let issuer = issuer.as_deref().ok_or("`issuer` is required")?;
            endpoint(issuer)?;
        }
        ProviderKind::OAuth2 => {
            if authorization_endpoint.is_none()
                || token_endpoint.is_none()
                || userinfo_endpoint.is_none()
            {
                return Err("`authorization_endpoint`, `token_endpoint` and `userinfo_endpoint` are required".into());
            }
        }
    }
    let link_policy = match s.link_policy.as_deref() {
        None => preset.link_policy,
        Some("never") => LinkPolicy::Never,
        Some("verified") => LinkPolicy::Verified,
        Some(other) => {
            return Err(format!(
                "link_policy {other:?} is not `never` or `verified`"
            ));
        }
    };
    let claims = ClaimMapping {
        subject: s.claims.subject.unwrap_or(preset.subject_claim.into()),
        email: s.claims.email.unwrap_or("email".into()),
        email_verified: s
            .claims
            .email_verified
            .unwrap_or(preset.email_verified_claim.into()),
        name: s.claims.name.unwrap_or(preset.name_claim.into()),
        picture: s.claims.picture.unwrap_or("picture".into()),
    };
    let display_name = s
        .display_name
        .or_else(|| (!preset.display_name.is_empty()).then(|| preset.display_name.to_owned()))
        .unwrap_or_else(|| name.to_owned());
    let strings = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    Ok(Provider {
        name: name.to_owned(),
        display_name,
        kind: preset.kind,
        issuer: if preset.kind == ProviderKind::Oidc {
            issuer
        } else {
            None
        },
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        client_id,
        client_secret,
        scopes: s.scopes.unwrap_or_else(|| strings(preset.scopes)),
        claims,
        link_policy,
        sign_up: s.sign_up.unwrap_or(true),
        store_tokens: s.store_tokens.unwrap_or(false),
        sync_profile: s.sync_profile.unwrap_or(true),
        dialect: Dialect {
            client_auth: preset.client_auth,
            emails_endpoint,
            response_mode: preset.response_mode.map(str::to_owned),
            issuer_aliases: strings(preset.issuer_aliases),
            tenant_issuer,
            apple,
            native_client_ids: s.native_client_ids,
        },
    })
}

/// An ES256 signing key from a PKCS#8 PEM (Apple's `.p8` file).
fn es256_pem(pem: &str, kid: String) -> Result<SigningKey, String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    use base64ct::Encoding;
    let der = base64ct::Base64::decode_vec(&body)
        .map_err(|_| "`private_key` is not a PEM file".to_owned())?;
    SigningKey::from_pkcs8(Alg::ES256, kid, &der)
        .map_err(|_| "`private_key` is not a P-256 PKCS#8 key".to_owned())
}
