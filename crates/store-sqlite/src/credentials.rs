//! Voiding a user's outstanding credential tokens, which account, admin and
//! lifecycle writes all do: a leaf module, so that they need not import
//! each other.

use latchkey_core::lifecycle::{CREDENTIAL_TOKENS, TokenPurpose};
use latchkey_core::store::StoreError;
use rusqlite::{Connection, params};

use crate::map_err;

const VOID_TOKENS: &str = "UPDATE account_tokens SET used_at = ?2 \
     WHERE user_id = ?1 AND used_at IS NULL AND purpose IN (?3, ?4, ?5)";
const VOID_MFA_TOKENS: &str = "DELETE FROM mfa_challenges WHERE user_id = ?1";
const VOID_PASSWORDLESS: &str =
    "UPDATE passwordless_tokens SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL";

/// Voids (marks used at `now`) every outstanding credential token of the
/// user ([`CREDENTIAL_TOKENS`]): the address or password changed, or the
/// account was suspended or its deletion scheduled.
pub(crate) fn void_tokens(c: &Connection, user_id: &str, now: i64) -> Result<u64, StoreError> {
    let [a, b, d] = CREDENTIAL_TOKENS.map(TokenPurpose::as_str);
    // the second steps of sign-ins under way (mfa_tokens) die with them
    c.prepare_cached(VOID_MFA_TOKENS)
        .map_err(map_err)?
        .execute(params![user_id])
        .map_err(map_err)?;
    // and the magic links and email codes mailed to it
    c.prepare_cached(VOID_PASSWORDLESS)
        .map_err(map_err)?
        .execute(params![user_id, now])
        .map_err(map_err)?;
    c.prepare_cached(VOID_TOKENS)
        .map_err(map_err)?
        .execute(params![user_id, now, a, b, d])
        .map(|n| n as u64)
        .map_err(map_err)
}
