//! Pieces of the OpenAPI document every function contributes to: the security schemes
//! and the problem+json responses, both those the shared layers give every route and
//! those several routes document alike (`NotFound`, `InvalidState`).

use std::collections::BTreeMap;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Header, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify};

use crate::domain::RATE_LIMIT_POLICY;

mod links;
pub mod rules;

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
        components.add_security_scheme(API_KEY, SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))));
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
            "Partner API: sign up, API keys, sandbox and live wallets, orders, top-ups, usage and webhooks, \
             signed per Standard Webhooks. \
             Errors are application/problem+json with a stable `code`.",
        ))
        .build();
    api.servers = Some(vec![utoipa::openapi::server::Server::new("/")]);
    SecuritySchemes.modify(&mut api);
    CommonResponses.modify(&mut api);
    rules::apply(&mut api);
    links::apply(&mut api);
    api
}

/// A problem+json response with `description`.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(crate::http::PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build()
}

/// 404 `not_found`, for a route that reads an id: `responses((status = 200, ..), NotFound)`.
#[derive(Debug)]
pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let described = "`not_found`: nothing with this id that this key may see (a malformed id included)";
        BTreeMap::from([("404".to_owned(), problem(described).into())])
    }
}

/// 409 `invalid_state`, for a route that changes a status only once (cancel, approve, reject).
#[derive(Debug)]
pub struct InvalidState;

impl IntoResponses for InvalidState {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let described = "`invalid_state`: already done (an order cancelled, a request decided); nothing changed";
        BTreeMap::from([("409".to_owned(), problem(described).into())])
    }
}

/// Adds the problem+json responses the shared layers give any route, so handlers only
/// document their own: 401/403 where a key is needed, 400/422 on paginated lists,
/// 409/422 where an Idempotency-Key is taken, 400/413/415/422 where a body is read, and
/// 500/503 everywhere.
#[derive(Debug)]
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let problem_schemas = utoipa::openapi::ComponentsBuilder::new().schema_from::<crate::http::Problem>().build();
        openapi.components.get_or_insert_with(Default::default).schemas.extend(problem_schemas.schemas);
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut common = vec![
                    ("500", "`internal`: an unexpected failure, logged with the request id"),
                    ("503", "`unavailable`: a dependency is down; nothing was changed"),
                ];
                if secured {
                    common.push(("401", "`unauthorized`: no valid API key"));
                    common.push(("403", "`forbidden`: the key's role may not call this route"));
                    common.push((
                        "400",
                        "`malformed_request`: `Authorization` and `X-Api-Key` (or a repeated header) name different keys",
                    ));
                    common.push((
                        "429",
                        "`rate_limited`: the key's requests this second are used up; retry after `Retry-After` seconds",
                    ));
                }
                let paginated = operation.parameters.as_ref().is_some_and(|params| {
                    params.iter().any(|param| matches!(param, RefOr::T(p) if p.name == "cursor"))
                });
                if paginated {
                    common.push(("400", "`malformed_request`: the cursor is not one this listing gave"));
                    common.push(("422", "`validation_failed`: `limit` is not 1-100"));
                }
                let idempotent = operation.parameters.as_ref().is_some_and(|params| {
                    params.iter().any(|param| matches!(param, RefOr::T(p) if p.name == "Idempotency-Key"))
                });
                if operation.request_body.is_some() {
                    common.push(("400", "`malformed_request`: the body is not a JSON object"));
                    common.push(("413", "`payload_too_large`: the body is over 64 KiB"));
                    common.push(("415", "`unsupported_media_type`: the body is not application/json"));
                    common.push(("422", "`validation_failed`: `errors[]` names each invalid field"));
                }
                if idempotent {
                    common.push(("409", "`idempotency_in_progress`: a request with this key, taken by an earlier version during a deploy, is still running; retry shortly"));
                    common.push(("422", "`idempotency_key_reused`: the key was used with another request"));
                }
                // Several layers can give one status (a 400 for the cursor and for the
                // credentials): one response says them all.
                let mut by_status: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for (status, description) in common {
                    by_status.entry(status).or_default().push(description);
                }
                for (status, descriptions) in by_status {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(&descriptions.join("; or ")).into());
                }
                if secured {
                    rate_limit_headers(&mut operation.responses.responses);
                }
            }
        }
    }
}

/// A string header whose value matches `pattern`.
fn header(description: &str, pattern: &str) -> RefOr<Header> {
    let schema = ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).build();
    RefOr::T(HeaderBuilder::new().schema(Some(schema)).description(Some(description)).build())
}

/// The rate limiter's fields (draft-ietf-httpapi-ratelimit-headers, as structured
/// fields) on every answer to a known key, and `Retry-After` on its 429. A 401 comes
/// before any key is known, so it carries none.
fn rate_limit_headers(responses: &mut BTreeMap<String, RefOr<Response>>) {
    // The examples name the policy the server sends, so they cannot drift from it.
    let policy = header(
        &format!("The key's quota and window in seconds, e.g. `\"{RATE_LIMIT_POLICY}\";q=25;w=1`"),
        r#"^"[a-z0-9-]+";q=[0-9]+;w=[0-9]+$"#,
    );
    let limit = header(
        &format!(
            "What is left of the quota and the seconds until it is whole again, e.g. `\"{RATE_LIMIT_POLICY}\";r=24;t=1`"
        ),
        r#"^"[a-z0-9-]+";r=[0-9]+;t=[0-9]+$"#,
    );
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if status == "401" {
            continue;
        }
        response.headers.insert("RateLimit-Policy".to_owned(), policy.clone());
        response.headers.insert("RateLimit".to_owned(), limit.clone());
        if status == "429" {
            response.headers.insert("Retry-After".to_owned(), header("Seconds to wait before retrying", "^[0-9]+$"));
        }
    }
}
