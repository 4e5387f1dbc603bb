//! AWS SDK configuration: the default chain on Lambda, or an explicit endpoint for the
//! local server, the ops CLI and the tests (dynoxide, moto, LocalStack or AWS itself).

mod tls;

use std::time::Duration;

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::Credentials;

/// The longest one attempt of an AWS call may take on Lambda (a healthy DynamoDB answers
/// in milliseconds).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest an AWS call may take on Lambda, its retries included. Shorter than every
/// function's timeout (a test holds template.yaml to it), so a call gives up before its
/// Lambda would time out; the request's deadline (`crate::deadline`) bounds the whole
/// handler besides.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);

/// Bounded timeouts: a Lambda should answer 503 rather than hang until its own timeout.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The configuration a Lambda uses: region, credentials and (when set) `AWS_ENDPOINT_URL`
/// from the environment, over an HTTPS client that costs nothing until the first call
/// (`tls`), so the Lambda takes its first event sooner.
pub async fn from_environment() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(tls::https_client())
        .timeout_config(timeouts())
        .load()
        .await
}

/// Timeouts for an explicit endpoint: an emulator that answers one request at a time
/// (moto behind its serialising wrapper) can take many seconds under a parallel test
/// suite. A timed-out attempt is sent again; DynamoDB makes that safe for a transaction
/// (the SDK's `ClientRequestToken` is the same on every attempt), but the emulators do
/// not honour the token, so a slow first attempt that committed would be applied twice
/// and its `attribute_not_exists` conditions fail. Here an attempt waits instead.
fn emulator_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

/// The configuration for an explicit endpoint. Emulators accept any credentials, so when
/// none are configured (no `AWS_ACCESS_KEY_ID`, no `AWS_PROFILE`) fixed test ones are used;
/// the region defaults to us-east-1.
pub async fn for_endpoint(endpoint: &str) -> SdkConfig {
    // Region from the environment only: asking the instance metadata service first would
    // stall every local start on a machine that is not an EC2 instance.
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new()).or_else("us-east-1");
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(region)
        .timeout_config(emulator_timeouts());
    let has_credentials = ["AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    let loader = if has_credentials {
        loader
    } else {
        loader.credentials_provider(Credentials::new("test", "test", None, None, "steller-emulator"))
    };
    loader.load().await
}

pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn ses(config: &SdkConfig) -> aws_sdk_ses::Client {
    aws_sdk_ses::Client::new(config)
}

pub fn sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}
