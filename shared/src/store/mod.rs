//! The DynamoDB store: the only code that knows how the domain maps onto items.
//!
//! Every money movement is one method issuing one `TransactWriteItems`, whose condition
//! expressions guard the invariants (an email is taken once, a balance never goes below
//! zero). The same code runs on AWS, on dynoxide and on moto or LocalStack.

mod accounts;
#[cfg(feature = "tooling")]
mod audit;
mod batch;
mod catalog;
mod idempotency;
pub(crate) mod item;
mod keys;
mod known_wallets;
pub(crate) mod layout;
mod ledger;
mod movement;
mod ops_keys;
mod orders;
mod page;
mod rate_limits;
pub(crate) mod retry;
mod sessions;
mod top_ups;
pub(crate) mod transaction;
mod wallet_turns;
mod webhooks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

#[cfg(feature = "tooling")]
pub use audit::{AuditReport, Finding, OrphanedLedger, WalletAudit};
pub use catalog::CATALOG_STALENESS;
pub use idempotency::{Completion, FormToken, IdempotencyScope, Once, PriorUse, Render, StoredResponse};
pub use page::{Cursor, InvalidCursor, Limit, LimitError, Page, PageError, PageRequest};
pub use rate_limits::Admission;
pub use retry::RetryPolicy;
pub use sessions::{Asked, Redeemed};
pub use top_ups::pending;
pub use webhooks::MAX_ENDPOINTS;

use self::layout::Key;
use self::transaction::{Cancelled, Transaction};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in the store, split into expected outcomes and failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another partner already signed up with this email (in any letter case).
    #[error("the email address is already registered")]
    EmailTaken,
    /// The item does not exist for this partner and mode.
    #[error("not found")]
    NotFound,
    /// The wallet cannot pay; nothing was written.
    #[error("the wallet balance is {balance} but {needed} is needed")]
    InsufficientFunds { balance: crate::domain::Money, needed: crate::domain::Money },
    /// The item is not in a state that allows the change (an order already cancelled).
    #[error("{0}")]
    InvalidState(String),
    /// Another request used the idempotency key first; nothing was written.
    #[error("the idempotency key was already used")]
    KeyUsed(PriorUse),
    /// The item kept changing under bounded retries (a very busy wallet); nothing was written.
    #[error("the item is too busy; nothing was written")]
    Contended,
    /// DynamoDB kept refusing (throttling, transaction conflicts) after bounded retries;
    /// nothing was written.
    #[error("DynamoDB is unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// An item that does not have the shape the store writes.
    #[error("item {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// The response to keep for an idempotent replay could not be serialised; nothing was
    /// written.
    #[error("the response to keep for replay could not be serialised")]
    Unrecordable(#[source] serde_json::Error),
    /// Any other DynamoDB failure.
    #[error("DynamoDB call failed")]
    Dynamo(#[source] BoxError),
}

impl StoreError {
    pub(crate) fn dynamo(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Dynamo(Box::new(error))
    }

    /// A failed SDK call: `Unavailable` (503) when DynamoDB was unreachable or throttled
    /// after the SDK's own retries, otherwise a plain failure (500).
    pub(crate) fn from_sdk<E, R>(error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        if retry::is_transient(&error) {
            StoreError::Unavailable(Box::new(error))
        } else {
            StoreError::Dynamo(Box::new(error))
        }
    }
}

/// The domain table, reached through one shared SDK client.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
    retry: RetryPolicy,
    /// Shared by every clone: one cache per instance.
    catalog: std::sync::Arc<catalog::CatalogCache>,
    /// Shared by every clone: the balances this instance last saw.
    known_wallets: std::sync::Arc<known_wallets::KnownWallets>,
    /// Shared by every clone: the queue each wallet's movements wait in, one at a time
    /// or joining the transaction of the one whose turn it is (ADR 0018).
    wallet_turns: wallet_turns::WalletTurns<batch::Offer>,
    /// Shared by every clone: where the events of each committed transaction are handed
    /// in process (the local server's dispatcher). Unset on Lambda, where DynamoDB
    /// Streams carry them.
    outbox_tap: std::sync::Arc<std::sync::OnceLock<OutboxTap>>,
}

