//! The in-process `EmailSender`: keeps every email for tests to read and, on the local
//! server, prints each one so a developer sees what would have been sent.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::{Email, EmailError, EmailSender};

/// Records every email sent through it; clones share one record.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    sent: Arc<Mutex<Vec<Email>>>,
    print: bool,
}

impl Outbox {
    /// An outbox that only records (the tests' default).
    pub fn new() -> Self {
        Outbox::default()
    }

    /// An outbox that also prints each email to stdout (the local server's).
    pub fn printing() -> Self {
        Outbox { print: true, ..Outbox::default() }
    }

    /// Every email sent so far, oldest first.
    pub fn sent(&self) -> Vec<Email> {
        // A panic while holding the lock cannot leave a half-pushed Vec, so the data is
        // still good; recover it rather than poison every later test assertion.
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send(&self, email: &Email) -> Result<(), EmailError> {
        if self.print {
            print_email(email);
        }
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).push(email.clone());
        Ok(())
    }
}

/// One block per email; the text body only, as the HTML says the same thing.
fn print_email(email: &Email) {
    let rule = "─".repeat(72);
    let mut out = std::io::stdout().lock();
    // A console that cannot be written to is no reason to fail the request.
    let _ = writeln!(
        out,
        "{rule}\nEmail (outbox, not sent)\nFrom:    {}\nTo:      {}\nSubject: {}\n\n{}\n{rule}",
        email.from,
        email.to,
        email.subject,
        email.text.trim_end()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_of_an_outbox_share_what_was_sent() {
        let outbox = Outbox::printing();
        let email = Email {
            from: "a@steller.example".into(),
            to: "b@acme.example".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };

        outbox.clone().send(&email).await.expect("the outbox never fails");

        assert_eq!(outbox.sent(), [email]);
    }
}
