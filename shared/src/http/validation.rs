//! Collecting every invalid field of a request, so one 422 names them all.

use std::fmt::Display;

use super::{ApiError, FieldError};

/// Checks fields one by one and remembers each failure.
///
/// ```text
/// let mut check = Validation::default();
/// let email = check.field("email", Email::parse(body.email.as_deref()));
/// let name = check.field("company_name", CompanyName::parse(body.company_name.as_deref()));
/// let (Some(email), Some(name)) = (email, name) else { return Err(check.into_error()) };
/// ```
#[derive(Debug, Default)]
pub struct Validation(Vec<FieldError>);

impl Validation {
    /// The parsed value, or `None` after recording why `field` is invalid.
    pub fn field<T, E: Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError::new(field, error));
                None
            }
        }
    }

    /// A required field: absent or blank is "is required" (as for every required text
    /// field, a choice such as `mode` or `currency` included), present is parsed.
    pub fn required<T, E: Display>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match raw.filter(|text| !text.trim().is_empty()) {
            None => self.field(field, Err::<T, _>("is required")),
            Some(text) => self.field(field, parse(text)),
        }
    }

    /// An optional field: absent or blank is `Some(None)`, present is parsed.
    pub fn optional<T, E: Display>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(Option<&str>) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match raw.filter(|text| !text.trim().is_empty()) {
            None => Some(None),
            Some(text) => self.field(field, parse(Some(text))).map(Some),
        }
    }

    /// What a body's own check found: the fields its 422 names, or none. How a request
    /// body offers its checks to the `Json` extractor, as `impl From<&Body> for Validation`,
    /// so fields of the wrong JSON type are named beside the others.
    pub fn of<T>(checked: Result<T, ApiError>) -> Self {
        match checked {
            Err(ApiError::Validation(errors)) => Validation(errors),
            _ => Validation::default(),
        }
    }

    /// Every recorded field, in the order checked.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// The 422 listing every recorded field.
    pub fn into_error(self) -> ApiError {
        ApiError::Validation(self.0)
    }
}