/// The events of committed transactions, as an in-process dispatcher receives them.
pub type OutboxTap = tokio::sync::mpsc::UnboundedSender<crate::domain::Event>;

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            retry: RetryPolicy::default(),
            catalog: Default::default(),
            known_wallets: Default::default(),
            wallet_turns: Default::default(),
            outbox_tap: Default::default(),
        }
    }

    /// This store as another instance of the function would hold it: the same table,
    /// client, retries and outbox tap (locally the tap stands in for the table's stream,
    /// which every instance's writes reach), but nothing remembered in this instance: a
    /// catalog cache, known balances and wallet turns of its own. Movements of one wallet
    /// through two instances race for it (ADR 0012); through one, they take turns (ADR 0015).
    pub fn another_instance(&self) -> Store {
        Store {
            client: self.client.clone(),
            table: self.table.clone(),
            retry: self.retry,
            catalog: Default::default(),
            known_wallets: Default::default(),
            wallet_turns: Default::default(),
            outbox_tap: std::sync::Arc::clone(&self.outbox_tap),
        }
    }

    /// Hands the events of every transaction this store (and each of its clones) commits
    /// to `tap`, once committed. Only the first tap set counts.
    pub fn tap_outbox(&self, tap: OutboxTap) {
        let _ = self.outbox_tap.set(tap);
    }

    /// One item by key, strongly consistent, so a read never misses a write that was
    /// acknowledged (a revoked key, a balance just changed).
    pub(crate) async fn get(&self, key: &Key) -> Result<Option<item::Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(output.item)
    }

    /// The items at `keys` in one `BatchGetItem`, strongly consistent, in the order of
    /// `keys` (`None` where there is none). Keys DynamoDB leaves unprocessed (throttling)
    /// are asked again, a bounded number of times.
    pub(crate) async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<item::Item>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found: Vec<item::Item> = Vec::with_capacity(keys.len());
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(Key::item).collect()))
            .consistent_read(true)
            .build()
            .map_err(StoreError::dynamo)?;
        for round in 0..5u64 {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, wanted)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            found.extend(output.responses.and_then(|mut tables| tables.remove(&self.table)).unwrap_or_default());
            match output.unprocessed_keys.and_then(|mut tables| tables.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => wanted = rest,
                _ => {
                    return Ok(keys
                        .iter()
                        .map(|key| {
                            let key = key.item();
                            found
                                .iter()
                                .find(|item| item.get("pk") == key.get("pk") && item.get("sk") == key.get("sk"))
                                .cloned()
                        })
                        .collect());
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10 * (round + 1))).await;
        }
        Err(StoreError::Unavailable("DynamoDB left keys of a batch read unprocessed".into()))
    }

    /// The item at `key`, or `NotFound`.
    pub(crate) async fn existing(&self, key: &Key) -> Result<item::Item, StoreError> {
        self.get(key).await?.ok_or(StoreError::NotFound)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Hands `each` every item of a consistent scan of the table, as `configure` narrows
    /// it (a filter, a projection), page by page. A scan reads the whole table: tooling
    /// only.
    #[cfg(feature = "tooling")]
    pub(crate) async fn scan_each(
        &self,
        configure: impl Fn(
            aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
        ) -> aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
        mut each: impl FnMut(&item::Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut start = None;
        loop {
            let scan = configure(self.client.scan().table_name(&self.table).consistent_read(true));
            let page = scan.set_exclusive_start_key(start).send().await.map_err(StoreError::from_sdk)?;
            page.items().iter().try_for_each(&mut each)?;
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// A new transaction on this store's table; `what` names it in unexpected failures.
    pub(crate) fn transaction(&self, what: &'static str) -> Transaction {
        Transaction::new(what, &self.table)
    }

    /// Writes `transaction` atomically, retrying conflicts and throttling with jittered
    /// backoff. When DynamoDB cancels it for a failed condition, `on_cancelled` names the
    /// domain outcome from the slot that failed.
    pub(crate) async fn transact(
        &self,
        transaction: Transaction,
        on_cancelled: impl Fn(&Cancelled) -> StoreError,
    ) -> Result<(), StoreError> {
        let items = transaction.items().to_vec();
        self.retry
            .run(|| self.client.transact_write_items().set_transact_items(Some(items.clone())).send())
            .await
            .map_err(|failure| {
                failure.into_store_error(|reasons| on_cancelled(&Cancelled::new(&transaction, reasons)))
            })?;
        if let Some(tap) = self.outbox_tap.get() {
            for event in transaction.events() {
                // A closed tap is a dispatcher shut down: its sweep finds the event later.
                let _ = tap.send(event.clone());
            }
        }
        Ok(())
    }
}
