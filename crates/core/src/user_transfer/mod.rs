//! Moving many accounts in at once (`latchkey user import`, `latchkey
//! seed`): accounts with their roles, audit events and an optional session,
//! written in batches of one transaction each, so that an import reaches
//! tens of thousands of accounts a second instead of one transaction per
//! account. The rules for each account stay where they are (the import's
//! check in `admin::import`, the seed's own data); this slice only writes.

mod store;

pub use store::UserTransferStore;

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
}
