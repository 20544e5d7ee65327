//! Microsoft Entra ID: OpenID Connect on the issuer of the `tenant`
//! setting. With `common` or `organizations` any tenant signs in: the
//! discovery document's issuer is the template
//! `https://login.microsoftonline.com/{tenantid}/v2.0` and each ID token's
//! `iss` must be that template filled with its own `tid` (`organizations`
//! refuses the personal-account tenant). Entra asserts no
//! `email_verified`, so an address never links on its own
//! (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc>,
//! <https://learn.microsoft.com/en-us/entra/identity-platform/claims-validation>).

use super::{GENERIC_OIDC, Preset};
use crate::federation::model::ClientAuth;

pub(super) const PRESET: Preset = Preset {
    name: "microsoft",
    display_name: "Microsoft",
    issuer: Some("https://login.microsoftonline.com/{tenant}/v2.0"),
    client_auth: ClientAuth::Post,
    tenants: true,
    ..GENERIC_OIDC
};
