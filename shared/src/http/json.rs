//! `Json<T>`: axum's JSON extractor with Steller's own errors: 415 for a body that is not
//! JSON, 413 over 64 KiB, 400 for malformed JSON or a field given twice, and one 422
//! naming every invalid field, those of the wrong JSON type with the rest.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use super::Validation;
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

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    for<'a> Validation: From<&'a T>,
    S: Send + Sync,
{
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

/// Deserialises a JSON object, telling syntax errors (400) from invalid fields (422).
///
/// A field of the wrong JSON type is taken out and the body read again, until the rest
/// fits; the body's own checks (`Validation::from(&body)`) then run on the rest, so one
/// 422 names every invalid field. The type error stands for its field: the checks' "is
/// required" for a field taken out is not repeated.
pub fn parse<T>(bytes: &[u8]) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    for<'a> Validation: From<&'a T>,
{
    let mut object = Value::Object(fields(bytes)?);
    let mut wrong_type: Vec<(String, FieldError)> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&object) {
            Ok(body) if wrong_type.is_empty() => return Ok(body),
            Ok(body) => return Err(ApiError::Validation(merge(wrong_type, Validation::from(&body).into_errors()))),
            Err(error) => error,
        };
        let top = match error.path().iter().next() {
            Some(Segment::Map { key }) => Some(key.clone()),
            _ => None,
        };
        let path = error.path().to_string();
        let message = data_message(error.inner());
        // The loop ends: each round takes one of the body's fields out, or returns.
        let taken_out = top.as_ref().and_then(|top| object.as_object_mut()?.remove(top));
        match (top, taken_out) {
            (Some(top), Some(_)) => wrong_type.push((top, FieldError::new(path, message))),
            _ if wrong_type.is_empty() => {
                return Err(ApiError::Malformed(format!("the request body does not fit this route: {message}")));
            }
            _ => return Err(ApiError::Validation(wrong_type.into_iter().map(|(_, error)| error).collect())),
        }
    }
}

/// The body's top-level fields, read from its bytes: 400 for anything but one JSON object,
/// or for an object that gives a field twice (which value was meant cannot be known, and
/// serde_json's `Value` would silently keep the last).
fn fields(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    // serde would read a struct from an array too; every Steller body is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Malformed("the request body must be a JSON object".into()));
    }
    let syntax = |error: serde_json::Error| ApiError::Malformed(format!("the request body is not valid JSON: {error}"));
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let object = Object::deserialize(&mut deserializer).map_err(syntax)?;
    deserializer.end().map_err(syntax)?;
    match object.repeated {
        Some(name) => Err(ApiError::Malformed(format!("the request body gives the field `{name}` more than once"))),
        None => Ok(object.fields),
    }
}

/// A JSON object's fields, and the first name it gives twice, if any. The whole object is
/// read either way, so a syntax error later in the body is still a syntax error.
struct Object {
    fields: Map<String, Value>,
    repeated: Option<String>,
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
        let mut object = Object { fields: Map::new(), repeated: None };
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if object.fields.contains_key(&name) {
                object.repeated.get_or_insert(name);
            } else {
                object.fields.insert(name, value);
            }
        }
        Ok(object)
    }
}

/// The body's own errors, with each field's type error in the place of what the checks
/// said of it (its absence, once taken out), then the type errors the checks did not meet
/// (an optional field's, whose absence is fine).
fn merge(wrong_type: Vec<(String, FieldError)>, own: Vec<FieldError>) -> Vec<FieldError> {
    let (names, mut wrong_type): (Vec<String>, Vec<Option<FieldError>>) =
        wrong_type.into_iter().map(|(name, error)| (name, Some(error))).unzip();
    let mut errors = Vec::with_capacity(own.len() + wrong_type.len());
    for error in own {
        match names.iter().position(|name| *name == error.field) {
            Some(at) => errors.extend(wrong_type[at].take()),
            None => errors.push(error),
        }
    }
    errors.extend(wrong_type.into_iter().flatten());
    errors
}

