//! [`PasskeySignupStore`] on PostgreSQL: the tickets, and the account made
//! with its first passkey in one transaction. The ticket is used by one
//! conditional `DELETE`: of two concurrent sign-ups with one ticket, the
//! second waits on the row and finds nothing.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::passkeys::{Passkey, PasskeySignupStore, SignupTicket};
use latchkey_core::store::{StoreError, truncate_to_millis};
use latchkey_core::user::User;
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::{exec, in_tx};
use crate::passkeys::insert_row;
use crate::users::insert_user_in;
use crate::{PgStore, map_err, settle};

const DROP_EXPIRED: &str = "DELETE FROM passkey_signup_tickets WHERE expires_at <= $1";
const INSERT: &str = "INSERT INTO passkey_signup_tickets \
     (ticket_hash, email, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
const SELECT: &str = "SELECT ticket_hash, email, user_id, created_at, expires_at \
     FROM passkey_signup_tickets \
     WHERE ticket_hash = $1 AND expires_at > $2";
const USE: &str = "DELETE FROM passkey_signup_tickets \
     WHERE ticket_hash = $1 AND expires_at > $2 AND email = $3 AND user_id = $4";

#[async_trait]
impl PasskeySignupStore for PgStore {
    async fn insert_signup_ticket(&self, t: &SignupTicket) -> Result<(), StoreError> {
        let created = truncate_to_millis(t.created_at);
        let expires = truncate_to_millis(t.expires_at);
        self.exec1(DROP_EXPIRED, &[&created]).await?;
        self.exec1(
            INSERT,
            &[&t.ticket_hash, &t.email, &t.user_id, &created, &expires],
        )
        .await?;
        Ok(())
    }

    async fn signup_ticket(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SignupTicket>, StoreError> {
        let now = truncate_to_millis(now);
        let rows = self.query1(SELECT, &[&ticket_hash, &now]).await?;
        rows.first()
            .map(|r| {
                Ok(SignupTicket {
                    ticket_hash: r.try_get(0).map_err(map_err)?,
                    email: r.try_get(1).map_err(map_err)?,
                    user_id: r.try_get(2).map_err(map_err)?,
                    created_at: r.try_get(3).map_err(map_err)?,
                    expires_at: r.try_get(4).map_err(map_err)?,
                })
            })
            .transpose()
    }

    async fn sign_up_with_passkey(
        &self,
        ticket_hash: &str,
        now: OffsetDateTime,
        user: &User,
        passkey: &Passkey,
        events: &[AuditEvent],
    ) -> Result<bool, StoreError> {
        let now = truncate_to_millis(now);
        in_tx!(self, |tx| {
            if exec(
                tx,
                USE,
                &[&ticket_hash, &now, &user.email_normalized, &user.id],
            )
            .await?
                == 0
            {
                return Ok(false);
            }
            insert_user_in(tx, user).await?;
            insert_row(tx, passkey).await?;
            for e in events {
                insert_event(tx, e).await?;
            }
            (true, true)
        })
    }
}
