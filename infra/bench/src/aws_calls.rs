//! AWS calls per API operation: the release function binaries run under the Runtime
//! API against the emulator through the recording proxy, and each operation's calls are
//! counted by action, split into those made before the answer was posted (the caller
//! waited for them) and those made after it (background work such as the request log).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use steller::config::{DEFAULT_OPS_EMAIL, DEFAULT_SENDER_EMAIL};
use steller::domain::{ApiKey, KeyRole, Mode, NewKey, Principal, Timestamp};

use crate::recorder::{Call, Recorder};
use crate::runtime_api::Lambda;

/// How long after an answer background calls are still counted as the operation's.
const SETTLE: Duration = Duration::from_millis(300);

/// One operation's calls by action.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OperationCalls {
    pub operation: String,
    /// Status code of the function's answer, to show the operation did what it says.
    pub status: u16,
    /// Calls made before the answer was posted, by action.
    pub awaited: BTreeMap<String, usize>,
    /// Calls made after it, by action.
    pub background: BTreeMap<String, usize>,
}

impl OperationCalls {
    pub fn awaited_total(&self) -> usize {
        self.awaited.values().sum()
    }

    pub fn background_total(&self) -> usize {
        self.background.values().sum()
    }
}

/// Sorts `calls` into those made before `answered` and those after, by action.
pub fn split_calls(operation: &str, status: u16, calls: &[Call], answered: Instant) -> OperationCalls {
    let mut counted = OperationCalls { operation: operation.to_owned(), status, ..OperationCalls::default() };
    for call in calls {
        let side = if call.at <= answered { &mut counted.awaited } else { &mut counted.background };
        *side.entry(call.action.clone()).or_default() += 1;
    }
    counted
}

/// The table of operations: totals and each action with its count.
pub fn calls_table(operations: &[OperationCalls]) -> String {
    let mut table = format!("{:<28} {:>6} {:>7} {:>10}  {}\n", "operation", "status", "awaited", "background", "calls");
    for operation in operations {
        let listed = |calls: &BTreeMap<String, usize>| {
            calls.iter().map(|(action, count)| format!("{action}×{count}")).collect::<Vec<_>>().join(" ")
        };
        let mut detail = listed(&operation.awaited);
        if !operation.background.is_empty() {
            detail.push_str(&format!(" | after the answer: {}", listed(&operation.background)));
        }
        table.push_str(&format!(
            "{:<28} {:>6} {:>7} {:>10}  {}\n",
            operation.operation,
            operation.status,
            operation.awaited_total(),
            operation.background_total(),
            detail.trim()
        ));
    }
    table
}

/// Everything the operations need on the emulator at `emulator`, made directly (not
/// through the proxy, so it is not counted): fresh tables and queue, the catalog, a
/// verified sender.
struct Deployment {
    store: steller::Store,
    environment: BTreeMap<&'static str, String>,
    product_id: String,
}

async fn deploy(emulator: &str) -> anyhow::Result<Deployment> {
    let sdk = steller::aws::for_endpoint(emulator).await;
    let dynamodb = steller::aws::dynamodb(&sdk);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let names = steller::schema::TableNames::new(format!("bench-{stamp}"));
    steller::schema::bootstrap(&dynamodb, &names).await.context("creating the tables")?;
    let queues =
        steller::schema::bootstrap_queues(&steller::aws::sqs(&sdk), &names).await.context("creating the queues")?;
    let queue = queues.request_log_url().context("template.yaml has a request-log queue")?.to_owned();
    let ses = steller::aws::ses(&sdk);
    for sender in [DEFAULT_SENDER_EMAIL, DEFAULT_OPS_EMAIL] {
        steller::email::verify_sender(&ses, sender).await.context("verifying the sender")?;
    }
    let store = steller::Store::new(dynamodb, names.domain());
    steller::seed::seed_products(&store).await.context("seeding the catalog")?;
    let product_id = steller::seed::products()?
        .into_iter()
        .find(|product| product.active)
        .context("the seed has an active product")?
        .id
        .to_string();
    let environment = BTreeMap::from([
        ("DomainTable", names.domain()),
        ("RequestLogTable", names.request_log()),
        ("RequestLogQueue", queue),
        ("SandboxCredit", "1000.00".to_owned()),
        ("SenderEmail", DEFAULT_SENDER_EMAIL.to_owned()),
        ("OpsEmail", DEFAULT_OPS_EMAIL.to_owned()),
    ]);
    Ok(Deployment { store, environment, product_id })
}

