//! GitHub: OAuth 2.0, the person from `GET /user` (numeric `id`). The
//! address is the verified primary one of the emails API (`GET
//! /user/emails`, scope `user:email`), never `/user`'s public `email`;
//! an unverified primary never links. The token endpoint takes the secret
//! in the body and answers JSON only to `Accept: application/json`
//! (<https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps>,
//! <https://docs.github.com/en/rest/users/emails>).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::{ClientAuth, ProviderKind};

pub(super) const PRESET: Preset = Preset {
    name: "github",
    display_name: "GitHub",
    kind: ProviderKind::OAuth2,
    authorization_endpoint: Some("https://github.com/login/oauth/authorize"),
    token_endpoint: Some("https://github.com/login/oauth/access_token"),
    userinfo_endpoint: Some("https://api.github.com/user"),
    emails_endpoint: Some("https://api.github.com/user/emails"),
    scopes: &["read:user", "user:email"],
    subject_claim: "id",
    client_auth: ClientAuth::Post,
    ..GENERIC_OIDC
};
