//! `GET /assets/{file}`: the portal's stylesheet and its one small script, compiled into
//! the binary (no CDN, no build step), cached by browsers for an hour.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::page::ErrorPage;

const CSS: &str = include_str!("../assets/portal.css");
const JS: &str = include_str!("../assets/portal.js");

pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ErrorPage> {
    let (content_type, body) = match name.as_str() {
        "portal.css" => ("text/css; charset=utf-8", CSS),
        "portal.js" => ("text/javascript; charset=utf-8", JS),
        _ => return Err(ErrorPage::not_found()),
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response())
}
