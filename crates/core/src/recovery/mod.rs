//! Account lifecycle: email verification, password reset and change, email
//! change, re-authentication, deletion (scheduled, cancelled, anonymized) and
//! deactivation. The outbox and the making of mailed links live on the
//! shared [`crate::auth::Context`] (`auth/outbox.rs`), which the accounts and
//! admin slices use too; redeeming them is here (`tokens.rs`).
//!
//! Decisions worth knowing:
//! - **Mailed tokens** are 256-bit random strings, stored only as SHA-256
//!   hashes, single use (the store marks them used atomically with the change
//!   they make), short-lived (verification and email change 24 hours, reset
//!   15 minutes, cancel-deletion the grace period), and a newer one of the
//!   same purpose voids the older ones. The stored hash is compared with the
//!   presented one in constant time after the lookup. Every reset,
//!   verification and email-change link dies, in the store's transaction of
//!   the change, when the address or password changes, a reset completes,
//!   or the account is suspended or scheduled for deletion.
//! - **A write that owes a mail commits it**: the token, its mail (and a
//!   notice, and the event) are one store write. A retried reset job finds
//!   the link of its first run (a key derived from the job's id) and stores
//!   nothing new.
//! - **Every password check counts**: re-authentication and password change
//!   are charged to the sign-in failure counters (`tokens.rs`: `check_password`).
//! - **Links are built from the issuer** (the configured public URL), never
//!   from anything in a request.
//! - **A reset request answers the same whatever the address**: the request
//!   only queues a job (one insert, for known and unknown addresses alike);
//!   the job looks the address up and mails the link. The address in the
//!   job's payload is sealed, and emptied when the job finishes.
//! - **A reset does not sign in.** It sets the password, marks the address
//!   verified (the mail proved it), ends every session and voids other reset
//!   links; the user then signs in normally, second factor included.
//! - **Recent authentication** is the session's `auth_time`, moved forward by
//!   `POST /v1/auth/reauth`; sensitive changes need it within
//!   `accounts.reauth_max_age_minutes`.
//! - **An email change** is confirmed through a link mailed to the new
//!   address (the same verify-email endpoint); the old address is told at
//!   once that a change was requested.
//! - **Deletion** schedules the removal of personal data after a grace
//!   period, ends every session and mails a cancel link; signing in is
//!   refused meanwhile. When due, a job turns the user into a tombstone
//!   (audit events about it stay until their retention ends).
//! - **Suspension** is the administrators' ([`crate::user::Suspension`],
//!   `Admin::admin_suspend`): it is not part of this module. Sign-in refuses
//!   a suspended account after the password, and the store refuses the
//!   session atomically; the gate here checks only what the lifecycle adds.
//! - **New passwords** (reset, change) pass the same rules as at
//!   registration ([`crate::auth::Context::check_new_password`]: length, common and breached
//!   lists, likeness to the account's identity). A completed reset also
//!   lifts a brute-force lock: the mailbox proved the owner.
//! - **Audit**: every change here records its event (see
//!   [`crate::audit::EventType`]) in the same transaction as the change;
//!   events carry the account's id, never an address.
//!
//! The service holds an `Arc<Context>` (store, clock, hasher, keys, config)
//! and derefs to it for the shared helpers; its failures are [`RecoveryError`].

mod error;
mod model;
mod service;
mod tokens;

pub use error::RecoveryError;
pub use model::ReauthInfo;
pub use service::Recovery;
