//! Reading back what a test app sent: the in-process outbox on dynoxide, SES's record on
//! the AWS emulator (moto's `/moto-api/data.json`), and a sender that always fails.

use async_trait::async_trait;
use serde_json::Value;

use crate::email::{Email, EmailError, EmailSender, Outbox};

/// Where a `TestApp`'s emails go, so the test can read them back.
#[derive(Debug, Clone)]
pub(super) enum Mailbox {
    Outbox(Outbox),
    /// SES on the AWS emulator; the app sends from `sender`, an address no other test
    /// uses, which is how its emails are told apart on the shared emulator.
    Emulator {
        endpoint: String,
        sender: String,
    },
}

impl Mailbox {
    pub(super) fn outbox(&self) -> Vec<Email> {
        match self {
            Mailbox::Outbox(outbox) => outbox.sent(),
            Mailbox::Emulator { .. } => {
                panic!("this app sends through SES on the AWS emulator; read its emails with sent_emails().await")
            }
        }
    }

    pub(super) async fn sent(&self) -> Vec<Email> {
        match self {
            Mailbox::Outbox(outbox) => outbox.sent(),
            Mailbox::Emulator { endpoint, sender } => emulator_sent_emails(endpoint)
                .await
                .iter()
                .map(from_moto)
                .filter(|email| email.from == *sender)
                .collect(),
        }
    }
}

/// Every message SES on the emulator at `endpoint` has accepted, oldest first, as moto
/// records them: `{"id", "source", "subject", "body", "destinations": {"ToAddresses": […]}}`,
/// where `body` is the HTML body when there is one, else the text body.
pub async fn emulator_sent_emails(endpoint: &str) -> Vec<Value> {
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    // The emulator is on loopback: a proxy from the environment must not get in between.
    let client = reqwest::Client::builder().no_proxy().build().expect("an HTTP client");
    let response = client.get(&url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(response.status().is_success(), "GET {url} answered {} (is the emulator moto?)", response.status());
    let data: Value = response.json().await.unwrap_or_else(|e| panic!("GET {url} is not JSON: {e}"));
    data["ses"]["Message"].as_array().cloned().unwrap_or_default()
}

/// One of moto's SES messages as an `Email`. moto keeps only one body (the HTML one, as
/// Steller always sends both), so `text` is empty: assert on `html` in scenarios that
/// run on both engines.
fn from_moto(message: &Value) -> Email {
    let text = |field: &str| message[field].as_str().unwrap_or_default().to_owned();
    let to: Vec<&str> =
        message["destinations"]["ToAddresses"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    Email { from: text("source"), to: to.join(", "), subject: text("subject"), text: String::new(), html: text("body") }
}

/// An `EmailSender` whose every send fails as if SES were down; it keeps what it was
/// asked to send, so a test can tell the failure path was taken.
#[derive(Debug, Clone, Default)]
pub struct FailingEmail {
    attempted: Outbox,
}

impl FailingEmail {
    pub fn new() -> Self {
        FailingEmail::default()
    }

    /// Every email it was asked (and failed) to send.
    pub fn attempted(&self) -> Vec<Email> {
        self.attempted.sent()
    }
}

#[async_trait]
impl EmailSender for FailingEmail {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        self.attempted.send(email).await?;
        Err(EmailError::Unavailable(std::io::Error::other("FailingEmail: the email service is down").into()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_moto_message_becomes_an_email_with_its_html_body() {
        let message = json!({
            "id": "abc", "source": "no-reply@steller.example", "subject": "Hi",
            "body": "<p>Hi</p>", "destinations": {"ToAddresses": ["dev@acme.example"]}
        });

        let email = from_moto(&message);

        assert_eq!((email.from.as_str(), email.to.as_str()), ("no-reply@steller.example", "dev@acme.example"));
        assert_eq!((email.subject.as_str(), email.html.as_str(), email.text.as_str()), ("Hi", "<p>Hi</p>", ""));
    }
}
