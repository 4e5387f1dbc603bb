//! A recording proxy in front of the AWS emulator: every call the functions make passes
//! through it and is noted by service and action (`DynamoDB.GetItem`, `SQS.SendMessage`)
//! with the moment it arrived, then forwarded unchanged.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Bodies the emulator gets are small; this only bounds a runaway one.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// One AWS call, as the proxy saw it arrive.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub action: String,
    pub at: Instant,
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    calls: Mutex<Vec<Call>>,
}

/// The proxy's handle: its address for `AWS_ENDPOINT_URL`, and the calls it has seen.
#[derive(Clone)]
pub struct Recorder {
    pub endpoint: String,
    proxy: Arc<Proxy>,
}

impl Recorder {
    /// Starts a proxy on a free loopback port forwarding to `upstream`.
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().no_proxy().build().context("building the proxy's client")?;
        let proxy =
            Arc::new(Proxy { upstream: upstream.trim_end_matches('/').to_owned(), client, calls: Mutex::default() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the proxy")?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Recorder { endpoint, proxy })
    }

    /// The calls seen since the last `take`, oldest first, and forgets them.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.proxy.calls.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    match relay(&proxy, request).await {
        Ok(response) => response,
        Err(error) => (StatusCode::BAD_GATEWAY, format!("{error:#}")).into_response(),
    }
}

async fn relay(proxy: &Proxy, request: Request) -> anyhow::Result<Response> {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.context("reading the call")?;
    let action = action(&parts.headers, &body);
    proxy.calls.lock().unwrap_or_else(PoisonError::into_inner).push(Call { action, at });

    let (status, headers, body) = pass_on(&proxy.client, &proxy.upstream, parts, body).await?;
    Ok((status, headers, body).into_response())
}

/// Sends a call on to `upstream` as it came (less its `Host`), and gives back the answer
/// as it came (less the framing headers axum sets again): what both proxies of the bench
/// do after looking at the call.
pub(crate) async fn pass_on(
    client: &reqwest::Client,
    upstream: &str,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
    let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let mut headers = parts.headers;
    headers.remove(header::HOST);
    let answer = client
        .request(parts.method, format!("{upstream}{path}"))
        .headers(headers)
        .body(body)
        .send()
        .await
        .with_context(|| format!("forwarding to {upstream}"))?;
    let status = answer.status();
    let mut headers = answer.headers().clone();
    headers.remove(header::TRANSFER_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    let body = answer.bytes().await.with_context(|| format!("reading the answer of {upstream}"))?;
    Ok((status, headers, body))
}

/// `Service.Action` of a signed AWS call: the service from the SigV4 credential scope
/// (`Credential=AKID/20261124/us-east-1/dynamodb/aws4_request`), the action from
/// `X-Amz-Target` (JSON protocols: DynamoDB, SQS) or the form's `Action=` (query
/// protocol: SES).
pub fn action(headers: &HeaderMap, body: &Bytes) -> String {
    let scope_service = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|credential| credential.split('/').nth(3))
        .unwrap_or("unknown");
    let service = match scope_service {
        "dynamodb" => "DynamoDB",
        "sqs" => "SQS",
        "ses" | "email" => "SES",
        other => other,
    };
    let target = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .and_then(|target| target.rsplit('.').next())
        .map(str::to_owned);
    let form_action =
        || std::str::from_utf8(body).ok()?.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned);
    let action = target.or_else(form_action).unwrap_or_else(|| "unknown".to_owned());
    format!("{service}.{action}")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn signed(service: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!(
            "AWS4-HMAC-SHA256 Credential=test/20261124/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=00"
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&value).expect("a header value"));
        headers
    }

    #[test]
    fn a_json_protocol_call_is_named_by_its_target() {
        let mut headers = signed("dynamodb");
        headers.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"));
        assert_eq!(action(&headers, &Bytes::new()), "DynamoDB.TransactWriteItems");

        let mut headers = signed("sqs");
        headers.insert("x-amz-target", HeaderValue::from_static("AmazonSQS.SendMessage"));
        assert_eq!(action(&headers, &Bytes::new()), "SQS.SendMessage");
    }

    #[test]
    fn a_query_protocol_call_is_named_by_its_form_action() {
        let body = Bytes::from_static(b"Version=2010-12-01&Action=SendEmail&Source=a%40b.example");
        assert_eq!(action(&signed("ses"), &body), "SES.SendEmail");
    }

    #[test]
    fn an_unsigned_call_without_an_action_is_still_counted() {
        assert_eq!(action(&HeaderMap::new(), &Bytes::new()), "unknown.unknown");
    }
}
