//! GitLab.com: OpenID Connect; the token endpoint takes the secret in the
//! body (<https://docs.gitlab.com/integration/openid_connect_provider/>,
//! <https://docs.gitlab.com/api/oauth2/>).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::ClientAuth;

pub(super) const PRESET: Preset = Preset {
    name: "gitlab",
    display_name: "GitLab",
    issuer: Some("https://gitlab.com"),
    client_auth: ClientAuth::Post,
    ..GENERIC_OIDC
};