/// serde's message without its " at line 1 column 9" suffix, which means nothing to a
/// partner, and with a Rust type it expected (`i64`, `u32`, `f64`) in JSON's words.
fn data_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) => &text[..at],
        None => text.as_str(),
    };
    match text.rsplit_once(", expected ") {
        Some((found, expected)) => format!("{found}, expected {}", in_json_words(expected)),
        None => text.to_owned(),
    }
}

/// What serde expected, as a partner reading JSON would say it.
fn in_json_words(expected: &str) -> &str {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => {
            "an integer"
        }
        "f32" | "f64" => "a number",
        other => other,
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
        name: Option<String>,
        count: Option<i64>,
        note: Option<String>,
    }

    /// As a route's body: `name` required, `count` positive, `note` optional.
    impl From<&Body> for Validation {
        fn from(body: &Body) -> Self {
            let mut check = Validation::default();
            check.field("name", body.name.as_deref().ok_or("is required"));
            check.field("count", body.count.filter(|count| *count > 0).ok_or("must be positive"));
            check
        }
    }

    fn fields_of(result: Result<Body, ApiError>) -> Vec<(String, String)> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| (e.field, e.message)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_are_malformed_and_type_errors_name_the_field() {
        assert!(matches!(parse::<Body>(b"{\"name\": "), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Body>(b"[1]"), Err(ApiError::Malformed(_))));
        assert!(matches!(parse::<Body>(b"{} trailing"), Err(ApiError::Malformed(_))));
        let errors = fields_of(parse::<Body>(b"{\"name\": 5, \"count\": 1}"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "name");
        assert!(errors[0].1.starts_with("invalid type"), "{}", errors[0].1);
        let body = parse::<Body>(b"{\"name\": \"a\", \"count\": 2, \"note\": null, \"extra\": 1}").expect("valid");
        assert_eq!((body.name.as_deref(), body.count, body.note), (Some("a"), Some(2), None));
    }

    #[test]
    fn every_invalid_field_is_named_with_each_type_error_in_place_of_is_required() {
        let errors = fields_of(parse::<Body>(br#"{"name": 5, "count": 0, "note": [1]}"#));

        let fields: Vec<_> = errors.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["name", "count", "note"]);
        assert!(errors[0].1.starts_with("invalid type: integer `5`"), "not `is required`: {}", errors[0].1);
        assert_eq!(errors[1].1, "must be positive");
        assert!(errors[2].1.starts_with("invalid type: sequence"), "{}", errors[2].1);
    }

    #[test]
    fn a_type_error_says_what_json_was_expected_not_which_rust_type() {
        let errors = fields_of(parse::<Body>(br#"{"name": "a", "count": "5"}"#));

        assert_eq!(errors, [("count".to_owned(), "invalid type: string \"5\", expected an integer".to_owned())]);
        let errors = fields_of(parse::<Body>(br#"{"name": "a", "count": 1.5}"#));
        assert_eq!(errors[0].1, "invalid type: floating point `1.5`, expected an integer");
        let errors = fields_of(parse::<Body>(br#"{"name": true, "count": 1}"#));
        assert_eq!(errors[0].1, "invalid type: boolean `true`, expected a string", "serde's own words stay");
    }

    #[test]
    fn a_field_given_twice_is_malformed_naming_it() {
        match parse::<Body>(br#"{"name": "a", "count": 1, "count": 2}"#) {
            Err(ApiError::Malformed(detail)) => assert!(detail.contains("`count`"), "{detail}"),
            other => panic!("expected a malformed body, got {other:?}"),
        }
        // A syntax error after the repeat is still a syntax error.
        match parse::<Body>(br#"{"count": 1, "count": 2, "#) {
            Err(ApiError::Malformed(detail)) => assert!(detail.contains("not valid JSON"), "{detail}"),
            other => panic!("expected a malformed body, got {other:?}"),
        }
    }
}
