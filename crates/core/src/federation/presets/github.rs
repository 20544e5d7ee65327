//! GitHub: OAuth 2.0, the person from `GET /user` (numeric `id`).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::ProviderKind;

pub(super) const PRESET: Preset = Preset {
    name: "github",
    display_name: "GitHub",
    kind: ProviderKind::OAuth2,
    authorization_endpoint: Some("https://github.com/login/oauth/authorize"),
    token_endpoint: Some("https://github.com/login/oauth/access_token"),
    userinfo_endpoint: Some("https://api.github.com/user"),
    scopes: &["read:user", "user:email"],
    subject_claim: "id",
    ..GENERIC_OIDC
};
