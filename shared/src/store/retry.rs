//! Bounded, jittered retries for transactions DynamoDB refuses for transient reasons.
//!
//! The SDK already retries throttling, timeouts and connection failures of each call
//! (standard mode, 3 attempts). What it cannot retry is a transaction *cancelled* because
//! another transaction touched the same item at the same moment (`TransactionConflict`):
//! that is this module's job.

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::{TransactWriteItemsError, TransactWriteItemsOutput};
use aws_sdk_dynamodb::types::CancellationReason;
use rand::Rng;

use super::StoreError;

/// Error codes meaning "DynamoDB is overloaded; nothing was written": a table or index
/// over its throughput, the account over its request limit, control-plane throttling.
const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "TransactionInProgressException",
];

/// Cancellation reasons meaning "this item lost a race or was throttled; nothing was
/// written": worth another try of the whole transaction.
const RETRYABLE_REASONS: [&str; 3] = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

/// About the longest one more try of a transaction (or the wallet read before it) takes
/// on a healthy DynamoDB: a retry is started only when this much is left before the
/// request's deadline (`crate::deadline`), so giving up is a 503 in time, not a timeout.
pub(crate) const ONE_TRY: Duration = Duration::from_millis(300);

/// How hard to retry a conflicting transaction. Bounded so a hot item turns into a quick
/// 503 instead of a Lambda timeout; full jitter spreads competing writers apart.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 6, base: Duration::from_millis(25), cap: Duration::from_millis(800) }
    }
}

type TransactError = SdkError<TransactWriteItemsError>;

/// A transaction that did not go through, classified.
pub(crate) enum TransactFailure {
    /// A condition failed: the domain decides what that means.
    Cancelled(Vec<CancellationReason>),
    /// Lost a race with another transaction; worth another try.
    Conflict(TransactError),
    /// Throttled or unreachable even after the SDK's own retries.
    Unavailable(TransactError),
    Failed(TransactError),
}

impl TransactFailure {
    pub(crate) fn into_store_error(
        self,
        on_cancelled: impl FnOnce(Vec<CancellationReason>) -> StoreError,
    ) -> StoreError {
        match self {
            TransactFailure::Cancelled(reasons) => on_cancelled(reasons),
            TransactFailure::Conflict(error) | TransactFailure::Unavailable(error) => {
                StoreError::Unavailable(Box::new(error))
            }
            TransactFailure::Failed(error) => StoreError::dynamo(error),
        }
    }
}

fn classify(error: TransactError) -> TransactFailure {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error() {
        let reasons = cancelled.cancellation_reasons().to_vec();
        let has = |wanted: &str| reasons.iter().filter_map(CancellationReason::code).any(|code| code == wanted);
        // A failed condition is the answer, even if another item also conflicted.
        return if has("ConditionalCheckFailed") {
            TransactFailure::Cancelled(reasons)
        } else if RETRYABLE_REASONS.iter().any(|reason| has(reason)) {
            TransactFailure::Conflict(error)
        } else {
            TransactFailure::Cancelled(reasons)
        };
    }
    if error.code() == Some("TransactionInProgressException") {
        TransactFailure::Conflict(error)
    } else if is_transient(&error) {
        TransactFailure::Unavailable(error)
    } else {
        TransactFailure::Failed(error)
    }
}

/// Throttling, timeouts and unreachable endpoints: failures that mean "nothing happened,
/// try again later" rather than a bug.
pub(crate) fn is_transient<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    let throttled = match error {
        SdkError::ServiceError(service) => service.err().code().is_some_and(|code| THROTTLING_CODES.contains(&code)),
        _ => false,
    };
    throttled || matches!(error, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
}

impl RetryPolicy {
    pub(crate) async fn run<F, Fut>(&self, mut attempt: F) -> Result<TransactWriteItemsOutput, TransactFailure>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<TransactWriteItemsOutput, TransactError>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await.map_err(classify) {
                Ok(output) => return Ok(output),
                Err(TransactFailure::Conflict(error)) if tries < self.attempts => {
                    let pause = self.backoff(tries);
                    if !crate::deadline::leaves_time_for(pause, ONE_TRY) {
                        tracing::warn!(attempt = tries, "transaction conflicted or throttled; no time left to retry");
                        return Err(TransactFailure::Conflict(error));
                    }
                    tracing::debug!(attempt = tries, "transaction conflicted or throttled, retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(failure) => return Err(failure),
            }
        }
    }

