//! Errors as values: what went wrong, with a stable `code`, for every route.
//!
//! Handlers and extractors return `Result<_, ApiError>`; none builds an
//! error response itself. Turning an `ApiError` into a response only sets its
//! status and headers and carries the error along (in the response's
//! extensions); the request pipeline then logs it once, inside the request's
//! span, and writes the body in the shape of the route group
//! ([`crate::render`]: problem+json, RFC 6749 JSON or an HTML page).
//! Internal details (a store message, a panic) go into the log only.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::StoreError;
use latchkey_proto::problem::{FieldError, PROBLEM_JSON};

use crate::pages::Retry;
use crate::timefmt::rfc3339;

/// An error response. Boxed, so `Result<T, ApiError>` stays one pointer wide
/// on the happy path.
#[derive(Debug, Clone)]
pub struct ApiError(Box<Problemish>);

#[derive(Debug, Clone)]
struct Problemish {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u32>,
    internal: Option<String>,
    extra: Option<(&'static str, serde_json::Value)>,
    www_authenticate: bool,
    headers: Option<axum::http::HeaderMap>,
    retry: Option<Retry>,
}

impl ApiError {
    /// A problem with the given status, stable code, title and detail.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError(Box::new(Problemish {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            internal: None,
            extra: None,
            www_authenticate: false,
            headers: None,
            retry: None,
        }))
    }

    /// 422 with per-field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Validation failed",
            "Some fields are invalid; see `errors` for each field and what is expected.",
        );
        e.0.errors = errors;
        e
    }

    /// 500: something broke on our side. `internal` is logged, never sent.
    pub fn internal(internal: impl Into<String>) -> Self {
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
            "Something went wrong on the server. Try again; if it persists, give the request id to an operator.",
        );
        e.0.internal = Some(internal.into());
        e
    }

    /// 503 with `Retry-After`: a dependency is down. `internal` is logged.
    pub fn unavailable(what: &str, internal: impl Into<String>) -> Self {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Service unavailable",
            format!(
                "The {what} is unavailable right now; retry after the number of seconds in Retry-After."
            ),
        );
        e.0.retry_after_secs = Some(5);
        e.0.internal = Some(internal.into());
        e
    }

    /// 404 for an unknown path or object.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    /// Adds `Retry-After`.
    pub fn with_retry_after(mut self, secs: u32) -> Self {
        self.0.retry_after_secs = Some(secs);
        self
    }

    /// Adds an RFC 9457 extension member.
    pub fn with_extension(mut self, name: &'static str, value: serde_json::Value) -> Self {
        self.0.extra = Some((name, value));
        self
    }

    /// Adds response headers (e.g. `RateLimit`).
    pub fn with_headers(mut self, headers: axum::http::HeaderMap) -> Self {
        self.0
            .headers
            .get_or_insert_with(Default::default)
            .extend(headers);
        self
    }

    /// Adds a reason for the log (never sent), e.g. why a dependency is down.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.0.internal = Some(reason.into());
        self
    }

    /// For an HTML page: the form to show again, under the error's messages.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.0.retry = Some(retry);
        self
    }

    /// For an HTML form: ties a refusal that names no field (a wrong
    /// password, a taken username) to form field `field`, so the page shows
    /// it beside that field.
    pub fn on_field(mut self, field: &str) -> Self {
        if self.0.errors.is_empty() {
            self.0.errors.push(FieldError {
                field: field.to_owned(),
                code: self.0.code.to_owned(),
                message: self.0.detail.clone(),
            });
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The short, fixed title.
    pub fn title(&self) -> &'static str {
        self.0.title
    }

    /// What happened and what to do, for the client.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The per-field errors of a `validation_failed`.
    pub fn field_errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    /// The detail for the log only.
    pub fn reason(&self) -> Option<&str> {
        self.0.internal.as_deref()
    }

    /// The RFC 9457 extension member, if any.
    pub fn extension(&self) -> Option<(&'static str, &serde_json::Value)> {
        self.0.extra.as_ref().map(|(k, v)| (*k, v))
    }

    /// The form an HTML page shows again, if any.
    pub fn retry(&self) -> Option<&Retry> {
        self.0.retry.as_ref()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(msg) => ApiError::unavailable("database", msg),
            StoreError::NotFound => ApiError::not_found("The requested object does not exist."),
            StoreError::Conflict(field) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                format!("The {field} is already in use."),
            ),
            StoreError::Backend(msg) => ApiError::internal(msg),
        }
    }
}

/// The error travelling from a handler to the pipeline, in the extensions of
/// its placeholder response (see the module docs).
#[derive(Debug, Clone)]
pub struct Failure(pub ApiError);

impl IntoResponse for ApiError {
    /// Status and headers now; the body is written by
    /// [`crate::render::finish`], which every response passes through.
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.0.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.0.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.0.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(extra) = &self.0.headers {
            headers.extend(extra.clone());
        }
        response.extensions_mut().insert(Failure(self));
        response
    }
}

