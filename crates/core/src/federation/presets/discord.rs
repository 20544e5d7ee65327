//! Discord: OAuth 2.0, the person from `/users/@me` (`verified` says
//! whether the address is, `global_name` is the display name); the token
//! endpoint takes HTTP Basic client authentication
//! (<https://discord.com/developers/docs/topics/oauth2>,
//! <https://discord.com/developers/docs/resources/user#user-object>).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::ProviderKind;

pub(super) const PRESET: Preset = Preset {
    name: "discord",
    display_name: "Discord",
    kind: ProviderKind::OAuth2,
    authorization_endpoint: Some("https://discord.com/oauth2/authorize"),
    token_endpoint: Some("https://discord.com/api/oauth2/token"),
    userinfo_endpoint: Some("https://discord.com/api/users/@me"),
    scopes: &["identify", "email"],
    subject_claim: "id",
    email_verified_claim: "verified",
    name_claim: "global_name",
    ..GENERIC_OIDC
};
