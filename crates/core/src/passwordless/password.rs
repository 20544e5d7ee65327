//! Optional passwords: set one on an account that has none, remove it while
//! another way in remains.

use super::error::PasswordlessError;
use super::service::Passwordless;
use crate::audit::{EventType, own_event};
use crate::auth::ClientInfo;
use crate::error::SharedError;
use crate::mail::MailKind;
use crate::sessions::Principal;
use crate::store::StoreError;
use crate::ways_in::{LAST_WAY_IN, LastWayIn, Removal};

impl Passwordless {
    /// The last-way-in rule under the current settings.
    fn last_way_in(&self) -> LastWayIn {
        LastWayIn::new(self.config())
    }

    /// Whether the account has a password that it may remove now (another
    /// way in remains); the removal decides again in its transaction.
    pub async fn may_remove_password(&self, user_id: &str) -> Result<bool, PasswordlessError> {
        let ways = self.store.ways_in(user_id).await?.unwrap_or_default();
        Ok(ways.password && self.last_way_in().may_remove(&ways, Removal::Password))
    }

    /// Sets the first password of an account that has none (the caller
    /// checks that the sign-in is recent); the same rules as every new
    /// password; ends the other sessions and mails a notice, like a change.
    pub async fn set_password(
        &self,
        principal: &Principal,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<(), PasswordlessError> {
        let user = self.account(&principal.user_id).await?;
        if user.password_hash.is_some() {
            return Err(PasswordlessError::PasswordExists);
        }
        let password = self
            .recovery
            .new_password(&user, new_password, "new_password")
            .await?;
        let hash = self.hasher.hash(password).await?;
        let event = own_event(EventType::PasswordChanged, self.now(), client, &user.id)
            .session(&principal.session.id)
            .detail("change", "set");
        Ok(self
            .recovery
            .store_password(&user, principal, &hash, &event)
            .await?)
    }

    /// Removes the password (the caller checks that the sign-in is recent)
    /// if another way in remains ([`LastWayIn`], decided in the store's
    /// transaction); ends the other sessions.
    pub async fn remove_password(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), PasswordlessError> {
        let user = self.account(&principal.user_id).await?;
        let Some(hash) = user.password_hash.as_deref() else {
            return Err(PasswordlessError::NoPassword);
        };
        let now = self.now();
        let event = own_event(EventType::PasswordChanged, now, client, &user.id)
            .session(&principal.session.id)
            .detail("change", "removed");
        let rule = self.last_way_in();
        let session = &principal.session.id;
        match self
            .store
            .remove_password(&user.id, hash, rule, session, now, &event)
            .await
        {
            Ok(true) => {}
            // changed meanwhile: the caller may look again
            Ok(false) => return Err(SharedError::NotFound.into()),
            Err(StoreError::Conflict(LAST_WAY_IN)) => return Err(PasswordlessError::LastWayIn),
            Err(e) => return Err(e.into()),
        }
        if let Err(e) = self
            .notice(&user, &user.email, MailKind::PasswordChanged)
            .await
        {
            tracing::warn!(error = %e, "could not queue the password notice");
        }
        Ok(())
    }
}
