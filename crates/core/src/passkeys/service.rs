//! The passkeys service: registration to a signed-in account, sign-in
//! (discoverable or for an address), rename and delete.

use std::sync::Arc;

use latchkey_tokens::{hmac_sha256, random_bytes, random_token, sha256_hex};

use super::error::PasskeyError;
use super::model::{CHALLENGE_TTL, MAX_NAME_CHARS, Passkey, PasskeyChallenge, Purpose};
use super::webauthn::{self, RelyingParty, SignCount};
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::error::SharedError;
use crate::id;
use crate::mail::MailKind;
use crate::session::SessionKind;
use crate::sessions::Principal;
use crate::sign_in::{LoginOutcome, LoginSuccess, SignInError};
use crate::store::StoreError;
use crate::user::{User, normalize_email};
use crate::ways_in::{LAST_WAY_IN, LastWayIn};

/// A ceremony started: the challenge to send, and what else the options
/// carry.
#[derive(Debug, Clone)]
pub struct Started {
    /// The challenge (32 random bytes).
    pub challenge: Vec<u8>,
    /// Credentials to list: `excludeCredentials` at registration,
    /// `allowCredentials` at a sign-in for an address (id, transports).
    pub credentials: Vec<(Vec<u8>, Vec<String>)>,
    /// Cookie mode: the value of the cookie binding the ceremony to this
    /// browser.
    pub binding_cookie: Option<String>,
}

/// An authenticator's answer to `navigator.credentials.create`.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `response.getTransports()`.
    pub transports: Vec<String>,
}

/// An authenticator's answer to `navigator.credentials.get`.
#[derive(Debug, Clone)]
pub struct AssertionResponse {
    /// `rawId`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.signature`.
    pub signature: Vec<u8>,
    /// `response.userHandle`.
    pub user_handle: Option<Vec<u8>>,
}

