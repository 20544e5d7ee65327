//! Extractors whose rejections are problem+json like every other error.
//!
//! axum's `Path` and `Query` answer a bad request with a plain-text 400;
//! the wrappers here give the same values with problem+json rejections
//! carrying a stable `code`. `clippy.toml` forbids axum's own in this crate.

#![allow(clippy::disallowed_types)]

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use latchkey_proto::problem::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Refuses a wrong content type (415), a body over the limit
/// (413), malformed JSON or JSON nested deeper than serde_json's recursion
/// limit of 128 (400), and JSON of the wrong shape (422, naming the field).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim().to_ascii_lowercase();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "Payload too large",
                    "The request body is larger than this server accepts (http.max_body_bytes).",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    "Malformed body",
                    "The request body could not be read.",
                )
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Deserializes JSON, mapping failures to problems that name the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    if let Ok(v) = value {
        // Anything but white space after the value is malformed too.
        return de.end().map(|()| v).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Malformed JSON",
                format!("The body is not valid JSON: {e}."),
            )
        });
    }
    value.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Malformed JSON",
                format!("The body is not valid JSON: {inner}."),
            ),
            Category::Data => {
                let message = inner.to_string();
                let field = match message.strip_prefix("missing field `") {
                    Some(rest) => {
                        let name = rest.split('`').next().unwrap_or_default();
                        if path == "." {
                            name.to_owned()
                        } else {
                            format!("{path}.{name}")
                        }
                    }
                    None if path == "." => "body".to_owned(),
                    None => path,
                };
                let code = if message.starts_with("missing field") {
                    "required"
                } else if message.starts_with("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_type"
                };
                // serde's message ends with " at line L column C"; the position
                // adds nothing for a client that sent one JSON object.
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                ApiError::validation(vec![FieldError {
                    field,
                    code: code.to_owned(),
                    message,
                }])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn check(body: &str, status: u16, code: &str, field: Option<&str>) {
        let e = parse::<Body>(body.as_bytes()).expect_err(body);
        assert_eq!(e.status().as_u16(), status, "{body}");
        assert_eq!(
            e.code(),
            if status == 422 {
                "validation_failed"
            } else {
                code
            },
            "{body}"
        );
        if let Some(field) = field {
            let dbg = format!("{e:?}");
            assert!(
                dbg.contains(&format!("field: \"{field}\"")),
                "{body}: {dbg}"
            );
            assert!(dbg.contains(&format!("code: \"{code}\"")), "{body}: {dbg}");
        }
    }

    #[test]
    fn bodies_are_refused_with_the_field_named() {
        check("{", 400, "malformed_json", None);
        check("{\"email\": \"a\"} trailing", 400, "malformed_json", None);
        check("{}", 422, "required", Some("email"));
        check("{\"email\": 5}", 422, "invalid_type", Some("email"));
        check(
            "{\"email\": \"a\", \"inner\": {\"n\": 300}}",
            422,
            "invalid_type",
            Some("inner.n"),
        );
        check(
            "{\"email\": \"a\", \"inner\": {}}",
            422,
            "required",
            Some("inner.n"),
        );
        check(
            "{\"email\": \"a\", \"admin\": true}",
            422,
            "unknown_field",
            Some("admin"),
        );
        // nesting beyond serde_json's recursion limit is refused, not a stack overflow
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse::<serde_json::Value>(deep.as_bytes()).expect_err("too deep");
        assert_eq!((e.status().as_u16(), e.code()), (400, "malformed_json"));
        assert!(parse::<Body>(b"{\"email\": \"a\"}").is_ok());
    }
}

/// Query-string parameters. A malformed or mistyped parameter is 422
/// `validation_failed` (problem+json, naming what is wrong), never axum's
/// plain-text 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => Err(ApiError::validation(vec![FieldError {
                field: "query".into(),
                code: "invalid_query".into(),
                message: rejection.body_text(),
            }])),
        }
    }
}

/// Path parameters. A segment that is not valid percent-encoded UTF-8
/// (`%ff`) or does not parse as the parameter's type is 400 `invalid_path`
/// (problem+json), never axum's plain-text 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Path<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            // Only a route declared without the parameters it extracts gets
            // here: a bug on our side, not the client's.
            Err(PathRejection::MissingPathParams(e)) => Err(ApiError::internal(e.body_text())),
            Err(rejection) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                "Invalid path",
                format!(
                    "A path segment could not be read: {}.",
                    rejection.body_text()
                ),
            )),
        }
    }
}
