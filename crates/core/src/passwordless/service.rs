//! The passwordless service: asking for a link or a code (a queued job,
//! the same work for any address), the job that mails it, and signing in
//! with one through the shared gate ([`Context::start_session`]).

use std::sync::Arc;

use latchkey_tokens::{constant_time_eq, hmac_sha256, random_bytes, random_token, sha256_hex};
use serde::{Deserialize, Serialize};

use super::error::PasswordlessError;
use super::model::{AttemptTarget, Kind, PasswordlessConfig, PasswordlessToken, Refusal, Step};
use crate::audit::{AuditEvent, EventType};
use crate::auth::{ClientInfo, Context};
use crate::error::SharedError;
use crate::id;
use crate::lifecycle::NewJob;
use crate::mail::MailKind;
use crate::oauth::code::{is_pkce_value, s256};
use crate::session::SessionKind;
use crate::sign_in::{LoginOutcome, LoginSuccess, SignInError};
use crate::store::StoreError;
use crate::user::{User, normalize_email};

/// The job kind that looks an address up and mails a link or a code.
pub(crate) const JOB_PASSWORDLESS: &str = "passwordless.request";

/// Longest link token accepted before hashing (ours are 43 characters).
const MAX_TOKEN_LEN: usize = 256;

/// The alphabet of a link's code: Crockford's base32, upper case.
const LINK_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What the job needs, sealed in its payload.
#[derive(Serialize, Deserialize)]
struct Request {
    kind: String,
    email: String,
    browser_hash: Option<String>,
    code_challenge: Option<String>,
    redirect_to: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

/// What a request for a magic link carries besides the address.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinkRequest<'a> {
    /// Bind the link to the requesting browser: a nonce is made for its
    /// cookie (same-browser binding).
    pub bind_browser: bool,
    /// A native app's PKCE S256 challenge (API mode).
    pub code_challenge: Option<&'a str>,
    /// Where the link's page goes after signing in, already checked against
    /// the allowed origins by the caller.
    pub redirect_to: Option<&'a str>,
}

/// A magic link presented for signing in, with what binds it to the one
/// who asked: the browser's nonce, the mail's code, or the PKCE verifier.
#[derive(Debug, Clone, Copy)]
pub struct LinkProof<'a> {
    /// The link's `token`.
    pub token: &'a str,
    /// The nonce cookie of this browser, if it has one.
    pub browser_nonce: Option<&'a str>,
    /// The 6-character code from the mail, as typed.
    pub code: Option<&'a str>,
    /// The PKCE verifier (a link asked for with a `code_challenge`).
    pub code_verifier: Option<&'a str>,
    /// Bearer tokens or a cookie session.
    pub kind: SessionKind,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// The device cookie the client sent.
    pub device_cookie: Option<&'a str>,
}

/// An email code presented for signing in.
#[derive(Debug, Clone, Copy)]
pub struct CodeProof<'a> {
    /// The address the code was mailed to.
    pub email: &'a str,
    /// The six digits as typed.
    pub code: &'a str,
    /// Bearer tokens or a cookie session.
    pub kind: SessionKind,
    /// Where the request came from.
    pub client: &'a ClientInfo,
    /// The device cookie the client sent.
    pub device_cookie: Option<&'a str>,
}

/// A link as its page sees it before anything is submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Whether this browser is the one that asked (no code needed).
    pub same_browser: bool,
    /// Where to go after signing in, if the request said.
    pub redirect_to: Option<String>,
}

/// The passwordless service over the shared [`Context`].
#[derive(Clone)]
pub struct Passwordless {
    ctx: Arc<Context>,
    key: [u8; 32],
    /// For the rules of a new password.
    pub(super) recovery: crate::recovery::Recovery,
}

impl std::fmt::Debug for Passwordless {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwordless").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Passwordless {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Passwordless {
    /// The service over `ctx`; the key of code hashes derives from the
    /// context's master key.
    pub fn new(ctx: Arc<Context>) -> Passwordless {
        Passwordless {
            key: hmac_sha256(&ctx.device_key, b"latchkey/passwordless-codes/v1"),
            recovery: crate::recovery::Recovery::new(ctx.clone()),
            ctx,
        }
    }