impl From<latchkey_core::auth::AuthError> for ApiError {
    fn from(e: latchkey_core::auth::AuthError) -> Self {
        use latchkey_core::auth::AuthError as A;
        match e {
            A::Validation(problems) => ApiError::validation(
                problems
                    .into_iter()
                    .map(|p| FieldError {
                        field: p.field,
                        code: p.code.to_owned(),
                        message: p.message,
                    })
                    .collect(),
            ),
            A::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                "email_taken",
                "Email address taken",
                "An account with this email address exists already; sign in or reset the password.",
            ),
            A::UsernameTaken => ApiError::new(
                StatusCode::CONFLICT,
                "username_taken",
                "Username taken",
                "This username is taken; choose another.",
            ),
            A::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
                "The identifier or the password is wrong.",
            ),
            A::InvalidRefreshToken => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                "Invalid refresh token",
                "The refresh token is unknown, expired or already used, or its session has ended; sign in again.",
            ),
            A::RefreshTokenReused => {
                metrics::counter!("latchkey_refresh_token_reuse_total").increment(1);
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "refresh_token_reused",
                    "Refresh token reused",
                    "This refresh token was used before, so its session has been ended to protect the account; sign in again.",
                )
            }
            A::Unauthenticated(reason) => unauthenticated(reason),
            A::NotFound => ApiError::not_found("The requested object does not exist."),
            A::Suspended { until } => {
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
            A::PermissionDenied(p) => permission_denied(&p),
            A::RoleTaken => ApiError::new(
                StatusCode::CONFLICT,
                "role_taken",
                "Role name taken",
                "A role with this name exists already.",
            ),
            A::RoleReadOnly => ApiError::new(
                StatusCode::CONFLICT,
                "role_builtin",
                "Built-in role",
                "The built-in roles (user, moderator, admin) cannot be changed or deleted; create a custom role instead.",
            ),
            A::RoleInUse(children) => ApiError::new(
                StatusCode::CONFLICT,
                "role_in_use",
                "Role in use",
                format!(
                    "Other roles inherit from this role ({}); change their parent first.",
                    children.join(", ")
                ),
            ),
            A::SelfAction => ApiError::new(
                StatusCode::CONFLICT,
                "cannot_act_on_self",
                "Not on your own account",
                "Administrators cannot suspend or delete their own account; ask another administrator.",
            ),
            A::Busy { retry_after_secs } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Busy",
                "The server is handling too many sign-ins right now; retry after the number of seconds in Retry-After.",
            )
            .with_retry_after(retry_after_secs),
            A::PendingDeletion { due } => ApiError::new(
                StatusCode::LOCKED,
                "account_pending_deletion",
                "Account pending deletion",
                "This account is scheduled for deletion. Use the link mailed when the deletion was requested to cancel it; otherwise its data is removed at `deletion_due_at`.",
            )
            .with_extension(
                "deletion_due_at",
                serde_json::Value::String(rfc3339(due)),
            ),
            A::EmailNotVerified => ApiError::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "Email address not verified",
                "Confirm the email address with the link mailed at registration before signing in; POST /v1/auth/password-reset also proves the address.",
            ),
            A::ReauthRequired => ApiError::new(
                StatusCode::FORBIDDEN,
                "reauth_required",
                "Recent authentication required",
                "This change needs a recent sign-in: confirm your password with POST /v1/auth/reauth, then retry.",
            ),
            A::WrongPassword => ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong_password",
                "Wrong password",
                "The password given to confirm this operation is wrong.",
            ),
            A::InvalidToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Invalid or expired link",
                "The link is unknown, expired, already used, or replaced by a newer one; ask for a new one.",
            ),
            A::Throttled { retry_after_secs } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many failed sign-ins",
                "There were too many failed sign-ins for this account recently; retry after the number of seconds in Retry-After. \
                 From a device that signed in to this account before, sign-in is not delayed.",
            )
            .with_retry_after(retry_after_secs)
            .with_extension("policy", serde_json::Value::String("login_account".into())),
            A::AccountLocked => ApiError::new(
                StatusCode::LOCKED,
                "account_locked",
                "Account locked",
                "This account is locked after too many failed sign-ins, and passwords are no longer checked for it. \
                 Sign in from a device that signed in to this account before, reset the password, or ask an administrator to unlock it.",
            ),
            A::Store(s) => s.into(),
            A::Internal(msg) => ApiError::internal(msg),
        }
    }
}

/// 401 for a missing or invalid credential; `reason` goes to the log only.
pub fn unauthenticated(reason: &'static str) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Not authenticated",
        "Send a valid access token as `Authorization: Bearer <token>`, or the session cookie.",
    );
    e.0.internal = Some(reason.to_owned());
    e.0.www_authenticate = true;
    e
}

/// 403 naming the permission the caller lacks.
pub fn permission_denied(permission: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "permission_denied",
        "Permission denied",
        format!("This needs the permission {permission}, which none of your roles grants."),
    )
    .with_extension(
        "missing_permission",
        serde_json::Value::String(permission.to_owned()),
    )
}

/// A form that could not be read (400 `unreadable_form`, shown as a page by
/// the group's renderer); `detail` says what to do.
pub fn unreadable_form(detail: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "unreadable_form",
        "Form unreadable",
        detail,
    )
}
