//! The rule itself and the counts it decides on (see the slice's
//! documentation in `mod.rs`).

use crate::passwordless::PasswordlessConfig;
use crate::store::StoreError;

/// The conflict a backend answers when the rule refuses a removal.
pub const LAST_WAY_IN: &str = "last_way_in";

/// What can sign an account in, counted inside the transaction that
/// removes one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaysIn {
    /// The account has a password.
    pub password: bool,
    /// Its address is verified (a link or code reaches its owner).
    pub email_verified: bool,
    /// Its passkeys.
    pub passkeys: u64,
    /// Its linked upstream identities.
    pub identities: u64,
}

/// The way in being removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The password.
    Password,
    /// One passkey.
    Passkey,
    /// One linked identity.
    Identity,
}

/// The rule, with the one setting it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastWayIn {
    /// Magic links or email codes are on: a verified address is a way in.
    pub email_sign_in: bool,
}

impl LastWayIn {
    /// The rule under the passwordless settings.
    pub fn new(config: &PasswordlessConfig) -> LastWayIn {
        LastWayIn {
            email_sign_in: config.magic_link || config.email_code,
        }
    }

    /// Whether `ways` let the account sign in.
    pub fn any(&self, ways: &WaysIn) -> bool {
        ways.password
            || ways.passkeys > 0
            || ways.identities > 0
            || (self.email_sign_in && ways.email_verified)
    }

    /// Whether one `removal` from `ways` still leaves a way in. Removing
    /// what the account does not have leaves `ways` as they are.
    pub fn may_remove(&self, ways: &WaysIn, removal: Removal) -> bool {
        let mut after = *ways;
        match removal {
            Removal::Password => after.password = false,
            Removal::Passkey => after.passkeys = after.passkeys.saturating_sub(1),
            Removal::Identity => after.identities = after.identities.saturating_sub(1),
        }
        self.any(&after)
    }

    /// [`Self::may_remove`] as a backend executes it inside the removal's
    /// transaction: `Conflict("last_way_in")` (the caller rolls back) when
    /// it refuses. `ways` are the ones counted before the removal, with
    /// the account locked.
    pub fn enforce(&self, ways: &WaysIn, removal: Removal) -> Result<(), StoreError> {
        if self.may_remove(ways, removal) {
            Ok(())
        } else {
            Err(StoreError::Conflict(LAST_WAY_IN))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removal_must_leave_a_way_in() {
        const ON: LastWayIn = LastWayIn {
            email_sign_in: true,
        };
        const OFF: LastWayIn = LastWayIn {
            email_sign_in: false,
        };
        let ways = |password, email_verified, passkeys, identities| WaysIn {
            password,
            email_verified,
            passkeys,
            identities,
        };
        use Removal::*;
        let cases = [
            // (rule, ways, removal, allowed)
            (OFF, ways(true, true, 0, 0), Password, false),
            (ON, ways(true, true, 0, 0), Password, true),
            (ON, ways(true, false, 0, 0), Password, false),
            (OFF, ways(true, false, 1, 0), Password, true),
            (OFF, ways(true, false, 0, 1), Password, true),
            (OFF, ways(false, true, 1, 0), Passkey, false),
            (ON, ways(false, true, 1, 0), Passkey, true),
            (ON, ways(false, false, 1, 0), Passkey, false),
            (OFF, ways(false, false, 2, 0), Passkey, true),
            (OFF, ways(true, false, 1, 0), Passkey, true),
            (OFF, ways(false, false, 1, 1), Passkey, true),
            (OFF, ways(false, false, 0, 1), Identity, false),
            (OFF, ways(false, false, 0, 2), Identity, true),
            (OFF, ways(false, false, 1, 1), Identity, true),
            (ON, ways(false, true, 0, 1), Identity, true),
            (OFF, ways(true, false, 0, 1), Identity, true),
            // nothing to remove and nothing left: still refused
            (OFF, ways(false, false, 0, 0), Passkey, false),
        ];
        for (rule, ways, removal, allowed) in cases {
            assert_eq!(
                rule.may_remove(&ways, removal),
                allowed,
                "{rule:?} {ways:?} {removal:?}"
            );
        }
    }

    #[test]
    fn either_mail_method_makes_a_verified_address_a_way_in() {
        for (magic_link, email_code, on) in [
            (true, true, true),
            (true, false, true),
            (false, true, true),
            (false, false, false),
        ] {
            let config = PasswordlessConfig {
                magic_link,
                email_code,
                ..PasswordlessConfig::default()
            };
            assert_eq!(LastWayIn::new(&config).email_sign_in, on);
        }
    }
}
