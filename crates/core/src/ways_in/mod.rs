//! The "last way in" rule: an account is never left without a way to sign
//! in. Removing its password, unlinking an upstream identity and deleting
//! a passkey all ask the one rule here, [`LastWayIn::may_remove`].
//!
//! Design decision: the rule is decided here once and executed atomically
//! by each backend. A removal's store call takes the rule as a value; the
//! backend locks the account, counts its ways in ([`WaysIn`]) inside the
//! removal's transaction, asks the rule, and writes only when it allows,
//! so of two concurrent removals of an account's last two ways in at most
//! one succeeds. The backends count; they never decide.
//!
//! What is a way in: a password, a passkey, a linked identity, and mail to
//! a verified address while magic links or email codes are on
//! (`passwordless.*`). A password reset is not one: it is recovery, and it
//! needs mail just as a link does.

mod rule;
mod store;

pub use rule::{LAST_WAY_IN, LastWayIn, Removal, WaysIn};
pub use store::WaysInStore;
