//! The responses every operation can get from the pipeline and the shared
//! extractors, added to the OpenAPI document by rule rather than copied into
//! each `#[utoipa::path]`.
//!
//! A handler's attribute documents what the handler itself answers. What
//! the request pipeline (IP lists, rate limits, header and time limits), the
//! credential extractors and the body, path and query extractors answer is
//! the same for every operation they apply to; [`add_common_responses`]
//! adds each such status to every operation a rule matches. When the
//! handler documents the status already, the rule's codes are appended to
//! its description (unless it names them), so one status says every code a
//! client may see.

use axum::http::Method;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    Content, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Type,
};

use super::route_classes;

/// What a rule needs to know about an operation.
struct Op<'a> {
    method: &'a Method,
    path: &'a str,
    operation: &'a Operation,
}

impl Op<'_> {
    /// A JSON API operation (not one of the HTML pages mailed links open).
    fn json_api(&self) -> bool {
        !self.operation.tags.iter().flatten().any(|t| t == "pages")
    }

    fn json_body(&self) -> bool {
        self.operation.request_body.as_ref().is_some_and(|b| {
            b.content
                .keys()
                .any(|c| c == "application/json" || c.ends_with("+json"))
        })
    }

    fn has_params(&self, kind: ParameterIn) -> bool {
        self.operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == kind)
    }

    fn authenticated(&self) -> bool {
        self.operation
            .security
            .as_ref()
            .is_some_and(|s| !s.is_empty())
    }

    fn admin(&self) -> bool {
        self.path == "/v1/admin" || self.path.starts_with("/v1/admin/")
    }

    /// An operation an enrolment-only session may not reach (everything
    /// authenticated but the `Enrolling` routes and administration, which
    /// answers `mfa_required` instead).
    fn gated_until_enrolled(&self) -> bool {
        const ENROLLING: &[(Method, &str)] = &[
            (Method::GET, "/v1/account/mfa"),
            (Method::POST, "/v1/account/mfa/totp"),
            (Method::POST, "/v1/account/mfa/totp/confirm"),
            (Method::POST, "/v1/auth/logout"),
        ];
        self.authenticated()
            && !self.admin()
            && !ENROLLING
                .iter()
                .any(|(m, p)| m == self.method && *p == self.path)
    }
}

/// A response the pipeline or a shared extractor gives where `applies`.
struct Rule {
    status: u16,
    code: &'static str,
    meaning: &'static str,
    applies: fn(&Op) -> bool,
}

const RULES: &[Rule] = &[
    Rule {
        status: 400,
        code: "malformed_json",
        meaning: "the body is not JSON, or nests deeper than 128 levels",
        applies: |op| op.json_body(),
    },
    Rule {
        status: 400,
        code: "invalid_path",
        meaning: "a path segment is not valid percent-encoded UTF-8",
        applies: |op| op.json_api() && op.has_params(ParameterIn::Path),
    },
    Rule {
        status: 401,
        code: "unauthenticated",
        meaning: "no valid access token or session cookie",
        applies: |op| op.authenticated(),
    },
    Rule {
        status: 403,
        code: "csrf_failed",
        meaning: "a cookie session without a same-origin `Origin` and its `X-CSRF-Token`",
        applies: |op| op.authenticated() && !op.method.is_safe(),
    },
    Rule {
        status: 403,
        code: "permission_denied",
        meaning: "none of the caller's roles grants the permission; `missing_permission` names it",
        applies: |op| op.admin(),
    },
    Rule {
        status: 403,
        code: "mfa_enrollment_required",
        meaning: "a role of the account requires a second factor (`mfa.required_for_roles`) and none is enrolled: the session reaches only enrolment and sign-out",
        applies: |op| op.gated_until_enrolled(),
    },
    Rule {
        status: 403,
        code: "mfa_required",
        meaning: "a role of the caller requires a second factor (`mfa.required_for_roles`) and none is enrolled; or, for a write, the caller has one and did not pass it recently",
        applies: |op| op.admin(),
    },
    Rule {
        status: 403,
        code: "ip_forbidden",
        meaning: "the client's address is refused by `access.*` (or `access.admin_*` on `/v1/admin`)",
        applies: |_| true,
    },
    Rule {
        status: 413,
        code: "payload_too_large",
        meaning: "the body is larger than `http.max_body_bytes`",
        applies: |op| op.json_body(),
    },
    Rule {
        status: 415,
        code: "unsupported_media_type",
        meaning: "the body is not sent as `application/json`",
        applies: |op| op.json_body(),
    },
    Rule {
        status: 422,
        code: "validation_failed",
        meaning: "the body or query has the wrong shape (a missing, unknown or mistyped field); `errors` names each field",
        applies: |op| op.json_body() || (op.json_api() && op.has_params(ParameterIn::Query)),
    },
    Rule {
        status: 429,
        code: "rate_limited",
        meaning: "too many requests of this route's class from this address; retry after `Retry-After` seconds",
        applies: |op| route_classes().of(op.method, Some(op.path)).is_some(),
    },
    Rule {
        status: 431,
        code: "headers_too_large",
        meaning: "the request headers are larger than `http.max_header_bytes`",
        applies: |_| true,
    },
    Rule {
        status: 503,
        code: "request_timeout",
        meaning: "the request did not finish within `http.request_timeout_secs`, or (`service_unavailable`) the database is unreachable; retry after `Retry-After` seconds",
        applies: |_| true,
    },
];

fn problem_response(status: u16, description: String) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        latchkey_proto::problem::PROBLEM_JSON,
        Content::new(Some(Ref::from_schema_name("Problem"))),
    );
    let integer = || utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer);
    let string = || utoipa::openapi::ObjectBuilder::new().schema_type(Type::String);
    if matches!(status, 429 | 503) {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(integer())
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    if status == 429 {
        for (name, what) in [
            (
                "RateLimit-Policy",
                "The quota refused (draft-ietf-httpapi-ratelimit-headers).",
            ),
            ("RateLimit", "What remains of it and when it resets."),
        ] {
            response = response.header(
                name,
                HeaderBuilder::new()
                    .schema(string())
                    .description(Some(what))
                    .build(),
            );
        }
    }
    response.build()
}

fn sentence(rule: &Rule) -> String {
    format!("`{}`: {}.", rule.code, rule.meaning)
}

/// Adds the common responses to every operation of `doc` (see the module
/// docs).
pub(crate) fn add_common_responses(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
            (Method::OPTIONS, &mut item.options),
            (Method::HEAD, &mut item.head),
            (Method::TRACE, &mut item.trace),
        ] {
            let Some(operation) = operation else { continue };
            let op = Op {
                method: &method,
                path,
                operation,
            };
            let applying: Vec<&Rule> = RULES.iter().filter(|r| (r.applies)(&op)).collect();
            for rule in applying {
                let status = rule.status.to_string();
                match operation.responses.responses.get_mut(&status) {
                    Some(RefOr::T(existing)) => {
                        if !existing.description.contains(&format!("`{}`", rule.code)) {
                            existing.description.push(' ');
                            existing.description.push_str(&sentence(rule));
                        }
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        operation
                            .responses
                            .responses
                            .insert(status, problem_response(rule.status, sentence(rule)).into());
                    }
                }
            }
        }
    }
}
