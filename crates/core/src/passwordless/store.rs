//! What the passwordless slice needs from persistence.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{AttemptTarget, PasswordlessToken, Refusal};
use crate::audit::AuditEvent;
use crate::lifecycle::{NewJob, QueuedMail};
use crate::store::StoreError;
use crate::ways_in::LastWayIn;

/// Persistence of mailed links and codes. Each backend reads the row
/// locked inside its transaction, asks [`PasswordlessToken::decide`], and
/// writes only what it allows, so concurrent attempts or uses of one token
/// are serialized: of two uses exactly one wins, and no more attempts are
/// reserved than allowed. The user's outstanding ones are voided with the
/// other credential tokens (address or password change, suspension,
/// scheduled deletion).
#[async_trait]
pub trait PasswordlessStore: Send + Sync {
    /// Stores `token` with the mail carrying it, in one transaction, voiding
    /// the unused ones of the same kind mailed to the same address (a newer
    /// one supersedes them). `false` (nothing stored) when the mail's
    /// delivery job exists already (a retried job).
    async fn insert_passwordless_token(
        &self,
        token: &PasswordlessToken,
        mail: &QueuedMail,
        job: &NewJob,
    ) -> Result<bool, StoreError>;

    /// A link by the hash of its token, whatever its state.
    async fn passwordless_link(
        &self,
        token_hash: &str,
    ) -> Result<Option<PasswordlessToken>, StoreError>;

    /// Reserves one attempt at the code of `target` if the rule allows it
    /// ([`super::Step::Attempt`]): the token with its attempts counted, or
    /// why not (nothing changes): the rule's [`Refusal`], or `None` when
    /// there is no such token (for a code: none outstanding for the address).
    async fn reserve_passwordless_attempt(
        &self,
        target: AttemptTarget<'_>,
        now: OffsetDateTime,
    ) -> Result<Result<PasswordlessToken, Option<Refusal>>, StoreError>;

    /// Marks token `id` used if the rule allows it ([`super::Step::Use`]);
    /// `false` when it does not (used meanwhile, expired, exhausted). The
    /// use proves the mailbox: when the token's account still has the
    /// address it was mailed to and has not verified it, the same
    /// transaction marks it verified and appends `verified` (its
    /// `email.verified` event).
    async fn use_passwordless_token(
        &self,
        id: &str,
        now: OffsetDateTime,
        verified: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Removes the user's password if it is still `password_hash` and
    /// `rule` allows it ([`LastWayIn::enforce`] on the ways in counted with
    /// the account locked), ends every other session than `keep`, voids
    /// the outstanding credential tokens and appends `event`, in one
    /// transaction; `false` (nothing changes) when the password is no
    /// longer that one, `Conflict("last_way_in")` when the rule refuses.
    async fn remove_password(
        &self,
        user_id: &str,
        password_hash: &str,
        rule: LastWayIn,
        keep: &str,
        now: OffsetDateTime,
        event: &AuditEvent,
    ) -> Result<bool, StoreError>;
}
