//! Bounded, jittered retries for transactions DynamoDB refuses for transient reasons.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::CancellationReason;
use rand::Rng;

use super::StoreError;

/// Error codes that mean "try again later": nothing was written.
const TRANSIENT_CODES: [&str; 5] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "TransactionInProgressException",
];

/// How hard to retry. Bounded so a hot item turns into a quick 503 instead of a Lambda
/// timeout: full jitter spreads competing writers apart.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(25),
            cap: Duration::from_millis(800),
        }
    }
}

pub(crate) type TransactResult =
    Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError>>;

/// A transaction that did not go through, classified.
pub(crate) enum TransactFailure {
    Cancelled(Vec<CancellationReason>),
    Transient(SdkError<TransactWriteItemsError>),
    Failed(SdkError<TransactWriteItemsError>),
}

impl TransactFailure {
    pub(crate) fn into_store_error(
        self,
        on_condition_failed: &impl Fn(&[CancellationReason]) -> StoreError,
    ) -> StoreError {
        match self {
            TransactFailure::Cancelled(reasons) => on_condition_failed(&reasons),
            TransactFailure::Transient(error) => StoreError::Unavailable(Box::new(error)),
            TransactFailure::Failed(error) => StoreError::dynamo(error),
        }
    }
}

fn classify(error: SdkError<TransactWriteItemsError>) -> TransactFailure {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    {
        let reasons = cancelled.cancellation_reasons().to_vec();
        let transient = reasons
            .iter()
            .filter_map(CancellationReason::code)
            .any(|code| TRANSIENT_CODES.contains(&code));
        let failed_condition = reasons
            .iter()
            .filter_map(CancellationReason::code)
            .any(|code| code == "ConditionalCheckFailed");
        // A failed condition is the answer, even if another item also conflicted.
        return if transient && !failed_condition {
            TransactFailure::Transient(error)
        } else {
            TransactFailure::Cancelled(reasons)
        };
    }
    let transient = error
        .code()
        .is_some_and(|code| TRANSIENT_CODES.iter().any(|t| code.starts_with(t)))
        || matches!(
            error,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
        );
    if transient {
        TransactFailure::Transient(error)
    } else {
        TransactFailure::Failed(error)
    }
}

impl RetryPolicy {
    pub(crate) async fn run<F, Fut>(
        &self,
        mut attempt: F,
    ) -> Result<TransactWriteItemsOutput, TransactFailure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = TransactResult>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await.map_err(classify) {
                Ok(output) => return Ok(output),
                Err(TransactFailure::Transient(error)) if tries < self.attempts => {
                    tracing::warn!(
                        attempt = tries,
                        code = error.code(),
                        "transaction refused, retrying"
                    );
                    tokio::time::sleep(self.backoff(tries)).await;
                }
                Err(failure) => return Err(failure),
            }
        }
    }

    /// "Full jitter": a random wait up to an exponentially growing, capped ceiling.
    fn backoff(&self, tries: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << tries.min(16)).min(self.cap);
        let millis = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_never_exceeds_the_cap() {
        let policy = RetryPolicy::default();
        for tries in 1..40 {
            assert!(policy.backoff(tries) <= policy.cap);
        }
    }
}
