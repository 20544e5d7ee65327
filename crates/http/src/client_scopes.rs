//! What an access token issued to a third-party OAuth client (one that is
//! not first-party) may reach of latchkey's own API: only the routes a
//! scope of this table grants, and only with that scope. Everything else
//! that authenticates a caller (every other `/v1/account` route, every
//! `/v1/admin` route) refuses such a token with 403 `insufficient_scope`,
//! so a partner app can never change a password, delete the account or act
//! as an administrator. A route test walks the router to hold this.

use latchkey_core::sessions::TokenClient;

/// (method, route, scope): the only routes a third-party token reaches.
pub const CLIENT_SCOPES: &[(&str, &str, &str)] = &[
    ("GET", "/v1/account", "account:read"),
    ("GET", "/v1/account/sessions", "account:read"),
    ("GET", "/v1/account/activity", "account:read"),
    ("GET", "/v1/account/grants", "account:read"),
];

/// The scope that grants `method` on `route` (the router's template), if any.
pub fn scope_for(method: &str, route: &str) -> Option<&'static str> {
    CLIENT_SCOPES
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map(|(_, _, s)| *s)
}

/// Whether `client`'s token (third-party) may call `method` on `route`.
pub fn allows(client: &TokenClient, method: &str, route: &str) -> bool {
    scope_for(method, route).is_some_and(|needed| client.scope.split(' ').any(|s| s == needed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_routes_with_their_scope() {
        let c = |scope: &str| TokenClient {
            client_id: "lk_1".into(),
            scope: scope.into(),
        };
        assert!(allows(&c("openid account:read"), "GET", "/v1/account"));
        assert!(!allows(&c("openid"), "GET", "/v1/account"));
        assert!(!allows(&c("account:read"), "PATCH", "/v1/account"));
        assert!(!allows(
            &c("account:read account:write"),
            "DELETE",
            "/v1/account"
        ));
        assert!(!allows(&c("account:read"), "GET", "/v1/admin/users"));
    }
}
