//! GitLab.com: OpenID Connect.

use super::{GENERIC_OIDC, Preset};

pub(super) const PRESET: Preset = Preset {
    name: "gitlab",
    display_name: "GitLab",
    issuer: Some("https://gitlab.com"),
    ..GENERIC_OIDC
};