/// The passkeys service over the shared [`Context`].
#[derive(Clone)]
pub struct Passkeys {
    ctx: Arc<Context>,
    rp: Arc<RelyingParty>,
    decoy_key: [u8; 32],
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("rp", &self.rp)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Passkeys {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

/// The event of the principal's change to their own passkey `id`.
fn own_change(
    kind: EventType,
    now: time::OffsetDateTime,
    principal: &Principal,
    id: &str,
    client: &ClientInfo,
) -> AuditEvent {
    AuditEvent::new(kind, now, client)
        .actor(Some(&principal.user_id))
        .subject(&principal.user_id)
        .session(&principal.session.id)
        .detail("passkey_id", id)
}

fn binding() -> (String, String) {
    let cookie = random_token();
    let hash = sha256_hex(cookie.as_bytes());
    (cookie, hash)
}

/// A passkey's name as given: trimmed, 1 to [`MAX_NAME_CHARS`] characters,
/// no control characters.
pub fn valid_name(name: &str) -> Result<String, SharedError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(SharedError::field(
            "name",
            "length",
            format!("1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(SharedError::field(
            "name",
            "invalid",
            "no control characters",
        ));
    }
    Ok(name.to_owned())
}

/// The passkey a verified registration makes for `user_id`.
pub(super) fn new_passkey(
    user_id: &str,
    credential: webauthn::NewCredential,
    answer: &Attestation,
    name: String,
    now: time::OffsetDateTime,
) -> Passkey {
    Passkey {
        id: id::new_id(),
        user_id: user_id.to_owned(),
        credential_id: credential.credential_id,
        public_key: credential.public_key,
        sign_count: credential.sign_count,
        transports: answer
            .transports
            .iter()
            .filter(|t| t.len() <= 32 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .take(8)
            .cloned()
            .collect(),
        backup_eligible: credential.flags.backup_eligible,
        backup_state: credential.flags.backup_state,
        aaguid: credential
            .aaguid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        name,
        created_at: now,
        last_used_at: None,
    }
}

impl Passkeys {
    /// The service over `ctx` for relying party `rp`.
    /// An empty RP name becomes the product name of `[branding]`.
    pub fn new(ctx: Arc<Context>, mut rp: RelyingParty) -> Passkeys {
        if rp.name.is_empty() {
            rp.name = ctx.lifecycle.theme.product_name.clone();
        }
        let decoy_key = hmac_sha256(&ctx.device_key, b"latchkey/passkeys/decoy/v1");
        Passkeys {
            ctx,
            rp: Arc::new(rp),
            decoy_key,
        }
    }

    /// The relying party ceremonies are checked against.
    pub fn relying_party(&self) -> &RelyingParty {
        &self.rp
    }

    /// Stores a new challenge of `purpose`: bound to a fresh browser
    /// cookie (`bind`, returned) or to `bound_to` (the hash of a secret the
    /// caller holds, e.g. an `mfa_token`), or to nothing.
    pub(super) async fn issue(
        &self,
        purpose: Purpose,
        user_id: Option<String>,
        bind: bool,
        bound_to: Option<String>,
    ) -> Result<(Vec<u8>, Option<String>), PasskeyError> {
        let challenge = random_bytes::<32>().to_vec();
        let (cookie, binding_hash) = match bind {
            true => {
                let (c, h) = binding();
                (Some(c), Some(h))
            }
            false => (None, bound_to),
        };
        let now = self.now();
        self.store
            .insert_passkey_challenge(&PasskeyChallenge {
                challenge_hash: sha256_hex(&challenge),
                purpose,
                user_id,
                binding_hash,
                created_at: now,
                expires_at: now + CHALLENGE_TTL,
            })
            .await?;
        Ok((challenge, cookie))
    }

    /// Takes the challenge `client_data_json` echoes: single use, unexpired,
    /// of `purpose`, and (when bound) presented with its cookie.
    pub(super) async fn take(
        &self,
        client_data_json: &[u8],
        purpose: Purpose,
        binding_cookie: Option<&str>,
    ) -> Result<(Vec<u8>, PasskeyChallenge), PasskeyError> {
        let challenge = webauthn::challenge_of(client_data_json)?;
        let taken = self
            .store
            .take_passkey_challenge(&sha256_hex(&challenge), self.now())
            .await?
            .ok_or(PasskeyError::Refused("unknown_challenge"))?;
        if taken.purpose != purpose {
            return Err(PasskeyError::Refused("unknown_challenge"));
        }
        if let Some(want) = &taken.binding_hash {
            let got = binding_cookie.map(|c| sha256_hex(c.as_bytes()));
            if !got
                .is_some_and(|g| latchkey_tokens::constant_time_eq(g.as_bytes(), want.as_bytes()))
            {
                return Err(PasskeyError::Refused("other_browser"));
            }
        }
        Ok((challenge, taken))
    }

    /// Starts registering a passkey to the principal's account (the caller
    /// has checked a recent authentication): the account's passkeys are
    /// excluded, so one authenticator is not registered twice.
    pub async fn start_registration(&self, principal: &Principal) -> Result<Started, PasskeyError> {
        let existing = self.store.passkeys_of(&principal.user_id).await?;
        let (challenge, _) = self
            .issue(
                Purpose::Register,
                Some(principal.user_id.clone()),
                false,
                None,
            )
            .await?;
        Ok(Started {
            challenge,
            credentials: existing
                .into_iter()
                .map(|p| (p.credential_id, p.transports))
                .collect(),
            binding_cookie: None,
        })
    }

    /// Finishes a registration: the challenge must be this account's.
    pub async fn finish_registration(
        &self,
        principal: &Principal,
        answer: &Attestation,
        name: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Passkey, PasskeyError> {
        let name = valid_name(name.unwrap_or("Passkey"))?;
        let (challenge, taken) = self
            .take(&answer.client_data_json, Purpose::Register, None)
            .await?;
        if taken.user_id.as_deref() != Some(principal.user_id.as_str()) {
            return Err(PasskeyError::Refused("other_account"));
        }
        let user_id = &principal.user_id;
        let credential = match webauthn::verify_registration(
            &self.rp,
            &challenge,
            &answer.client_data_json,
            &answer.attestation_object,
            false,
        ) {
            Ok(c) => c,
            Err(e) => {
                self.refused(Some(user_id), e.reason(), "register", client)
                    .await;
                return Err(e.into());
            }
        };
        let now = self.now();
        let passkey = new_passkey(user_id, credential, answer, name, now);
        let event = own_change(EventType::PasskeyAdded, now, principal, &passkey.id, client);
        match self.store.insert_passkey(&passkey, &event).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(PasskeyError::AlreadyRegistered),
            Err(e) => return Err(e.into()),
        }
        metrics::counter!("latchkey_passkey_ceremonies_total", "ceremony" => "register", "outcome" => "success").increment(1);
        let added = MailKind::PasskeyAdded {
            name: passkey.name.clone(),
        };
        if let Err(e) = self
            .notice(&principal.user, &principal.user.email, added)
            .await
        {
            tracing::warn!(error = %e, "could not queue the passkey notice");
        }
        Ok(passkey)
    }

    /// Starts a sign-in. Without `email`, a discoverable (usernameless)
    /// one, also for the browser's autofill. With one, the account's
    /// passkeys are listed; an unknown address (or one without passkeys)
    /// gets one decoy id derived from the address, so the answer does not
    /// tell whether the account exists, and no challenge is stored for it.
    /// `bind`: cookie mode, the ceremony must finish in this browser.
    pub async fn start_login(
        &self,
        email: Option<&str>,
        bind: bool,
    ) -> Result<Started, PasskeyError> {
        let Some(email) = email else {
            let (challenge, binding_cookie) = self.issue(Purpose::Login, None, bind, None).await?;
            return Ok(Started {
                challenge,
                credentials: Vec::new(),
                binding_cookie,
            });
        };
        let email = normalize_email(email);
        let user = self.store.user_by_email(&email).await?;
        let passkeys = match &user {
            Some(u) => self.store.passkeys_of(&u.id).await?,
            None => Vec::new(),
        };
        match user {
            Some(user) if !passkeys.is_empty() => {
                let (challenge, binding_cookie) = self
                    .issue(Purpose::Login, Some(user.id), bind, None)
                    .await?;
                Ok(Started {
                    challenge,
                    credentials: passkeys
                        .into_iter()
                        .map(|p| (p.credential_id, p.transports))
                        .collect(),
                    binding_cookie,
                })
            }
            _ => {
                let decoy = hmac_sha256(&self.decoy_key, email.as_bytes())[..16].to_vec();
                Ok(Started {
                    challenge: random_bytes::<32>().to_vec(),
                    credentials: vec![(decoy, vec!["internal".into(), "hybrid".into()])],
                    binding_cookie: bind.then(|| binding().0),
                })
            }
        }
    }

    /// Finishes a sign-in: the challenge (single use, this browser's in
    /// cookie mode), the credential (of the account the challenge named, if
    /// any), the signature and the counter, then the one sign-in step
    /// (`start_session`). With user verification the passkey is two
    /// factors (`amr` `hwk`/`swk`, `user`, `mfa`: `aal2`); without, it is
    /// one (`hwk`/`swk`) and an account with a second factor gets
    /// `mfa_required`.
    pub async fn finish_login(
        &self,
        answer: &AssertionResponse,
        binding_cookie: Option<&str>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, PasskeyError> {
        let result = self.login(answer, binding_cookie, kind, client).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(PasskeyError::Refused(_)) => "refused",
            Err(_) => "error",
        };
        metrics::counter!("latchkey_passkey_ceremonies_total", "ceremony" => "login", "outcome" => outcome).increment(1);
        result
    }

    async fn login(
        &self,
        answer: &AssertionResponse,
        binding_cookie: Option<&str>,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginSuccess, PasskeyError> {
        let (passkey, flags) = self
            .check_assertion(answer, Purpose::Login, binding_cookie, "login", client)
            .await?;
        let user_id = passkey.user_id.as_str();
        let now = self.now();
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(PasskeyError::Refused("unknown_credential"))?;
        if let Some(s) = user.active_suspension(now) {
            return Err(SignInError::Suspended { until: s.until }.into());
        }
        self.passkey_session(
            &user,
            &passkey,
            flags.user_verified,
            kind,
            client,
            "passkey",
        )
        .await
    }

    /// The session of a passkey sign-in (or sign-up) through the one
    /// sign-in step: `amr` `hwk`/`swk`, with user verification also `user`
    /// and `mfa` (`aal2`); `login.succeeded` with `method` when a session
    /// started.
    pub(super) async fn passkey_session(
        &self,
        user: &User,
        passkey: &Passkey,
        user_verified: bool,
        kind: SessionKind,
        client: &ClientInfo,
        method: &'static str,
    ) -> Result<LoginSuccess, PasskeyError> {
        let now = self.now();
        let mut amr = vec![passkey.amr().to_owned()];
        if user_verified {
            amr.extend(["user".to_owned(), "mfa".to_owned()]);
        }
        let outcome = self.start_session(user, client, kind, amr).await?;
        let session_id = match &outcome {
            LoginOutcome::Tokens(t) => Some(t.session_id.as_str()),
            LoginOutcome::Cookie(c) => Some(c.session.id.as_str()),
            LoginOutcome::MfaRequired(_) => None,
        };
        if let Some(session_id) = session_id {
            self.record(
                AuditEvent::new(EventType::LoginSucceeded, now, client)
                    .actor(Some(&user.id))
                    .subject(&user.id)
                    .session(session_id)
                    .detail("method", method)
                    .detail("user_verified", user_verified)
                    .detail("mode", kind.as_str()),
            )
            .await;
        }
        Ok(LoginSuccess {
            outcome,
            device_cookie: self.devices.issue(&user.id, None, now),
        })
    }

    /// Checks an assertion answering a challenge of `purpose`: the
    /// challenge (single use, bound to `binding` when it was), the
    /// credential (of the account the challenge named, if any, and of the
    /// user handle), the signature, and the counter, whose new value is
    /// stored. Refusals are audited as `passkey.failed` of `ceremony`.
    pub(super) async fn check_assertion(
        &self,
        answer: &AssertionResponse,
        purpose: Purpose,
        binding: Option<&str>,
        ceremony: &'static str,
        client: &ClientInfo,
    ) -> Result<(Passkey, webauthn::Flags), PasskeyError> {
        let (challenge, taken) = self
            .take(&answer.client_data_json, purpose, binding)
            .await?;
        let passkey = self
            .store
            .passkey_by_credential_id(&answer.credential_id)
            .await?
            .ok_or(PasskeyError::Refused("unknown_credential"))?;
        let user_id = passkey.user_id.as_str();
        if taken.user_id.as_deref().is_some_and(|u| u != user_id)
            || answer
                .user_handle
                .as_deref()
                .is_some_and(|h| h != user_id.as_bytes())
        {
            self.refused(Some(user_id), "other_account", ceremony, client)
                .await;
            return Err(PasskeyError::Refused("other_account"));
        }
        let assertion = match webauthn::verify_assertion(
            &self.rp,
            &challenge,
            &passkey.public_key,
            &answer.client_data_json,
            &answer.authenticator_data,
            &answer.signature,
            false,
        ) {
            Ok(a) => a,
            Err(e) => {
                self.refused(Some(user_id), e.reason(), ceremony, client)
                    .await;
                return Err(e.into());
            }
        };
        if SignCount::decide(passkey.sign_count, assertion.sign_count) == SignCount::Regressed
            || !self
                .store
                .record_passkey_use(
                    &passkey.id,
                    passkey.sign_count,
                    assertion.sign_count,
                    assertion.flags.backup_state,
                    self.now(),
                )
                .await?
        {
            tracing::warn!(user_id, passkey_id = %passkey.id, "a passkey's signature counter did not grow: a cloned authenticator?");
            self.refused(Some(user_id), "sign_count_regressed", ceremony, client)
                .await;
            return Err(PasskeyError::Refused("sign_count_regressed"));
        }
        Ok((passkey, assertion.flags))
    }

    pub(super) async fn refused(
        &self,
        user_id: Option<&str>,
        reason: &str,
        ceremony: &str,
        client: &ClientInfo,
    ) {
        let mut event =
            AuditEvent::new(EventType::PasskeyFailed, self.now(), client).reason(reason);
        if let Some(u) = user_id {
            event = event.subject(u);
        }
        self.record(event.detail("ceremony", ceremony)).await;
    }

    /// The passkeys of an account, oldest first.
    pub async fn list(&self, user_id: &str) -> Result<Vec<Passkey>, PasskeyError> {
        Ok(self.store.passkeys_of(user_id).await?)
    }

    /// Renames a passkey of the principal's account (`NotFound` for another
    /// account's).
    pub async fn rename(
        &self,
        principal: &Principal,
        id: &str,
        name: &str,
        client: &ClientInfo,
    ) -> Result<Passkey, PasskeyError> {
        let name = valid_name(name)?;
        let user_id = &principal.user_id;
        let event = own_change(EventType::PasskeyRenamed, self.now(), principal, id, client);
        if !self
            .store
            .rename_passkey(user_id, id, &name, &event)
            .await?
        {
            return Err(PasskeyError::NotFound);
        }
        self.store
            .passkeys_of(user_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(PasskeyError::NotFound)
    }

    /// Deletes a passkey of the principal's account (`NotFound` for another
    /// account's).
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), PasskeyError> {
        let user_id = &principal.user_id;
        let event = own_change(EventType::PasskeyRemoved, self.now(), principal, id, client);
        let rule = LastWayIn::new(&self.lifecycle().passwordless);
        match self.store.delete_passkey(user_id, id, rule, &event).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(PasskeyError::NotFound),
            Err(StoreError::Conflict(LAST_WAY_IN)) => Err(PasskeyError::LastWayIn),
            Err(e) => Err(e.into()),
        }
    }
}
