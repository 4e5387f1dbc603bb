//! What a caller waits for: a function binary under the Runtime API emulator, every AWS
//! call it makes going through a counting proxy, so a test can list the calls made
//! between an invocation's event being handed out and its answer being posted. Calls
//! made after the answer (the request-log record, emails) are not awaited and not
//! counted.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::TestDatabase;
use super::lambda::{LambdaProcess, Outcome};
use super::throttling::{Throttle, ThrottlingProxy};

/// A function binary whose every AWS call (DynamoDB, and SQS and SES too) goes through
/// a proxy that records it.
pub struct CountedFunction {
    pub db: TestDatabase,
    pub proxy: ThrottlingProxy,
    pub lambda: LambdaProcess,
}

/// One invocation: the function's answer, and the AWS calls the caller waited for.
#[derive(Debug)]
pub struct Counted {
    pub response: Value,
    pub awaited: Vec<String>,
}

impl CountedFunction {
    /// Starts the binary at `path` on a fresh embedded database behind a proxy, with the
    /// environment template.yaml gives it; its request-log queue is a queue URL on the
    /// proxy, so the record it sends is seen (and counted if it is awaited).
    pub async fn start(path: &str) -> Self {
        Self::start_with(path, &[], Vec::new()).await
    }

    /// As `start`, the proxy holding or refusing the operations of `rules`
    /// (`ThrottlingProxy::start`), and the binary given `extra` variables besides its own
    /// (such as `AWS_LAMBDA_MAX_CONCURRENCY`).
    pub async fn start_with(path: &str, rules: &[(&'static str, Throttle)], extra: Vec<(String, String)>) -> Self {
        let db = TestDatabase::embedded().await;
        let proxy = ThrottlingProxy::start(&db.endpoint, rules).await;
        let config = db.config();
        let resources = HashMap::from([
            ("DomainTable", config.table.clone()),
            ("RequestLogTable", config.request_log_table.unwrap_or_default()),
            ("RequestLogQueue", format!("{}/000000000000/request-log", proxy.endpoint())),
        ]);
        let lambda = LambdaProcess::deployed_with(path, proxy.endpoint(), &resources, extra).await;
        CountedFunction { db, proxy, lambda }
    }

    /// A new active product priced `unit_price` in the catalog, for orders to buy.
    pub async fn product(&self, unit_price: &str) -> crate::domain::ProductId {
        let product = crate::domain::Product {
            id: crate::domain::ProductId::generate(),
            name: "Test product".into(),
            description: "made by a test".into(),
            unit_price: crate::domain::Money::parse(unit_price).expect("a valid price"),
            active: true,
        };
        self.db.store.upsert_product(&product).await.expect("the product is stored");
        product.id
    }

    /// The partner whose sandbox or live key `key` is.
    pub async fn partner_of(&self, key: &str) -> crate::domain::PartnerId {
        let key = crate::domain::ApiKey::parse(key).expect("a key");
        match self.db.store.principal(&key).await.expect("a lookup") {
            Some(crate::domain::Principal::Partner { partner_id, .. }) => partner_id,
            other => panic!("not a partner key: {other:?}"),
        }
    }

    /// Invokes the function with `event` and lists the AWS calls it awaited.
    pub async fn invoke(&self, event: Value) -> Counted {
        let (id, outcome) = self.lambda.invocation(event).await;
        let (delivered, answered) = self.lambda.awaited_span(&id).expect("the emulator saw the invocation");
        let awaited = self.proxy.calls_between(delivered, answered);
        match outcome {
            Outcome::Response(response) => Counted { response, awaited },
            Outcome::Error(error) => panic!("the function reported an error: {error}"),
        }
    }
}

impl CountedFunction {
    /// Asserts that template.yaml's policy for `logical_id` allows every AWS call this
    /// binary made so far, awaited or not. No engine here enforces IAM: a call the policy
    /// leaves out would only fail on AWS, with AccessDenied and a 500 to the partner.
    #[track_caller]
    pub fn assert_policy_allows_every_call(&self, logical_id: &str) {
        let operations = self.proxy.operations();
        assert!(!operations.is_empty(), "{logical_id}: no call was recorded, so nothing was checked");
        super::policy::assert_policy_allows(logical_id, &operations);
    }
}

impl Counted {
    /// Asserts that `operation` answered `status` after waiting for at most `budget`
    /// AWS calls; a failure lists the calls by action.
    #[track_caller]
    pub fn assert_within(&self, operation: &str, status: u64, budget: usize) {
        assert_eq!(self.response["statusCode"], status, "{operation}: {}", self.response);
        let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
        for call in &self.awaited {
            *by_action.entry(call.as_str()).or_default() += 1;
        }
        eprintln!("{operation}: {} awaited AWS calls {by_action:?}", self.awaited.len());
        assert!(
            self.awaited.len() <= budget,
            "{operation} awaited {} AWS calls, over its budget of {budget}: {by_action:?} (in order: {:?})",
            self.awaited.len(),
            self.awaited
        );
    }

    /// A response header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response["headers"][name].as_str()
    }

    /// The response body as JSON.
    pub fn body(&self) -> Value {
        self.response["body"].as_str().and_then(|body| serde_json::from_str(body).ok()).unwrap_or(Value::Null)
    }
}
