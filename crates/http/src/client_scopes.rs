//! What an access token issued to a third-party OAuth client (one that is
//! not first-party) may reach of latchkey's own API: only the routes a
//! scope of the catalogue ([`ScopeCatalogue`], `[oauth.scopes]`) grants,
//! and only with that scope. Everything else that authenticates a caller
//! (every other `/v1/account` route, every `/v1/admin` route) refuses such
//! a token with 403 `insufficient_scope`, so a partner app can never change
//! a password, delete the account or act as an administrator: the
//! catalogue itself refuses write and administrator routes
//! ([`latchkey_core::oauth::scopes::refused_route`]). A route test walks
//! the router to hold this.

use latchkey_core::oauth::scopes::ScopeCatalogue;
use latchkey_core::sessions::TokenClient;

/// Whether `client`'s token (third-party) may call `method` on `route`.
pub fn allows(catalogue: &ScopeCatalogue, client: &TokenClient, method: &str, route: &str) -> bool {
    catalogue.allows(&client.scope, method, route)
}

/// The catalogue routes that are not routes of latchkey's API (a typo
/// would otherwise grant nothing, silently): `(scope, "METHOD /route")`.
pub fn unknown_routes(catalogue: &ScopeCatalogue) -> Vec<(String, String)> {
    let doc = crate::routes::openapi();
    let mut unknown = Vec::new();
    for s in catalogue.scopes() {
        for (method, route) in &s.routes {
            let known = doc
                .paths
                .paths
                .get(route)
                .is_some_and(|item| method == "GET" && item.get.is_some());
            if !known {
                unknown.push((s.name.clone(), format!("{method} {route}")));
            }
        }
    }
    unknown
}
