//! `GET /api/public/docs`: interactive API docs (Swagger UI) for the OpenAPI document, and
//! `GET /api/public/docs/{file}`: the Swagger UI files that page loads, compiled into the
//! binary from utoipa-swagger-ui's vendored copy, so nothing is fetched at build or run time.
//!
//! Every link is relative, so the page works on API Gateway's `$default` stage and behind
//! a named one alike: `/<stage>/api/public/docs` loads `/<stage>/api/public/docs/swagger-ui.css`
//! and `/<stage>/api/public/openapi.json`.

use std::io::Read;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use steller::http::{ApiError, Problem};
use utoipa_swagger_ui::Config;

/// The page. Its own path has no trailing slash, so its links name the `docs/` folder.
pub const INDEX_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Steller API reference</title>
    <link rel="stylesheet" type="text/css" href="docs/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="docs/index.css">
    <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="docs/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
"#;

/// The files the page loads, and the only ones served. The crate embeds Swagger UI's
/// whole dist; its own `index.html` would look for the document in the wrong folder, and
/// the ES-module bundles are for bundlers, not browsers.
pub const FILES: [&str; 7] = [
    "swagger-ui.css",
    "index.css",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-initializer.js",
];

/// What `swagger-initializer.js` starts Swagger UI with. The document's URL is relative to
/// the page; "Try it out" is on and keeps the key across reloads; the validator badge,
/// which would send the document to validator.swagger.io, is off.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(Config::new(["openapi.json"]).try_it_out_enabled(true).persist_authorization(true).validator_url("none"))
});

/// Interactive API docs: Swagger UI over `openapi.json`, where "Try it out" calls this API
/// with the key given under "Authorize".
#[utoipa::path(
    get,
    path = "/api/public/docs",
    tag = "public",
    responses((status = 200, description = "Swagger UI's page", content_type = "text/html")),
)]
pub(crate) async fn docs_page() -> impl IntoResponse {
    // Its own policy: Swagger UI needs inline styles and `data:` images, which the API's
    // default policy (and the portal's) refuse.
    (steller::http::page_headers(steller::http::DOCS_POLICY), Html(INDEX_HTML))
}

/// A file of the interactive API docs (JavaScript, CSS, an icon), gzip-encoded when the
/// request's `Accept-Encoding` allows it.
#[utoipa::path(
    get,
    path = "/api/public/docs/{file}",
    tag = "public",
    params(("file" = String, Path, description = "A file the docs page loads, e.g. `swagger-ui-bundle.js`", example = "swagger-ui.css")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "`not_found`: no such file", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn docs_file(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    if !FILES.contains(&name.as_str()) {
        return Err(ApiError::NotFound);
    }
    let file = utoipa_swagger_ui::serve(&name, Arc::clone(&CONFIG))
        .map_err(|error| ApiError::internal(format!("Swagger UI's {name}: {error}")))?
        .ok_or(ApiError::NotFound)?;
    let content_type = HeaderValue::from_str(&file.content_type).map_err(ApiError::internal)?;
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::CONTENT_TYPE, content_type);
    let body = if !file.gzpipped {
        Body::from(file.bytes)
    } else {
        // The response depends on the request's Accept-Encoding, so caches must key on it.
        response_headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if accepts_gzip(&headers) {
            response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Body::from(file.bytes)
        } else {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&file.bytes[..])
                .read_to_end(&mut plain)
                .map_err(|error| ApiError::internal(format!("gunzipping Swagger UI's {name}: {error}")))?;
            Body::from(plain)
        }
    };
    Ok((response_headers, body).into_response())
}

/// Whether the request's `Accept-Encoding` gives gzip a weight above zero, by name or
/// else through `*`. A request without the header gets the plain file, as command-line
/// clients would otherwise print compressed bytes.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let codings: Vec<(&str, f32)> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let weight = parts
                .find_map(|param| param.split_once('=').filter(|(key, _)| key.trim().eq_ignore_ascii_case("q")))
                .map(|(_, q)| q.trim())
                .map_or(1.0, |q| q.parse::<f32>().unwrap_or(0.0));
            (name, weight)
        })
        .collect();
    let weight_of = |wanted: &str| codings.iter().find(|(name, _)| name.eq_ignore_ascii_case(wanted)).map(|(_, q)| *q);
    weight_of("gzip").or_else(|| weight_of("*")).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("a header value"));
        headers
    }

    #[test]
    fn gzip_is_sent_only_to_requests_that_accept_it() {
        assert!(accepts_gzip(&accepting("gzip, deflate, br, zstd")), "a browser's");
        assert!(accepts_gzip(&accepting("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&accepting("*")));
        assert!(!accepts_gzip(&HeaderMap::new()), "no header: the plain file");
        assert!(!accepts_gzip(&accepting("identity")));
        assert!(!accepts_gzip(&accepting("gzip;q=0")), "q=0 refuses gzip");
        assert!(!accepts_gzip(&accepting("gzip;q=0.000, br")));
        assert!(!accepts_gzip(&accepting("x-gzip2")));
        assert!(!accepts_gzip(&accepting("*;q=1, gzip;q=0")), "named beats the wildcard");
        assert!(accepts_gzip(&accepting("identity;q=0, *")));
    }
}
