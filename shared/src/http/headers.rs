//! The security headers every response carries: pages for people (`site`) and API answers
//! (`app`) each get theirs, and a response that says something itself (the API docs page,
//! with its own policy; a cacheable asset) keeps what it said.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

/// For a response that shows a secret (an API key, a signing secret) or signed-in data: no
/// cache, the browser's included, may keep it, so neither Back after signing out nor a
/// proxy shows it again. `(NO_STORE, body)` is a response.
pub const NO_STORE: NoStore = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];

/// The type of `NO_STORE`, for a handler's signature.
pub type NoStore = [(HeaderName, HeaderValue); 1];

/// What a portal page may load: its own stylesheet and script from `/assets/`, nothing
/// inline (no `style` attribute, no inline script), no plugin, no other origin; its forms
/// post only to the portal, and no other page may frame it (clickjacking).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                               form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What the Swagger UI page may load: its vendored files from `/api/public/docs/` (no
/// inline script: `swagger-initializer.js` is a file), the document and "Try it out" calls
/// to this origin. Swagger UI sets `style` attributes as it renders and its stylesheet
/// draws icons as `data:` SVGs, so those two are allowed; nothing else is.
pub const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                               img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                               frame-ancestors 'none'";

/// An API answer is data, never a document to render or frame.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// The header of a page with a policy of its own (the docs page): `policy` as its
/// Content-Security-Policy. The layers below add the rest, `X-Frame-Options` included.
pub fn page_headers(policy: &'static str) -> [(HeaderName, HeaderValue); 1] {
    [(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy))]
}

/// Pages: the page policy and `X-Frame-Options` (for browsers without `frame-ancestors`),
/// no sniffing, no Referer (paths carry ids: `?requested=tur_…`, a request id), and
/// `no-store` unless the response chose its own caching (the assets do).
pub(super) fn for_pages<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    with_common(
        router
            .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_POLICY),
            )),
    )
}

/// API answers: a policy that renders and frames nothing, unless the response has its own
/// (the docs page), no sniffing, no Referer.
pub(super) fn for_api<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    with_common(router.layer(SetResponseHeaderLayer::if_not_present(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(API_POLICY),
    )))
}

fn with_common<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
}
