//! Each core slice's error type as an [`ApiError`]: its status and stable
//! `code`. A failure two slices share (a taken address, a pending
//! deletion) is answered by one function here, so its shape cannot drift
//! between them.

use axum::http::StatusCode;
use latchkey_core::accounts::AccountError;
use latchkey_core::admin::AdminError;
use latchkey_core::error::SharedError;
use latchkey_core::recovery::RecoveryError;
use latchkey_core::roles::{PermissionDenied, RoleError};
use latchkey_core::sessions::SessionError;
use latchkey_core::sign_in::SignInError;
use latchkey_proto::problem::FieldError;
use time::OffsetDateTime;

use crate::error::{ApiError, permission_denied, unauthenticated};
use crate::timefmt::rfc3339;

impl From<SharedError> for ApiError {
    fn from(e: SharedError) -> Self {
        match e {
            SharedError::Validation(problems) => ApiError::validation(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: p.field,
                        code: p.code.to_owned(),
                        message: p.message,
                    })
                    .collect(),
            ),
            SharedError::NotFound => ApiError::not_found("The requested object does not exist."),
            SharedError::Busy { retry_after_secs } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Busy",
                "The server is handling too many sign-ins right now; retry after the number of seconds in Retry-After.",
            )
            .with_retry_after(retry_after_secs),
            SharedError::Store(s) => s.into(),
            SharedError::Internal(msg) => ApiError::internal(msg),
        }
    }
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
                "The identifier or the password is wrong.",
            ),
            SignInError::Throttled { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many failed sign-ins",
                "There were too many failed sign-ins for this account recently; retry after the number of seconds in Retry-After. \
                 From a device that signed in to this account before, sign-in is not delayed.",
            )
            .with_retry_after(retry_after_secs)
            .with_extension("policy", serde_json::Value::String("login_account".into())),
            SignInError::AccountLocked => ApiError::new(
                StatusCode::LOCKED,
                "account_locked",
                "Account locked",
                "This account is locked after too many failed sign-ins, and passwords are no longer checked for it. \
                 Sign in from a device that signed in to this account before, reset the password, or ask an administrator to unlock it.",
            ),
            SignInError::Suspended { until } => {
                let (detail, until) = match until {
                    Some(t) => {
                        let t = rfc3339(t);
                        (
                            format!("This account is suspended until {t}."),
                            serde_json::Value::String(t),
                        )
                    }
                    None => (
                        "This account is suspended until an administrator lifts the suspension."
                            .to_owned(),
                        serde_json::Value::Null,
                    ),
                };
                ApiError::new(
                    StatusCode::LOCKED,
                    "account_suspended",
                    "Account suspended",
                    detail,
                )
                .with_extension("suspended_until", until)
            }
            SignInError::PendingDeletion { due } => pending_deletion(due),
            SignInError::EmailNotVerified => ApiError::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "Email address not verified",
                "Confirm the email address with the link mailed at registration before signing in; POST /v1/auth/password-reset also proves the address.",
            ),
            SignInError::Shared(e) => e.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::InvalidRefreshToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                "Invalid refresh token",
                "The refresh token is unknown, expired or already used, or its session has ended; sign in again.",
            ),
            SessionError::RefreshTokenReused => {
                metrics::counter!("latchkey_refresh_token_reuse_total").increment(1);
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "refresh_token_reused",
                    "Refresh token reused",
                    "This refresh token was used before, so its session has been ended to protect the account; sign in again.",
                )
            }
            SessionError::Unauthenticated(reason) => unauthenticated(reason),
            SessionError::Shared(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::EmailTaken => email_taken(),
            AccountError::UsernameTaken => username_taken(),
            AccountError::Shared(e) => e.into(),
        }
    }
}

impl From<RecoveryError> for ApiError {
    fn from(e: RecoveryError) -> Self {
        match e {
            RecoveryError::InvalidToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Invalid or expired link",
                "The link is unknown, expired, already used, or replaced by a newer one; ask for a new one.",
            ),
            RecoveryError::WrongPassword => ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_password",
                "Wrong password",
                "The password given to confirm this operation is wrong.",
            ),
            RecoveryError::ReauthRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "reauth_required",
                "Recent authentication required",
                "This change needs a recent sign-in: confirm your password with POST /v1/auth/reauth, then retry.",
            ),
            RecoveryError::EmailTaken => email_taken(),
            RecoveryError::Unauthenticated(reason) => unauthenticated(reason),
            RecoveryError::SignIn(e) => e.into(),
            RecoveryError::Shared(e) => e.into(),
        }
    }
}

