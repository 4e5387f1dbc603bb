//! `?limit=` and `?cursor=` on list routes, and the `{items, next_cursor}` body they answer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, FieldError};
use crate::store::{Cursor, Limit, Page, PageError, PageRequest};

/// The query parameters of every list route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1–100 (default 20).
    #[param(value_type = Option<u8>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, as it was given.
    cursor: Option<String>,
}

/// A parsed page request: 422 for a bad `limit`, 400 for a cursor that was tampered with.
///
/// `limit` or `cursor` given with no value is a 422 naming it: left out silently, it would
/// answer a page the caller did not ask for. A route's filters (`?status=`) follow the
/// same rule, each checked where the route reads it (`ListQuery::NO_VALUE`). Parameters
/// no route takes are ignored, with or without a value, as the contract says.
#[derive(Debug, Clone)]
pub struct ListQuery(pub PageRequest);

impl ListQuery {
    /// The parameters every list route takes.
    pub const PARAMETERS: [&str; 2] = ["limit", "cursor"];
    /// The 422 message for a parameter the route takes, given with no value.
    pub const NO_VALUE: &str = "must not be empty; leave the parameter out instead";
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let malformed = |rejection: QueryRejection| {
            ApiError::Malformed(format!("the query string is malformed: {}", rejection.body_text()))
        };
        let Query(given) = Query::<Vec<(String, String)>>::from_request_parts(parts, state).await.map_err(malformed)?;
        let empty: Vec<FieldError> = given
            .iter()
            .filter(|(name, value)| value.is_empty() && Self::PARAMETERS.contains(&name.as_str()))
            .map(|(name, _)| FieldError::new(name.as_str(), Self::NO_VALUE))
            .collect();
        if !empty.is_empty() {
            return Err(ApiError::validation(empty));
        }
        let Query(params) = Query::<ListParams>::from_request_parts(parts, state).await.map_err(malformed)?;
        let limit = match params.limit.as_deref() {
            None => Limit::DEFAULT,
            Some(raw) => Limit::parse(raw).map_err(|error| ApiError::validation([FieldError::new("limit", error)]))?,
        };
        let after = match params.cursor.as_deref() {
            None => None,
            Some(raw) => Some(Cursor::decode(raw).map_err(|error| ApiError::Malformed(error.to_string()))?),
        };
        Ok(ListQuery(PageRequest { limit, after }))
    }
}

/// One page of a list: newest first, `next_cursor` null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` to get the next page; null when there is none.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn from_page<U>(page: Page<U>, view: impl FnMut(U) -> T) -> Self {
        List { items: page.items.into_iter().map(view).collect(), next_cursor: page.next.map(|c| c.encode()) }
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::Cursor(invalid) => ApiError::Malformed(invalid.to_string()),
            PageError::Store(store) => store.into(),
        }
    }
}
