//! Optional passwords: set one on an account that has none, remove it while
//! another way in remains.

use super::error::PasswordlessError;
use super::model::WaysIn;
use super::service::Passwordless;
use crate::audit::{EventType, own_event};
use crate::auth::ClientInfo;
use crate::error::SharedError;
use crate::mail::MailKind;
use crate::sessions::Principal;

impl Passwordless {
    /// Whether the account could sign in without its password.
    pub async fn ways_in_without_password(
        &self,
        principal: &Principal,
    ) -> Result<bool, PasswordlessError> {
        let credentials = self.store.credential_counts(&principal.user_id).await?;
        let config = self.config();
        Ok(WaysIn {
            email_sign_in: config.magic_link || config.email_code,
            email_verified: principal.user.email_verified,
            credentials: &credentials,
        }
        .without_password())
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
    /// if another way in remains ([`WaysIn`]); ends the other sessions.
    pub async fn remove_password(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), PasswordlessError> {
        let user = self.account(&principal.user_id).await?;
        let Some(hash) = user.password_hash.as_deref() else {
            return Err(PasswordlessError::NoPassword);
        };
        if !self.ways_in_without_password(principal).await? {
            return Err(PasswordlessError::LastWayIn);
        }
        let now = self.now();
        let event = own_event(EventType::PasswordChanged, now, client, &user.id)
            .session(&principal.session.id)
            .detail("change", "removed");
        if !self
            .store
            .remove_password(&user.id, hash, &principal.session.id, now, &event)
            .await?
        {
            // changed meanwhile: the caller may look again
            return Err(SharedError::NotFound.into());
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
