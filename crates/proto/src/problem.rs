//! RFC 9457 problem details, the error body of every non-OAuth endpoint.

use serde::{Deserialize, Serialize};

/// The media type of a [`Problem`] body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object with latchkey's extensions: a stable
/// machine-readable `code`, per-field `errors` for validation failures, and
/// the `request_id` to quote to an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "type": "urn:latchkey:problem:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "The request body has invalid fields; see errors.",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "invalid_email", "message": "must be an email address"}],
    "request_id": "01HZX3K9Q2",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"
})))]
pub struct Problem {
    /// A URI naming the problem type; stable per `code`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short human summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this occurrence, and what to do about it.
    pub detail: String,
    /// Stable snake_case machine word, e.g. `invalid_credentials`.
    pub code: String,
    /// Field-level validation failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id, also sent as the `x-request-id` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The W3C trace id of the request (32 hex digits), as in its log lines
    /// and its OpenTelemetry spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field, as a JSON pointer-like dotted path (`email`, `address.city`).
    pub field: String,
    /// Stable snake_case machine word for the failure.
    pub code: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// The base of every problem `type` URI: a URN per `code`, an identifier
/// documented in the OpenAPI document rather than a page to fetch.
pub const PROBLEM_TYPE_BASE: &str = "urn:latchkey:problem:";

impl Problem {
    /// A problem with the type URI derived from `code`.
    pub fn new(status: u16, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
            request_id: None,
            trace_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_rfc9457_members() {
        let mut p = Problem::new(422, "validation_failed", "Validation failed", "bad");
        p.errors.push(FieldError {
            field: "email".into(),
            code: "invalid_email".into(),
            message: "must be an email address".into(),
        });
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:latchkey:problem:validation_failed");
        assert_eq!(v["status"], 422);
        assert_eq!(v["code"], "validation_failed");
        assert_eq!(v["errors"][0]["field"], "email");
        assert!(v.get("request_id").is_none());
        let back: Problem = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
