//! API-key authentication: resolves `Authorization: Bearer <key>` or `X-Api-Key: <key>`
//! into a `Principal` (401 when there is no valid key) in the request's extensions (and
//! the response's, for the request log), and the extractors that let a route admit only
//! partner keys or only ops keys (403 for the wrong role).

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::domain::{ApiKey, KeyId, Mode, PartnerId, Principal};
use crate::store::Admission;

/// Routes under this prefix need no key.
pub const PUBLIC_PREFIX: &str = "/api/public/";

pub const API_KEY_HEADER: &str = "x-api-key";

/// `RateLimit-Policy`: the quota of the caller's key and its window.
pub const RATE_LIMIT_POLICY_HEADER: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`: what is left of the quota in this window, and when it is whole again.
pub const RATE_LIMIT_HEADER: HeaderName = HeaderName::from_static("ratelimit");

/// The key a request presents, if any. A malformed key is no key. A request may name its
/// key in `Authorization: Bearer` and in `X-Api-Key` (or repeat a header) only if every
/// copy is the same key: two different credentials are a malformed request, never a
/// choice the server makes for the client.
fn presented_key(headers: &HeaderMap) -> Result<ApiKey, ApiError> {
    let bearer = headers.get_all(header::AUTHORIZATION).iter().map(|value| {
        value.to_str().ok().and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
    });
    let api_key = headers.get_all(API_KEY_HEADER).iter().map(|value| value.to_str().ok());
    let mut presented = bearer.chain(api_key).map(|raw| raw.map(str::trim));
    let first = presented.next().ok_or(ApiError::Unauthorized)?;
    if presented.any(|other| other != first) {
        return Err(ApiError::Malformed(
            "the request presents two different credentials (Authorization and X-Api-Key, or a repeated header); \
             send one key"
                .into(),
        ));
    }
    ApiKey::parse(first.ok_or(ApiError::Unauthorized)?).map_err(|_| ApiError::Unauthorized)
}

/// The auth layer. Public routes pass through; every other route needs a known,
/// unrevoked key within its rate limit. Admitting a request and counting it against the
/// key's quota is one store call (`Store::admit`); a request over the quota is 429
/// `rate_limited` with `Retry-After`, reaches no handler and changes nothing. Every
/// response to a known key carries the `RateLimit-Policy` and `RateLimit` fields.
///
/// A path no route matches is 404 whatever key comes with it, as API Gateway answers a
/// path it has no route for: a known key is still admitted (the 404 is counted and
/// logged as the partner's, who may look for it), but a missing or unknown one is no
/// reason for a 401.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if request.uri().path().starts_with(PUBLIC_PREFIX) {
        return Ok(next.run(request).await);
    }
    let routed = request.extensions().get::<MatchedPath>().is_some();
    let key = match presented_key(request.headers()) {
        Ok(key) => key,
        Err(_) if !routed => return Ok(next.run(request).await),
        Err(refused) => return Err(refused),
    };
    let (mut response, principal, quota) = match state.store.admit(&key).await? {
        Admission::Unknown if !routed => return Ok(next.run(request).await),
        Admission::Unknown => return Err(ApiError::Unauthorized),
        Admission::Limited { principal, quota } => {
            record_caller(&principal);
            tracing::info!(quota = quota.quota.get(), "rate limited");
            (ApiError::RateLimited.into_response(), principal, quota)
        }
        Admission::Admitted { principal, quota } => {
            record_caller(&principal);
            request.extensions_mut().insert(principal.clone());
            (next.run(request).await, principal, quota)
        }
    };
    for (name, value) in [(RATE_LIMIT_POLICY_HEADER, quota.policy_field()), (RATE_LIMIT_HEADER, quota.limit_field())] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    // The request-log layer runs outside this one and never sees the request's
    // extensions; the response is how it learns who called.
    response.extensions_mut().insert(principal);
    Ok(response)
}

fn record_caller(principal: &Principal) {
    if let Principal::Partner { partner_id, mode, .. } = principal {
        tracing::Span::current().record("partner_id", tracing::field::display(partner_id));
        tracing::Span::current().record("mode", mode.as_str());
    }
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

    const OTHER: &str = "Bearer stl_live_0123456789abcdef0123456789abcdef";

    #[test]
    fn either_header_or_both_with_the_same_key_present_it() {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, HeaderValue::from_static(KEY));
        assert_eq!(presented_key(&headers).map(|k| k.expose().to_owned()).ok(), Some(KEY.to_owned()));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {KEY}")).expect("a header"));
        assert_eq!(presented_key(&headers).map(|k| k.expose().to_owned()).ok(), Some(KEY.to_owned()));
        headers.remove(API_KEY_HEADER);
        assert_eq!(presented_key(&headers).map(|k| k.expose().to_owned()).ok(), Some(KEY.to_owned()));
    }

    #[test]
    fn two_different_credentials_are_a_malformed_request() {
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, HeaderValue::from_static(KEY));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(OTHER));
        assert!(matches!(presented_key(&headers), Err(ApiError::Malformed(_))));
        // A repeated header with another key, or a second credential that is no key at all.
        let mut headers = HeaderMap::new();
        headers.append(API_KEY_HEADER, HeaderValue::from_static(KEY));
        headers.append(API_KEY_HEADER, HeaderValue::from_static("stl_sandbox_ffffffffffffffffffffffffffffffff"));
        assert!(matches!(presented_key(&headers), Err(ApiError::Malformed(_))));
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, HeaderValue::from_static(KEY));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
        assert!(matches!(presented_key(&headers), Err(ApiError::Malformed(_))));
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
