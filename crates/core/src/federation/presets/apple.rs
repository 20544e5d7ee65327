//! Sign in with Apple: OpenID Connect. Apple asserts verified addresses
//! (`"true"` as a string; private-relay addresses included).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::LinkPolicy;

pub(super) const PRESET: Preset = Preset {
    name: "apple",
    display_name: "Apple",
    issuer: Some("https://appleid.apple.com"),
    scopes: &["openid", "email", "name"],
    link_policy: LinkPolicy::Verified,
    ..GENERIC_OIDC
};
