//! The scope catalogue of test apps.

/// The catalogue of [`crate::Options::scopes`]: the built-in
/// `account:read` and two resource scopes of the operator's own APIs
/// (`reports:read`, `reports:write`).
pub fn test_scopes() -> latchkey_core::oauth::scopes::ScopeCatalogue {
    use latchkey_core::oauth::scopes::{ApiScope, ScopeCatalogue};
    let resource = |name: &str| ApiScope {
        name: name.into(),
        description: format!("Use the reports API ({name})"),
        routes: Vec::new(),
    };
    ScopeCatalogue::new(vec![
        ScopeCatalogue::account_read(),
        resource("reports:read"),
        resource("reports:write"),
    ])
    .expect("a valid catalogue")
}
