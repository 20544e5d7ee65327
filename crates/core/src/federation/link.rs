//! What a callback does with the person the provider described: the one
//! rule, as a pure function with its table of cases.

use super::model::LinkPolicy;

/// What is known when a callback arrives.
#[derive(Debug, Clone, Copy)]
pub struct Arriving<'a> {
    /// The account the (provider, subject) is linked to already.
    pub linked_to: Option<&'a str>,
    /// The signed-in account asking to link this provider (link mode).
    pub linking: Option<&'a str>,
    /// The account whose address the provider asserted, if any.
    pub same_address: Option<&'a str>,
    /// Whether the provider asserted the address verified.
    pub verified: bool,
    /// Whether the provider asserted an address at all.
    pub has_address: bool,
    /// The provider's policy.
    pub policy: LinkPolicy,
    /// Whether this provider may create accounts.
    pub sign_up: bool,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// Sign in to the linked account.
    SignIn(String),
    /// Link to this account, then (not in link mode) sign in to it.
    Link(String),
    /// Create an account with the identity, then sign in.
    Create,
    /// Refuse: an account has this address, and the policy does not let
    /// the provider link on its own (or the address is unverified).
    LinkRequired,
    /// Refuse: the identity belongs to another account.
    AlreadyLinked,
    /// Refuse: no account, and none may be created.
    SignUpClosed,
}

impl Arrival {
    /// Decides. An address is never trusted unless the provider asserted it
    /// verified *and* the provider's policy trusts it for linking; identities
    /// are found by (provider, subject) alone.
    pub fn decide(a: &Arriving) -> Arrival {
        if let Some(me) = a.linking {
            return match a.linked_to {
                Some(owner) if owner != me => Arrival::AlreadyLinked,
                Some(_) => Arrival::SignIn(me.to_owned()),
                None => Arrival::Link(me.to_owned()),
            };
        }
        if let Some(owner) = a.linked_to {
            return Arrival::SignIn(owner.to_owned());
        }
        if let Some(owner) = a.same_address {
            return if a.verified && a.policy == LinkPolicy::Verified {
                Arrival::Link(owner.to_owned())
            } else {
                Arrival::LinkRequired
            };
        }
        if a.sign_up && a.has_address {
            Arrival::Create
        } else {
            Arrival::SignUpClosed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Arriving<'static> {
        Arriving {
            linked_to: None,
            linking: None,
            same_address: None,
            verified: true,
            has_address: true,
            policy: LinkPolicy::Never,
            sign_up: true,
        }
    }

    #[test]
    fn the_table() {
        let cases: Vec<(&str, Arriving, Arrival)> = vec![
            ("new person", base(), Arrival::Create),
            (
                "new person, sign-up closed",
                Arriving {
                    sign_up: false,
                    ..base()
                },
                Arrival::SignUpClosed,
            ),
            (
                "no address",
                Arriving {
                    has_address: false,
                    ..base()
                },
                Arrival::SignUpClosed,
            ),
            (
                "linked",
                Arriving {
                    linked_to: Some("u1"),
                    ..base()
                },
                Arrival::SignIn("u1".into()),
            ),
            (
                "linked wins over an address of another account",
                Arriving {
                    linked_to: Some("u1"),
                    same_address: Some("u2"),
                    ..base()
                },
                Arrival::SignIn("u1".into()),
            ),
            (
                "address taken, policy never",
                Arriving {
                    same_address: Some("u2"),
                    ..base()
                },
                Arrival::LinkRequired,
            ),
            (
                "address taken, verified, policy verified",
                Arriving {
                    same_address: Some("u2"),
                    policy: LinkPolicy::Verified,
                    ..base()
                },
                Arrival::Link("u2".into()),
            ),
            (
                "address taken, UNVERIFIED, policy verified",
                Arriving {
                    same_address: Some("u2"),
                    verified: false,
                    policy: LinkPolicy::Verified,
                    ..base()
                },
                Arrival::LinkRequired,
            ),
            (
                "link mode, free",
                Arriving {
                    linking: Some("me"),
                    ..base()
                },
                Arrival::Link("me".into()),
            ),
            (
                "link mode, linked to me",
                Arriving {
                    linking: Some("me"),
                    linked_to: Some("me"),
                    ..base()
                },
                Arrival::SignIn("me".into()),
            ),
            (
                "link mode, linked to another",
                Arriving {
                    linking: Some("me"),
                    linked_to: Some("u9"),
                    ..base()
                },
                Arrival::AlreadyLinked,
            ),
            (
                "link mode ignores the address of another account",
                Arriving {
                    linking: Some("me"),
                    same_address: Some("u2"),
                    verified: false,
                    ..base()
                },
                Arrival::Link("me".into()),
            ),
        ];
        for (name, arriving, want) in cases {
            assert_eq!(Arrival::decide(&arriving), want, "{name}");
        }
    }
}