/// The functions under test, each a running release binary whose AWS calls go to the
/// proxy.
struct Functions {
    recorder: Recorder,
    running: BTreeMap<&'static str, Lambda>,
    counted: Vec<OperationCalls>,
}

impl Functions {
    async fn start(bin_dir: &Path, deployment: &Deployment, recorder: Recorder) -> anyhow::Result<Self> {
        let mut running = BTreeMap::new();
        for binary in ["signup", "wallet", "orders", "top-ups", "admin", "usage"] {
            let function = steller::schema::function_running(binary)?;
            let mut environment = vec![
                ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
                ("AWS_ACCESS_KEY_ID".to_owned(), "bench".to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "bench".to_owned()),
                ("AWS_ENDPOINT_URL".to_owned(), recorder.endpoint.clone()),
            ];
            environment.extend(
                function.environment_with(|id| deployment.environment.get(id).cloned()).map_err(anyhow::Error::msg)?,
            );
            running.insert(binary, Lambda::start(&bin_dir.join(binary), &environment).await?);
        }
        Ok(Functions { recorder, running, counted: Vec::new() })
    }

    /// Sends one request to `binary` and returns its status and JSON body; when
    /// `operation` is given, its AWS calls are counted under that name.
    async fn call(
        &mut self,
        operation: Option<&str>,
        binary: &str,
        request: Request<'_>,
    ) -> anyhow::Result<(u16, Value)> {
        let lambda = self.running.get_mut(binary).with_context(|| format!("{binary} is not running"))?;
        self.recorder.take();
        let answer =
            lambda.invoke(request.event()).await.with_context(|| format!("{} {}", request.method, request.path))?;
        if answer.errored {
            bail!("{binary} reported an error for {} {}: {}", request.method, request.path, answer.body);
        }
        let status = answer.body["statusCode"].as_u64().and_then(|status| u16::try_from(status).ok()).unwrap_or(0);
        let body = answer.body["body"].as_str().and_then(|body| serde_json::from_str(body).ok()).unwrap_or(Value::Null);
        // Every call settles, counted or not: the work a setup call leaves after its
        // answer (a live top-up request's emails) must not land in the next operation's count.
        tokio::time::sleep(SETTLE).await;
        let calls = self.recorder.take();
        if let Some(operation) = operation {
            self.counted.push(split_calls(operation, status, &calls, answer.at));
        }
        Ok((status, body))
    }
}

/// One API Gateway request.
struct Request<'a> {
    method: &'a str,
    path: String,
    key: Option<&'a str>,
    idempotency_key: Option<&'a str>,
    body: Option<Value>,
}

impl<'a> Request<'a> {
    fn get(path: impl Into<String>, key: &'a str) -> Self {
        Request { method: "GET", path: path.into(), key: Some(key), idempotency_key: None, body: None }
    }

    fn post(path: impl Into<String>, key: Option<&'a str>, body: Option<Value>) -> Self {
        Request { method: "POST", path: path.into(), key, idempotency_key: None, body }
    }

    fn idempotent(mut self, idempotency_key: &'a str) -> Self {
        self.idempotency_key = Some(idempotency_key);
        self
    }

    /// An API Gateway HTTP API (payload 2.0) event.
    fn event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((self.path.as_str(), ""));
        let mut headers = json!({"host": "api.example.com", "user-agent": "steller-bench"});
        if let Some(key) = self.key {
            headers["authorization"] = json!(format!("Bearer {key}"));
        }
        if let Some(idempotency_key) = self.idempotency_key {
            headers["idempotency-key"] = json!(idempotency_key);
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
                "http": {"method": self.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "steller-bench"},
                "requestId": "bench", "routeKey": "$default", "stage": "$default",
                "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1795946400000u64
            },
            "isBase64Encoded": false
        });
        if let Some(body) = &self.body {
            event["headers"]["content-type"] = json!("application/json");
            event["body"] = json!(body.to_string());
        }
        event
    }
}

fn text(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field].as_str().map(str::to_owned).with_context(|| format!("no {field} in {body}"))
}

