//! The embedded engine as the in-process figures use it: a fresh in-memory dynoxide with
//! the template's tables, reached directly or through an `EngineProxy`.

use std::time::Duration;

use anyhow::Context;
use steller::domain::{Applicant, CompanyName, Email, Money, SignUp};
use steller::engine::{EmbeddedEngine, Storage};
use steller::request_log::RequestLogTable;
use steller::schema::{TableNames, bootstrap};

use crate::engine_proxy::EngineProxy;

/// What one AWS call is taken to cost, for the figures that hold each call this long.
pub const AWS_LATENCY: Duration = Duration::from_millis(20);

/// A running in-memory dynoxide, its tables, and the proxy every call goes through.
#[derive(Debug)]
pub struct Engine {
    pub names: TableNames,
    pub proxy: EngineProxy,
    /// The domain table, its calls through the proxy.
    pub store: steller::Store,
    _engine: EmbeddedEngine,
}

impl Engine {
    /// A fresh engine with the template's tables (created directly, not counted), and a
    /// proxy in front of it holding each call `delay`.
    pub async fn start(delay: Duration) -> anyhow::Result<Self> {
        let engine = EmbeddedEngine::start(Storage::Memory).await.context("starting the embedded dynoxide")?;
        let names = TableNames::new("bench");
        let direct = steller::aws::dynamodb(&steller::aws::for_endpoint(engine.endpoint()).await);
        bootstrap(&direct, &names).await.context("creating the tables")?;
        let proxy = EngineProxy::start(engine.endpoint(), delay).await?;
        let client = steller::aws::dynamodb(&steller::aws::for_endpoint(&proxy.endpoint).await);
        let store = steller::Store::new(client, names.domain());
        Ok(Engine { names, proxy, store, _engine: engine })
    }

    pub fn request_log_table(&self) -> RequestLogTable {
        RequestLogTable::new(self.store.client().clone(), self.names.request_log())
    }
}

/// A partner signed up straight through `store` (the write `POST /api/public/signup`
/// makes) as `<label>@bench.example`, holding `credit_dollars` of sandbox money.
pub async fn sign_up(store: &steller::Store, label: &str, credit_dollars: u32) -> anyhow::Result<SignUp> {
    let applicant = Applicant {
        company_name: CompanyName::parse(Some("Bench Ltd"))?,
        email: Email::parse(Some(&format!("{label}@bench.example")))?,
        contact_name: None,
    };
    let signup = SignUp::new(applicant, Money::dollars(credit_dollars));
    store.sign_up(&signup).await.with_context(|| format!("signing up {label}"))?;
    // The bench measures the store and the server, not the rate limit: its partners get
    // the highest quota ops can set, in both modes.
    let most = steller::domain::RequestsPerSecond::new(u64::from(steller::domain::RequestsPerSecond::MAX))?;
    for mode in [steller::domain::Mode::Sandbox, steller::domain::Mode::Live] {
        store
            .set_rate_limit(&signup.partner.id, mode, Some(most))
            .await
            .with_context(|| format!("raising {label}'s quota"))?;
    }
    Ok(signup)
}
