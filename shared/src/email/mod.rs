//! Email: the `EmailSender` port, its adapters (SES, and an in-process outbox for the
//! local server and tests), the templates, and `notify`, the only way handlers send.

mod draft;
#[cfg(feature = "tooling")]
mod outbox;
mod ses;
pub mod templates;

use async_trait::async_trait;

#[cfg(feature = "tooling")]
pub use outbox::Outbox;
pub use ses::SesSender;
#[cfg(feature = "tooling")]
pub use ses::verify_sender;
pub use templates::TopUpNotice;

/// An error from an email adapter, with its cause kept for the log line.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// One email, ready to send: plain addresses, a text body and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The email service did not answer, or not as an email service does (there is no SES
    /// at the endpoint, the network is down, the send took too long).
    #[error("the email service is unavailable")]
    Unavailable(#[source] Cause),
    /// The email service answered and refused the email (an unverified sender, a
    /// malformed address, a sending quota).
    #[error("the email service refused the email")]
    Refused(#[source] Cause),
}

/// Sends emails. Injected into `AppState` as `Arc<dyn EmailSender>`.
#[async_trait]
pub trait EmailSender: Send + Sync + std::fmt::Debug {
    async fn send(&self, email: &Email) -> Result<(), EmailError>;
}

/// Sends `email`, and only logs when that fails: an email is a courtesy that follows a
/// change already committed, so its failure must never fail or undo the API call.
pub async fn notify(sender: &dyn EmailSender, email: Email) {
    let request_id = crate::telemetry::current_request_id();
    match sender.send(&email).await {
        Ok(()) => tracing::info!(subject = %email.subject, "email sent"),
        Err(error @ EmailError::Unavailable(_)) => tracing::warn!(
            request_id,
            to = %email.to,
            subject = %email.subject,
            error = %crate::telemetry::chain(&error),
            "email not sent; the API call still succeeds"
        ),
        Err(error @ EmailError::Refused(_)) => tracing::error!(
            request_id,
            to = %email.to,
            subject = %email.subject,
            error = %crate::telemetry::chain(&error),
            "email refused; the API call still succeeds"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Down;

    #[async_trait]
    impl EmailSender for Down {
        async fn send(&self, _email: &Email) -> Result<(), EmailError> {
            Err(EmailError::Unavailable(std::io::Error::other("connection refused").into()))
        }
    }

    fn email() -> Email {
        Email {
            from: "no-reply@steller.example".into(),
            to: "dev@acme.example".into(),
            subject: "Hello".into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
        }
    }

    #[cfg(feature = "tooling")]
    #[tokio::test]
    async fn notify_hands_the_email_to_the_sender() {
        let outbox = Outbox::new();

        notify(&outbox, email()).await;

        assert_eq!(outbox.sent(), [email()]);
    }

    #[tokio::test]
    async fn notify_swallows_a_failed_send() {
        // Nothing to assert but that it returns: notify has no error to give back.
        notify(&Down, email()).await;
    }

    #[test]
    fn an_email_error_keeps_its_cause() {
        let error = EmailError::Refused(std::io::Error::other("Email address not verified").into());
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("Email address not verified"));
    }
}
