//! Cold starts of every function binary of template.yaml and of the hello baseline,
//! measured in turns (one of each, then again) so a busy moment of the machine falls on
//! all of them alike.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use steller::config::{DEFAULT_OPS_EMAIL, DEFAULT_SENDER_EMAIL};

use crate::runtime_api::{ColdStart, cold_start};
use crate::stats::median;

/// A queue URL on the discard port, where nothing listens.
const UNANSWERED_QUEUE: &str = "http://127.0.0.1:9/000000000000/bench-request-log";
/// The same, for the webhook delivery queue.
const UNANSWERED_WEBHOOK_QUEUE: &str = "http://127.0.0.1:9/000000000000/bench-webhook-deliveries";

/// The baseline's binary name.
pub const HELLO: &str = "hello";

/// One binary's measurements.
#[derive(Debug, Clone)]
pub struct Subject {
    pub binary: String,
    environment: Vec<(String, String)>,
    event: Option<Value>,
    pub runs: Vec<ColdStart>,
}

impl Subject {
    pub fn median_init(&self) -> Option<Duration> {
        median(&self.runs.iter().map(|run| run.init).collect::<Vec<_>>())
    }

    pub fn median_first_response(&self) -> Option<Duration> {
        median(&self.runs.iter().filter_map(|run| run.first_response).collect::<Vec<_>>())
    }

    pub fn errors(&self) -> usize {
        self.runs.iter().filter(|run| run.errored).count()
    }
}

/// The hello baseline first, then every function of template.yaml, each with the
/// environment the template gives it (tables named `bench-*`, no request-log queue, so
/// the first answer makes no AWS call that could wait on the emulator) and AWS calls sent
/// to `endpoint`.
pub fn subjects(endpoint: &str) -> anyhow::Result<Vec<Subject>> {
    let aws = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL", endpoint),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()));
    let resources = BTreeMap::from([
        ("DomainTable", "bench-domain"),
        ("RequestLogTable", "bench-request-log"),
        ("RequestLogQueue", ""),
        ("SandboxCredit", "1000.00"),
        ("SenderEmail", DEFAULT_SENDER_EMAIL),
        ("OpsEmail", DEFAULT_OPS_EMAIL),
    ]);
    let mut subjects =
        vec![Subject { binary: HELLO.to_owned(), environment: aws.to_vec(), event: Some(json!({})), runs: Vec::new() }];
    let mut functions = steller::schema::functions().context("reading template.yaml")?;
    functions.sort_by(|a, b| a.binary.cmp(&b.binary));
    for function in functions {
        let mut environment = aws.to_vec();
        // analytics drains the queue, so it refuses to start without one; it is given one
        // that nothing answers (it makes no call before its first event). The HTTP
        // functions get none, so the unrouted request sends no request-log message.
        let queue = if function.http_routes.is_empty() { UNANSWERED_QUEUE } else { "" };
        environment.extend(
            function
                .environment_with(|id| match id {
                    "RequestLogQueue" => Some(queue.to_owned()),
                    // The webhook dispatcher refuses to start without its queue; like
                    // analytics it makes no call before its first event.
                    "WebhookDeliveryQueue" => Some(UNANSWERED_WEBHOOK_QUEUE.to_owned()),
                    id => resources.get(id).map(|value| (*value).to_owned()),
                })
                .map_err(anyhow::Error::msg)?,
        );
        // An HTTP function gets a request for a path it does not route: the answer goes
        // through the whole HTTP stack (edge, problem+json, request id) and no store. A
        // function without routes (analytics, on a schedule) gets no event: its work is
        // AWS calls, which would time the emulator, so only its init is measured.
        let event = (!function.http_routes.is_empty()).then(unrouted_request);
        subjects.push(Subject { binary: function.binary, environment, event, runs: Vec::new() });
    }
    Ok(subjects)
}

/// Runs every subject `repetitions` times, in turns, from the binaries in `bin_dir`.
pub async fn measure(subjects: &mut [Subject], bin_dir: &Path, repetitions: usize) -> anyhow::Result<()> {
    for _ in 0..repetitions {
        for subject in subjects.iter_mut() {
            let binary = bin_dir.join(&subject.binary);
            let run = cold_start(&binary, &subject.environment, subject.event.clone()).await?;
            subject.runs.push(run);
        }
    }
    Ok(())
}

/// An API Gateway HTTP API (payload 2.0) event for `GET /api/bench-cold-start`.
fn unrouted_request() -> Value {
    let path = "/api/bench-cold-start";
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com", "user-agent": "steller-bench"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "steller-bench"},
            "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1795946400000u64
        },
        "isBase64Encoded": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every function of the template gets an environment the bench can resolve: a new
    /// function referring to a resource the bench does not know fails here, not in
    /// `make bench`.
    #[test]
    fn every_template_function_is_a_subject_beside_the_baseline() {
        let subjects = subjects("http://127.0.0.1:9").expect("every reference resolves");
        let functions = steller::schema::functions().expect("template.yaml's functions");
        assert_eq!(subjects.len(), functions.len() + 1);
        assert_eq!(subjects[0].binary, HELLO);
        for function in functions {
            assert!(subjects.iter().any(|subject| subject.binary == function.binary), "{}", function.binary);
        }
    }
}