impl From<PermissionDenied> for ApiError {
    fn from(e: PermissionDenied) -> Self {
        permission_denied(&e.0)
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Denied(e) => e.into(),
            AdminError::SelfAction => ApiError::new(
                StatusCode::CONFLICT,
                "cannot_act_on_self",
                "Not on your own account",
                "Administrators cannot suspend or delete their own account; ask another administrator.",
            ),
            AdminError::EmailTaken => email_taken(),
            AdminError::UsernameTaken => username_taken(),
            AdminError::PendingDeletion { due } => pending_deletion(due),
            AdminError::Shared(e) => e.into(),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::Denied(e) => e.into(),
            RoleError::Taken => ApiError::new(
                StatusCode::CONFLICT,
                "role_taken",
                "Role name taken",
                "A role with this name exists already.",
            ),
            RoleError::ReadOnly => ApiError::new(
                StatusCode::CONFLICT,
                "role_builtin",
                "Built-in role",
                "The built-in roles (user, moderator, admin) cannot be changed or deleted; create a custom role instead.",
            ),
            RoleError::InUse(children) => ApiError::new(
                StatusCode::CONFLICT,
                "role_in_use",
                "Role in use",
                format!(
                    "Other roles inherit from this role ({}); change their parent first.",
                    children.join(", ")
                ),
            ),
            RoleError::Shared(e) => e.into(),
        }
    }
}

/// 409: the address belongs to an account (sign-up, email change, admin).
fn email_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "email_taken",
        "Email address taken",
        "An account with this email address exists already; sign in or reset the password.",
    )
}

/// 409: the username belongs to another account.
fn username_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "username_taken",
        "Username taken",
        "This username is taken; choose another.",
    )
}

/// 423: the account's deletion is pending (sign-in, an admin's reset mail).
fn pending_deletion(due: OffsetDateTime) -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        "account_pending_deletion",
        "Account pending deletion",
        "This account is scheduled for deletion. Use the link mailed when the deletion was requested to cancel it; otherwise its data is removed at `deletion_due_at`.",
    )
    .with_extension(
        "deletion_due_at",
        serde_json::Value::String(rfc3339(due)),
    )
}

#[cfg(test)]
mod tests {
    use latchkey_core::StoreError;
    use latchkey_core::auth::FieldProblem;
    use latchkey_core::events::EventsError;
    use latchkey_core::mfa::MfaError;
    use latchkey_core::oauth::OAuthError;

    use super::*;

