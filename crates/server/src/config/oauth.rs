//! `[oauth]`: latchkey as an OAuth provider. The scope catalogue is a
//! table per scope, `[oauth.scopes."<name>"]`, with `description` (what the
//! consent page shows instead of the raw name; operator text, not
//! translated) and optional `routes = ["GET /v1/account", ...]`: the
//! latchkey routes a third-party token holding the scope reaches. A scope
//! without routes is for the operator's own resource servers. Start-up
//! refuses, naming the scope, a route that is not `GET` under
//! `/v1/account`, any `/v1/admin` route, and a route latchkey does not
//! have. Without the table, the catalogue is the built-in `account:read`;
//! with it, `account:read` stays unless redefined.

use std::collections::BTreeMap;

use latchkey_core::oauth::scopes::{ApiScope, ScopeCatalogue};
use serde::Deserialize;

use super::setting::{Checker, Setting};

const SCOPES: &str = "oauth.scopes";

/// The `[oauth]` settings.
pub const SETTINGS: &[Setting] = &[Setting::text(
    SCOPES,
    "LATCHKEY_OAUTH_SCOPES",
    "",
    "the scope catalogue, one table `[oauth.scopes.\"<name>\"]` each (file only; see below)",
)];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    scopes: Option<BTreeMap<String, RawScope>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    description: String,
    #[serde(default)]
    routes: Vec<String>,
}

/// The validated `[oauth]` section.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// The scope catalogue.
    pub scopes: ScopeCatalogue,
}

impl Raw {
    pub(super) fn validate(self, c: &mut Checker) -> OAuthSettings {
        match catalogue(self.scopes.unwrap_or_default()) {
            Ok(scopes) => {
                let names: Vec<&str> = scopes.scopes().iter().map(|s| s.name.as_str()).collect();
                c.show(SCOPES, format!("{names:?}"));
                OAuthSettings { scopes }
            }
            Err(e) => {
                c.fail(SCOPES, None, e);
                OAuthSettings::default()
            }
        }
    }
}

fn catalogue(raw: BTreeMap<String, RawScope>) -> Result<ScopeCatalogue, String> {
    let mut scopes = Vec::new();
    if !raw.contains_key("account:read") {
        scopes.push(ScopeCatalogue::account_read());
    }
    for (name, s) in raw {
        let at = format!("[oauth.scopes.\"{name}\"]");
        if name.is_empty()
            || name.len() > 100
            || !name
                .chars()
                .all(|ch| ch.is_ascii_graphic() && ch != '"' && ch != '\\')
        {
            return Err(format!(
                "{at}: a scope name is 1 to 100 printable ASCII characters without spaces, quotes or backslashes"
            ));
        }
        if s.description.trim().is_empty() {
            return Err(format!("{at}: `description` is required"));
        }
        let mut routes = Vec::new();
        for r in &s.routes {
            match r.split_once(' ') {
                Some((method, route)) if !route.trim().is_empty() => {
                    routes.push((method.to_owned(), route.trim().to_owned()))
                }
                _ => return Err(format!("{at}: routes: `{r}` is not \"METHOD /route\"")),
            }
        }
        scopes.push(ApiScope {
            name,
            description: s.description,
            routes,
        });
    }
    let catalogue = ScopeCatalogue::new(scopes).map_err(|e| format!("[oauth.scopes] {e}"))?;
    if let Some((scope, route)) = latchkey_http::client_scopes::unknown_routes(&catalogue).first() {
        return Err(format!(
            "[oauth.scopes.\"{scope}\"]: routes: `{route}` is not a GET route of latchkey's API (see /openapi.json)"
        ));
    }
    Ok(catalogue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ScopeCatalogue, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.to_string())?;
        catalogue(raw.scopes.unwrap_or_default())
    }

    #[test]
    fn the_built_in_scope_stays_and_resource_scopes_are_added() {
        let c = parse("[scopes.\"reports:read\"]\ndescription = \"Read your reports\"").unwrap();
        assert!(c.knows("account:read") && c.knows("reports:read") && c.knows("openid"));
        assert!(!c.knows("reports:write"));
        assert_eq!(c.description("reports:read"), Some("Read your reports"));
        assert!(c.allows("account:read", "GET", "/v1/account"));
        let c = parse("[scopes.\"account:sessions\"]\ndescription = \"See your sessions\"\nroutes = [\"GET /v1/account/sessions\"]").unwrap();
        assert!(c.allows("account:sessions", "GET", "/v1/account/sessions"));
        assert!(!c.allows("account:sessions", "GET", "/v1/account"));
    }

    #[test]
    fn write_admin_and_unknown_routes_are_refused_naming_the_scope() {
        for (route, says) in [
            ("PATCH /v1/account", "only GET routes"),
            ("POST /v1/account/password", "only GET routes"),
            ("DELETE /v1/account", "only GET routes"),
            ("GET /v1/admin/users", "administrator routes"),
            ("GET /v1/auth/sessions", "only routes under /v1/account"),
            (
                "GET /v1/account/nothing-here",
                "not a GET route of latchkey's API",
            ),
            ("GET", "is not \"METHOD /route\""),
        ] {
            let e = parse(&format!(
                "[scopes.\"partner:all\"]\ndescription = \"x\"\nroutes = [\"{route}\"]"
            ))
            .expect_err(route);
            assert!(
                e.contains("partner:all") && e.contains(says),
                "{route}: {e}"
            );
        }
        let e = parse("[scopes.\"a b\"]\ndescription = \"x\"").unwrap_err();
        assert!(e.contains("a b"), "{e}");
        let e = parse("[scopes.\"r\"]\ndescription = \"\"").unwrap_err();
        assert!(e.contains("description"), "{e}");
    }
}
