//! [`FederationStore`] on PostgreSQL: linked identities and the one-time
//! rows of a flow. Taking a row is one `DELETE … RETURNING`; unlinking
//! locks the user's row first ([`crate::ways_in`]), so two concurrent
//! removals of an account's last two ways in cannot both pass the rule.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use latchkey_core::audit::AuditEvent;
use latchkey_core::federation::{FederationStore, Identity};
use latchkey_core::store::{StoreError, truncate_to_millis};
use latchkey_core::user::User;
use latchkey_core::ways_in::{LastWayIn, Removal};
use time::OffsetDateTime;

use crate::audit::insert_event;
use crate::lifecycle::{exec, in_tx};
use crate::users::insert_user_in;
use crate::{PgStore, map_err, settle};

const BY_SUBJECT: &str = "SELECT id, user_id, provider, subject, email, email_verified, \
     linked_at FROM identities WHERE provider = $1 AND subject = $2";
const OF_USER: &str = "SELECT id, user_id, provider, subject, email, email_verified, \
     linked_at FROM identities WHERE user_id = $1 ORDER BY linked_at, id";
const INSERT: &str = "INSERT INTO identities \
     (id, user_id, provider, subject, email, email_verified, linked_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const DELETE: &str = "DELETE FROM identities WHERE user_id = $1 AND id = $2";
const DROP_EXPIRED: &str = "DELETE FROM federation_pending WHERE expires_at <= $1";
const PUT_PENDING: &str = "INSERT INTO federation_pending (key_hash, purpose, data, expires_at) \
     VALUES ($1, $2, $3, $4)";
const TAKE_PENDING: &str = "DELETE FROM federation_pending \
     WHERE key_hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING data";

fn identity(r: &tokio_postgres::Row) -> Result<Identity, StoreError> {
    Ok(Identity {
        id: r.try_get(0).map_err(map_err)?,
        user_id: r.try_get(1).map_err(map_err)?,
        provider: r.try_get(2).map_err(map_err)?,
        subject: r.try_get(3).map_err(map_err)?,
        email: r.try_get(4).map_err(map_err)?,
        email_verified: r.try_get(5).map_err(map_err)?,
        linked_at: r.try_get(6).map_err(map_err)?,
    })
}

async fn insert_identity(tx: &Transaction<'_>, i: &Identity) -> Result<(), StoreError> {
    let at = truncate_to_millis(i.linked_at);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &i.id,
        &i.user_id,
        &i.provider,
        &i.subject,
        &i.email,
        &i.email_verified,
        &at,
    ];
    match exec(tx, INSERT, &params).await {
        Err(StoreError::Conflict("unique")) => Err(StoreError::Conflict("identity")),
        r => r.map(|_| ()),
    }
}

#[async_trait]
impl FederationStore for PgStore {
    async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError> {
        let rows = self.query1(BY_SUBJECT, &[&provider, &subject]).await?;
        rows.first().map(identity).transpose()
    }

    async fn identities_of(&self, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let rows = self.query1(OF_USER, &[&user_id]).await?;
        rows.iter().map(identity).collect()
    }

    async fn link_identity(
        &self,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            insert_identity(tx, identity).await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn create_user_with_identity(
        &self,
        user: &User,
        identity: &Identity,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            insert_user_in(tx, user).await?;
            insert_identity(tx, identity).await?;
            insert_event(tx, event).await?;
            (true, ())
        })
    }

    async fn unlink_identity(
        &self,
        user_id: &str,
        id: &str,
        rule: LastWayIn,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        self.delete_way_in(DELETE, user_id, id, (rule, Removal::Identity), event)
            .await
    }

    async fn put_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        data: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (now, expires) = (truncate_to_millis(now), truncate_to_millis(expires_at));
        in_tx!(self, |tx| {
            exec(tx, DROP_EXPIRED, &[&now]).await?;
            exec(tx, PUT_PENDING, &[&key_hash, &purpose, &data, &expires]).await?;
            (true, ())
        })
    }

    async fn take_federation_pending(
        &self,
        key_hash: &str,
        purpose: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let now = truncate_to_millis(now);
        let rows = self
            .query1(TAKE_PENDING, &[&key_hash, &purpose, &now])
            .await?;
        rows.first()
            .map(|r| r.try_get(0).map_err(map_err))
            .transpose()
    }
}
