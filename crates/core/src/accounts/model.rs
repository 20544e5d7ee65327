//! What registration and a profile change take.

/// A new account.
#[derive(Debug)]
pub struct Registration {
    /// Email address.
    pub email: String,
    /// Chosen password, as typed.
    pub password: String,
    /// Optional handle.
    pub username: Option<String>,
    /// Optional display name.
    pub name: Option<String>,
    /// The language of the account's mail (the page's or request's), if
    /// known; kept only when it is a configured locale.
    pub locale: Option<String>,
}

/// Changes to a profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// New username.
    pub username: Option<Option<String>>,
    /// New display name.
    pub name: Option<Option<String>>,
    /// New language of mail (a configured locale; `Some(None)`: the default).
    pub locale: Option<Option<String>>,
}