    /// "Full jitter": a random wait up to an exponentially growing, capped ceiling.
    pub(crate) fn backoff(&self, tries: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << tries.min(16)).min(self.cap);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// A transaction cancelled with one reason code per item.
    fn cancelled(codes: &[&str]) -> TransactError {
        let reasons = codes.iter().map(|code| CancellationReason::builder().code(*code).build()).collect();
        let error = TransactionCanceledException::builder().set_cancellation_reasons(Some(reasons)).build();
        let response = HttpResponse::new(http::StatusCode::BAD_REQUEST.into(), SdkBody::empty());
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(error), response)
    }

    fn quick() -> RetryPolicy {
        RetryPolicy { attempts: 4, base: Duration::from_millis(1), cap: Duration::from_millis(2) }
    }

    /// A single call refused with error `code`, as the SDK reports it.
    fn refused(code: &str) -> SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError, HttpResponse> {
        use aws_sdk_dynamodb::error::ErrorMetadata;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let error = GetItemError::generic(ErrorMetadata::builder().code(code).message("refused").build());
        let response = HttpResponse::new(http::StatusCode::BAD_REQUEST.into(), SdkBody::empty());
        SdkError::service_error(error, response)
    }

    #[test]
    fn every_throttling_code_dynamodb_answers_is_unavailable_not_a_failure() {
        for code in ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"] {
            assert!(is_transient(&refused(code)), "{code}");
            assert!(matches!(StoreError::from_sdk(refused(code)), StoreError::Unavailable(_)), "{code}");
        }
        assert!(!is_transient(&refused("ValidationException")));
        assert!(matches!(StoreError::from_sdk(refused("ValidationException")), StoreError::Dynamo(_)));
    }

    #[test]
    fn backoff_never_exceeds_the_cap() {
        let policy = RetryPolicy::default();
        for tries in 1..40 {
            assert!(policy.backoff(tries) <= policy.cap);
        }
    }

    #[test]
    fn cancellations_are_told_apart_by_their_reasons() {
        assert!(matches!(classify(cancelled(&["None", "TransactionConflict"])), TransactFailure::Conflict(_)));
        assert!(matches!(classify(cancelled(&["ThrottlingError"])), TransactFailure::Conflict(_)));
        assert!(matches!(
            classify(cancelled(&["None", "ProvisionedThroughputExceeded"])),
            TransactFailure::Conflict(_)
        ));
        assert!(matches!(
            classify(cancelled(&["ConditionalCheckFailed", "TransactionConflict"])),
            TransactFailure::Cancelled(_)
        ));
        assert!(matches!(classify(cancelled(&["ValidationError"])), TransactFailure::Cancelled(_)));
    }

    #[tokio::test]
    async fn no_retry_starts_when_the_deadline_leaves_no_time_for_it() {
        let calls = AtomicU32::new(0);
        let answer_by = std::time::Instant::now() + ONE_TRY / 2;
        let result = crate::deadline::within(answer_by, async {
            quick()
                .run(|| async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(cancelled(&["TransactionConflict"]))
                })
                .await
        })
        .await;
        assert!(matches!(result, Err(TransactFailure::Conflict(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "given up at once, not after {} tries", quick().attempts);
    }

    #[tokio::test]
    async fn a_conflict_is_retried_until_the_transaction_goes_through() {
        let calls = AtomicU32::new(0);
        let result = quick()
            .run(|| async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 | 1 => Err(cancelled(&["TransactionConflict"])),
                    _ => Ok(TransactWriteItemsOutput::builder().build()),
                }
            })
            .await;
        assert!(result.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn endless_conflicts_stop_after_the_bound_and_become_unavailable() {
        let calls = AtomicU32::new(0);
        let result = quick()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(cancelled(&["TransactionConflict"]))
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4, "bounded");
        let error = result.err().map(|failure| failure.into_store_error(|_| StoreError::NotFound));
        assert!(matches!(error, Some(StoreError::Unavailable(_))), "{error:?}");
    }

    #[tokio::test]
    async fn a_failed_condition_is_not_retried() {
        let calls = AtomicU32::new(0);
        let result = quick()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(cancelled(&["ConditionalCheckFailed"]))
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let error = result.err().map(|failure| failure.into_store_error(|_| StoreError::EmailTaken));
        assert!(matches!(error, Some(StoreError::EmailTaken)));
    }
}
