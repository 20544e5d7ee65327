//! Google: OpenID Connect. Google vouches for the addresses it asserts
//! verified (its own and Workspace domains), so it may link on its own.

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::LinkPolicy;

pub(super) const PRESET: Preset = Preset {
    name: "google",
    display_name: "Google",
    issuer: Some("https://accounts.google.com"),
    link_policy: LinkPolicy::Verified,
    ..GENERIC_OIDC
};