    /// Every slice's failures keep the status and stable code the one
    /// former `AuthError` answered with (the oracle is the public contract).
    #[test]
    fn each_slice_error_keeps_its_status_and_code() {
        let due = OffsetDateTime::UNIX_EPOCH;
        let field = || SharedError::Validation(vec![FieldProblem::new("f", "bad", "bad")]);
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (field().into(), 422, "validation_failed"),
            (SharedError::NotFound.into(), 404, "not_found"),
            (
                SharedError::Busy {
                    retry_after_secs: 1,
                }
                .into(),
                503,
                "busy",
            ),
            (
                SharedError::Store(StoreError::Unavailable("x".into())).into(),
                503,
                "service_unavailable",
            ),
            (
                SharedError::Internal("x".into()).into(),
                500,
                "internal_error",
            ),
            (
                SignInError::InvalidCredentials.into(),
                401,
                "invalid_credentials",
            ),
            (
                SignInError::Throttled {
                    retry_after_secs: 2,
                }
                .into(),
                429,
                "rate_limited",
            ),
            (SignInError::AccountLocked.into(), 423, "account_locked"),
            (
                SignInError::Suspended { until: None }.into(),
                423,
                "account_suspended",
            ),
            (
                SignInError::PendingDeletion { due }.into(),
                423,
                "account_pending_deletion",
            ),
            (
                SignInError::EmailNotVerified.into(),
                403,
                "email_not_verified",
            ),
            (
                SignInError::Shared(SharedError::NotFound).into(),
                404,
                "not_found",
            ),
            (
                SessionError::InvalidRefreshToken.into(),
                401,
                "invalid_refresh_token",
            ),
            (
                SessionError::RefreshTokenReused.into(),
                401,
                "refresh_token_reused",
            ),
            (
                SessionError::Unauthenticated("x").into(),
                401,
                "unauthenticated",
            ),
            (
                SessionError::Shared(field()).into(),
                422,
                "validation_failed",
            ),
            (AccountError::EmailTaken.into(), 409, "email_taken"),
            (AccountError::UsernameTaken.into(), 409, "username_taken"),
            (
                AccountError::Shared(SharedError::NotFound).into(),
                404,
                "not_found",
            ),
            (RecoveryError::InvalidToken.into(), 400, "invalid_token"),
            (RecoveryError::WrongPassword.into(), 403, "wrong_password"),
            (RecoveryError::ReauthRequired.into(), 403, "reauth_required"),
            (RecoveryError::EmailTaken.into(), 409, "email_taken"),
            (
                RecoveryError::Unauthenticated("x").into(),
                401,
                "unauthenticated",
            ),
            (
                RecoveryError::SignIn(SignInError::AccountLocked).into(),
                423,
                "account_locked",
            ),
            (
                RecoveryError::Shared(field()).into(),
                422,
                "validation_failed",
            ),
            (
                AdminError::Denied(PermissionDenied("users:read".into())).into(),
                403,
                "permission_denied",
            ),
            (AdminError::SelfAction.into(), 409, "cannot_act_on_self"),
            (AdminError::EmailTaken.into(), 409, "email_taken"),
            (AdminError::UsernameTaken.into(), 409, "username_taken"),
            (
                AdminError::PendingDeletion { due }.into(),
                423,
                "account_pending_deletion",
            ),
            (
                AdminError::Shared(SharedError::NotFound).into(),
                404,
                "not_found",
            ),
            (
                RoleError::Denied(PermissionDenied("roles:manage".into())).into(),
                403,
                "permission_denied",
            ),
            (RoleError::Taken.into(), 409, "role_taken"),
            (RoleError::ReadOnly.into(), 409, "role_builtin"),
            (
                RoleError::InUse(vec!["a".into()]).into(),
                409,
                "role_in_use",
            ),
            (
                RoleError::Shared(SharedError::NotFound).into(),
                404,
                "not_found",
            ),
            (MfaError::InvalidCode.into(), 403, "invalid_code"),
            (MfaError::InvalidMfaToken.into(), 401, "invalid_mfa_token"),
            (
                MfaError::MethodUnavailable.into(),
                400,
                "method_unavailable",
            ),
            (MfaError::NotEnrolled.into(), 409, "mfa_not_enabled"),
            (MfaError::AlreadyEnrolled.into(), 409, "mfa_already_enabled"),
            (
                MfaError::NoPendingEnrolment.into(),
                409,
                "no_pending_enrolment",
            ),
            (MfaError::StepUpRequired.into(), 403, "mfa_required"),
            (
                MfaError::SignIn(SignInError::Throttled {
                    retry_after_secs: 2,
                })
                .into(),
                429,
                "rate_limited",
            ),
            (
                MfaError::SignIn(SignInError::Suspended { until: None }).into(),
                423,
                "account_suspended",
            ),
            (
                MfaError::Session(SessionError::Unauthenticated("x")).into(),
                401,
                "unauthenticated",
            ),
            (
                MfaError::Recovery(RecoveryError::ReauthRequired).into(),
                403,
                "reauth_required",
            ),
            (
                MfaError::from(PermissionDenied("users:write".into())).into(),
                403,
                "permission_denied",
            ),
            (
                MfaError::Shared(SharedError::Busy {
                    retry_after_secs: 1,
                })
                .into(),
                503,
                "busy",
            ),
            (
                OAuthError::Invalid {
                    field: "redirect_uris",
                    code: "invalid_redirect_uri",
                    reason: "x".into(),
                }
                .into(),
                422,
                "validation_failed",
            ),
            (OAuthError::UnknownClient.into(), 404, "not_found"),
            (OAuthError::InvalidGrant("x").into(), 400, "invalid_grant"),
            (
                OAuthError::CodeReplayed {
                    code_hash: "x".into(),
                }
                .into(),
                400,
                "invalid_grant",
            ),
            (
                OAuthError::Denied(PermissionDenied("clients:manage".into())).into(),
                403,
                "permission_denied",
            ),
            (
                OAuthError::Shared(SharedError::Store(StoreError::Unavailable("x".into()))).into(),
                503,
                "service_unavailable",
            ),
            (EventsError::BadCursor.into(), 400, "bad_last_event_id"),
            (EventsError::Closed.into(), 503, "service_unavailable"),
            (EventsError::Expired.into(), 410, "last_event_id_expired"),
            (
                EventsError::NotPermitted.into(),
                403,
                "events_not_permitted",
            ),
            (
                EventsError::Shared(SharedError::Internal("x".into())).into(),
                500,
                "internal_error",
            ),
        ];
        for (error, status, code) in cases {
            assert_eq!(
                (error.status().as_u16(), error.code()),
                (status, code),
                "{error:?}"
            );
        }
    }
}
