//! Voiding a user's outstanding credential tokens, which account, admin and
//! lifecycle writes all do: a leaf module, so that they need not import
//! each other.

use deadpool_postgres::Transaction;
use latchkey_core::lifecycle::{CREDENTIAL_TOKENS, TokenPurpose};
use latchkey_core::store::StoreError;
use time::OffsetDateTime;

use crate::map_err;

const VOID_TOKENS: &str = "UPDATE account_tokens SET used_at = $2 \
     WHERE user_id = $1 AND used_at IS NULL AND purpose = ANY($3)";
const VOID_MFA_TOKENS: &str = "DELETE FROM mfa_challenges WHERE user_id = $1";
const VOID_PASSWORDLESS: &str =
    "UPDATE passwordless_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL";

/// The stored names of [`CREDENTIAL_TOKENS`], as a query parameter.
pub(crate) fn credential_purposes() -> Vec<&'static str> {
    CREDENTIAL_TOKENS.map(TokenPurpose::as_str).to_vec()
}

/// Voids (marks used at `now`) every outstanding credential token of the
/// user ([`CREDENTIAL_TOKENS`]): the address or password changed, or the
/// account was suspended or its deletion scheduled.
pub(crate) async fn void_tokens(
    tx: &Transaction<'_>,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    // the second steps of sign-ins under way (mfa_tokens) die with them
    let mfa = tx.prepare_cached(VOID_MFA_TOKENS).await.map_err(map_err)?;
    tx.execute(&mfa, &[&user_id]).await.map_err(map_err)?;
    // and the magic links and email codes mailed to it
    let links = tx
        .prepare_cached(VOID_PASSWORDLESS)
        .await
        .map_err(map_err)?;
    tx.execute(&links, &[&user_id, &now])
        .await
        .map_err(map_err)?;
    let stmt = tx.prepare_cached(VOID_TOKENS).await.map_err(map_err)?;
    tx.execute(&stmt, &[&user_id, &now, &credential_purposes()])
        .await
        .map_err(map_err)
}
