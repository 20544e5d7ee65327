//! Microsoft Entra ID: OpenID Connect on one tenant's issuer
//! (`tenant` setting). The multi-tenant `common` issuer is not supported
//! yet: its ID tokens carry each tenant's issuer.

use super::{GENERIC_OIDC, Preset};

pub(super) const PRESET: Preset = Preset {
    name: "microsoft",
    display_name: "Microsoft",
    issuer: Some("https://login.microsoftonline.com/{tenant}/v2.0"),
    ..GENERIC_OIDC
};
