//! Google: OpenID Connect. Google vouches for the addresses it asserts
//! verified (its own and Workspace domains), so it may link on its own.
//! Its ID tokens carry `https://accounts.google.com` or, from some SDKs,
//! `accounts.google.com`; the token endpoint takes the client's secret in
//! the body (<https://developers.google.com/identity/openid-connect/openid-connect>).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::{ClientAuth, LinkPolicy};

pub(super) const PRESET: Preset = Preset {
    name: "google",
    display_name: "Google",
    issuer: Some("https://accounts.google.com"),
    link_policy: LinkPolicy::Verified,
    client_auth: ClientAuth::Post,
    issuer_aliases: &["accounts.google.com"],
    ..GENERIC_OIDC
};
