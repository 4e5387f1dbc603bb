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

/// Which template an email was written from: all that logs say of an email. A subject can
/// hold a secret (a sign-in code's holds the code) and an address is personal, so neither
/// is ever logged. Named where the email is sent (`notify`): an `Email` is what SES
/// carries, and SES keeps no such name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    Welcome,
    SignInCode,
    TopUpReceived,
    TopUpApproved,
    TopUpRejected,
    OpsNewTopUp,
    WebhookEndpointDisabled,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Welcome => "welcome",
            EmailKind::SignInCode => "sign_in_code",
            EmailKind::TopUpReceived => "top_up_received",
            EmailKind::TopUpApproved => "top_up_approved",
            EmailKind::TopUpRejected => "top_up_rejected",
            EmailKind::OpsNewTopUp => "ops_new_top_up",
            EmailKind::WebhookEndpointDisabled => "webhook_endpoint_disabled",
        }
    }
}

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
/// change already committed, so its failure must never fail or undo the API call. The
/// log says which `kind` of email it was, never its subject or recipient.
pub async fn notify(sender: &dyn EmailSender, kind: EmailKind, email: Email) {
    let request_id = crate::telemetry::current_request_id();
    let kind = kind.as_str();
    match sender.send(&email).await {
        Ok(()) => tracing::info!(kind, "email sent"),
        Err(error @ EmailError::Unavailable(_)) => tracing::warn!(
            request_id,
            kind,
            error = %without_recipient(&error, &email),
            "email not sent; the API call still succeeds"
        ),
        Err(error @ EmailError::Refused(_)) => tracing::error!(
            request_id,
            kind,
            error = %without_recipient(&error, &email),
            "email refused; the API call still succeeds"
        ),
    }
}

/// The error's cause chain, with the recipient's address taken out: SES names the
/// addresses it refuses ("… failed the check in region …: dev@acme.example").
fn without_recipient(error: &EmailError, email: &Email) -> String {
    let chain = crate::telemetry::chain(error);
    if email.to.is_empty() { chain } else { chain.replace(&email.to, "<recipient>") }
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

        notify(&outbox, EmailKind::Welcome, email()).await;

        assert_eq!(outbox.sent(), [email()]);
    }

    #[tokio::test]
    async fn notify_swallows_a_failed_send() {
        // Nothing to assert but that it returns: notify has no error to give back.
        notify(&Down, EmailKind::Welcome, email()).await;
    }

    #[test]
    fn an_email_error_keeps_its_cause() {
        let error = EmailError::Refused(std::io::Error::other("Email address not verified").into());
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("Email address not verified"));
    }
}
