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
}

/// Changes to a profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    /// New username.
    pub username: Option<Option<String>>,
    /// New display name.
    pub name: Option<Option<String>>,
}
