//! The HTTP client a delivery attempt is one POST of: bounded in time and in what it
//! reads, never following a redirect, and never reaching inside a network.
//!
//! It is hyper with rustls (aws-lc), the stack the AWS SDK's own client is built from, so
//! it adds no TLS library to the Lambda. (reqwest's rustls feature, unified across the
//! workspace, would also make every other reqwest client in a process demand a crypto
//! provider installed by hand.)

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

use super::address::{self, UrlError, UrlPolicy};

/// How long one attempt may take, from connecting to the end of the answer. Partners are
/// told to answer at once and work later; a slow endpoint is retried, not waited on.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// How long connecting may take: an endpoint that cannot be reached in this is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of an answer is read. Only its status counts; reading a little lets the
/// connection close cleanly, reading all of it would let an endpoint hold a delivery.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

const USER_AGENT: &str = "Steller-Webhooks/1.0";

/// The client could not be built; a deployment fault, not a partner's.
#[derive(Debug, thiserror::Error)]
pub enum SendSetupError {
    #[error("could not configure TLS")]
    Tls(#[source] rustls::Error),
}

/// What one attempt came to. `error` is a short message for the partner's delivery log:
/// it never carries a secret or the answer's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    /// The answer's status, when there was an answer.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    pub duration_ms: u64,
}

impl Attempted {
    /// A 2xx answer; anything else is retried.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| (200..300).contains(&status))
    }
}

type Connector = HttpsConnector<HttpConnector<Resolver>>;

/// Sends deliveries under a [`UrlPolicy`]. Built once and cloned: clones share the
/// connection pool and the TLS configuration.
#[derive(Clone)]
pub struct Sender {
    client: Client<Connector, Full<Bytes>>,
    policy: UrlPolicy,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("policy", &self.policy).field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(policy: UrlPolicy) -> Result<Self, SendSetupError> {
        Self::with_timeout(policy, TIMEOUT)
    }

    /// A sender with a shorter timeout, so tests of it need not wait 15 s.
    pub fn with_timeout(policy: UrlPolicy, timeout: Duration) -> Result<Self, SendSetupError> {
        let mut http = HttpConnector::new_with_resolver(Resolver { policy });
        // https URLs go on to the TLS layer below.
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT.min(timeout)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        // hyper never follows a redirect: one could lead anywhere, including inside the
        // network, after the address was checked; the partner sees the 3xx in its log.
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Sender { client, policy, timeout })
    }

    /// One attempt: the URL checked again (address literals skip the resolver), then one
    /// POST of the body with the given headers.
    pub async fn send(&self, url: &str, headers: &[(&'static str, String)], body: &str) -> Attempted {
        let started = Instant::now();
        let outcome = match address::check_url(url, self.policy) {
            Ok(url) => match tokio::time::timeout(self.timeout, self.post(url, headers, body)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("timed out after {}", in_words(self.timeout))),
            },
            Err(refusal) => Err(refused(&refusal)),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match outcome {
            Ok(status) => Attempted { status: Some(status), error: None, duration_ms },
            Err(error) => Attempted { status: None, error: Some(error), duration_ms },
        }
    }

    /// The POST itself, to a URL already checked; the status, or what went wrong.
    async fn post(&self, url: url::Url, headers: &[(&'static str, String)], body: &str) -> Result<u16, String> {
        let request = headers
            .iter()
            .fold(http::Request::post(url.as_str()), |request, (name, value)| request.header(*name, value))
            .header(http::header::USER_AGENT, USER_AGENT)
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|_| "the request could not be built".to_owned())?;
        let answer = self.client.request(request).await.map_err(|error| self.describe(&error))?;
        let status = answer.status().as_u16();
        // The status is the outcome; an answer body that breaks off does not change it.
        let mut body = answer.into_body();
        let mut read = 0;
        while read < MAX_ANSWER_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                Some(Err(_)) | None => break,
            }
        }
        Ok(status)
    }

    /// A failed request as the partner reads it in its delivery log.
    fn describe(&self, error: &hyper_util::client::legacy::Error) -> String {
        if let Some(refusal) = find::<UrlError>(error) {
            return refused(refusal);
        }
        if find::<rustls::Error>(error).is_some() {
            return "TLS handshake failed".to_owned();
        }
        // The connector's own timeout is an `io::Error` of kind `TimedOut`.
        let timed_out = find::<std::io::Error>(error).is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        match (timed_out, error.is_connect()) {
            (true, true) => format!("could not connect within {}", in_words(CONNECT_TIMEOUT.min(self.timeout))),
            (true, false) => format!("timed out after {}", in_words(self.timeout)),
            (false, true) => "could not connect".to_owned(),
            (false, false) => "the connection failed before an answer".to_owned(),
        }
    }
}