/// Runs each operation once on fresh data and counts its AWS calls.
pub async fn measure(bin_dir: &Path, emulator: &str) -> anyhow::Result<Vec<OperationCalls>> {
    let deployment = deploy(emulator).await?;
    let recorder = Recorder::start(emulator).await?;
    let mut functions = Functions::start(bin_dir, &deployment, recorder).await?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();

    let signup = json!({"company_name": "Bench Ltd", "email": format!("bench-{stamp}@example.com")});
    let (_, body) =
        functions.call(Some("signup"), "signup", Request::post("/api/public/signup", None, Some(signup))).await?;
    let key = text(&body, "api_key")?;
    let key = key.as_str();

    functions.call(Some("wallet read"), "wallet", Request::get("/api/wallet", key)).await?;
    let order = json!({"product_id": deployment.product_id, "quantity": 1});
    functions.call(Some("order"), "orders", Request::post("/api/orders", Some(key), Some(order.clone()))).await?;
    let idempotency_key = format!("bench-{stamp}");
    let (_, placed) = functions
        .call(
            Some("order with Idempotency-Key"),
            "orders",
            Request::post("/api/orders", Some(key), Some(order.clone())).idempotent(&idempotency_key),
        )
        .await?;
    functions
        .call(
            Some("order replay"),
            "orders",
            Request::post("/api/orders", Some(key), Some(order)).idempotent(&idempotency_key),
        )
        .await?;
    let order_id = text(&placed, "id")?;
    functions
        .call(Some("cancel"), "orders", Request::post(format!("/api/orders/{order_id}/cancel"), Some(key), None))
        .await?;
    let top_up = json!({"amount": "10.00", "currency": "USD"});
    functions
        .call(
            Some("sandbox top-up"),
            "top-ups",
            Request::post("/api/wallet/top-up-requests", Some(key), Some(top_up.clone())),
        )
        .await?;

    // Approval needs a pending live request and an ops key: made as the portal and
    // `steller-ops` make them, and the request through the API, none of it counted.
    let live_key = live_key_for(&deployment.store, key).await?;
    let (_, pending) = functions
        .call(None, "top-ups", Request::post("/api/wallet/top-up-requests", Some(&live_key), Some(top_up)))
        .await?;
    let ops_key = ApiKey::generate(KeyRole::Ops);
    deployment.store.register_ops_key(&ops_key, "bench").await.context("registering an ops key")?;
    let request_id = text(&pending, "id")?;
    functions
        .call(
            Some("approve"),
            "admin",
            Request::post(format!("/api/admin/top-up-requests/{request_id}/approve"), Some(ops_key.expose()), None),
        )
        .await?;
    // One UTC day: the usage of a longer range may take a query per day.
    let today = time::OffsetDateTime::now_utc().date();
    functions.call(Some("usage"), "usage", Request::get(format!("/api/usage?from={today}&to={today}"), key)).await?;
    Ok(functions.counted)
}

/// A live key for the partner of `key`: its email verified, then the key stored, as the
/// portal does for a signed-in owner.
async fn live_key_for(store: &steller::Store, key: &str) -> anyhow::Result<String> {
    let key = ApiKey::parse(key).context("the signup key is well formed")?;
    let Some(Principal::Partner { partner_id, .. }) = store.principal(&key).await? else {
        bail!("the signup key belongs to no partner");
    };
    store.verify_email(&partner_id, Timestamp::now()).await?;
    let live = NewKey::generate(Mode::Live, None);
    store.create_key(&partner_id, &live).await?;
    Ok(live.key.expose().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_after_the_answer_are_counted_apart_from_those_the_caller_waited_for() {
        let start = Instant::now();
        let call =
            |action: &str, after: u64| Call { action: action.to_owned(), at: start + Duration::from_millis(after) };
        let calls = [call("DynamoDB.GetItem", 1), call("DynamoDB.GetItem", 2), call("SQS.SendMessage", 9)];
        let counted = split_calls("wallet read", 200, &calls, start + Duration::from_millis(5));
        assert_eq!(counted.awaited, BTreeMap::from([("DynamoDB.GetItem".to_owned(), 2)]));
        assert_eq!(counted.background, BTreeMap::from([("SQS.SendMessage".to_owned(), 1)]));
        assert_eq!((counted.awaited_total(), counted.background_total()), (2, 1));
    }

    #[test]
    fn the_table_lists_each_action_with_its_count() {
        let counted = OperationCalls {
            operation: "order".to_owned(),
            status: 201,
            awaited: BTreeMap::from([
                ("DynamoDB.GetItem".to_owned(), 2),
                ("DynamoDB.TransactWriteItems".to_owned(), 1),
            ]),
            background: BTreeMap::from([("SQS.SendMessage".to_owned(), 1)]),
        };
        let table = calls_table(&[counted]);
        let line = table.lines().nth(1).unwrap_or_default();
        assert!(line.starts_with("order") && line.contains(" 201 ") && line.contains(" 3 "), "{table}");
        assert!(
            line.contains("DynamoDB.GetItem×2 DynamoDB.TransactWriteItems×1 | after the answer: SQS.SendMessage×1")
        );
    }
}
