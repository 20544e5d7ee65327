//! A resource server trusting latchkey's tokens.
//!
//! ```text
//! LATCHKEY_ISSUER=http://localhost:8080 \
//!   cargo run -p latchkey-verify --example resource_server
//! curl -H "Authorization: Bearer $TOKEN" localhost:3001/me
//! ```
//!
//! `LATCHKEY_AUDIENCE` defaults to the issuer (latchkey's default
//! `tokens.audience`). With `INTROSPECT_CLIENT_ID` and
//! `INTROSPECT_CLIENT_SECRET` set, tokens are also introspected (cached for
//! 5 s), so a logout takes effect within 5 seconds.

use axum::Router;
use axum::routing::get;
use latchkey_verify::{
    Aal2, Config, Introspection, RequireAal, RequireRole, RequireScope, RoleName, ScopeName,
    Verified, Verifier,
};

struct Email;
impl ScopeName for Email {
    const NAME: &'static str = "email";
}

struct Admin;
impl RoleName for Admin {
    const NAME: &'static str = "admin";
}

/// Any signed-in user.
async fn me(Verified(claims): Verified) -> String {
    format!("user {} (roles: {})\n", claims.sub, claims.roles.join(", "))
}

/// Tokens granted the `email` scope.
async fn inbox(_: RequireScope<Email>) -> &'static str {
    "your inbox\n"
}

/// Administrators only.
async fn admin(RequireRole { claims, .. }: RequireRole<Admin>) -> String {
    format!("hello admin {}\n", claims.sub)
}

/// A sign-in with a second factor; others get the RFC 9470 challenge.
async fn billing(_: RequireAal<Aal2>) -> &'static str {
    "billing details\n"
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer =
        std::env::var("LATCHKEY_ISSUER").unwrap_or_else(|_| "http://localhost:8080".into());
    let audience = std::env::var("LATCHKEY_AUDIENCE").unwrap_or_else(|_| issuer.clone());
    let mut config = Config::new(&issuer, &audience)?;
    if let (Ok(client_id), Ok(client_secret)) = (
        std::env::var("INTROSPECT_CLIENT_ID"),
        std::env::var("INTROSPECT_CLIENT_SECRET"),
    ) {
        config.introspection = Some(Introspection {
            url: format!("{}/oauth2/introspect", issuer.trim_end_matches('/')).parse()?,
            client_id,
            client_secret,
            cache_secs: 5,
        });
    }
    let app = Router::new()
        .route("/me", get(me))
        .route("/inbox", get(inbox))
        .route("/admin", get(admin))
        .route("/billing", get(billing))
        .with_state(Verifier::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("resource server on http://127.0.0.1:3001, trusting {issuer}");
    axum::serve(listener, app).await?;
    Ok(())
}
