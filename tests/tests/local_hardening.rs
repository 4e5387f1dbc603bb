//! The local server over raw TCP, as a fuzzer or a slow client meets it (issue 14): a head
//! too large, a URI too long or bytes that are not HTTP get a problem+json answer, and a
//! client that sends too slowly is disconnected within the client timeout.

use std::time::{Duration, Instant};

use serde_json::Value;
use steller_local::{DEFAULT_ANALYTICS_INTERVAL, Engine, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The client timeout the server runs with here: short, so a stall is seen quickly.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a stalled client may stay connected before the test calls it a failure.
const CLOSED_WITHIN: Duration = Duration::from_secs(5);

struct Server {
    address: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("an address");
        let options = Options {
            engine: Engine::Embedded(None),
            table_prefix: "steller-local".into(),
            ops_key: None,
            analytics_interval: DEFAULT_ANALYTICS_INTERVAL,
            webhook_retry_scale: 1.0,
            client_timeout: CLIENT_TIMEOUT,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, is_ready) = oneshot::channel::<()>();
        let task = tokio::spawn(steller_local::serve(
            options,
            listener,
            move |_| {
                let _ = ready.send(());
            },
            async move {
                let _ = stopped.await;
            },
        ));
        is_ready.await.expect("the server gets ready");
        Server { address, stop, task }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.address).await.expect("the server accepts")
    }

    /// Sends `request` on a new connection and reads until the server closes it.
    async fn exchange(&self, request: &[u8]) -> Answer {
        let mut stream = self.connect().await;
        stream.write_all(request).await.expect("the request is sent");
        let mut read = Vec::new();
        tokio::time::timeout(CLOSED_WITHIN, stream.read_to_end(&mut read))
            .await
            .expect("the server answers and closes the connection")
            .expect("the answer reads");
        Answer::parse(&read)
    }

    async fn stop(self) {
        self.stop.send(()).expect("the server is still running");
        self.task.await.expect("the server task ends").expect("the server stops cleanly");
    }
}

/// An HTTP/1.1 response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn parse(read: &[u8]) -> Self {
        let text = String::from_utf8_lossy(read);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("a whole response: {text:?}"));
        let mut lines = head.lines();
        let status = lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok());
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        Answer { status: status.unwrap_or_else(|| panic!("a status line: {head:?}")), headers, body }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(given, _)| given == name).map(|(_, value)| value.as_str())
    }

    /// Asserts the problem+json every Steller error is, with this status and code.
    #[track_caller]
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert_eq!(self.body["type"], format!("urn:steller:problem:{code}"), "{self:?}");
        assert_eq!(self.body["status"], status, "{self:?}");
        assert!(self.body["title"].as_str().is_some_and(|title| !title.is_empty()), "{self:?}");
        assert!(self.body["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{self:?}");
        let request_id = self.body["request_id"].as_str().expect("a request id");
        assert!(request_id.starts_with("req_"), "{self:?}");
        assert_eq!(self.header("x-request-id"), Some(request_id), "the body's id is the header's");
    }
}

/// A GET of `path` with `extra` header lines, asking the server to close the connection after it.
fn get(path: &str, extra: &[u8]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n").into_bytes();
    request.extend_from_slice(extra);
    request.extend_from_slice(b"\r\n");
    request
}

/// Waits for the server to close `stream`, asserting it does so within `CLOSED_WITHIN`,
/// and answers how long that took since `started` (taken before connecting, so never
/// after the server's own clock started) and what it sent first.
async fn time_until_closed(mut stream: TcpStream, started: Instant) -> (Duration, Vec<u8>) {
    let mut read = Vec::new();
    let closed = tokio::time::timeout(CLOSED_WITHIN, stream.read_to_end(&mut read)).await;
    assert!(closed.is_ok(), "the stalled client is still connected after {CLOSED_WITHIN:?}");
    (started.elapsed(), read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_formed_request_still_reaches_the_api() {
    let server = Server::start().await;

    let answer = server.exchange(&get("/api/public/nowhere", b"")).await;

    answer.assert_problem(404, "not_found");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_80_kib_header_is_431_problem_json() {
    let server = Server::start().await;
    let header = format!("x-padding: {}\r\n", "a".repeat(80 * 1024));

    let answer = server.exchange(&get("/api/products", header.as_bytes())).await;

    answer.assert_problem(431, "header_too_large");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_kib_uri_is_414_problem_json() {
    let server = Server::start().await;
    let path = format!("/api/products?padding={}", "a".repeat(20 * 1024));

    let answer = server.exchange(&get(&path, b"")).await;

    answer.assert_problem(414, "uri_too_long");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_byte_in_a_header_value_or_a_name_that_is_no_token_is_400_problem_json() {
    let server = Server::start().await;

    let control_byte = server.exchange(&get("/api/products", b"x-note: a\x01b\r\n")).await;
    let not_a_token = server.exchange(&get("/api/products", b"x note(1): a\r\n")).await;

    control_byte.assert_problem(400, "malformed_request");
    not_a_token.assert_problem(400, "malformed_request");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_in_its_request_line_is_disconnected_within_the_timeout() {
    let server = Server::start().await;
    let started = Instant::now();
    let mut stream = server.connect().await;
    stream.write_all(b"GET /api/prod").await.expect("half a request line is sent");

    let (waited, read) = time_until_closed(stream, started).await;

    assert!(waited >= CLIENT_TIMEOUT - Duration::from_millis(200), "closed after {waited:?}, before the timeout");
    assert!(read.is_empty(), "nothing is answered to half a request: {:?}", String::from_utf8_lossy(&read));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_carries_one_request_so_every_head_is_checked_before_hyper() {
    let server = Server::start().await;
    let mut stream = server.connect().await;
    // A keep-alive request, then a second head over the limit on the same connection: it
    // must never reach hyper, whose answer would be a bare 431.
    let mut pipelined = b"GET /api/public/nowhere HTTP/1.1\r\nhost: localhost\r\n\r\n".to_vec();
    pipelined.extend(get("/api/products", format!("x-padding: {}\r\n", "a".repeat(80 * 1024)).as_bytes()));
    stream.write_all(&pipelined).await.expect("sent");

    let (_, read) = time_until_closed(stream, Instant::now()).await;

    let answer = Answer::parse(&read);
    answer.assert_problem(404, "not_found");
    assert_eq!(answer.header("connection"), Some("close"), "the first answer closes the connection");
    let text = String::from_utf8_lossy(&read);
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "one answer per connection: {text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_in_its_body_is_disconnected_within_the_timeout() {
    let server = Server::start().await;
    let mut stream = server.connect().await;
    let head = "POST /api/public/signup HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"company_name\": ";
    stream.write_all(head.as_bytes()).await.expect("the head and part of the body are sent");

    let (_, read) = time_until_closed(stream, Instant::now()).await;

    Answer::parse(&read).assert_problem(400, "malformed_request");
    server.stop().await;
}