    /// The settings.
    pub fn config(&self) -> &PasswordlessConfig {
        &self.lifecycle.passwordless
    }

    fn code_hash(&self, token_id: &str, typed: &str) -> String {
        let mac = hmac_sha256(&self.key, format!("{token_id}\n{typed}").as_bytes());
        mac.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Queues a magic link for `email`, known or not: the answer and the
    /// work on the request path are the same either way (one insert); the
    /// job looks the address up and mails the link. The nonce for the
    /// browser's cookie when `bind_browser` (made whatever the address).
    pub async fn request_link(
        &self,
        email: &str,
        link: LinkRequest<'_>,
        client: &ClientInfo,
    ) -> Result<Option<String>, PasswordlessError> {
        if !self.config().magic_link {
            return Err(PasswordlessError::Disabled);
        }
        if let Some(challenge) = link.code_challenge
            && !is_pkce_value(challenge)
        {
            return Err(SharedError::Validation(vec![crate::validate::FieldProblem::new(
                "code_challenge",
                "invalid_code_challenge",
                "expected the S256 challenge of a PKCE verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            )])
            .into());
        }
        let nonce = link.bind_browser.then(random_token);
        self.enqueue(Kind::Link, email, link, nonce.as_deref(), client)
            .await?;
        Ok(nonce)
    }

    /// Queues an email code for `email`, known or not (see
    /// [`Passwordless::request_link`]).
    pub async fn request_code(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), PasswordlessError> {
        if !self.config().email_code {
            return Err(PasswordlessError::Disabled);
        }
        self.enqueue(Kind::Code, email, LinkRequest::default(), None, client)
            .await
    }

    async fn enqueue(
        &self,
        kind: Kind,
        email: &str,
        link: LinkRequest<'_>,
        browser_nonce: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(), PasswordlessError> {
        let email = email.trim();
        if email.is_empty() || email.len() > 320 {
            return Ok(());
        }
        let request = Request {
            kind: kind.as_str().to_owned(),
            email: email.to_owned(),
            browser_hash: browser_nonce.map(|n| sha256_hex(n.as_bytes())),
            code_challenge: link.code_challenge.map(str::to_owned),
            redirect_to: link.redirect_to.map(str::to_owned),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            request_id: client.request_id.clone(),
        };
        let now = self.now();
        let id = id::new_id();
        let plain = serde_json::to_vec(&request).expect("a request serializes");
        let job = NewJob {
            kind: JOB_PASSWORDLESS.into(),
            idempotency_key: format!("passwordless:{id}"),
            payload: self.job_sealer.seal(&plain, id.as_bytes()),
            id,
            run_at: now,
            max_attempts: 5,
            created_at: now,
        };
        self.store.enqueue_job(&job).await?;
        self.wake_jobs();
        Ok(())
    }

    /// The job: mails a link or code if the address has an account that
    /// may sign in, or (with sign-up on the way) has none yet. A retry of
    /// the job stores nothing new (its mail's key derives from the job id).
    pub(crate) async fn send(&self, job_id: &str, payload: &[u8]) -> Result<(), SharedError> {
        let plain = self
            .job_sealer
            .open(payload, job_id.as_bytes())
            .map_err(|e| SharedError::Internal(format!("passwordless job payload: {e}")))?;
        let request: Request = serde_json::from_slice(&plain)
            .map_err(|e| SharedError::Internal(format!("passwordless job payload: {e}")))?;
        let Some(kind) = Kind::parse(&request.kind) else {
            return Err(SharedError::Internal("passwordless job kind".into()));
        };
        let email = normalize_email(&request.email);
        let user = self.store.user_by_email(&email).await?;
        match &user {
            Some(u) => {
                let state = self.store.account_state(&u.id).await?.unwrap_or_default();
                if state.deleted_at.is_some() || state.deletion_due_at.is_some() {
                    return Ok(());
                }
            }
            None => {
                let mut problems = Vec::new();
                if !self.config().signup
                    || crate::validate::email(&request.email, &mut problems).is_none()
                {
                    return Ok(());
                }
            }
        }
        let now = self.now();
        let id = id::new_id();
        let (token, code, ttl) = match kind {
            Kind::Link => (
                Some(random_token()),
                link_code(),
                self.config().magic_link_ttl,
            ),
            Kind::Code => (None, digits_code(), self.config().email_code_ttl),
        };
        let minutes = ttl.whole_minutes();
        let mail_kind = match &token {
            Some(t) => MailKind::MagicLink {
                link: self.link("/magic-link", t),
                code: code.clone(),
                minutes,
            },
            None => MailKind::EmailCode {
                code: code.clone(),
                minutes,
            },
        };
        let row = PasswordlessToken {
            token_hash: token.as_deref().map(|t| sha256_hex(t.as_bytes())),
            code_hash: self.code_hash(&id, &code),
            id,
            kind,
            email,
            user_id: user.as_ref().map(|u| u.id.clone()),
            browser_hash: request.browser_hash,
            code_challenge: request.code_challenge,
            redirect_to: request.redirect_to,
            attempts: 0,
            created_at: now,
            expires_at: now + ttl,
            used_at: None,
        };
        let to = user
            .as_ref()
            .map_or(request.email.as_str(), |u| u.email.as_str());
        let (mail, mut job) = self.compose_for(user.as_ref(), to, &mail_kind);
        job.idempotency_key = format!("{JOB_PASSWORDLESS}:{job_id}");
        if !self
            .store
            .insert_passwordless_token(&row, &mail, &job)
            .await?
        {
            tracing::info!("passwordless mail made by an earlier run of this job: nothing new");
        }
        self.wake_jobs();
        Ok(())
    }

    /// The usable link for `token` (compared in constant time after the
    /// lookup by hash).
    async fn usable_link(&self, token: &str) -> Result<PasswordlessToken, PasswordlessError> {
        self.find_link(token)
            .await?
            .map_err(|_| PasswordlessError::InvalidLink)
    }

    /// [`Self::usable_link`], or why it is not: the rule's [`Refusal`]
    /// with the link's account, or `None` for an unknown token.
    async fn find_link(
        &self,
        token: &str,
    ) -> Result<Result<PasswordlessToken, LinkRefused>, PasswordlessError> {
        if !self.config().magic_link {
            return Err(PasswordlessError::Disabled);
        }
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(Err((None, None)));
        }
        let hash = sha256_hex(token.as_bytes());
        Ok(match self.store.passwordless_link(&hash).await? {
            Some(t)
                if t.token_hash
                    .as_deref()
                    .is_some_and(|h| constant_time_eq(h.as_bytes(), hash.as_bytes())) =>
            {
                match t.decide(Step::Use, self.now()) {
                    Ok(()) => Ok(t),
                    Err(why) => Err((Some(why), t.user_id)),
                }
            }
            _ => Err((None, None)),
        })
    }

    /// Counts a refused sign-in by `method` (`latchkey_passwordless_sign_ins_total`)
    /// and records it as `login.failed` with `reason` and the outcome.
    async fn refused(
        &self,
        method: &'static str,
        outcome: &'static str,
        user_id: Option<&str>,
        reason: &str,
        client: &ClientInfo,
    ) {
        metrics::counter!("latchkey_passwordless_sign_ins_total", "method" => method, "outcome" => outcome)
            .increment(1);
        let event = crate::sign_in::login_failed(self.now(), client, user_id, reason)
            .detail("method", method)
            .detail("outcome", outcome);
        self.record(event).await;
    }

    /// What a link's page shows before anything is submitted; nothing is
    /// used or counted (a mail scanner following the link burns nothing).
    pub async fn link_state(
        &self,
        token: &str,
        browser_nonce: Option<&str>,
    ) -> Result<LinkState, PasswordlessError> {
        let t = self.usable_link(token).await?;
        Ok(LinkState {
            same_browser: same_browser(&t, browser_nonce),
            redirect_to: t.redirect_to,
        })
    }

    /// Signs in with a magic link. It must be bound to the caller: by the
    /// PKCE verifier when it was asked for with a challenge, else by this
    /// browser's nonce cookie, else by the code shown in the mail (counted
    /// like a password: five tries per link, and the account's failure
    /// counters); without any of them, `CodeRequired`.
    pub async fn sign_in_with_link(
        &self,
        proof: LinkProof<'_>,
    ) -> Result<LoginSuccess, PasswordlessError> {
        let t = self.proven_link(&proof).await?;
        self.finish(&t, proof.kind, proof.client, "magic_link")
            .await
            .map_err(link_error)
    }

    /// The link of `proof`, usable and bound to the caller (see
    /// [`Passwordless::sign_in_with_link`]).
    pub(super) async fn proven_link(
        &self,
        proof: &LinkProof<'_>,
    ) -> Result<PasswordlessToken, PasswordlessError> {
        let t = match self.find_link(proof.token).await? {
            Ok(t) => t,
            Err((why, user_id)) => {
                let (outcome, user_id) = (refusal_outcome(why), user_id.as_deref());
                self.refused("magic_link", outcome, user_id, "invalid_link", proof.client)
                    .await;
                return Err(PasswordlessError::InvalidLink);
            }
        };
        let user = match &t.user_id {
            Some(id) => self.store.user_by_id(id).await?,
            None => None,
        };
        let t = if let Some(challenge) = &t.code_challenge {
            let ok = proof
                .code_verifier
                .is_some_and(|v| constant_time_eq(s256(v).as_bytes(), challenge.as_bytes()));
            if !ok {
                let (user_id, client) = (t.user_id.as_deref(), proof.client);
                self.refused(
                    "magic_link",
                    "wrong_verifier",
                    user_id,
                    "invalid_link",
                    client,
                )
                .await;
                return Err(PasswordlessError::InvalidLink);
            }
            self.refuse_if_locked(user.as_ref(), &t.email).await?;
            t
        } else if same_browser(&t, proof.browser_nonce) {
            self.refuse_if_locked(user.as_ref(), &t.email).await?;
            t
        } else if let Some(code) = proof.code.filter(|c| !c.trim().is_empty()) {
            let target = AttemptTarget::Link(&t.id);
            let typed = normalize_link_code(code);
            self.try_code(
                "magic_link",
                target,
                &typed,
                user.as_ref(),
                &t.email,
                proof.client,
            )
            .await?
        } else {
            return Err(PasswordlessError::CodeRequired);
        };
        Ok(t)
    }

    /// Signs in with an email code: the newest code mailed to the address,
    /// five tries per code (the sixth fails even with the right code), each
    /// charged to the account's failure counters first.
    pub async fn sign_in_with_code(
        &self,
        proof: CodeProof<'_>,
    ) -> Result<LoginSuccess, PasswordlessError> {
        let t = self.proven_code(&proof).await?;
        self.finish(&t, proof.kind, proof.client, "email_code")
            .await
    }

    /// The code of `proof`, right (one of its five tries, charged to the
    /// failure counters).
    pub(super) async fn proven_code(
        &self,
        proof: &CodeProof<'_>,
    ) -> Result<PasswordlessToken, PasswordlessError> {
        if !self.config().email_code {
            return Err(PasswordlessError::Disabled);
        }
        let email = normalize_email(proof.email.trim());
        if email.is_empty() || email.len() > 320 {
            return Err(PasswordlessError::InvalidCode);
        }
        let user = self.store.user_by_email(&email).await?;
        let typed: String = proof.code.chars().filter(|c| !c.is_whitespace()).collect();
        let target = AttemptTarget::Code(&email);
        let t = self
            .try_code(
                "email_code",
                target,
                &typed,
                user.as_ref(),
                &email,
                proof.client,
            )
            .await?;
        Ok(t)
    }

    /// The failure counter of an address: the account's, or the unknown
    /// identifier's (as password sign-in names it).
    fn account_key(user: Option<&User>, email: &str) -> String {
        match user {
            Some(u) => format!("user:{}", u.id),
            None => format!("ident:{}", sha256_hex(email.as_bytes())),
        }
    }

    /// A locked account signs in by no way that proves one factor.
    async fn refuse_if_locked(
        &self,
        user: Option<&User>,
        email: &str,
    ) -> Result<(), PasswordlessError> {
        if !self.protection.brute_force.enabled {
            return Ok(());
        }
        let key = Self::account_key(user, email);
        match self.store.login_failures(&key).await? {
            Some(row) if row.locked_at.is_some() => {
                Err(PasswordlessError::SignIn(SignInError::AccountLocked))
            }
            _ => Ok(()),
        }
    }

    /// One attempt at a code of `method`: charged to the failure counters,
    /// reserved in the store (atomically, at most [`super::MAX_ATTEMPTS`]),
    /// then compared in constant time. A refusal is counted by its outcome.
    async fn try_code(
        &self,
        method: &'static str,
        target: AttemptTarget<'_>,
        typed: &str,
        user: Option<&User>,
        email: &str,
        client: &ClientInfo,
    ) -> Result<PasswordlessToken, PasswordlessError> {
        let now = self.now();
        let charged = self
            .charge_attempt(&Self::account_key(user, email), None, now)
            .await?;
        let reserved = if typed.is_empty() || typed.len() > 16 {
            Err("wrong_code")
        } else {
            match self.store.reserve_passwordless_attempt(target, now).await? {
                Ok(t)
                    if constant_time_eq(
                        t.code_hash.as_bytes(),
                        self.code_hash(&t.id, typed).as_bytes(),
                    ) =>
                {
                    Ok(t)
                }
                Ok(_) => Err("wrong_code"),
                Err(why) => Err(refusal_outcome(why)),
            }
        };
        match (reserved, charged) {
            (Ok(t), Some(c)) => {
                self.store.clear_login_failures(&c.key).await?;
                Ok(t)
            }
            (Ok(t), None) => Ok(t),
            (Err(outcome), c) => {
                if let Some(c) = c {
                    c.note_lock();
                }
                let user_id = user.map(|u| u.id.as_str());
                self.refused(method, outcome, user_id, "invalid_code", client)
                    .await;
                Err(PasswordlessError::InvalidCode)
            }
        }
    }

    /// Uses the token (one of concurrent uses wins; the use marks the
    /// address verified: it proves the mailbox), finds or creates its
    /// account, and signs in through the shared gate (second factor
    /// included); the session's `amr` is `email`.
    async fn finish(
        &self,
        t: &PasswordlessToken,
        kind: SessionKind,
        client: &ClientInfo,
        method: &'static str,
    ) -> Result<LoginSuccess, PasswordlessError> {
        let now = self.now();
        let owner = t.user_id.as_deref();
        let verified = AuditEvent::new(EventType::EmailVerified, now, client)
            .actor(owner)
            .subject(owner.unwrap_or_default())
            .detail("method", method);
        if !self
            .store
            .use_passwordless_token(&t.id, now, &verified)
            .await?
        {
            // used meanwhile (a concurrent use won), expired or exhausted
            let outcome = refusal_outcome(t.decide(Step::Use, now).err().or(Some(Refusal::Used)));
            self.refused(method, outcome, owner, "invalid_code", client)
                .await;
            return Err(PasswordlessError::InvalidCode);
        }
        let user = match &t.user_id {
            Some(id) => match self.store.user_by_id(id).await? {
                Some(u) if u.email_normalized == t.email => u,
                _ => return Err(PasswordlessError::InvalidCode),
            },
            None => self.sign_up(t, client).await?,
        };
        if let Some(s) = user.active_suspension(now) {
            return Err(SignInError::Suspended { until: s.until }.into());
        }
        let outcome = self
            .start_session(&user, client, kind, vec!["email".into()])
            .await?;
        let session_id = match &outcome {
            LoginOutcome::Tokens(t) => Some(t.session_id.clone()),
            LoginOutcome::Cookie(c) => Some(c.session.id.clone()),
            LoginOutcome::MfaRequired(_) => None,
        };
        if let Some(session_id) = session_id {
            self.record(
                AuditEvent::new(EventType::LoginSucceeded, now, client)
                    .actor(Some(&user.id))
                    .subject(&user.id)
                    .session(&session_id)
                    .detail("method", method)
                    .detail("mode", kind.as_str()),
            )
            .await;
        }
        metrics::counter!("latchkey_passwordless_sign_ins_total", "method" => method, "outcome" => "success")
            .increment(1);
        Ok(LoginSuccess {
            outcome,
            device_cookie: self.devices.issue(&user.id, None, now),
        })
    }

    /// Sign-up on the way: the account of an address that had none when
    /// the link or code was mailed, made now that it was used (verified:
    /// the mail proved it; no password). If someone registered the address
    /// meanwhile, the token is refused rather than handed their account.
    async fn sign_up(
        &self,
        t: &PasswordlessToken,
        client: &ClientInfo,
    ) -> Result<User, PasswordlessError> {
        if !self.config().signup {
            return Err(PasswordlessError::InvalidCode);
        }
        let now = self.now();
        let user = User {
            id: id::new_id(),
            email: t.email.clone(),
            email_normalized: t.email.clone(),
            email_verified: true,
            username: None,
            username_normalized: None,
            name: None,
            password_hash: None,
            created_at: now,
            updated_at: now,
            suspension: None,
            locale: None,
        };
        let event = AuditEvent::new(EventType::UserRegistered, now, client)
            .actor(Some(&user.id))
            .subject(&user.id)
            .detail("method", "passwordless");
        match self.store.insert_user(&user, &[], Some(&event)).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(PasswordlessError::InvalidCode),
            Err(e) => Err(e.into()),
        }
    }
}

/// Why a link cannot be used (the rule's refusal; `None`: unknown) and
/// whose it is.
type LinkRefused = (Option<Refusal>, Option<String>);

/// The `outcome` label of a refused link or code
/// (`latchkey_passwordless_sign_ins_total`): `used` (used, superseded by a
/// newer one, or voided by an account change: the store keeps one state
/// for the three), `expired`, `attempts_exhausted`, or `unknown` (no such
/// link; for a code, none outstanding for the address).
fn refusal_outcome(why: Option<Refusal>) -> &'static str {
    match why {
        Some(Refusal::Used) => "used",
        Some(Refusal::Expired) => "expired",
        Some(Refusal::Exhausted) => "attempts_exhausted",
        None => "unknown",
    }
}

/// A link's refusals: a code that no longer works is a link that does not.
pub(super) fn link_error(e: PasswordlessError) -> PasswordlessError {
    match e {
        PasswordlessError::InvalidCode => PasswordlessError::InvalidLink,
        e => e,
    }
}

/// Whether `nonce` is the one the requesting browser was given.
fn same_browser(t: &PasswordlessToken, nonce: Option<&str>) -> bool {
    match (&t.browser_hash, nonce) {
        (Some(h), Some(n)) if !n.is_empty() => {
            constant_time_eq(h.as_bytes(), sha256_hex(n.as_bytes()).as_bytes())
        }
        _ => false,
    }
}

/// A link's code: 6 characters of Crockford's base32 (30 bits).
fn link_code() -> String {
    let bytes: [u8; 6] = random_bytes();
    bytes
        .iter()
        .map(|b| LINK_CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect()
}

/// A link's code as typed: case, spaces and dashes do not matter, and the
/// letters read as digits are the digits.
fn normalize_link_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// Six decimal digits, uniformly.
fn digits_code() -> String {
    loop {
        let n = u32::from_be_bytes(random_bytes());
        // 4_294_000_000 is a multiple of 10^6: no digit is likelier
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_shapes() {
        for _ in 0..200 {
            let d = digits_code();
            assert_eq!(d.len(), 6);
            assert!(d.bytes().all(|b| b.is_ascii_digit()), "{d}");
            let l = link_code();
            assert_eq!(l.len(), 6);
            assert!(l.bytes().all(|b| LINK_CODE_ALPHABET.contains(&b)), "{l}");
            assert_eq!(normalize_link_code(&l.to_lowercase()), l);
        }
        assert_eq!(normalize_link_code("ab-c o1l"), "ABC011");
    }
}
