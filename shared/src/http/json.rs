//! `Json<T>`: axum's JSON extractor with Steller's own errors: 415 for a body that is not
//! JSON, 413 over 64 KiB, 400 for malformed JSON, 422 naming the field of a wrong type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{ApiError, FieldError};

/// The largest body any route accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON request body (or response), deserialised with problem+json errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn is_json(request: &Request) -> bool {
    let Some(content_type) = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::Malformed(format!("the request body could not be read: {}", rejection.body_text()))
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Deserialises a JSON object, telling syntax errors (400) from fields of the wrong type (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would read a struct from an array too; every Steller body is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Malformed("the request body must be a JSON object".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                ApiError::validation([FieldError::new(path, data_message(&inner))])
            }
            serde_json::error::Category::Data => ApiError::Malformed("the request body must be a JSON object".into()),
            _ => ApiError::Malformed(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    deserializer.end().map_err(|e| ApiError::Malformed(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// serde's message without its " at line 1 column 9" suffix, which means nothing to a partner.
fn data_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)]
        name: Option<String>,
    }

    #[test]
    fn syntax_errors_are_malformed_and_type_errors_name_the_field() {
        assert!(matches!(parse::<Body>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Body>(b"[1]"), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Body>(b"{} trailing"), Err(ApiError::Malformed(_))));
        match parse::<Body>(b"{\"name\": 5}") {
            Err(ApiError::Validation(errors)) => {
                assert_eq!(errors[0].field, "name");
                assert!(errors[0].message.starts_with("invalid type"), "{}", errors[0].message);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(parse::<Body>(b"{\"name\": null, \"extra\": 1}").is_ok());
    }
}
