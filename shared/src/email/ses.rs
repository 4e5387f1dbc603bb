//! The SES adapter of `EmailSender` (SES v1 `SendEmail`), and sender verification, which
//! emulators require before they accept a sender and AWS needs once per address.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::types::{Body, Content, Destination, Message};

use super::{Email, EmailError, EmailSender};
use crate::domain::ascii_address;

/// How long one send may take. Emails go out after the response, before the runtime takes
/// the next event (ADR 0010), and the SDK's own 20 s budget would outlast the function's
/// timeout. SES speaks no SMTPUTF8: the address goes with its domain in ASCII
/// (`ascii_address`), and signup takes only ASCII before the `@`.
const SEND_BUDGET: Duration = Duration::from_secs(3);

/// Sends through Amazon SES (or an emulator's SES at the client's endpoint).
#[derive(Debug, Clone)]
pub struct SesSender {
    client: aws_sdk_ses::Client,
}

impl SesSender {
    pub fn new(client: aws_sdk_ses::Client) -> Self {
        SesSender { client }
    }
}

#[async_trait]
impl EmailSender for SesSender {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(Body::builder().text(content(&email.text)?).html(content(&email.html)?).build())
            .build();
        let request = self
            .client
            .send_email()
            .source(&email.from)
            .destination(Destination::builder().to_addresses(ascii_address(&email.to)).build())
            .message(message)
            .send();
        match tokio::time::timeout(SEND_BUDGET, request).await {
            Ok(Ok(_sent)) => Ok(()),
            Ok(Err(error)) => Err(classify(error)),
            Err(elapsed) => Err(EmailError::Unavailable(elapsed.into())),
        }
    }
}

#[cfg(feature = "tooling")]
/// Asks SES to verify `address` as a sender. On AWS this emails the address a
/// confirmation link; emulators (moto, LocalStack) verify it at once.
pub async fn verify_sender(client: &aws_sdk_ses::Client, address: &str) -> Result<(), EmailError> {
    client.verify_email_identity().email_address(address).send().await.map(|_| ()).map_err(classify)
}

fn content(data: &str) -> Result<Content, EmailError> {
    // The builder only fails without `data`, which is always given.
    Content::builder().data(data).charset("UTF-8").build().map_err(|error| EmailError::Refused(error.into()))
}

/// An error answer from SES itself, which always names its error code, is a refusal.
/// Anything else means there is no working SES at the endpoint: no connection, a
/// timeout, or an answer without an SES error code (dynoxide answers SES calls so).
fn classify<E, R>(error: SdkError<E, R>) -> EmailError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let is_service_answer = matches!(error, SdkError::ServiceError(_)) && error.code().is_some();
    let cause = Box::new(error);
    if is_service_answer { EmailError::Refused(cause) } else { EmailError::Unavailable(cause) }
}
