//! The stored shapes of the passkeys slice.

use time::{Duration, OffsetDateTime};

/// How long a ceremony's challenge lasts.
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);

/// How long a sign-up ticket (from a link or code used with `intent:
/// signup`) lasts.
pub const SIGNUP_TICKET_TTL: Duration = Duration::minutes(10);

/// Longest name a passkey may have (characters).
pub const MAX_NAME_CHARS: usize = 64;

/// A registered passkey (a WebAuthn public-key credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// latchkey's id (UUIDv7), used in URLs.
    pub id: String,
    /// The account.
    pub user_id: String,
    /// The credential id the authenticator chose (unique across accounts).
    pub credential_id: Vec<u8>,
    /// The COSE public key.
    pub public_key: Vec<u8>,
    /// The last signature counter seen (0: the authenticator keeps none).
    pub sign_count: u32,
    /// Transports the browser reported (`internal`, `hybrid`, `usb`, ...).
    pub transports: Vec<String>,
    /// The credential may be synced to other devices.
    pub backup_eligible: bool,
    /// The credential was backed up at its last use.
    pub backup_state: bool,
    /// The authenticator model's AAGUID (hex; zeros for most providers).
    pub aaguid: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it was last used to sign in.
    pub last_used_at: Option<OffsetDateTime>,
}

impl Passkey {
    /// The RFC 8176 `amr` value of this credential: `swk` for a syncable
    /// (software-held) passkey, `hwk` for one bound to its device.
    pub fn amr(&self) -> &'static str {
        if self.backup_eligible { "swk" } else { "hwk" }
    }
}

/// What a challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Registering a passkey to a signed-in account.
    Register,
    /// Signing in with a passkey.
    Login,
    /// A passkey as the second factor of a sign-in that answered
    /// `mfa_required`; bound to its `mfa_token`.
    SecondFactor,
    /// Registering the first passkey of a passkey-only account; bound to
    /// its sign-up ticket.
    Signup,
}

impl Purpose {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::SecondFactor => "second_factor",
            Purpose::Signup => "signup",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "register" => Some(Purpose::Register),
            "login" => Some(Purpose::Login),
            "second_factor" => Some(Purpose::SecondFactor),
            "signup" => Some(Purpose::Signup),
            _ => None,
        }
    }
}

/// A ceremony's challenge, kept server-side. It is found by the hash of the
/// challenge itself (the client data echoes it) and taken once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyChallenge {
    /// SHA-256 (hex) of the challenge bytes.
    pub challenge_hash: String,
    /// What it is for.
    pub purpose: Purpose,
    /// The account: the registering one, or the one an email named at
    /// sign-in (`None`: a discoverable, usernameless sign-in).
    pub user_id: Option<String>,
    /// SHA-256 of the cookie binding it to the browser that asked, if any.
    pub binding_hash: Option<String>,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// A sign-up ticket: a proven address (a mailed link or code used with
/// `intent: signup`) that may make one passkey-only account. Single use,
/// [`SIGNUP_TICKET_TTL`]; the ticket itself (256 random bits) is shown
/// once and stored as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupTicket {
    /// SHA-256 (hex) of the ticket.
    pub ticket_hash: String,
    /// The proven address, normalized.
    pub email: String,
    /// The id the account will have (the passkey's user handle, chosen
    /// before the account exists).
    pub user_id: String,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}
