//! Moving many accounts in at once (`latchkey user import`, `latchkey
//! seed`): accounts with their roles, audit events and an optional session,
//! written in batches of one transaction each, so that an import reaches
//! tens of thousands of accounts a second instead of one transaction per
//! account. The rules for each account stay where they are (the import's
//! check in `admin::import`, the seed's own data); this slice only writes.

mod store;

pub use store::UserTransferStore;

use time::OffsetDateTime;

use crate::audit::AuditEvent;
use crate::session::Session;
use crate::user::User;

/// Accounts per transaction: large enough that the commit is a small part
/// of the cost, small enough that a transaction is short.
pub const BATCH: usize = 1_000;

/// One account to write with everything that comes with it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The account.
    pub user: User,
    /// Roles to assign (besides the implicit `user`).
    pub roles: Vec<String>,
    /// Audit events about it (written in the same transaction).
    pub events: Vec<AuditEvent>,
    /// A session to create for it (seeding), if any.
    pub session: Option<Session>,
    /// Upstream identities linked to it (import).
    pub identities: Vec<LinkedIdentity>,
}

/// An account at an upstream identity provider linked to a latchkey
/// account: table `identities`, one account per (provider, subject), the
/// shape federation signs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    /// The provider's name as configured (`google`, `github`, an OIDC
    /// issuer's short name).
    pub provider: String,
    /// The provider's stable id of the account (`sub`).
    pub subject: String,
    /// The address the provider gave, if any.
    pub email: Option<String>,
    /// Whether the provider said the address was verified.
    pub email_verified: bool,
    /// When the link was made.
    pub linked_at: OffsetDateTime,
}
