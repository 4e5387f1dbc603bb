//! Pieces of the OpenAPI document every function contributes to: the security schemes
//! and the problem+json responses.

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Names of the two ways to present a key, as referenced by `security(...)` on routes.
pub const BEARER: &str = "bearer";
pub const API_KEY: &str = "api_key";

/// Adds the security schemes partners authenticate with.
#[derive(Debug)]
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("stl_<sandbox|live|ops>_<secret>")
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// The whole API's document from every function's routes: what `GET
/// /api/public/openapi.json` serves (docs/openapi.json, rewritten by
/// `STELLER_UPDATE_OPENAPI=1 cargo test -p steller-tests --test openapi`).
pub fn document(routes: utoipa_axum::router::OpenApiRouter<crate::AppState>) -> OpenApi {
    let (_, mut api) = routes.split_for_parts();
    api.info = utoipa::openapi::InfoBuilder::new()
        .title("Steller API")
        .version("1")
        .description(Some(
            "Partner API: sign up, API keys, sandbox and live wallets, orders, top-ups and usage. \
             Errors are application/problem+json with a stable `code`.",
        ))
        .build();
    api.servers = Some(vec![utoipa::openapi::server::Server::new("/")]);
    SecuritySchemes.modify(&mut api);
    api
}