fn refused(refusal: &UrlError) -> String {
    format!("refused: url {refusal}")
}

/// "15 s", or "300 ms" for the short timeouts of tests.
fn in_words(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// The first error of type `T` in a cause chain. `io::Error` does not list the error it
/// wraps as its source (it skips to that error's source), so it is looked inside too.
fn find<'a, T: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        let wrapped = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        if let Some(found) = wrapped.and_then(|inner| find::<T>(inner)) {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// TLS trusting the Mozilla roots compiled into the binary, with the aws-lc provider the
/// AWS SDK already links; the same trust store on every runtime image.
fn tls_config() -> Result<rustls::ClientConfig, SendSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    // Adds each root with `add`, skipping any this rustls cannot read: one fewer trusted
    // root is not a reason to send nothing.
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SendSetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The sender's name resolution. Under [`UrlPolicy::PublicOnly`] it is the address check
/// made again at delivery, on the very addresses connected to, since a name's answer can
/// change after the endpoint was created.
#[derive(Debug, Clone, Copy)]
struct Resolver {
    policy: UrlPolicy,
}

impl tower_service::Service<Name> for Resolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy;
        Box::pin(async move {
            // Port 0: the connector puts in the URL's port or the scheme's default.
            let addresses = match policy {
                UrlPolicy::PublicOnly => {
                    address::resolve_public(name.as_str(), 0).await.map_err(std::io::Error::other)?
                }
                UrlPolicy::AllowLoopbackHttp => tokio::net::lookup_host((name.as_str(), 0)).await?.collect(),
            };
            Ok(addresses.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri, header};
    use axum::response::{IntoResponse, Response};

    use super::*;

    /// A request the test endpoint received.
    #[derive(Debug, Clone)]
    struct Received {
        headers: HeaderMap,
        body: String,
    }

    type Log = Arc<Mutex<Vec<Received>>>;

    /// A partner's endpoint: answers by path, and logs every request it sees.
    async fn endpoint(State(log): State<Log>, uri: Uri, headers: HeaderMap, body: String) -> Response {
        log.lock().expect("log").push(Received { headers, body });
        match uri.path() {
            "/fail" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/ok")]).into_response(),
            "/slow" => {
                tokio::time::sleep(Duration::from_secs(3)).await;
                StatusCode::OK.into_response()
            }
            _ => StatusCode::OK.into_response(),
        }
    }

    async fn spawn_endpoint() -> (SocketAddr, Log) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        let log = Log::default();
        let app = Router::new().fallback(endpoint).with_state(log.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (address, log)
    }

    fn received(log: &Log) -> Vec<Received> {
        log.lock().expect("log").clone()
    }

    fn delivery_headers() -> Vec<(&'static str, String)> {
        vec![
            ("webhook-id", "evt_1".to_owned()),
            ("webhook-timestamp", "1614265330".to_owned()),
            ("webhook-signature", "v1,c2lnbmF0dXJl".to_owned()),
            ("content-type", "application/json".to_owned()),
        ]
    }

    const BODY: &str = r#"{"type":"order.created","data":{"id":"ord_1"}}"#;

    fn local_sender() -> Sender {
        Sender::new(UrlPolicy::AllowLoopbackHttp).expect("sender")
    }

    #[tokio::test]
    async fn a_2xx_succeeds_and_the_endpoint_gets_the_headers_and_body_exactly() {
        let (address, log) = spawn_endpoint().await;
        let attempted = local_sender().send(&format!("http://{address}/ok"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, Some(200));
        assert_eq!(attempted.error, None);
        assert!(attempted.succeeded());
        let received = received(&log);
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.body, BODY);
        for (name, value) in delivery_headers() {
            assert_eq!(request.headers.get(name).and_then(|v| v.to_str().ok()), Some(value.as_str()), "{name}");
        }
        assert_eq!(request.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()), Some(USER_AGENT));
    }

    #[tokio::test]
    async fn a_500_is_an_answer_not_an_error_and_does_not_succeed() {
        let (address, _) = spawn_endpoint().await;
        let attempted = local_sender().send(&format!("http://{address}/fail"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, Some(500));
        assert_eq!(attempted.error, None);
        assert!(!attempted.succeeded());
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let (address, log) = spawn_endpoint().await;
        let attempted = local_sender().send(&format!("http://{address}/redirect"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, Some(302));
        assert!(!attempted.succeeded());
        assert_eq!(received(&log).len(), 1, "only the first request reached the endpoint");
    }

    #[tokio::test]
    async fn an_endpoint_slower_than_the_timeout_is_a_timeout() {
        let (address, _) = spawn_endpoint().await;
        let sender = Sender::with_timeout(UrlPolicy::AllowLoopbackHttp, Duration::from_millis(300)).expect("sender");
        let attempted = sender.send(&format!("http://{address}/slow"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, None);
        assert_eq!(attempted.error.as_deref(), Some("timed out after 300 ms"));
        assert!(attempted.duration_ms >= 300 && attempted.duration_ms < 3000, "{}", attempted.duration_ms);
    }

    #[tokio::test]
    async fn on_aws_an_address_on_this_machine_is_refused_before_any_request() {
        let (address, log) = spawn_endpoint().await;
        let sender = Sender::new(UrlPolicy::PublicOnly).expect("sender");
        let over_http = sender.send(&format!("http://{address}/ok"), &delivery_headers(), BODY).await;
        assert_eq!(over_http.error.as_deref(), Some("refused: url must use https"));
        let over_https = sender.send(&format!("https://{address}/ok"), &delivery_headers(), BODY).await;
        assert_eq!(over_https.status, None);
        assert_eq!(
            over_https.error.as_deref(),
            Some("refused: url must not point inside a private network (127.0.0.1 is a private address)")
        );
        assert!(received(&log).is_empty());
    }

    #[tokio::test]
    async fn on_aws_a_name_resolving_to_this_machine_is_refused_at_connection() {
        // `post` skips the URL check, as if the name had been public when it was checked.
        let (address, log) = spawn_endpoint().await;
        let sender = Sender::new(UrlPolicy::PublicOnly).expect("sender");
        let url = url::Url::parse(&format!("http://localhost:{}/ok", address.port())).expect("url");
        let error = sender.post(url, &delivery_headers(), BODY).await.expect_err("refused");
        assert!(
            error.starts_with("refused: url must not point inside a private network (localhost resolves to"),
            "{error}"
        );
        assert!(received(&log).is_empty());
    }

    #[tokio::test]
    async fn a_closed_port_could_not_be_connected_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local address");
        drop(listener);
        let attempted = local_sender().send(&format!("http://{address}/"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, None);
        assert_eq!(attempted.error.as_deref(), Some("could not connect"));
    }

    #[tokio::test]
    async fn https_to_a_plain_http_endpoint_is_a_failed_handshake() {
        let (address, _) = spawn_endpoint().await;
        let attempted = local_sender().send(&format!("https://{address}/ok"), &delivery_headers(), BODY).await;
        assert_eq!(attempted.status, None);
        assert_eq!(attempted.error.as_deref(), Some("TLS handshake failed"));
    }
}
