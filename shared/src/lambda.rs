//! The Lambda entry point every HTTP function's `main` calls: `lambda_http::run` over the
//! function's router, with API Gateway's stage taken out of the path.
//!
//! An HTTP API on a named stage sends `rawPath` as `/<stage>/api/...`, and lambda_http
//! passes it on as is; the routes are `/api/...`, so without this every request to a
//! non-`$default` stage would miss its route.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use tower::ServiceBuilder;

/// Serves `router` as this Lambda's handler until the runtime stops the process.
pub async fn run(router: axum::Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(ServiceBuilder::new().map_request(without_stage).service(router)).await
}

fn without_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|stage| stage != "$default") else { return request };
    let prefix = format!("/{stage}");
    let Some(rest) = request.uri().path().strip_prefix(&prefix).filter(|rest| rest.starts_with('/')) else {
        return request;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}
