//! Facebook Login: OAuth 2.0, the person from the Graph API's `/me`. The
//! code is exchanged by a `GET` of the token endpoint with the client's id
//! and secret in the query, as the manual flow documents
//! (<https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>).
//! Facebook asserts no verified flag: an address never links on its own.

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::{ClientAuth, ProviderKind};

pub(super) const PRESET: Preset = Preset {
    name: "facebook",
    display_name: "Facebook",
    kind: ProviderKind::OAuth2,
    authorization_endpoint: Some("https://www.facebook.com/v19.0/dialog/oauth"),
    token_endpoint: Some("https://graph.facebook.com/v19.0/oauth/access_token"),
    userinfo_endpoint: Some("https://graph.facebook.com/me?fields=id,name,email"),
    scopes: &["email", "public_profile"],
    subject_claim: "id",
    client_auth: ClientAuth::Query,
    ..GENERIC_OIDC
};
