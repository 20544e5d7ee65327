//! The services the HTTP layer and the command line call, built over one
//! shared [`Context`] (store, clock, hasher, keys, configuration, defences).

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::admin::Admin;
use crate::auth::Context;
use crate::events::{Events, EventsConfig};
use crate::mfa::Mfa;
use crate::oauth::OAuth;
use crate::passwordless::Passwordless;
use crate::recovery::Recovery;
use crate::roles::Roles;
use crate::sessions::Sessions;
use crate::webhooks::Webhooks;

/// Every slice service over one context. Derefs to the [`Context`] for the
/// shared reads (store, clock, keys, account, access, ...).
#[derive(Debug, Clone)]
pub struct Services {
    context: Arc<Context>,
    accounts: Accounts,
    sessions: Sessions,
    recovery: Recovery,
    admin: Admin,
    roles: Roles,
    mfa: Mfa,
    events: Events,
    oauth: OAuth,
    passwordless: Passwordless,
    webhooks: Webhooks,
}

impl Services {
    /// The services over `context`.
    pub fn new(context: Context) -> Services {
        let context = Arc::new(context);
        Services {
            accounts: Accounts::new(context.clone()),
            sessions: Sessions::new(context.clone()),
            recovery: Recovery::new(context.clone()),
            admin: Admin::new(context.clone()),
            roles: Roles::new(context.clone()),
            mfa: Mfa::new(context.clone()),
            events: Events::new(context.clone(), EventsConfig::default()),
            oauth: OAuth::new(context.clone()),
            passwordless: Passwordless::new(context.clone()),
            webhooks: Webhooks::new(context.clone()),
            context,
        }
    }

    /// The shared context.
    pub fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// Registration, profile and the account's own activity.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Sign-in, tokens, session cookies, session ends, OAuth clients.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Verification, reset, password and address changes, re-authentication,
    /// deletion and deactivation.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Administration by an [`crate::admin::Actor`]: users, audit, import.
    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    /// Role administration by an [`crate::admin::Actor`].
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Second factors: enrolment, the second step of sign-in, step-up.
    pub fn mfa(&self) -> &Mfa {
        &self.mfa
    }

    /// The event stream: revocations and account events, resumable by id.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The OAuth 2.0 / OpenID Connect provider: clients.
    pub fn oauth(&self) -> &OAuth {
        &self.oauth
    }

    /// Magic links and email codes.
    pub fn passwordless(&self) -> &Passwordless {
        &self.passwordless
    }

    /// Webhook endpoints, their outbox and deliveries.
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }
}

impl std::ops::Deref for Services {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.context
    }
}
