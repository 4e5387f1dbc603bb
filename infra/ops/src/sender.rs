//! `bootstrap`'s last step: verifying the sender address with SES at the endpoint, since
//! emulators refuse to send from an unverified address and AWS needs it confirmed once.

use anyhow::Context;
use steller::Config;
use steller::aws;
use steller::config::{DEFAULT_SENDER_EMAIL, SENDER_EMAIL_VAR, TABLE_VAR};
use steller::domain::Email;
use steller::email::{EmailError, EmailSender, Outbox, SesSender, verify_sender};

/// Verifies `address` with SES at `endpoint`, or says why it was skipped: an endpoint
/// without SES (dynoxide) is no error, as emails then go to the local outbox.
pub async fn verify(endpoint: &str, address: &str) -> anyhow::Result<()> {
    let address = Email::parse(Some(address)).with_context(|| format!("--sender-email {address:?}"))?;
    let address = address.as_str();
    let ses = aws::ses(&aws::for_endpoint(endpoint).await);
    let state = match verify_sender(&ses, address).await {
        Ok(()) => "verification requested (emulators verify at once; AWS emails a link to confirm)".to_owned(),
        Err(EmailError::Unavailable(_)) => format!("skipped: no SES at {endpoint}"),
        Err(error) => {
            return Err(error).with_context(|| format!("verifying the sender {address} with SES at {endpoint}"));
        }
    };
    println!("{:<26} {address:<40} {state}", "SenderEmail");
    Ok(())
}

/// How a decision made from the command line reaches the partner: SES at the endpoint
/// (AWS or an emulator), or printed here when the endpoint has no SES. The addresses come
/// from STELLER_SENDER_EMAIL / STELLER_OPS_EMAIL, as for the Lambdas.
pub async fn notifier(endpoint: &str, table: &str) -> anyhow::Result<(std::sync::Arc<dyn EmailSender>, Config)> {
    let config = Config::from_lookup(|name| match name {
        TABLE_VAR => Some(table.to_owned()),
        SENDER_EMAIL_VAR => std::env::var(name).ok().or_else(|| Some(DEFAULT_SENDER_EMAIL.to_owned())),
        other => std::env::var(other).ok(),
    })?;
    let ses = aws::ses(&aws::for_endpoint(endpoint).await);
    let sender: std::sync::Arc<dyn EmailSender> =
        match verify_sender(&ses, config.sender_email.as_deref().unwrap_or(DEFAULT_SENDER_EMAIL)).await {
            Ok(()) => std::sync::Arc::new(SesSender::new(ses)),
            Err(EmailError::Unavailable(_)) => std::sync::Arc::new(Outbox::printing()),
            Err(error) => return Err(error).context("verifying the sender address with SES"),
        };
    Ok((sender, config))
}
