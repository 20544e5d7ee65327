//! GitLab.com: OpenID Connect.

use super::{OIDC, Preset};

pub(super) const PRESET: Preset = Preset {
    name: "gitlab",
    display_name: "GitLab",
    issuer: Some("https://gitlab.com"),
    ..OIDC
};
