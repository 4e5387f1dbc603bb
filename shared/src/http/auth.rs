//! API-key authentication: resolves `Authorization: Bearer <key>` or `X-Api-Key: <key>`
//! into a `Principal` (401 when there is no valid key) in the request's extensions (and
//! the response's, for the request log), and the extractors that let a route admit only
//! partner keys or only ops keys (403 for the wrong role).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{ApiError, AppState};
use crate::domain::{ApiKey, KeyId, Mode, PartnerId, Principal};

/// Routes under this prefix need no key.
pub const PUBLIC_PREFIX: &str = "/api/public/";

pub const API_KEY_HEADER: &str = "x-api-key";

/// The key a request presents, if any. A malformed key is no key.
fn presented_key(headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")));
    let header_key = headers.get(API_KEY_HEADER).and_then(|value| value.to_str().ok());
    let raw = bearer.or(header_key).ok_or(ApiError::Unauthorized)?;
    ApiKey::parse(raw.trim()).map_err(|_| ApiError::Unauthorized)
}

/// The auth layer. Public routes pass through; everything else needs a known, unrevoked key.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if request.uri().path().starts_with(PUBLIC_PREFIX) {
        return Ok(next.run(request).await);
    }
    let key = presented_key(request.headers())?;
    let principal = state.store.principal(&key).await?.ok_or(ApiError::Unauthorized)?;
    if let Principal::Partner { partner_id, mode, .. } = &principal {
        tracing::Span::current().record("partner_id", tracing::field::display(partner_id));
        tracing::Span::current().record("mode", mode.as_str());
    }
    request.extensions_mut().insert(principal.clone());
    let mut response = next.run(request).await;
    // The request-log layer runs outside this one and never sees the request's
    // extensions; the response is how it learns who called.
    response.extensions_mut().insert(principal);
    Ok(response)
}

/// A request made with a partner key: the partner and the mode whose data it may see.
#[derive(Debug, Clone)]
pub struct PartnerCaller {
    pub partner_id: PartnerId,
    pub mode: Mode,
    pub key_id: KeyId,
}

impl<S: Send + Sync> FromRequestParts<S> for PartnerCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(Principal::Partner { partner_id, mode, key_id }) => {
                Ok(PartnerCaller { partner_id: *partner_id, mode: *mode, key_id: *key_id })
            }
            Some(Principal::Ops { .. }) => Err(ApiError::Forbidden),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// A request made with an ops key.
#[derive(Debug, Clone)]
pub struct OpsCaller {
    pub key_id: KeyId,
}

impl<S: Send + Sync> FromRequestParts<S> for OpsCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(Principal::Ops { key_id }) => Ok(OpsCaller { key_id: *key_id }),
            Some(Principal::Partner { .. }) => Err(ApiError::Forbidden),
            None => Err(ApiError::Unauthorized),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const KEY: &str = "stl_sandbox_0123456789abcdef0123456789abcdef";

    #[test]
    fn both_headers_present_a_key_and_bearer_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, HeaderValue::from_static(KEY));
        assert_eq!(presented_key(&headers).map(|k| k.expose().to_owned()).ok(), Some(KEY.to_owned()));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer stl_live_0123456789abcdef0123456789abcdef"),
        );
        assert!(presented_key(&headers).is_ok_and(|k| k.expose().starts_with("stl_live_")));
    }

    #[test]
    fn missing_or_malformed_keys_are_unauthorized() {
        let mut headers = HeaderMap::new();
        assert!(matches!(presented_key(&headers), Err(ApiError::Unauthorized)));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
        assert!(matches!(presented_key(&headers), Err(ApiError::Unauthorized)));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer nope"));
        assert!(matches!(presented_key(&headers), Err(ApiError::Unauthorized)));
    }
}
