//! The local server's connections: hyper's HTTP/1 server with limits on what a client may
//! send and how slowly, and Steller's problem+json (not a bare status) for a request head
//! too large or malformed to reach the router.
//!
//! Why a little is hand-written: hyper answers a head it cannot parse itself, with a
//! status and an empty body (431, 414, 400), and offers no hook to change that answer.
//! So the request head of each connection is read here, checked with `httparse` (the
//! parser hyper uses), and either refused with a problem written as a few lines of
//! HTTP/1.1, or handed to hyper together with the rest of the stream. Each connection
//! carries one request (hyper answers with `Connection: close`), so every head a client
//! sends is checked here and no client ever gets hyper's bare status: a new loopback
//! connection per request costs the local server a little throughput (`make bench`'s
//! local-server figures), which API Gateway's contract is worth.
//!
//! Slow clients: the first head must arrive within the client timeout of the connection
//! opening, every later one within the timeout of hyper starting to wait for it (hyper's
//! `header_read_timeout`), and each request body within the timeout of its head
//! (`body_deadline`); a client that is late is disconnected.

use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use steller::http::{PROBLEM_JSON, Problem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Sleep;

/// How long a client may take to send a request's head, and then its body (`--client-timeout`).
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest request line (method, URI, version): longer is 414 `uri_too_long`.
const REQUEST_LINE_LIMIT: usize = 8 * 1024;
/// The largest request head, request line and headers together: larger is 431.
const HEAD_LIMIT: usize = 64 * 1024;
/// The most headers one request may have: more is 431 too.
const HEADER_COUNT_LIMIT: usize = 100;
/// How long a refused connection is read from (and what is read dropped) before it is
/// closed: closing with unread bytes resets the connection, which can destroy the answer
/// before the client reads it.
const LINGER: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` resolves, then lets every open connection
/// finish the request it is in and waits for them.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    client_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, app.clone(), client_timeout, stopping.clone()));
                }
                // Out of file descriptors, say: pausing lets open connections finish.
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop.send(());
    while connections.join_next().await.is_some() {}
}

async fn connection(mut stream: TcpStream, app: Router, client_timeout: Duration, mut stopping: watch::Receiver<()>) {
    let head = tokio::select! {
        head = tokio::time::timeout(client_timeout, first_head(&mut stream)) => head,
        _ = stopping.changed() => return,
    };
    let head = match head {
        Ok(Ok(Some(head))) => head,
        Ok(Err(refusal)) => return refuse(stream, refusal).await,
        // Closed before a whole head, unreadable, or too slow: nothing to answer.
        Ok(Ok(None)) | Err(_) => return,
    };
    let (read, write) = stream.into_split();
    let io = TokioIo::new(tokio::io::join(Cursor::new(head).chain(read), write));
    let mut http = hyper::server::conn::http1::Builder::new();
    // One request per connection: the next head comes on a new connection, through
    // `first_head`'s checks (above).
    http.timer(TokioTimer::new()).header_read_timeout(client_timeout).max_buf_size(HEAD_LIMIT).keep_alive(false);
    let served = http.serve_connection(io, TowerToHyperService::new(app));
    tokio::pin!(served);
    let result = tokio::select! {
        result = served.as_mut() => result,
        _ = stopping.changed() => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "a connection ended with an error");
    }
}

/// Why a request head is refused before it reaches the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    UriTooLong,
    HeadTooLarge,
    Malformed(httparse::Error),
}

/// The first request head and whatever followed it, as read; `None` when the client
/// closed (or the read failed) before sending a whole one.
async fn first_head(stream: &mut TcpStream) -> Result<Option<Vec<u8>>, Refusal> {
    let mut read = Vec::with_capacity(4096);
    loop {
        match stream.read_buf(&mut read).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
        if check_head(&read)? {
            return Ok(Some(read));
        }
    }
}

/// Whether `read` starts with a whole request head within the limits (`false`: not yet
/// whole, read on), or why it is refused.
fn check_head(read: &[u8]) -> Result<bool, Refusal> {
    let request_line = read.iter().position(|&byte| byte == b'\n').unwrap_or(read.len());
    if request_line > REQUEST_LINE_LIMIT {
        return Err(Refusal::UriTooLong);
    }
    let mut headers = [httparse::EMPTY_HEADER; HEADER_COUNT_LIMIT];
    match httparse::Request::new(&mut headers).parse(read) {
        Ok(httparse::Status::Complete(length)) if length <= HEAD_LIMIT => Ok(true),
        Ok(httparse::Status::Complete(_)) | Err(httparse::Error::TooManyHeaders) => Err(Refusal::HeadTooLarge),
        Ok(httparse::Status::Partial) if read.len() >= HEAD_LIMIT => Err(Refusal::HeadTooLarge),
        Ok(httparse::Status::Partial) => Ok(false),
        Err(error) => Err(Refusal::Malformed(error)),
    }
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::UriTooLong => StatusCode::URI_TOO_LONG,
            Refusal::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Refusal::UriTooLong => "uri_too_long",
            Refusal::HeadTooLarge => "header_too_large",
            Refusal::Malformed(_) => "malformed_request",
        }
    }

    fn detail(self) -> String {
        match self {
            Refusal::UriTooLong => format!("the request line is longer than {} KiB", REQUEST_LINE_LIMIT / 1024),
            Refusal::HeadTooLarge => format!(
                "the request's headers are larger than {} KiB or more than {HEADER_COUNT_LIMIT}",
                HEAD_LIMIT / 1024
            ),
            Refusal::Malformed(error) => format!("the request head is not valid HTTP/1.1: {error}"),
        }
    }

    /// The whole HTTP/1.1 response: the problem+json `ApiError` would write, with an
    /// `X-Request-Id` of its own (no request span exists yet), closing the connection.
    fn response(self) -> Vec<u8> {
        let status = self.status();
        let request_id = format!("req_{}", ulid::Ulid::new());
        tracing::info!(code = self.code(), status = status.as_u16(), request_id, "request head refused");
        let problem = Problem {
            kind: format!("urn:steller:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code(),
            request_id: request_id.clone(),
            errors: None,
        };
        // Strings and a number: serialising cannot fail.
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        response
    }
}

async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    if stream.write_all(&refusal.response()).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut unread = [0; 8192];
    let drain = async { while matches!(stream.read(&mut unread).await, Ok(read) if read > 0) {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Middleware giving each request body `limit` from its head to its end: a body still
/// arriving after that fails to read (400 `malformed_request` from the JSON extractor)
/// and the connection is dropped with it.
pub(crate) async fn body_deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let request =
        request.map(|body| Body::new(DeadlineBody { body, deadline: Box::pin(tokio::time::sleep(limit)), limit }));
    next.run(request).await
}

struct DeadlineBody {
    body: Body,
    deadline: Pin<Box<Sleep>>,
    limit: Duration,
}

/// The request body did not arrive within the client timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
struct SlowBody(Duration);

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // What has arrived is taken first, so a body that came in time is never refused.
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(context) {
            return Poll::Ready(frame);
        }
        let limit = self.limit;
        self.deadline.as_mut().poll(context).map(|()| Some(Err(axum::Error::new(SlowBody(limit)))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_head_within_the_limits_is_passed_on_and_a_partial_one_is_read_on() {
        assert_eq!(check_head(b"GET /api/orders HTTP/1.1\r\nhost: x\r\n\r\n{\"a\":1}"), Ok(true));
        assert_eq!(check_head(b"GET /api/orders HTTP/1.1\r\nhost: x\r\n"), Ok(false));
        assert_eq!(check_head(b"GET /api/ord"), Ok(false));
    }

    #[test]
    fn a_long_request_line_is_414_and_a_large_head_431() {
        let long_uri = format!("GET /{} HTTP/1.1\r\n", "a".repeat(REQUEST_LINE_LIMIT));
        assert_eq!(check_head(long_uri.as_bytes()), Err(Refusal::UriTooLong));
        let large = format!("GET / HTTP/1.1\r\nx-big: {}\r\n", "a".repeat(HEAD_LIMIT));
        assert_eq!(check_head(large.as_bytes()), Err(Refusal::HeadTooLarge));
        let many: String = (0..=HEADER_COUNT_LIMIT).map(|n| format!("x-{n}: 1\r\n")).collect();
        assert_eq!(check_head(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()), Err(Refusal::HeadTooLarge));
    }

    #[test]
    fn a_control_byte_in_a_value_or_a_non_token_name_is_400() {
        let control = check_head(b"GET / HTTP/1.1\r\nx-a: b\x01c\r\n\r\n");
        assert!(matches!(control, Err(Refusal::Malformed(_))), "{control:?}");
        let name = check_head(b"GET / HTTP/1.1\r\nx a(b): c\r\n\r\n");
        assert!(matches!(name, Err(Refusal::Malformed(_))), "{name:?}");
    }

    #[test]
    fn a_refusal_is_a_problem_with_its_status_code_and_request_id() {
        let response = String::from_utf8(Refusal::HeadTooLarge.response()).expect("text");
        let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("content-type: application/problem+json\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())), "{head}");
        let problem: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(problem["code"], "header_too_large");
        assert_eq!(problem["type"], "urn:steller:problem:header_too_large");
        assert_eq!(problem["status"], 431);
        let id = problem["request_id"].as_str().expect("an id");
        assert!(head.contains(&format!("x-request-id: {id}\r\n")), "{head}");
    }
}
