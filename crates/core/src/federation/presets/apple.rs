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
