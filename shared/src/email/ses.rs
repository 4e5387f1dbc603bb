//! The SES adapter of `EmailSender` (SES v1 `SendEmail`), and sender verification, which
//! emulators require before they accept a sender and AWS needs once per address.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::types::{Body, Content, Destination, Message};

use super::{Email, EmailError, EmailSender};

/// How long one send may take. Emails are sent inline before the response (a Lambda is
/// frozen once it answers, so a background send could never finish), and the SDK's own
/// 20 s budget would outlast the function's 10 s timeout and turn an email outage into a
/// failed API call.
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
            .destination(Destination::builder().to_addresses(ses_address(&email.to)).build())
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

/// `address` as SES takes it. SES speaks no SMTPUTF8: an internationalised domain
/// (`dev@bücher.example`, as partners type and Steller keeps it) goes in its ASCII form
/// (`dev@xn--bcher-kva.example`). A local part beyond ASCII cannot be sent at all; SES
/// refuses it, as for any address it cannot take.
fn ses_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !domain.is_ascii() => match url::Host::parse(domain) {
            Ok(url::Host::Domain(ascii)) => format!("{local}@{ascii}"),
            _ => address.to_owned(),
        },
        _ => address.to_owned(),
    }
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

#[cfg(test)]
mod tests {
    use super::ses_address;

    #[test]
    fn an_internationalised_domain_is_sent_in_its_ascii_form() {
        assert_eq!(ses_address("dev@bücher.example"), "dev@xn--bcher-kva.example");
        assert_eq!(ses_address("dev@acme.example"), "dev@acme.example", "ASCII addresses pass as they are");
        assert_eq!(ses_address("renée@acme.example"), "renée@acme.example", "SES judges a local part");
    }
}
