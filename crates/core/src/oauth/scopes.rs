//! The scope catalogue (issue 16 item 6): the scopes an OAuth client may
//! register and ask for besides the standard OpenID ones, each with the
//! text the consent page shows and, optionally, the latchkey routes it
//! grants to a third-party token. The deny rule holds whatever the
//! configuration says: a scope may grant only `GET` routes under
//! `/v1/account`, never a route that changes something and never an
//! administrator route, so a partner app can never change a password,
//! delete the account or act as an administrator.

/// The standard scopes every client may register (OpenID Connect and
/// latchkey's `roles`).
pub const STANDARD_SCOPES: &[&str] = &["openid", "profile", "email", "roles", "offline_access"];

/// One entry of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiScope {
    /// The scope token, e.g. `account:read` or `reports:read`.
    pub name: String,
    /// What the consent page shows instead of the raw name.
    pub description: String,
    /// `(method, route template)` pairs of latchkey's API it grants.
    pub routes: Vec<(String, String)>,
}

/// The scopes of the configuration (`[oauth.scopes.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogue {
    scopes: Vec<ApiScope>,
}

impl Default for ScopeCatalogue {
    /// The built-in catalogue: `account:read` on the four read routes of
    /// the account.
    fn default() -> Self {
        ScopeCatalogue {
            scopes: vec![ScopeCatalogue::account_read()],
        }
    }
}

/// Why a route may not be granted to a third-party token, if it may not.
pub fn refused_route(method: &str, route: &str) -> Option<&'static str> {
    if route == "/v1/admin" || route.starts_with("/v1/admin/") {
        Some("administrator routes are never granted to an application")
    } else if !(route == "/v1/account" || route.starts_with("/v1/account/")) {
        Some("only routes under /v1/account may be granted")
    } else if method != "GET" {
        Some(
            "only GET routes may be granted: a scope never lets an application change the account or its credentials",
        )
    } else {
        None
    }
}

impl ScopeCatalogue {
    /// The built-in `account:read` entry.
    pub fn account_read() -> ApiScope {
        ApiScope {
            name: "account:read".into(),
            description: "Read your profile, sessions, activity and connected apps".into(),
            routes: [
                "/v1/account",
                "/v1/account/sessions",
                "/v1/account/activity",
                "/v1/account/grants",
            ]
            .iter()
            .map(|r| ("GET".to_owned(), (*r).to_owned()))
            .collect(),
        }
    }

    /// A catalogue of `scopes`, each route checked by [`refused_route`];
    /// the error names the scope and the route.
    pub fn new(scopes: Vec<ApiScope>) -> Result<ScopeCatalogue, String> {
        for s in &scopes {
            if STANDARD_SCOPES.contains(&s.name.as_str()) {
                return Err(format!("`{}` is a standard scope", s.name));
            }
            for (method, route) in &s.routes {
                if let Some(why) = refused_route(method, route) {
                    return Err(format!("`{}`: {method} {route}: {why}", s.name));
                }
            }
        }
        Ok(ScopeCatalogue { scopes })
    }

    /// The entries, in order.
    pub fn scopes(&self) -> &[ApiScope] {
        &self.scopes
    }

    /// Whether a client may register `scope`.
    pub fn knows(&self, scope: &str) -> bool {
        STANDARD_SCOPES.contains(&scope) || self.scopes.iter().any(|s| s.name == scope)
    }

    /// The standard scopes and the catalogue's, for discovery.
    pub fn supported(&self) -> Vec<String> {
        STANDARD_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.scopes.iter().map(|s| s.name.clone()))
            .collect()
    }

    /// The operator's text for `scope`, if the catalogue has one.
    pub fn description(&self, scope: &str) -> Option<&str> {
        self.scopes
            .iter()
            .find(|s| s.name == scope)
            .map(|s| s.description.as_str())
    }

    /// The scopes that grant `method` on `route` (the router's template).
    pub fn granting<'a>(
        &'a self,
        method: &'a str,
        route: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.scopes
            .iter()
            .filter(move |s| s.routes.iter().any(|(m, r)| m == method && r == route))
            .map(|s| s.name.as_str())
    }

    /// Whether a token holding the space-separated `scope` may call
    /// `method` on `route`; never for a route [`refused_route`] refuses.
    pub fn allows(&self, scope: &str, method: &str, route: &str) -> bool {
        refused_route(method, route).is_none()
            && self
                .granting(method, route)
                .any(|needed| scope.split(' ').any(|s| s == needed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_routes_with_their_scope() {
        let c = ScopeCatalogue::default();
        assert!(c.allows("openid account:read", "GET", "/v1/account"));
        assert!(!c.allows("openid", "GET", "/v1/account"));
        assert!(!c.allows("account:read", "PATCH", "/v1/account"));
        assert!(!c.allows("account:read account:write", "DELETE", "/v1/account"));
        assert!(!c.allows("account:read", "GET", "/v1/admin/users"));
    }

    #[test]
    fn write_and_admin_routes_are_refused_whatever_the_catalogue() {
        for (method, route) in [
            ("PATCH", "/v1/account"),
            ("DELETE", "/v1/account"),
            ("POST", "/v1/account/password"),
            ("GET", "/v1/admin/users"),
            ("GET", "/v1/admin"),
            ("GET", "/v1/auth/sessions"),
        ] {
            let e = ScopeCatalogue::new(vec![ApiScope {
                name: "x:y".into(),
                description: "d".into(),
                routes: vec![(method.into(), route.into())],
            }])
            .expect_err(route);
            assert!(e.contains("`x:y`") && e.contains(route), "{e}");
        }
        assert!(
            ScopeCatalogue::new(vec![ApiScope {
                name: "openid".into(),
                description: "d".into(),
                routes: vec![],
            }])
            .is_err()
        );
    }
}
