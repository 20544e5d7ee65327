//! Sign in with Apple: OpenID Connect with Apple's departures. The
//! callback is a cross-site `form_post` (the flow cookie is `SameSite=None`
//! under https so it survives it), carrying the person's name once, in the
//! `user` form field of the first sign-in (never in the ID token); the
//! client secret is an ES256 JWT signed with the developer's key (`iss`
//! the team id, `sub` the client id, `aud` Apple's issuer), sent in the
//! body. Apple asserts verified addresses (`"true"` as a string), private
//! relay addresses included
//! (<https://developer.apple.com/documentation/accountorganizationaldatasharing/creating-a-client-secret>,
//! <https://developer.apple.com/documentation/sign_in_with_apple/incorporating-sign-in-with-apple-into-other-platforms>).

use serde_json::Value;

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::{ClientAuth, LinkPolicy};

pub(super) const PRESET: Preset = Preset {
    name: "apple",
    display_name: "Apple",
    issuer: Some("https://appleid.apple.com"),
    scopes: &["openid", "email", "name"],
    link_policy: LinkPolicy::Verified,
    client_auth: ClientAuth::Post,
    response_mode: Some("form_post"),
    apple: true,
    ..GENERIC_OIDC
};

/// The name in Apple's `user` form field
/// (`{"name":{"firstName":…,"lastName":…},"email":…}`), sent on the first
/// sign-in only. Only the name is taken: the address comes from the ID
/// token.
pub(crate) fn name_from_user_field(user: &str) -> Option<String> {
    let v: Value = serde_json::from_str(user).ok()?;
    let name = v.get("name")?;
    let part = |k: &str| {
        name.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let full = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then_some(full)
}
